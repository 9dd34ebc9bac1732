//! The JSON header in the shape a broker writes it, read without serde.
//!
//! A 5.x broker answers every request with a JSON header, whatever serialization the request
//! used (docs/PROTOCOL.md, Which serialization): every send's reply goes through here. Through
//! serde_json a reply cost an owned `String` per field key and value and a scan of each string
//! for escapes; profiles against the broker put it at about 5 % of the client's CPU in W4 (one
//! reply per 32 messages). This reader takes what fastjson writes for a reply: one object of
//! `code`, `flag`, `language`, `opaque`, `remark`, `serializeTypeCurrentRPC`, `version` and an
//! `extFields` object of plain strings, in any order and with any whitespace, with the values
//! sharing one string as a binary header's do. Anything else (an escape, a nested value, a
//! number where a string was expected, an unknown or repeated key, a fraction) makes it return
//! `None`, and the caller reads the header with serde_json, which stays the reference for what
//! is accepted and how.

use std::borrow::Cow;

use super::command::{LanguageCode, RemotingCommand};
use super::ext::{ExtFields, Value};
use super::limits::MAX_EXT_FIELDS;

/// The header, if it has the common shape (see the module docs); `None` otherwise.
pub(crate) fn read_common(header: &[u8], field_key: impl Fn(&[u8]) -> Cow<'static, str>) -> Option<RemotingCommand> {
    // JSON is UTF-8 as a whole: one check, and every string sliced out below between two
    // ASCII quotes is valid on its own.
    let text = std::str::from_utf8(header).ok()?;
    // A broker's header has no control characters at all (no line breaks either): one look at
    // its smallest byte spares each of its twenty-odd strings its own look.
    let mut r = Cursor { s: text, b: text.as_bytes(), at: 0, controls: has_control(header) };
    let mut h = Fields::default();
    r.expect(b'{')?;
    if !r.eat(b'}') {
        loop {
            let key = r.string()?;
            r.expect(b':')?;
            match key {
                "code" => set(&mut h.code, r.int()?)?,
                "flag" => set(&mut h.flag, r.int()?)?,
                "opaque" => set(&mut h.opaque, r.int()?)?,
                "version" => set(&mut h.version, r.int()?)?,
                "language" => set(&mut h.language, LanguageCode::from_name(r.string()?).unwrap_or(LanguageCode::Other))?,
                "remark" => set(&mut h.remark, if r.null() { None } else { Some(r.string()?.to_owned()) })?,
                "serializeTypeCurrentRPC" => set(&mut h.serialize, r.string()?)?,
                "extFields" => {
                    let ext = if r.null() { Some(ExtFields::new()) } else { ext_fields(&mut r, &field_key) };
                    set(&mut h.ext, ext?)?
                }
                _ => return None,
            }
            if r.eat(b',') {
                continue;
            }
            r.expect(b'}')?;
            break;
        }
    }
    r.skip_ws();
    if r.at != r.b.len() {
        return None;
    }
    Some(RemotingCommand {
        code: h.code?,
        language: h.language.unwrap_or(LanguageCode::Java),
        version: h.version.unwrap_or(0),
        opaque: h.opaque.unwrap_or(0),
        flag: h.flag.unwrap_or(0),
        remark: h.remark.flatten(),
        ext_fields: h.ext.unwrap_or_default(),
        body: bytes::Bytes::new(),
    })
}

/// The top-level fields seen so far (each at most once: serde refuses a repeated one).
#[derive(Default)]
struct Fields<'a> {
    code: Option<i32>,
    flag: Option<i32>,
    opaque: Option<i32>,
    version: Option<i32>,
    language: Option<LanguageCode>,
    remark: Option<Option<String>>,
    serialize: Option<&'a str>,
    ext: Option<ExtFields>,
}

fn set<T>(slot: &mut Option<T>, value: T) -> Option<()> {
    if slot.is_some() {
        return None;
    }
    *slot = Some(value);
    Some(())
}

