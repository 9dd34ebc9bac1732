//! Byte-level mutations, blind to the format: the structure-aware half lives in the targets'
//! generators.

use fastrand::Rng;

use crate::engine::MAX_INPUT_LEN;

/// Values that tend to sit on boundaries: written as big-endian i16 / i32.
const INTERESTING_I16: [i16; 9] = [0, 1, -1, 0x7f, 0x80, 0xff, 0x100, i16::MIN, i16::MAX];
const INTERESTING_I32: [i32; 12] =
    [0, 1, -1, 0x7f, 0x80, 0xff, 0xffff, 0x10000, 0x00ff_ffff, 0x0100_0000, i32::MIN, i32::MAX];
/// The same idea for text formats (JSON numbers, decimal header values, `name:N` items).
#[rustfmt::skip]
const INTERESTING_DECIMAL: [&str; 12] = [
    "0", "-1", "1", "65535", "65536", "2147483647", "-2147483648", "4294967296", "9223372036854775807",
    "99999999999999999999", "1e309", "-0",
];

/// Applies one random mutation; `others` is the corpus to splice from.
pub fn mutate(rng: &mut Rng, data: &mut Vec<u8>, others: &[Vec<u8>]) {
    let can_grow = data.len() < MAX_INPUT_LEN;
    match rng.u32(0..14) {
        0 => {
            if let Some(i) = pick(rng, data.len()) {
                data[i] ^= 1 << rng.u32(0..8);
            }
        }
        1 => {
            if let Some(i) = pick(rng, data.len()) {
                data[i] = rng.u8(..);
            }
        }
        2 => {
            let v = INTERESTING_I16[rng.usize(..INTERESTING_I16.len())];
            overwrite(rng, data, &v.to_be_bytes());
        }
        3 => {
            let v = INTERESTING_I32[rng.usize(..INTERESTING_I32.len())];
            overwrite(rng, data, &v.to_be_bytes());
        }
        4 => {
            // A length field that is almost right: what is left from here, ±1.
            if let Some(at) = pick(rng, data.len()) {
                let rest = (data.len() - at) as i64 + rng.i64(-1..=1) - if rng.bool() { 4 } else { 0 };
                let field = if rng.bool() {
                    (rest as i32).to_be_bytes().to_vec()
                } else {
                    (rest as i16).to_be_bytes().to_vec()
                };
                overwrite_at(data, at, &field);
            }
        }
        5 => {
            // Nudge a big-endian i32 already there.
            if data.len() >= 4 {
                let at = rng.usize(..=data.len() - 4);
                let old = i32::from_be_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]);
                let new = old.wrapping_add(rng.i32(-16..=16));
                data[at..at + 4].copy_from_slice(&new.to_be_bytes());
            }
        }
        6 if can_grow => {
            let at = rng.usize(..=data.len());
            let n = if rng.u32(0..8) == 0 { rng.usize(1..=4096) } else { rng.usize(1..=16) };
            let bytes: Vec<u8> = (0..n).map(|_| rng.u8(..)).collect();
            data.splice(at..at, bytes);
        }
        7 => {
            if !data.is_empty() {
                let (start, end) = range(rng, data.len());
                data.drain(start..end);
            }
        }
        8 if can_grow => {
            // Duplicate a range (repeated fields, repeated frames, repeated `name:N;` items).
            if !data.is_empty() {
                let (start, end) = range(rng, data.len());
                let chunk = data[start..end].to_vec();
                let times = if rng.u32(0..4) == 0 { rng.usize(2..=64) } else { 1 };
                let at = rng.usize(..=data.len());
                let room = MAX_INPUT_LEN - data.len();
                let copies: Vec<u8> = chunk.iter().copied().cycle().take((chunk.len() * times).min(room)).collect();
                data.splice(at..at, copies);
            }
        }
        9 => {
            // Splice: our head with another entry's tail, or a piece of it inserted.
            if !others.is_empty() {
                let other = &others[rng.usize(..others.len())];
                if rng.bool() {
                    let cut = rng.usize(..=data.len());
                    let from = rng.usize(..=other.len());
                    data.truncate(cut);
                    data.extend_from_slice(&other[from..]);
                } else if !other.is_empty() && can_grow {
                    let (start, end) = range(rng, other.len());
                    let at = rng.usize(..=data.len());
                    data.splice(at..at, other[start..end].iter().copied());
                }
            }
        }
        10 => {
            if !data.is_empty() {
                let keep = rng.usize(..data.len());
                data.truncate(keep);
            }
        }
        11 if can_grow => {
            let n = rng.usize(1..=64);
            data.extend((0..n).map(|_| rng.u8(..)));
        }
        12 => replace_decimal(rng, data),
        _ => {
            // Copy a range over another place of the same input.
            if data.len() >= 2 {
                let (start, end) = range(rng, data.len());
                let chunk = data[start..end].to_vec();
                let at = rng.usize(..data.len());
                overwrite_at(data, at, &chunk);
            }
        }
    }
    data.truncate(MAX_INPUT_LEN);
}

fn pick(rng: &mut Rng, len: usize) -> Option<usize> {
    (len > 0).then(|| rng.usize(..len))
}

/// A non-empty range, usually short.
fn range(rng: &mut Rng, len: usize) -> (usize, usize) {
    let start = rng.usize(..len);
    let max = len - start;
    let n = if rng.u32(0..4) == 0 { rng.usize(1..=max) } else { rng.usize(1..=max.min(16)) };
    (start, start + n)
}

fn overwrite(rng: &mut Rng, data: &mut Vec<u8>, bytes: &[u8]) {
    let at = rng.usize(..=data.len());
    overwrite_at(data, at, bytes);
}

/// Writes `bytes` at `at`, extending the input if they run past its end.
fn overwrite_at(data: &mut Vec<u8>, at: usize, bytes: &[u8]) {
    let end = at + bytes.len();
    if end > data.len() {
        data.resize(end, 0);
    }
    data[at..end].copy_from_slice(bytes);
}

/// Replaces a run of ASCII digits (with its sign) by a boundary value.
fn replace_decimal(rng: &mut Rng, data: &mut Vec<u8>) {
    let Some(from) = pick(rng, data.len()) else { return };
    let Some(start) = data[from..].iter().position(u8::is_ascii_digit).map(|p| p + from) else { return };
    let start = if start > 0 && data[start - 1] == b'-' { start - 1 } else { start };
    let end = data[start + 1..].iter().position(|b| !b.is_ascii_digit()).map_or(data.len(), |p| p + start + 1);
    let value = INTERESTING_DECIMAL[rng.usize(..INTERESTING_DECIMAL.len())];
    data.splice(start..end, value.bytes());
}
