//! The fuzz targets, and what their generators share.
//!
//! Inputs of `header`, `route` and `stored` start with one selector byte (which serialization,
//! which parser); the rest is what that decoder reads.

use actix_rocketmq::protocol::{encode_frame, RemotingCommand, SerializeType};
use bytes::BytesMut;
use fastrand::Rng;

use crate::engine::{Target, MAX_INPUT_LEN};

mod frame;
mod header;
mod route;
mod stored;

pub fn all() -> Vec<Target> {
    vec![frame::TARGET, header::TARGET, route::TARGET, stored::TARGET]
}

/// A count for hostile inputs, log-uniform: mostly up to `modest_max`; one time in
/// `heavy_one_in` between `modest_max` and `heavy_max`, so that costly inputs come up often
/// enough to find what they cost, without eating the run.
pub fn count(rng: &mut Rng, modest_max: usize, heavy_max: usize, heavy_one_in: u32) -> usize {
    let bits = |n: usize| usize::BITS - n.leading_zeros();
    let (low, high) = if rng.u32(0..heavy_one_in) == 0 { (modest_max, heavy_max) } else { (0, modest_max) };
    let top = 1usize << rng.u32(bits(low)..=bits(high));
    rng.usize(top / 2..=top).clamp(low, high)
}

/// Text with what decoders trip on: quotes, backslashes, property separators, non-ASCII.
pub fn text(rng: &mut Rng, max_len: usize) -> String {
    const PIECES: [&str; 12] = ["a", "Z", "0", "9", "-", "_", "\"", "\\", "\u{1}", "\u{2}", "é", "✓"];
    const PLAIN: [&str; 4] = ["a", "b", "T", "1"];
    let n = rng.usize(0..=max_len);
    (0..n).map(|_| if rng.u32(0..4) == 0 { PIECES[rng.usize(..PIECES.len())] } else { PLAIN[rng.usize(..4)] }).collect()
}

/// A plain identifier (topic, group, broker name).
pub fn ident(rng: &mut Rng, max_len: usize) -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-%";
    let n = rng.usize(1..=max_len.max(1));
    (0..n).map(|_| CHARS[rng.usize(..CHARS.len())] as char).collect()
}

pub fn bytes(rng: &mut Rng, max_len: usize) -> Vec<u8> {
    let n = rng.usize(0..=max_len);
    if rng.bool() {
        (0..n).map(|_| rng.u8(..)).collect()
    } else {
        // Compressible.
        (0..n).map(|i| b"hello rocketmq "[i % 15]).collect()
    }
}

pub fn ser(rng: &mut Rng) -> SerializeType {
    if rng.bool() {
        SerializeType::Json
    } else {
        SerializeType::RocketMq
    }
}

/// Appends `cmd` as a frame, the way a peer would send it.
pub fn frame(cmd: &RemotingCommand, ser: SerializeType, out: &mut Vec<u8>) {
    let mut buf = BytesMut::new();
    if encode_frame(cmd, ser, &mut buf).is_ok() {
        out.extend_from_slice(&buf);
    }
}

/// A frame around an arbitrary header: length, serialize-type marker, header length, header, body.
pub fn raw_frame(ser: u8, header: &[u8], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + header.len() + body.len());
    out.extend_from_slice(&((4 + header.len() + body.len()) as u32).to_be_bytes());
    out.extend_from_slice(&((u32::from(ser) << 24) | (header.len() as u32 & 0x00ff_ffff)).to_be_bytes());
    out.extend_from_slice(header);
    out.extend_from_slice(body);
    out
}

/// `items` repeated up to about `max_len` bytes, comma-separated (for JSON arrays and objects).
pub fn repeat_joined(mut item: impl FnMut(usize) -> String, n: usize, max_len: usize) -> String {
    let mut out = String::new();
    for i in 0..n {
        let s = item(i);
        if out.len() + s.len() + 1 > max_len.min(MAX_INPUT_LEN - 64) {
            break;
        }
        if i > 0 {
            out.push(',');
        }
        out.push_str(&s);
    }
    out
}
