//! `stored`: messages in commit-log format (CHECK_TRANSACTION_STATE and VIEW_MESSAGE bodies,
//! lists of them) and replies the broker pushes (PUSH_REPLY_MESSAGE_TO_CLIENT), with compressed
//! bodies.
//!
//! Input: one selector byte, modulo 4: 0 `decode_stored_message_bytes`, 1 `decode_stored_message`,
//! 2 `decode_stored_messages`, 3 `decode_reply_push`. For the reply, the rest is `key=value` lines
//! (the command's ext fields), a 0 byte, and the body.

use std::net::SocketAddr;
use std::sync::Mutex;

use actix_rocketmq::protocol::compression::{compress, CompressionType};
use actix_rocketmq::protocol::reply::decode_reply_push;
use actix_rocketmq::protocol::stored::{
    decode_stored_message, decode_stored_message_bytes, decode_stored_messages, encode_stored_message, StoredMessage,
};
use actix_rocketmq::protocol::sys_flag::{COMPRESSED_FLAG, TRANSACTION_PREPARED_TYPE};
use actix_rocketmq::protocol::{ProtocolError, RemotingCommand};
use bytes::{Bytes, BytesMut};
use fastrand::Rng;
use flate2::{Compress, Compression, FlushCompress};

use super::{bytes, count, ident, text};
use crate::engine::{begin, bucket, end, Outcome, Target, MAX_INPUT_LEN};

pub const TARGET: Target = Target { name: "stored", seeds, hostile, run, foreign_alloc: true };

const BYTES: u8 = 0;
const SLICE: u8 = 1;
const LIST: u8 = 2;
const REPLY: u8 = 3;
/// Where the sys flag sits in a stored message.
const SYS_FLAG_AT: usize = 36;
const KINDS: [CompressionType; 3] = [CompressionType::Zlib, CompressionType::Zstd, CompressionType::Lz4];

fn run(input: &[u8]) -> Outcome {
    let Some((&sel, data)) = input.split_first() else {
        return Outcome::ok("empty");
    };
    let shape = |m: &StoredMessage| format!("body<2^{} props<2^{}", bucket(m.body.len()), bucket(m.properties.len()));
    let one = |what: &str, result: Result<StoredMessage, ProtocolError>| match result {
        Ok(m) => Outcome::ok(format!("Ok {what}{}", shape(&m))),
        Err(e) => Outcome::err(what, &e),
    };
    match sel % 4 {
        BYTES => {
            let data = Bytes::copy_from_slice(data);
            begin();
            let result = decode_stored_message_bytes(&data);
            end();
            one("bytes ", result)
        }
        SLICE => {
            let result = decode_stored_message(data);
            end();
            one("slice ", result)
        }
        LIST => {
            let result = decode_stored_messages(data);
            end();
            match result {
                Ok(list) => Outcome::ok(format!("Ok list n<2^{}", bucket(list.len()))),
                Err(e) => Outcome::err("list ", &e),
            }
        }
        _ => {
            let cmd = reply_command(data);
            begin();
            let result = decode_reply_push(&cmd);
            end();
            match result {
                Ok(r) => Outcome::ok(format!(
                    "Ok reply body<2^{} props<2^{}",
                    bucket(r.body.len()),
                    bucket(r.properties.len())
                )),
                Err(e) => Outcome::err("reply ", &e),
            }
        }
    }
}

fn reply_command(data: &[u8]) -> RemotingCommand {
    let split = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    let body = data.get(split + 1..).unwrap_or_default();
    let mut cmd = RemotingCommand::request(326).with_body(Bytes::copy_from_slice(body));
    for line in String::from_utf8_lossy(&data[..split]).split('\n') {
        if let Some((k, v)) = line.split_once('=') {
            cmd.ext_fields.insert(k.to_string(), v.to_string());
        }
    }
    cmd
}

fn reply_input(ext: &[(&str, String)], body: &[u8]) -> Vec<u8> {
    let mut input = vec![REPLY];
    for (k, v) in ext {
        input.extend_from_slice(format!("{k}={v}\n").as_bytes());
    }
    input.push(0);
    input.extend_from_slice(body);
    input
}

fn host(rng: &mut Rng) -> SocketAddr {
    match rng.u32(0..3) {
        0 => "[2001:db8::1]:10911".parse().unwrap(),
        1 => SocketAddr::new([rng.u8(..), rng.u8(..), rng.u8(..), rng.u8(..)].into(), rng.u16(..)),
        _ => "10.0.0.5:10911".parse().unwrap(),
    }
}

