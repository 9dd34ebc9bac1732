//! `header`: a valid 8-byte frame prefix around fuzzed header bytes, JSON or binary; a decoded
//! command is then read as every typed header the crate has.
//!
//! Input: one selector byte (bit 0: 0 JSON, 1 ROCKETMQ binary), then the header.

use actix_rocketmq::protocol::acl::AuthRefusal;
use actix_rocketmq::protocol::header::{
    CheckTransactionStateRequestHeader, CommandHeader, EndTransactionRequestHeader,
    GetProducerConnectionListRequestHeader, GetRouteInfoRequestHeader, SendMessageRequestHeaderV2,
    SendMessageResponseHeader, UnregisterClientRequestHeader, ViewMessageRequestHeader,
};
use actix_rocketmq::protocol::message_id::decode_offset_msg_id;
use actix_rocketmq::protocol::{decode_frame, LanguageCode, RemotingCommand, DEFAULT_MAX_FRAME_LEN};
use bytes::BytesMut;
use fastrand::Rng;

use super::{count, ident, raw_frame, repeat_joined, ser, text};
use crate::engine::{begin, bucket, end, Outcome, Target};

pub const TARGET: Target = Target { name: "header", seeds, hostile, run, foreign_alloc: false };

fn run(input: &[u8]) -> Outcome {
    let Some((&sel, header)) = input.split_first() else {
        return Outcome::ok("empty");
    };
    let mut buf = BytesMut::from(&raw_frame(sel & 1, header, b"")[..]);
    begin();
    let result =
        decode_frame(&mut buf, DEFAULT_MAX_FRAME_LEN).map(|cmd| cmd.map(|cmd| (read_all(&cmd), cmd.ext_fields.len())));
    end();
    match result {
        Ok(Some((decoded, ext))) => {
            Outcome::ok(format!("Ok ser={} headers={decoded:02x} ext<2^{}", sel & 1, bucket(ext)))
        }
        Ok(None) => Outcome::ok("incomplete"),
        Err(e) => Outcome::err("", &e),
    }
}

/// Reads every typed header from the command; bit i set when header i decoded.
pub fn read_all(cmd: &RemotingCommand) -> u32 {
    let ext = &cmd.ext_fields;
    let mut decoded = 0;
    let mut bit = |i: u32, ok: bool| decoded |= u32::from(ok) << i;
    bit(0, SendMessageRequestHeaderV2::read_ext(ext).is_ok());
    match SendMessageResponseHeader::read_ext(ext) {
        Ok(h) => {
            bit(1, true);
            // Batch replies join the offset ids with commas.
            for id in h.msg_id.split(',') {
                let _ = decode_offset_msg_id(id);
            }
        }
        Err(_) => bit(1, false),
    }
    bit(2, GetRouteInfoRequestHeader::read_ext(ext).is_ok());
    bit(3, UnregisterClientRequestHeader::read_ext(ext).is_ok());
    bit(4, ViewMessageRequestHeader::read_ext(ext).is_ok());
    bit(5, GetProducerConnectionListRequestHeader::read_ext(ext).is_ok());
    bit(6, EndTransactionRequestHeader::read_ext(ext).is_ok());
    bit(7, CheckTransactionStateRequestHeader::read_ext(ext).is_ok());
    if let Some(remark) = &cmd.remark {
        let _ = AuthRefusal::from_remark(remark);
    }
    decoded
}

#[derive(Clone, Copy)]
enum Kind {
    Text,
    I32,
    I64,
    Bool,
    MsgId,
    Props,
}

use Kind::*;

/// The ext-field keys of every typed header, with the kind of value each holds.
#[rustfmt::skip]
const HEADERS: [&[(&str, Kind)]; 8] = [
    &[
        ("a", Text), ("b", Text), ("c", Text), ("d", I32), ("e", I32), ("f", I32), ("g", I64), ("h", I32), ("i", Props),
        ("j", I32), ("k", Bool), ("l", I32), ("m", Bool), ("n", Text),
    ],
    &[
        ("msgId", MsgId), ("queueId", I32), ("queueOffset", I64), ("transactionId", Text), ("batchUniqId", Text),
        ("MSG_REGION", Text), ("TRACE_ON", Bool),
    ],
    &[("topic", Text), ("acceptStandardJsonOnly", Bool)],
    &[("clientID", Text), ("producerGroup", Text), ("consumerGroup", Text)],
    &[("offset", I64)],
    &[("producerGroup", Text)],
    &[
        ("producerGroup", Text), ("tranStateTableOffset", I64), ("commitLogOffset", I64), ("commitOrRollback", I32),
        ("fromTransactionCheck", Bool), ("msgId", Text), ("transactionId", Text), ("topic", Text), ("bname", Text),
    ],
    &[
        ("tranStateTableOffset", I64), ("commitLogOffset", I64), ("msgId", Text), ("transactionId", Text),
        ("offsetMsgId", MsgId), ("topic", Text), ("bname", Text),
    ],
];

