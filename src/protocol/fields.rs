//! Header fields written straight into frame bytes, in either serialization: the send path's
//! way to skip the string map (docs/PROTOCOL.md, Headers).
//!
//! Binary (`RocketMQSerializable.mapSerialize`): `i16 key length | key | i32 value length |
//! value` per field, fields with an empty key or value left out (Java reads a zero length as
//! null). JSON: `"key":"value"` pairs of the `extFields` object, escaped as fastjson and
//! serde_json escape them (control characters such as the property separators 0x01/0x02 as
//! `\u0001`).

use bytes::{BufMut, BytesMut};

use super::command::SerializeType;
use super::ExtFields;

/// Anything header fields can be written to: the [`ExtFields`] map, or a [`FieldWriter`]
/// encoding them at once.
///
/// ```
/// use actix_rocketmq::protocol::fields::FieldSink;
/// use actix_rocketmq::protocol::ExtFields;
///
/// let mut ext = ExtFields::new();
/// ext.put_str("topic", "T");
/// ext.put_int("queueId", 3);
/// ext.put_bool("batch", false);
/// assert_eq!(&ext["queueId"], "3");
/// assert_eq!(&ext["batch"], "false");
/// ```
pub trait FieldSink {
    /// One text field.
    fn put_str(&mut self, key: &'static str, value: &str);
    /// One integer field (written in decimal).
    fn put_int(&mut self, key: &'static str, value: i64);
    /// One boolean field (`"true"` / `"false"`, as Java writes it).
    fn put_bool(&mut self, key: &'static str, value: bool) {
        self.put_str(key, if value { "true" } else { "false" });
    }
}

impl FieldSink for ExtFields {
    fn put_str(&mut self, key: &'static str, value: &str) {
        self.insert(key, value);
    }
    fn put_int(&mut self, key: &'static str, value: i64) {
        self.insert(key, itoa::Buffer::new().format(value));
    }
}

/// Encodes header fields into a buffer in one serialization, as they appear inside a frame's
/// header (binary: the ext-fields area without its length; JSON: the members of `extFields`
/// without the braces).
///
/// ```
/// use actix_rocketmq::protocol::fields::{FieldSink, FieldWriter};
/// use actix_rocketmq::protocol::SerializeType;
/// use bytes::BytesMut;
///
/// let mut buf = BytesMut::new();
/// let mut w = FieldWriter::new(SerializeType::Json, &mut buf);
/// w.put_str("topic", "T");
/// w.put_int("queueId", 3);
/// assert_eq!(&buf[..], br#""topic":"T","queueId":"3""#);
/// ```
pub struct FieldWriter<'a> {
    ser: SerializeType,
    dst: &'a mut BytesMut,
    /// JSON: no comma before the first member.
    pub(crate) first: bool,
}

impl<'a> FieldWriter<'a> {
    /// A writer appending to `dst`.
    pub fn new(ser: SerializeType, dst: &'a mut BytesMut) -> Self {
        FieldWriter { ser, dst, first: true }
    }

    /// Appends fields encoded earlier by a writer of the same serialization.
    pub(crate) fn put_encoded(&mut self, encoded: &[u8]) {
        if encoded.is_empty() {
            return;
        }
        if self.ser == SerializeType::Json && !self.first {
            self.dst.put_u8(b',');
        }
        self.first = false;
        self.dst.put_slice(encoded);
    }

    /// One field of any key (keys of received or user-built maps).
    pub(crate) fn put_field(&mut self, key: &str, value: &str) {
        match self.ser {
            SerializeType::RocketMq => {
                if key.is_empty() || value.is_empty() {
                    return;
                }
                // Callers check key lengths against i16 first (`frame::encode_frame`); the
                // value's length is bounded by the header limit checked after writing.
                let value_len = (value.len() as i32).to_be_bytes();
                if let [k] = key.as_bytes() {
                    // The send header's keys are one letter: key length, key and value length
                    // in one 7-byte write (a send writes eight such fields).
                    let [a, b, c, d] = value_len;
                    self.dst.put_slice(&[0, 1, *k, a, b, c, d]);
                } else {
                    self.dst.put_i16(key.len() as i16);
                    self.dst.put_slice(key.as_bytes());
                    self.dst.put_slice(&value_len);
                }
                self.dst.put_slice(value.as_bytes());
            }
            SerializeType::Json => {
                if !self.first {
                    self.dst.put_u8(b',');
                }
                self.first = false;
                put_json_str(self.dst, key);
                self.dst.put_u8(b':');
                put_json_str(self.dst, value);
            }
        }
    }
}

impl FieldSink for FieldWriter<'_> {
    fn put_str(&mut self, key: &'static str, value: &str) {
        self.put_field(key, value);
    }
    fn put_int(&mut self, key: &'static str, value: i64) {
        self.put_field(key, itoa::Buffer::new().format(value));
    }
}

/// A JSON string literal, escaped like serde_json's compact writer: `"` and `\` with a
/// backslash, `\b \t \n \f \r` by name, other control characters as `\u00xx`; the rest as is.
pub(crate) fn put_json_str(dst: &mut BytesMut, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = s.as_bytes();
    dst.reserve(bytes.len() + 2);
    dst.put_u8(b'"');
    let mut plain = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            0x0C => b"\\f",
            b'\r' => b"\\r",
            0x00..=0x1F => &[],
            _ => continue,
        };
        dst.put_slice(&bytes[plain..i]);
        plain = i + 1;
        if escape.is_empty() {
            dst.put_slice(b"\\u00");
            dst.put_u8(HEX[usize::from(b >> 4)]);
            dst.put_u8(HEX[usize::from(b & 0xF)]);
        } else {
            dst.put_slice(escape);
        }
    }
    dst.put_slice(&bytes[plain..]);
    dst.put_u8(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_escape_as_serde_json_does() {
        let samples = ["plain", "a\"b\\c", "k\u{1}v\u{2}n\u{7f}", "\u{8}\t\n\u{c}\r\u{0}\u{1f}", "héllo ☃", ""];
        for s in samples {
            let mut buf = BytesMut::new();
            put_json_str(&mut buf, s);
            assert_eq!(std::str::from_utf8(&buf).unwrap(), serde_json::to_string(s).unwrap(), "{s:?}");
        }
    }

    #[test]
    fn binary_fields_leave_out_empty_keys_and_values() {
        let mut buf = BytesMut::new();
        let mut w = FieldWriter::new(SerializeType::RocketMq, &mut buf);
        w.put_str("a", "xy");
        w.put_str("b", "");
        w.put_int("c", -12);
        w.put_str("queueId", "3");
        assert_eq!(&buf[..], b"\x00\x01a\x00\x00\x00\x02xy\x00\x01c\x00\x00\x00\x03-12\x00\x07queueId\x00\x00\x00\x013");
    }

    #[test]
    fn encoded_fields_join_others_with_a_comma_in_json() {
        let mut pre = BytesMut::new();
        FieldWriter::new(SerializeType::Json, &mut pre).put_str("a", "1");
        let mut buf = BytesMut::new();
        let mut w = FieldWriter::new(SerializeType::Json, &mut buf);
        w.put_encoded(&pre);
        w.put_str("b", "2");
        assert_eq!(&buf[..], br#""a":"1","b":"2""#);
    }
}