/// `extFields`: an object of strings (`null` values dropped, as serde's reader drops them),
/// the values copied into one shared string.
fn ext_fields(r: &mut Cursor<'_>, field_key: &impl Fn(&[u8]) -> Cow<'static, str>) -> Option<ExtFields> {
    r.expect(b'{')?;
    let mut entries: Vec<(Cow<'static, str>, Value)> = Vec::with_capacity(8);
    // The values are shorter than what is left of the header.
    let mut text = String::with_capacity(r.b.len() - r.at);
    if r.eat(b'}') {
        return Some(ExtFields::from_received(entries, text));
    }
    loop {
        let key = r.string()?;
        r.expect(b':')?;
        if !r.null() {
            let value = r.string()?;
            // Past the limit, serde's reader gives the error. (A repeated key is settled by
            // `from_received`, which serde's reader ends with too.)
            if entries.len() == MAX_EXT_FIELDS {
                return None;
            }
            let start = text.len();
            text.push_str(value);
            // (a header is at most 16 MiB, so its offsets fit in u32)
            entries.push((field_key(key.as_bytes()), Value::Shared(start as u32, text.len() as u32)));
        }
        if r.eat(b',') {
            continue;
        }
        r.expect(b'}')?;
        return Some(ExtFields::from_received(entries, text));
    }
}

struct Cursor<'a> {
    /// The header, checked as UTF-8 once; strings are sliced out of it.
    s: &'a str,
    b: &'a [u8],
    at: usize,
    /// Whether the header has bytes below 0x20 anywhere (then each string is checked for them).
    controls: bool,
}

impl<'a> Cursor<'a> {
    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(self.at) {
            self.at += 1;
        }
    }

    /// Skips whitespace, then takes `c` if it comes next.
    fn eat(&mut self, c: u8) -> bool {
        self.skip_ws();
        if self.b.get(self.at) == Some(&c) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: u8) -> Option<()> {
        self.eat(c).then_some(())
    }

    /// A `null` literal, taken if it comes next.
    fn null(&mut self) -> bool {
        self.skip_ws();
        if self.b[self.at..].starts_with(b"null") {
            self.at += 4;
            true
        } else {
            false
        }
    }

    /// A string without escapes or control characters.
    fn string(&mut self) -> Option<&'a str> {
        self.expect(b'"')?;
        let start = self.at;
        let len = plain_prefix(&self.b[start..], self.controls);
        if self.b.get(start + len) != Some(&b'"') {
            return None;
        }
        self.at = start + len + 1;
        // Between two ASCII quotes of the checked text: on character boundaries, so the slice
        // needs no second check.
        self.s.get(start..start + len)
    }

    /// An integer in `i32` (no fraction, no exponent).
    fn int(&mut self) -> Option<i32> {
        self.skip_ws();
        let start = self.at;
        let negative = self.b.get(self.at) == Some(&b'-');
        if negative {
            self.at += 1;
        }
        let digits = self.b[self.at..].iter().take_while(|c| c.is_ascii_digit()).count();
        // JSON has no leading zeros ("0" alone is fine), and serde_json reads "-0" as a float.
        if digits == 0 || (self.b[self.at] == b'0' && (digits > 1 || negative)) {
            return None;
        }
        self.at += digits;
        if let Some(b'.' | b'e' | b'E') = self.b.get(self.at) {
            return None;
        }
        self.s.get(start..self.at)?.parse().ok()
    }
}

/// How many bytes at the start of `b` may stand in a JSON string as they are (none is a quote, a
/// backslash or a control character): the length of a string's text up to its closing quote, if
/// it has no escapes.
///
/// A batch reply's `msgId` holds the offset ids of all its messages (about a kilobyte for 32);
/// tested byte by byte (about 15 instructions a byte) reading it was a third of the client's
/// instructions in W4 against a broker. `memchr2` finds the first quote or backslash with vector
/// instructions, and the smallest byte before it (a vectorized fold) tells whether a control
/// character comes first (unless the header has none: `controls` false).
fn plain_prefix(b: &[u8], controls: bool) -> usize {
    let end = memchr::memchr2(b'"', b'\\', b).unwrap_or(b.len());
    let head = &b[..end];
    if controls && has_control(head) {
        head.iter().position(|&c| c < 0x20).unwrap_or(end)
    } else {
        end
    }
}