fn value(rng: &mut Rng, kind: Kind) -> String {
    if rng.u32(0..16) == 0 {
        // Wrong more often than real peers are.
        return ["", "x", "-", "1.5", "0x10", "99999999999999999999", " 1", "true"][rng.usize(..8)].to_string();
    }
    match kind {
        Text => text(rng, 24),
        I32 => rng.i32(..).to_string(),
        I64 => rng.i64(..).to_string(),
        Bool => ["true", "false", "TRUE", "False"][rng.usize(..4)].to_string(),
        MsgId => {
            let n = [32, 56, 31, 57][rng.usize(..4)];
            let id: String = (0..n).map(|_| b"0123456789ABCDEFabcdef"[rng.usize(..22)] as char).collect();
            if rng.u32(0..4) == 0 {
                format!("{id},{id}")
            } else {
                id
            }
        }
        Props => (0..rng.usize(0..6)).map(|_| format!("{}\u{1}{}\u{2}", ident(rng, 8), text(rng, 8))).collect(),
    }
}

/// A command carrying the fields of one or two typed headers (some left out), as peers send them.
pub fn command(rng: &mut Rng) -> RemotingCommand {
    let mut cmd = if rng.bool() {
        RemotingCommand::request(rng.i32(0..400))
    } else {
        RemotingCommand::response(rng.i32(0..30), rng.i32(..), rng.bool().then(|| text(rng, 40)))
    };
    cmd.language = LanguageCode::from_u8(rng.u8(0..16));
    cmd.version = rng.i32(-1..500);
    cmd.flag |= rng.i32(0..4);
    for _ in 0..rng.usize(1..=2) {
        for &(key, kind) in HEADERS[rng.usize(..HEADERS.len())] {
            if rng.u32(0..8) != 0 {
                cmd.ext_fields.insert(key, value(rng, kind));
            }
        }
    }
    if rng.u32(0..4) == 0 {
        cmd.ext_fields.insert(ident(rng, 10), text(rng, 20));
    }
    cmd
}

fn seeds(rng: &mut Rng) -> Vec<Vec<u8>> {
    (0..64)
        .map(|_| {
            let ser = ser(rng);
            let mut out = Vec::new();
            super::frame(&command(rng), ser, &mut out);
            // Selector byte, then the header without its 8-byte prefix.
            let mut input = vec![ser.code()];
            input.extend_from_slice(out.get(8..).unwrap_or_default());
            input
        })
        .collect()
}

fn hostile(rng: &mut Rng) -> Vec<u8> {
    let (ser, header) = hostile_header(rng);
    let mut input = vec![ser];
    input.extend_from_slice(&header);
    input
}