fn message(rng: &mut Rng) -> StoredMessage {
    let mut sys_flag = if rng.bool() { TRANSACTION_PREPARED_TYPE } else { 0 };
    if rng.bool() {
        sys_flag |= COMPRESSED_FLAG | KINDS[rng.usize(..3)].sys_flag_bits();
    }
    let topic_len = if rng.u32(0..8) == 0 { 300 } else { 20 };
    StoredMessage {
        queue_id: rng.i32(0..16),
        flag: rng.i32(..),
        queue_offset: rng.i64(0..1 << 40),
        commit_log_offset: rng.i64(0..1 << 40),
        sys_flag,
        born_timestamp: 1_700_000_000_000 + rng.i64(0..1 << 30),
        born_host: host(rng),
        store_timestamp: 1_700_000_000_000 + rng.i64(0..1 << 30),
        store_host: host(rng),
        reconsume_times: rng.i32(0..3),
        prepared_transaction_offset: rng.i64(0..1 << 40),
        body: Bytes::from(bytes(rng, 256)),
        topic: ident(rng, topic_len),
        properties: (0..rng.usize(0..6)).map(|_| (ident(rng, 12), text(rng, 12))).collect(),
    }
}

fn encode(msg: &StoredMessage) -> Vec<u8> {
    let mut buf = BytesMut::new();
    let _ = encode_stored_message(msg, &mut buf);
    buf.to_vec()
}

fn with_selector(sel: u8, data: &[u8]) -> Vec<u8> {
    let mut input = vec![sel];
    input.extend_from_slice(data);
    input
}

fn seeds(rng: &mut Rng) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for i in 0..48 {
        let sel = [BYTES, SLICE, LIST][i % 3];
        let mut data = Vec::new();
        for _ in 0..if sel == LIST { rng.usize(1..=3) } else { 1 } {
            data.extend_from_slice(&encode(&message(rng)));
        }
        out.push(with_selector(sel, &data));
    }
    for _ in 0..16 {
        let body = bytes(rng, 256);
        let kind = KINDS[rng.usize(..3)];
        let compressed = rng.bool();
        let sys_flag = if compressed { COMPRESSED_FLAG | kind.sys_flag_bits() } else { 0 };
        let body = if compressed { compress(kind, 5, &body).unwrap_or_default() } else { body };
        let ext = [
            ("producerGroup", ident(rng, 10)),
            ("topic", "DefaultCluster_REPLY_TOPIC".to_string()),
            ("properties", format!("CORRELATION_ID\u{1}{}\u{2}MSG_TYPE\u{1}reply\u{2}", ident(rng, 8))),
            ("sysFlag", sys_flag.to_string()),
            ("flag", "0".into()),
            ("queueId", "0".into()),
            ("bornTimestamp", "1700000000000".into()),
            ("storeTimestamp", "1700000000001".into()),
            ("bornHost", "127.0.0.1:5000".into()),
            ("storeHost", "127.0.0.1:10911".into()),
        ];
        out.push(reply_input(&ext, &body));
    }
    out
}

/// `mib` MiB of zeros, compressed: a few KiB at most. Built from one compressed MiB repeated, so
/// that even big ones cost nothing to make: zstd and LZ4 as that many frames one after the
/// other (the decoders go on to the next frame), zlib as that many sync-flushed deflate chunks
/// (each refers back only to zeros) in one stream.
fn bomb(kind: CompressionType, mib: usize) -> Vec<u8> {
    static ONE_MIB: Mutex<Vec<(CompressionType, Vec<u8>)>> = Mutex::new(Vec::new());
    let mut cache = ONE_MIB.lock().unwrap_or_else(|e| e.into_inner());
    let one = match cache.iter().find(|(k, _)| *k == kind) {
        Some((_, one)) => one.clone(),
        None => {
            let zeros = vec![0u8; 1 << 20];
            let one = match kind {
                CompressionType::Zlib => {
                    let mut deflate = Compress::new(Compression::best(), false);
                    let mut chunk = Vec::with_capacity(64 << 10);
                    let _ = deflate.compress_vec(&zeros, &mut chunk, FlushCompress::Sync);
                    assert_eq!(deflate.total_in(), 1 << 20, "the zlib bomb's chunk holds the whole MiB");
                    chunk
                }
                _ => compress(kind, 9, &zeros).unwrap_or_default(),
            };
            cache.push((kind, one.clone()));
            one
        }
    };
    match kind {
        CompressionType::Zlib => {
            let mut out = vec![0x78, 0xda];
            out.extend_from_slice(&one.repeat(mib));
            // A final empty block, then the Adler-32 of `mib` MiB of zeros.
            out.extend_from_slice(&[0x03, 0x00]);
            out.extend_from_slice(&((((mib << 20) % 65_521) << 16 | 1) as u32).to_be_bytes());
            out
        }
        _ => one.repeat(mib),
    }
}

/// Inflated sizes of the bombs, in MiB: around the per-message limits (4 and 8 MiB now, 64 MiB
/// before), past the 16 MiB bound.
const BOMB_MIB: [usize; 6] = [1, 5, 9, 17, 65, 96];

/// Mostly bombs that stay around the limits, now and then a big one.
fn bomb_mib(rng: &mut Rng) -> usize {
    BOMB_MIB[if rng.u32(0..4) == 0 { rng.usize(..6) } else { rng.usize(..3) }]
}