/// Whether `b` holds a control character (a byte below 0x20), told by its smallest byte: a fold
/// the compiler turns into vector instructions, where a search stopping at the first such byte
/// goes a byte at a time.
fn has_control(b: &[u8]) -> bool {
    b.iter().fold(u8::MAX, |least, &c| least.min(c)) < 0x20
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Integers as serde reads them into an `i32`: the whole range, and nothing past it.
    #[test]
    fn integers_read_as_serde_would() {
        let code = |v: &str| read_common(format!("{{\"code\":{v}}}").as_bytes(), |k: &[u8]| Cow::Owned(String::from_utf8_lossy(k).into_owned())).map(|c| c.code);
        for (text, n) in [("0", 0), ("7", 7), ("-7", -7), ("2147483647", i32::MAX), ("-2147483648", i32::MIN), ("1200", 1200)] {
            assert_eq!(code(text), Some(n), "{text}");
            assert_eq!(serde_json::from_str::<i32>(text).ok(), Some(n), "{text}");
        }
        for text in ["2147483648", "-2147483649", "99999999999999999999999", "-0", "007", "1.0", "1e3", "-", "+1"] {
            assert_eq!(code(text), None, "{text}");
        }
    }

    /// A control character inside a string sends the header to serde (which refuses it), with or
    /// without line breaks elsewhere in the header; line breaks between tokens are fine.
    #[test]
    fn control_characters_in_strings_are_refused() {
        let read = |h: &str| read_common(h.as_bytes(), |k: &[u8]| Cow::Owned(String::from_utf8_lossy(k).into_owned()));
        let ok = read("{\"code\":0,\n\"remark\":\"x y\",\r\n\"extFields\":{\"k\":\"v\"}}").expect("line breaks between tokens");
        assert_eq!((ok.remark.as_deref(), ok.ext_fields.get("k")), (Some("x y"), Some("v")));
        for bad in [
            "{\"code\":0,\"remark\":\"a\tb\"}",
            "{\"code\":0,\n\"remark\":\"a\tb\"}",
            "{\"code\":0,\"extFields\":{\"k\":\"a\u{1}b\"}}",
            "{\"code\":0,\"extFields\":{\"k\\u{0}\":\"v\"}}",
            "{\"code\":0,\"extFields\":{\"k\u{1f}\":\"v\"}}",
        ] {
            assert!(read(bad).is_none(), "{bad:?}");
        }
    }

    /// The vector search stops where a byte-by-byte one does, for every byte value at every
    /// place of slices of every length up to 40 and of some longer ones (memchr's vector loops
    /// take 16, 32 or 64 bytes at a time, then finish the rest), between plain bytes of several
    /// kinds.
    #[test]
    fn plain_prefix_stops_where_a_byte_scan_does() {
        let byte_scan = |b: &[u8]| b.iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20).unwrap_or(b.len());
        let fills: [u8; 5] = [b'A', b'0', 0x7f, 0x80, 0xff];
        for len in (0..40).chain([63, 64, 65, 127, 128, 129, 200]) {
            // (the longer ones between two kinds of plain bytes only: the test runs unoptimized)
            for &fill in if len < 40 { &fills[..] } else { &fills[3..] } {
                let mut b = vec![fill; len];
                assert_eq!(plain_prefix(&b, true), byte_scan(&b), "{fill:#x} x {len}");
                for at in 0..len {
                    for c in 0..=255u8 {
                        b[at] = c;
                        assert_eq!(plain_prefix(&b, true), byte_scan(&b), "{c:#x} at {at} of {len} ({fill:#x})");
                        // A second special byte after the first must not move the answer.
                        if at + 1 < len {
                            b[at + 1] = b'"';
                            assert_eq!(plain_prefix(&b, true), byte_scan(&b), "{c:#x} at {at}, quote after, of {len}");
                            b[at + 1] = fill;
                        }
                    }
                    b[at] = fill;
                }
            }
        }
    }
}
