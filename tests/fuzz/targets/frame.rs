//! `frame`: arbitrary bytes as a stream, decoded frame after frame until the decoder wants more
//! bytes or fails (a buffer may hold several frames).

use actix_rocketmq::protocol::{decode_frame, DEFAULT_MAX_FRAME_LEN};
use bytes::{Bytes, BytesMut};
use fastrand::Rng;

use super::header::{command, hostile_header};
use super::{bytes, count, frame, raw_frame, ser};
use crate::engine::{begin, bucket, end, Outcome, Target, MAX_INPUT_LEN};

pub const TARGET: Target = Target { name: "frame", seeds, hostile, run, foreign_alloc: false };

fn run(input: &[u8]) -> Outcome {
    let mut buf = BytesMut::from(input);
    begin();
    let mut frames = 0;
    let result = loop {
        match decode_frame(&mut buf, DEFAULT_MAX_FRAME_LEN) {
            Ok(Some(_)) => frames += 1,
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    end();
    match result {
        Ok(()) => Outcome::ok(format!("Ok frames<2^{} rest<2^{}", bucket(frames), bucket(buf.len()))),
        Err(e) => Outcome::err(if frames > 0 { "after frames: " } else { "" }, &e),
    }
}

/// One to three frames of random commands with bodies, in either serialization, sometimes cut.
fn seeds(rng: &mut Rng) -> Vec<Vec<u8>> {
    (0..64)
        .map(|_| {
            let mut out = Vec::new();
            for _ in 0..rng.usize(1..=3) {
                let mut cmd = command(rng);
                cmd.body = Bytes::from(bytes(rng, 64));
                frame(&cmd, ser(rng), &mut out);
            }
            if rng.u32(0..4) == 0 {
                let keep = rng.usize(..=out.len());
                out.truncate(keep);
            }
            out
        })
        .collect()
}

fn hostile(rng: &mut Rng) -> Vec<u8> {
    match rng.u32(0..4) {
        0 => {
            // Very many small frames.
            let n = count(rng, 1_000, 100_000, 8);
            let mut one = Vec::new();
            frame(&command(rng), ser(rng), &mut one);
            let times = n.min(MAX_INPUT_LEN / one.len().max(1));
            one.repeat(times)
        }
        1 => {
            // A prefix announcing much more than arrives: at the limit, one past, the most a
            // 24-bit header length can say.
            let length =
                [DEFAULT_MAX_FRAME_LEN - 4, DEFAULT_MAX_FRAME_LEN - 3, 0x00ff_ffff + 4, 1 << 20][rng.usize(..4)];
            let mut out = (length as u32).to_be_bytes().to_vec();
            out.extend_from_slice(&((u32::from(rng.u8(0..2)) << 24) | rng.u32(0..=0x00ff_ffff)).to_be_bytes());
            out.extend((0..rng.usize(0..64)).map(|_| rng.u8(..)));
            out
        }
        _ => {
            // A costly header, with a body, maybe followed by a normal frame.
            let (ser_code, header) = hostile_header(rng);
            let mut out = raw_frame(ser_code, &header, &bytes(rng, 32));
            if rng.bool() {
                frame(&command(rng), ser(rng), &mut out);
            }
            out
        }
    }
}