/// A header (JSON when the first value is 0, binary when 1) built to cost: very many distinct or
/// repeated ext keys, deep nesting, extreme lengths, very many unknown keys, long escaped strings.
pub fn hostile_header(rng: &mut Rng) -> (u8, Vec<u8>) {
    match rng.u32(0..7) {
        0 => {
            let n = count(rng, 2_000, 120_000, 16);
            let distinct = rng.u32(0..4) != 0;
            (1, binary_header(&ext_entries(n, distinct), rng.i32(..), rng.i32(..)))
        }
        1 => {
            let n = count(rng, 2_000, 100_000, 16);
            let distinct = rng.u32(0..4) != 0;
            let ext = repeat_joined(|i| format!("\"{}\":\"v\"", key(if distinct { i } else { i % 4 })), n, 1 << 20);
            (0, format!("{{\"code\":0,\"extFields\":{{{ext}}},\"flag\":1}}").into_bytes())
        }
        2 => {
            // Deep nesting where unknown fields are skipped, and as an ext value.
            let depth = count(rng, 1_000, 400_000, 8);
            let (open, close) = if rng.bool() { ("[", "]") } else { ("{\"a\":", "}") };
            let nest = format!("{}1{}", open.repeat(depth), close.repeat(depth));
            let header = if rng.bool() {
                format!("{{\"code\":0,\"whatever\":{nest}}}")
            } else {
                format!("{{\"code\":0,\"extFields\":{{\"k\":{nest}}}}}")
            };
            (0, header.into_bytes())
        }
        3 => {
            let n = count(rng, 2_000, 100_000, 16);
            let keys = repeat_joined(|i| format!("\"u{i}\":{i}"), n, 1 << 20);
            (0, format!("{{\"code\":0,{keys}}}").into_bytes())
        }
        4 => {
            // Long strings full of escapes.
            let n = count(rng, 10_000, 150_000, 8);
            let escaped = "\\u0001\\\"".repeat(n);
            (0, format!("{{\"code\":0,\"remark\":\"{escaped}\",\"extFields\":{{\"i\":\"{escaped}\"}}}}").into_bytes())
        }
        5 => {
            // Binary lengths at and past the edges.
            const EDGES: [i32; 8] = [-1, 0, 1, 0x7fff, 0x8000, 0x00ff_ffff, i32::MAX, i32::MIN];
            let mut h = binary_fixed(rng);
            h.extend_from_slice(&EDGES[rng.usize(..8)].to_be_bytes());
            h.extend(std::iter::repeat(b'r').take(rng.usize(0..64)));
            h.extend_from_slice(&EDGES[rng.usize(..8)].to_be_bytes());
            for _ in 0..rng.usize(0..4) {
                h.extend_from_slice(&(EDGES[rng.usize(..8)] as i16).to_be_bytes());
                h.extend_from_slice(b"key");
                h.extend_from_slice(&EDGES[rng.usize(..8)].to_be_bytes());
                h.extend_from_slice(b"value");
            }
            (1, h)
        }
        _ => {
            // Long keys and values, in few fields.
            let n = count(rng, 30_000, 300_000, 4);
            let entries = vec![(key(0).repeat(n / 4), "v".repeat(n)), ("k".repeat(0x7fff.min(n)), "w".to_string())];
            (1, binary_header(&entries, 0, -1))
        }
    }
}

/// Short distinct keys: `k0`, `k1`, ... in base 36.
fn key(mut i: usize) -> String {
    let mut s = String::from("k");
    loop {
        s.push(b"0123456789abcdefghijklmnopqrstuvwxyz"[i % 36] as char);
        i /= 36;
        if i == 0 {
            return s;
        }
    }
}

fn ext_entries(n: usize, distinct: bool) -> Vec<(String, String)> {
    (0..n).map(|i| (key(if distinct { i } else { i % 4 }), "v".to_string())).collect()
}

fn binary_fixed(rng: &mut Rng) -> Vec<u8> {
    let mut h = Vec::new();
    h.extend_from_slice(&rng.i16(..).to_be_bytes());
    h.push(rng.u8(..));
    h.extend_from_slice(&rng.i16(..).to_be_bytes());
    h.extend_from_slice(&rng.i32(..).to_be_bytes());
    h.extend_from_slice(&rng.i32(0..4).to_be_bytes());
    h
}

/// A binary header written by hand, so that it can hold what `encode_frame` refuses to write.
fn binary_header(entries: &[(String, String)], opaque: i32, remark_len: i32) -> Vec<u8> {
    let mut h = Vec::new();
    h.extend_from_slice(&0i16.to_be_bytes());
    h.push(0);
    h.extend_from_slice(&0i16.to_be_bytes());
    h.extend_from_slice(&opaque.to_be_bytes());
    h.extend_from_slice(&1i32.to_be_bytes());
    let remark = if remark_len > 0 { remark_len.min(64) } else { 0 };
    h.extend_from_slice(&remark.to_be_bytes());
    h.extend(std::iter::repeat(b'r').take(remark as usize));
    let mut ext = Vec::new();
    for (k, v) in entries {
        if ext.len() + k.len() + v.len() + 6 + h.len() + 4 > super::MAX_INPUT_LEN - 16 {
            break;
        }
        ext.extend_from_slice(&(k.len() as i16).to_be_bytes());
        ext.extend_from_slice(k.as_bytes());
        ext.extend_from_slice(&(v.len() as i32).to_be_bytes());
        ext.extend_from_slice(v.as_bytes());
    }
    h.extend_from_slice(&(ext.len() as i32).to_be_bytes());
    h.extend_from_slice(&ext);
    h
}