/// An encoded message whose body is `body` as is, flagged compressed with `kind`.
fn compressed_message(rng: &mut Rng, kind: CompressionType, body: Vec<u8>) -> Vec<u8> {
    let mut msg = message(rng);
    msg.sys_flag &= !COMPRESSED_FLAG;
    msg.body = Bytes::from(body);
    let mut data = encode(&msg);
    if data.len() >= SYS_FLAG_AT + 4 {
        let flag = i32::from_be_bytes(data[SYS_FLAG_AT..SYS_FLAG_AT + 4].try_into().unwrap());
        let flag = flag | COMPRESSED_FLAG | kind.sys_flag_bits();
        data[SYS_FLAG_AT..SYS_FLAG_AT + 4].copy_from_slice(&flag.to_be_bytes());
    }
    data
}

/// A zstd frame header declaring a `2^window_log` window, then one 1-byte raw block: the
/// decoder sizes its buffers from the header.
fn zstd_big_window(window_log: u8) -> Vec<u8> {
    let mut f = vec![0x28, 0xb5, 0x2f, 0xfd, 0x00, (window_log - 10) << 3];
    f.extend_from_slice(&[0x09, 0x00, 0x00, b'x']);
    f
}

fn hostile(rng: &mut Rng) -> Vec<u8> {
    let kind = KINDS[rng.usize(..3)];
    match rng.u32(0..7) {
        0 => {
            // A decompression bomb in a stored message (only one in four is a big one).
            let body = bomb(kind, bomb_mib(rng));
            let data = compressed_message(rng, kind, body);
            with_selector([BYTES, SLICE, LIST][rng.usize(..3)], &data)
        }
        1 => {
            let sys_flag = COMPRESSED_FLAG | kind.sys_flag_bits();
            reply_input(&[("topic", "T".into()), ("sysFlag", sys_flag.to_string())], &bomb(kind, bomb_mib(rng)))
        }
        2 => {
            // Many messages, each inflating to 1 MiB (under any per-message limit): together
            // far more.
            let n = count(rng, 20, 64, 8);
            let one = compressed_message(rng, kind, bomb(kind, 1));
            let n = n.min(MAX_INPUT_LEN / one.len().max(1)).max(1);
            with_selector(LIST, &one.repeat(n))
        }
        3 => {
            // Very many properties: a stored message holds at most 32 KiB of them, a pushed reply's
            // header field is bounded by the frame only.
            let pair = ["a\u{1}b\u{2}", "a\u{1}\u{2}", "\u{1}b\u{2}", "ab\u{1}c\u{1}d\u{2}"][rng.usize(..4)];
            if rng.bool() {
                let mut msg = message(rng);
                msg.properties.clear();
                let mut data = encode(&msg);
                // Patch in the properties by hand: the encoder would drop the odd pairs.
                let props = pair.repeat(0x7fff / pair.len());
                data.truncate(data.len() - 2);
                data.extend_from_slice(&(props.len() as i16).to_be_bytes());
                data.extend_from_slice(props.as_bytes());
                with_selector([BYTES, SLICE][rng.usize(..2)], &data)
            } else {
                let n = count(rng, 5_000, 250_000, 8);
                reply_input(&[("topic", "T".into()), ("properties", pair.repeat(n))], b"")
            }
        }
        4 => {
            // Very many small messages.
            let one = encode(&StoredMessage { properties: Vec::new(), body: Bytes::from_static(b"x"), ..message(rng) });
            let n = count(rng, 1_000, 100_000, 8).min(MAX_INPUT_LEN / one.len().max(1));
            with_selector(LIST, &one.repeat(n))
        }
        5 => {
            // A zstd frame whose header asks for a big window.
            let body = zstd_big_window([20, 23, 24, 27, 28, 31][rng.usize(..6)]);
            let kind = CompressionType::Zstd;
            if rng.bool() {
                with_selector([BYTES, SLICE][rng.usize(..2)], &compressed_message(rng, kind, body))
            } else {
                let sys_flag = COMPRESSED_FLAG | kind.sys_flag_bits();
                reply_input(&[("topic", "T".into()), ("sysFlag", sys_flag.to_string())], &body)
            }
        }
        _ => {
            // Length and flag fields at their edges.
            const EDGES: [i32; 7] = [-1, 0, 1, 0x7fff, 0x8000, i32::MAX, i32::MIN];
            let msg = message(rng);
            let host_len = |a: SocketAddr| if a.is_ipv6() { 20 } else { 8 };
            let body_len_at = 48 + host_len(msg.born_host) + 8 + host_len(msg.store_host) + 12;
            let mut data = encode(&msg);
            for _ in 0..rng.usize(1..=3) {
                // Body length, sys flag, total size, or a random place.
                let at = [body_len_at, SYS_FLAG_AT, 0, rng.usize(..data.len().max(1))][rng.usize(..4)];
                if at + 4 <= data.len() {
                    data[at..at + 4].copy_from_slice(&EDGES[rng.usize(..7)].to_be_bytes());
                }
            }
            with_selector([BYTES, SLICE, LIST][rng.usize(..3)], &data)
        }
    }
}
