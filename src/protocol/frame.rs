//! Framing: `i32 length | i32 header marker | header | body`, with a JSON or binary header
//! (Java `RemotingCommand.encode` / `decode`, `RemotingCommand.markProtocolType`,
//! `RocketMQSerializable`, `NettyDecoder`; docs/PROTOCOL.md, Frames and Headers).

use super::limits::{json_error, MAX_EXT_FIELDS};
use super::ext::Value;
use super::ExtFields;
use std::fmt;

use bytes::{Buf, BufMut, BytesMut};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

use super::command::{LanguageCode, RemotingCommand, SerializeType};
use super::fields::{put_json_str, FieldWriter};
use super::reader::Reader;
use super::ProtocolError;

/// Largest accepted frame, 4-byte length prefix included, like Java's Netty decoder
/// (`com.rocketmq.remoting.frameMaxLength`, default 16 MiB).
pub const DEFAULT_MAX_FRAME_LEN: usize = 16 * 1024 * 1024;

/// The header length travels in the low 24 bits of the header marker.
const MAX_HEADER_LEN: usize = 0x00FF_FFFF;
/// Length prefix + header marker.
const PREFIX_LEN: usize = 8;
/// Fixed part of the binary header: code, language, version, opaque, flag, remarkLen, extLen.
const BINARY_FIXED_LEN: usize = 2 + 1 + 2 + 4 + 4 + 4 + 4;

/// Appends one complete frame for `cmd` to `dst`.
///
/// The JSON header is written the way fastjson writes it (fields in alphabetical order,
/// `language` by name, `remark` left out when `None`), so Java peers and packet captures
/// see the familiar form. The binary header leaves out empty ext keys and values, because
/// Java decodes a zero length as `null`.
///
/// On error nothing is appended.
///
/// ```
/// use actix_rocketmq::protocol::{decode_frame, encode_frame, RemotingCommand, SerializeType};
/// use actix_rocketmq::protocol::DEFAULT_MAX_FRAME_LEN;
/// use bytes::BytesMut;
///
/// let mut cmd = RemotingCommand::request(105);
/// cmd.ext_fields.insert("topic", "TopicTest");
///
/// let mut buf = BytesMut::new();
/// encode_frame(&cmd, SerializeType::RocketMq, &mut buf).unwrap();
/// let back = decode_frame(&mut buf, DEFAULT_MAX_FRAME_LEN).unwrap().unwrap();
/// assert_eq!(back, cmd);
/// assert!(buf.is_empty());
/// ```
pub fn encode_frame(
    cmd: &RemotingCommand,
    ser: SerializeType,
    dst: &mut BytesMut,
) -> Result<(), ProtocolError> {
    if ser == SerializeType::RocketMq {
        if let Some((k, _)) = cmd.ext_fields.iter().find(|(k, _)| k.len() > i16::MAX as usize) {
            return Err(ProtocolError::TooLong { what: "ext field key", len: k.len(), max: i16::MAX as usize });
        }
    }
    let head = Head { code: cmd.code, language: cmd.language, version: cmd.version, opaque: cmd.opaque, flag: cmd.flag };
    write_frame(dst, ser, &head, cmd.remark.as_deref(), &cmd.body, Body::Append, |w| {
        for (k, v) in &cmd.ext_fields {
            w.put_field(k, v);
        }
    })
}

/// A request whose header fields are already encoded (the send path's form: written with a
/// [`FieldWriter`] straight from the message, no string map). The connection adds the opaque
/// and flag when it writes the frame ([`encode_request`]).
///
/// ```
/// use actix_rocketmq::protocol::fields::FieldSink;
/// use actix_rocketmq::protocol::frame::encode_request;
/// use actix_rocketmq::protocol::{encode_frame, EncodedRequest, RemotingCommand, SerializeType};
/// use bytes::{Bytes, BytesMut};
///
/// let mut req = EncodedRequest::new(310, SerializeType::RocketMq);
/// req.fields().put_str("b", "TopicTest");
/// req.body = Bytes::from_static(b"hello");
/// let mut fast = BytesMut::new();
/// encode_request(&req, 7, 0, &mut fast).unwrap();
///
/// let mut cmd = RemotingCommand::request(310).with_opaque(7).with_body(req.body.clone());
/// cmd.ext_fields.insert("b", "TopicTest");
/// let mut slow = BytesMut::new();
/// encode_frame(&cmd, SerializeType::RocketMq, &mut slow).unwrap();
/// assert_eq!(fast, slow);
/// ```
#[derive(Debug, Clone)]
pub struct EncodedRequest {
    /// The request code.
    pub code: i32,
    /// The serialization the fields are encoded in.
    pub ser: SerializeType,
    fields: BytesMut,
    /// The body.
    pub body: bytes::Bytes,
}

impl EncodedRequest {
    /// A request with no fields and no body.
    pub fn new(code: i32, ser: SerializeType) -> Self {
        EncodedRequest { code, ser, fields: BytesMut::with_capacity(256), body: bytes::Bytes::new() }
    }

    /// A writer adding header fields.
    pub fn fields(&mut self) -> FieldWriter<'_> {
        let first = self.fields.is_empty();
        let mut w = FieldWriter::new(self.ser, &mut self.fields);
        w.first = first;
        w
    }
}

/// Appends the frame of `req` with the given opaque and flag (language RUST, version 5.3.3,
/// no remark), byte for byte what [`encode_frame`] writes for the same command. On error
/// nothing is appended.
pub fn encode_request(req: &EncodedRequest, opaque: i32, flag: i32, dst: &mut BytesMut) -> Result<(), ProtocolError> {
    write_request(req, opaque, flag, Body::Append, dst)
}

/// [`encode_request`] without the body: the frame's length counts `req.body`, which the
/// caller writes right after these bytes (a connection hands large bodies to the socket from
/// where they are instead of copying them). On error nothing is appended.
///
/// ```
/// use actix_rocketmq::protocol::frame::{encode_request, encode_request_head};
/// use actix_rocketmq::protocol::{EncodedRequest, SerializeType};
/// use bytes::{Bytes, BytesMut};
///
/// let mut req = EncodedRequest::new(320, SerializeType::RocketMq);
/// req.body = Bytes::from(vec![7u8; 10_000]);
/// let (mut whole, mut head) = (BytesMut::new(), BytesMut::new());
/// encode_request(&req, 1, 0, &mut whole).unwrap();
/// encode_request_head(&req, 1, 0, &mut head).unwrap();
/// head.extend_from_slice(&req.body);
/// assert_eq!(head, whole);
/// ```
pub fn encode_request_head(req: &EncodedRequest, opaque: i32, flag: i32, dst: &mut BytesMut) -> Result<(), ProtocolError> {
    write_request(req, opaque, flag, Body::Counted, dst)
}

/// The frame of `req` (language RUST, version 5.3.3, no remark), its body as `body` says.
fn write_request(req: &EncodedRequest, opaque: i32, flag: i32, body: Body, dst: &mut BytesMut) -> Result<(), ProtocolError> {
    let head = Head { code: req.code, language: LanguageCode::Rust, version: super::codes::VERSION_5_3_3, opaque, flag };
    write_frame(dst, req.ser, &head, None, &req.body, body, |w| w.put_encoded(&req.fields))
}

/// What [`write_frame`] does with the body.
#[derive(Clone, Copy, PartialEq)]
enum Body {
    /// Appends it after the header.
    Append,
    /// Counts it in the frame's length only; the caller writes it.
    Counted,
}

/// The fixed fields of a header.
struct Head {
    code: i32,
    language: LanguageCode,
    version: i32,
    opaque: i32,
    flag: i32,
}

/// Writes one frame: the prefix (patched at the end), the header in `ser` with the ext fields
/// written by `fields`, the body. On error nothing is appended.
fn write_frame(
    dst: &mut BytesMut,
    ser: SerializeType,
    head: &Head,
    remark: Option<&str>,
    body: &[u8],
    append: Body,
    fields: impl FnOnce(&mut FieldWriter<'_>),
) -> Result<(), ProtocolError> {
    // Refuse an oversized body before serializing anything.
    let min_len = PREFIX_LEN.saturating_add(body.len());
    if min_len > DEFAULT_MAX_FRAME_LEN {
        return Err(ProtocolError::FrameTooLarge { len: min_len, max: DEFAULT_MAX_FRAME_LEN });
    }
    let start = dst.len();
    let result = match ser {
        SerializeType::Json => {
            write_json_header(dst, head, remark, fields);
            Ok(())
        }
        SerializeType::RocketMq => write_binary_header(dst, head, remark, fields),
    }
    .and_then(|()| finish_frame(ser, dst, start, body, append));
    if result.is_err() {
        dst.truncate(start);
    }
    result
}

/// Patches the prefix once the header is written, checks the limits, appends the body.
fn finish_frame(ser: SerializeType, dst: &mut BytesMut, start: usize, body: &[u8], append: Body) -> Result<(), ProtocolError> {
    let header_len = dst.len() - start - PREFIX_LEN;
    if header_len > MAX_HEADER_LEN {
        return Err(ProtocolError::HeaderTooLarge(header_len));
    }
    let frame_len = PREFIX_LEN + header_len + body.len();
    if frame_len > DEFAULT_MAX_FRAME_LEN {
        return Err(ProtocolError::FrameTooLarge { len: frame_len, max: DEFAULT_MAX_FRAME_LEN });
    }
    // Both fit in i32: frame_len <= 16 MiB and header_len < 2^24.
    let length = (frame_len - 4) as i32;
    let marker = (i32::from(ser.code()) << 24) | header_len as i32;
    if let Some(prefix) = dst.get_mut(start..start + PREFIX_LEN) {
        prefix[..4].copy_from_slice(&length.to_be_bytes());
        prefix[4..].copy_from_slice(&marker.to_be_bytes());
    }
    if append == Body::Append {
        dst.extend_from_slice(body);
    }
    Ok(())
}

/// The JSON header as fastjson writes it (`SortField`: members in alphabetical order,
/// `language` by name, `remark` left out when null). An empty `extFields` is still written
/// (`{}`): Java handlers that read it without a null check then never see null.
fn write_json_header(dst: &mut BytesMut, head: &Head, remark: Option<&str>, fields: impl FnOnce(&mut FieldWriter<'_>)) {
    let mut n = itoa::Buffer::new();
    dst.reserve(PREFIX_LEN + 160 + remark.map_or(0, str::len));
    dst.put_u64(0);
    dst.put_slice(b"{\"code\":");
    dst.put_slice(n.format(head.code).as_bytes());
    dst.put_slice(b",\"extFields\":{");
    fields(&mut FieldWriter::new(SerializeType::Json, dst));
    dst.put_slice(b"},\"flag\":");
    dst.put_slice(n.format(head.flag).as_bytes());
    dst.put_slice(b",\"language\":\"");
    dst.put_slice(head.language.name().as_bytes());
    dst.put_slice(b"\",\"opaque\":");
    dst.put_slice(n.format(head.opaque).as_bytes());
    if let Some(remark) = remark {
        dst.put_slice(b",\"remark\":");
        put_json_str(dst, remark);
    }
    dst.put_slice(b",\"serializeTypeCurrentRPC\":\"JSON\",\"version\":");
    dst.put_slice(n.format(head.version).as_bytes());
    dst.put_u8(b'}');
}

/// The binary header (`RocketMQSerializable.rocketMQProtocolEncode`); an empty remark is
/// written as length 0, which Java reads as null.
fn write_binary_header(dst: &mut BytesMut, head: &Head, remark: Option<&str>, fields: impl FnOnce(&mut FieldWriter<'_>)) -> Result<(), ProtocolError> {
    let code = i16::try_from(head.code).map_err(|_| ProtocolError::BadField { field: "code", value: head.code.to_string() })?;
    let version =
        i16::try_from(head.version).map_err(|_| ProtocolError::BadField { field: "version", value: head.version.to_string() })?;
    let remark = remark.unwrap_or("").as_bytes();
    if remark.len() > MAX_HEADER_LEN {
        return Err(ProtocolError::HeaderTooLarge(remark.len()));
    }
    dst.reserve(PREFIX_LEN + BINARY_FIXED_LEN + remark.len() + 256);
    dst.put_u64(0);
    dst.put_i16(code);
    dst.put_u8(head.language.code());
    dst.put_i16(version);
    dst.put_i32(head.opaque);
    dst.put_i32(head.flag);
    dst.put_i32(remark.len() as i32);
    dst.put_slice(remark);
    let ext_at = dst.len();
    dst.put_i32(0);
    fields(&mut FieldWriter::new(SerializeType::RocketMq, dst));
    let ext_len = dst.len() - ext_at - 4;
    if ext_len > MAX_HEADER_LEN {
        return Err(ProtocolError::HeaderTooLarge(ext_len));
    }
    if let Some(len) = dst.get_mut(ext_at..ext_at + 4) {
        len.copy_from_slice(&(ext_len as i32).to_be_bytes());
    }
    Ok(())
}

fn peek_i32(buf: &[u8], at: usize) -> Option<i32> {
    let bytes = buf.get(at..at.checked_add(4)?)?;
    Some(i32::from_be_bytes(bytes.try_into().ok()?))
}

/// Takes one frame off the front of `src`.
///
/// Returns `Ok(None)` without consuming anything while the frame is incomplete. The length
/// field and header marker are checked as soon as they arrive, so a bogus huge length fails at
/// once instead of making us buffer it. Both JSON and binary headers are accepted on every call
/// (peers may answer in a different serialization than the request's). The body is split off
/// `src` without copying.
///
/// After an error the connection should be closed, as Java peers do: the stream position is
/// no longer trustworthy.
pub fn decode_frame(
    src: &mut BytesMut,
    max_frame_len: usize,
) -> Result<Option<RemotingCommand>, ProtocolError> {
    let Some(length) = peek_i32(src, 0) else {
        return Ok(None);
    };
    // At least the header marker must follow the length field.
    let Ok(length_usize) = usize::try_from(length) else {
        return Err(ProtocolError::BadFrameLength(length));
    };
    if length_usize < 4 {
        return Err(ProtocolError::BadFrameLength(length));
    }
    let frame_len = length_usize.saturating_add(4);
    if frame_len > max_frame_len {
        return Err(ProtocolError::FrameTooLarge {
            len: frame_len,
            max: max_frame_len,
        });
    }
    let Some(marker) = peek_i32(src, 4) else {
        return Ok(None);
    };
    let ser = SerializeType::from_u8((marker >> 24) as u8)?;
    let header_len = (marker & 0x00FF_FFFF) as usize;
    if header_len > length_usize - 4 {
        return Err(ProtocolError::HeaderTooLarge(header_len));
    }
    if src.len() < frame_len {
        // Room for what is missing, but at most 1 MiB ahead: 8 bytes announcing a 16 MiB frame
        // must not cost 16 MiB before the data arrives.
        src.reserve((frame_len - src.len()).min(1 << 20));
        return Ok(None);
    }

    let mut frame = src.split_to(frame_len);
    frame.advance(PREFIX_LEN);
    let header = frame.split_to(header_len);
    let mut cmd = match ser {
        SerializeType::Json => decode_json_header(&header)?,
        SerializeType::RocketMq => decode_binary_header(&header)?,
    };
    cmd.body = frame.freeze();
    Ok(Some(cmd))
}

/// The JSON header as fastjson may write it. Missing fields default like the Java fields do;
/// unknown fields are ignored.
#[derive(Deserialize)]
struct JsonHeaderIn {
    code: Option<i32>,
    #[serde(default, deserialize_with = "de_language")]
    language: Option<LanguageCode>,
    version: Option<i32>,
    opaque: Option<i32>,
    flag: Option<i32>,
    remark: Option<String>,
    #[serde(rename = "extFields", default, deserialize_with = "de_ext_fields")]
    ext_fields: ExtFields,
}

fn decode_json_header(header: &[u8]) -> Result<RemotingCommand, ProtocolError> {
    // The shape brokers write, without serde; serde for everything else.
    if let Some(cmd) = super::json_header::read_common(header, field_key) {
        return Ok(cmd);
    }
    decode_json_header_serde(header)
}

/// The reference reader of JSON headers (serde_json): whatever the fast path passes on.
fn decode_json_header_serde(header: &[u8]) -> Result<RemotingCommand, ProtocolError> {
    let h: JsonHeaderIn =
        serde_json::from_slice(header).map_err(|e| json_error(e, &[too_many_fields()], ProtocolError::BadHeader))?;
    Ok(RemotingCommand {
        code: h.code.ok_or(ProtocolError::MissingField("code"))?,
        language: h.language.unwrap_or(LanguageCode::Java),
        version: h.version.unwrap_or(0),
        opaque: h.opaque.unwrap_or(0),
        flag: h.flag.unwrap_or(0),
        remark: h.remark,
        ext_fields: h.ext_fields,
        body: bytes::Bytes::new(),
    })
}

/// `language` by name (what Java writes) or by number (lenient); unknown values become `Other`.
fn de_language<'de, D: Deserializer<'de>>(d: D) -> Result<Option<LanguageCode>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<LanguageCode>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a language name or code")
        }
        fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
            Ok(Some(
                LanguageCode::from_name(s).unwrap_or(LanguageCode::Other),
            ))
        }
        fn visit_u64<E: de::Error>(self, n: u64) -> Result<Self::Value, E> {
            Ok(Some(
                u8::try_from(n).map_or(LanguageCode::Other, LanguageCode::from_u8),
            ))
        }
        fn visit_i64<E: de::Error>(self, n: i64) -> Result<Self::Value, E> {
            Ok(Some(
                u8::try_from(n).map_or(LanguageCode::Other, LanguageCode::from_u8),
            ))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    d.deserialize_any(V)
}

/// `extFields`: absent or `null` means empty; scalar values are turned into strings (Java
/// stores them in a `HashMap<String,String>`), `null` values are dropped.
fn de_ext_fields<'de, D: Deserializer<'de>>(d: D) -> Result<ExtFields, D::Error> {
    struct MapV;
    impl<'de> Visitor<'de> for MapV {
        type Value = ExtFields;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an object of strings or null")
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(ExtFields::new())
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(ExtFields::new())
        }
        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            d.deserialize_map(self)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            // Cap the pre-allocation: the size hint comes from untrusted input.
            let mut out = Vec::with_capacity(map.size_hint().unwrap_or(0).min(32));
            while let Some((k, ExtValue(v))) = map.next_entry::<String, ExtValue>()? {
                if let Some(v) = v {
                    if out.len() == MAX_EXT_FIELDS {
                        return Err(de::Error::custom(too_many_fields()));
                    }
                    out.push((k.into(), Value::Owned(v)));
                }
            }
            Ok(ExtFields::from_received(out, String::new()))
        }
    }
    d.deserialize_option(MapV)
}

struct ExtValue(Option<String>);

impl<'de> Deserialize<'de> for ExtValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ExtValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string, number, boolean or null")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<ExtValue, E> {
                Ok(ExtValue(Some(s.to_owned())))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<ExtValue, E> {
                Ok(ExtValue(Some(s)))
            }
            fn visit_bool<E: de::Error>(self, b: bool) -> Result<ExtValue, E> {
                Ok(ExtValue(Some(if b { "true" } else { "false" }.to_owned())))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<ExtValue, E> {
                Ok(ExtValue(Some(n.to_string())))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<ExtValue, E> {
                Ok(ExtValue(Some(n.to_string())))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<ExtValue, E> {
                Ok(ExtValue(Some(n.to_string())))
            }
            fn visit_unit<E: de::Error>(self) -> Result<ExtValue, E> {
                Ok(ExtValue(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<ExtValue, E> {
                Ok(ExtValue(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// Java decodes strings leniently (invalid UTF-8 becomes U+FFFD), and so do we: a bad byte in
/// a remark must not cost us the response.
/// UTF-8 text, replacing invalid sequences as Java's decoder does. The validating fast path
/// matters: headers are decoded for every reply.
fn lossy(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len());
    push_lossy(&mut text, bytes);
    text
}

/// Appends `bytes` to `text` as [`lossy`] reads them.
fn push_lossy(text: &mut String, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(s) => text.push_str(s),
        Err(_) => text.push_str(&String::from_utf8_lossy(bytes)),
    }
}

/// The received values, joined, as text. Valid UTF-8 as a whole with every value starting and
/// ending on a character boundary means every value is valid on its own: one check instead
/// of one per value. Otherwise (a value the peer sent in another encoding) each value is read
/// as [`lossy`] reads it, and the ranges are set again.
fn shared_text(raw: Vec<u8>, fields: &mut [(std::borrow::Cow<'static, str>, Value)]) -> String {
    let raw = match String::from_utf8(raw) {
        Ok(text) => {
            let on_boundaries = fields.iter().all(|(_, v)| match *v {
                Value::Shared(start, end) => text.is_char_boundary(start as usize) && text.is_char_boundary(end as usize),
                Value::Owned(_) => true,
            });
            if on_boundaries {
                return text;
            }
            text.into_bytes()
        }
        Err(e) => e.into_bytes(),
    };
    let mut text = String::with_capacity(raw.len());
    for (_, v) in fields.iter_mut() {
        if let Value::Shared(start, end) = *v {
            let from = text.len();
            push_lossy(&mut text, raw.get(start as usize..end as usize).unwrap_or_default());
            *v = Value::Shared(from as u32, text.len() as u32);
        }
    }
    text
}

/// The key of a received field: the keys of a send reply (read for every message) without an
/// allocation, others as owned text.
fn field_key(bytes: &[u8]) -> std::borrow::Cow<'static, str> {
    // A byte-string match compiles to a switch on the length and one comparison, where a
    // search of the list compared every key in turn.
    let known = match bytes {
        b"msgId" => "msgId",
        b"queueId" => "queueId",
        b"queueOffset" => "queueOffset",
        b"MSG_REGION" => "MSG_REGION",
        b"TRACE_ON" => "TRACE_ON",
        b"transactionId" => "transactionId",
        b"batchUniqId" => "batchUniqId",
        _ => return std::borrow::Cow::Owned(lossy(bytes)),
    };
    std::borrow::Cow::Borrowed(known)
}

fn too_many_fields() -> ProtocolError {
    ProtocolError::TooMany { what: "ext fields in a header", max: MAX_EXT_FIELDS }
}

fn decode_binary_header(header: &[u8]) -> Result<RemotingCommand, ProtocolError> {
    let header_len = header.len();
    let mut r = Reader::new(header);
    let code = i32::from(r.i16("code")?);
    let language = LanguageCode::from_u8(r.u8("language")?);
    let version = i32::from(r.i16("version")?);
    let opaque = r.i32("opaque")?;
    let flag = r.i32("flag")?;

    let remark_len = r.i32("remark length")?;
    let remark = match usize::try_from(remark_len) {
        Ok(0) => None,
        Ok(n) if n <= header_len => Some(lossy(r.bytes(n, "remark")?)),
        _ => {
            return Err(ProtocolError::BadHeader(format!(
                "remark length {remark_len}"
            )))
        }
    };

    // Sized for a send reply (five to seven fields); their values share one string, checked
    // for UTF-8 once as a whole (see `shared_text`).
    let mut ext_fields = Vec::with_capacity(8);
    // Like Java, a non-positive ext length means "no ext fields".
    let ext_len = r.i32("ext fields length")?;
    // The values are shorter than the area they are read from.
    let mut raw = Vec::with_capacity(usize::try_from(ext_len).unwrap_or(0).min(header_len));
    if let Ok(n) = usize::try_from(ext_len) {
        if n > 0 {
            let mut ext = Reader::new(r.bytes(n, "ext fields")?);
            while !ext.is_empty() {
                let key_len = ext.i16("ext key length")?;
                let key_len = usize::try_from(key_len)
                    .map_err(|_| ProtocolError::BadHeader(format!("ext key length {key_len}")))?;
                let key = ext.bytes(key_len, "ext key")?;
                let val_len = ext.i32("ext value length")?;
                let val_len = usize::try_from(val_len)
                    .map_err(|_| ProtocolError::BadHeader(format!("ext value length {val_len}")))?;
                let val = ext.bytes(val_len, "ext value")?;
                // Java reads a zero length as null; a null key or value carries nothing.
                if !key.is_empty() && !val.is_empty() {
                    if ext_fields.len() == MAX_EXT_FIELDS {
                        return Err(too_many_fields());
                    }
                    let start = raw.len();
                    raw.extend_from_slice(val);
                    // (a header is at most 16 MiB, so its offsets fit in u32)
                    ext_fields.push((field_key(key), Value::Shared(start as u32, raw.len() as u32)));
                }
            }
        }
    }

    Ok(RemotingCommand {
        code,
        language,
        version,
        opaque,
        flag,
        remark,
        ext_fields: {
            let text = shared_text(raw, &mut ext_fields);
            ExtFields::from_received(ext_fields, text)
        },
        body: bytes::Bytes::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    const EXAMPLE_JSON: &str = r#"{"code":105,"extFields":{"topic":"TopicTest"},"flag":0,"language":"RUST","opaque":1,"serializeTypeCurrentRPC":"JSON","version":479}"#;

    const EXAMPLE_BINARY: [u8; 49] = [
        0x00, 0x00, 0x00, 0x2d, 0x01, 0x00, 0x00, 0x29, //
        0x00, 0x69, 0x0c, 0x01, 0xdf, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, //
        0x00, 0x00, 0x00, 0x00, //
        0x00, 0x00, 0x00, 0x14, //
        0x00, 0x05, 0x74, 0x6f, 0x70, 0x69, 0x63, 0x00, 0x00, 0x00, 0x09, 0x54, 0x6f, 0x70, 0x69,
        0x63, 0x54, 0x65, 0x73, 0x74,
    ];

    fn example_cmd() -> RemotingCommand {
        let mut cmd = RemotingCommand::request(105).with_opaque(1);
        cmd.ext_fields.insert("topic", "TopicTest");
        cmd
    }

    fn encode(cmd: &RemotingCommand, ser: SerializeType) -> BytesMut {
        let mut buf = BytesMut::new();
        encode_frame(cmd, ser, &mut buf).unwrap();
        buf
    }

    fn decode_all(bytes: &[u8]) -> Result<Option<RemotingCommand>, ProtocolError> {
        decode_frame(&mut BytesMut::from(bytes), DEFAULT_MAX_FRAME_LEN)
    }

    #[test]
    fn json_example_is_byte_identical() {
        assert_eq!(EXAMPLE_JSON.len(), 131);
        let buf = encode(&example_cmd(), SerializeType::Json);
        let mut expected = vec![0x00, 0x00, 0x00, 0x87, 0x00, 0x00, 0x00, 0x83];
        expected.extend_from_slice(EXAMPLE_JSON.as_bytes());
        assert_eq!(&buf[..], &expected[..]);
    }

    #[test]
    fn binary_example_is_byte_identical() {
        let buf = encode(&example_cmd(), SerializeType::RocketMq);
        assert_eq!(&buf[..], &EXAMPLE_BINARY[..]);
    }

    #[test]
    fn decodes_both_examples() {
        let mut json = vec![0x00, 0x00, 0x00, 0x87, 0x00, 0x00, 0x00, 0x83];
        json.extend_from_slice(EXAMPLE_JSON.as_bytes());
        assert_eq!(decode_all(&json).unwrap().unwrap(), example_cmd());
        assert_eq!(decode_all(&EXAMPLE_BINARY).unwrap().unwrap(), example_cmd());
    }

    fn rich_cmd() -> RemotingCommand {
        let mut cmd = RemotingCommand::response(13, -7, Some("bad \"message\" ✓".into()))
            .with_body(Bytes::from_static(b"\x00\x01body\xff"));
        cmd.language = LanguageCode::Java;
        cmd.version = -3;
        cmd.flag = 3;
        cmd.ext_fields
            .insert("i", "TAGS\u{1}a\u{2}KEYS\u{1}k1 k2\u{2}");
        cmd.ext_fields
            .insert("unicode", "héllo wörld");
        cmd.ext_fields.insert("g", "1700000000000");
        cmd
    }

    #[test]
    fn round_trip_both_serializations() {
        for ser in [SerializeType::Json, SerializeType::RocketMq] {
            let cmd = rich_cmd();
            let mut buf = encode(&cmd, ser);
            assert_eq!(
                decode_frame(&mut buf, DEFAULT_MAX_FRAME_LEN).unwrap(),
                Some(cmd)
            );
            assert!(buf.is_empty());
        }
    }

    #[test]
    fn a_pre_encoded_send_request_is_byte_identical_to_its_command() {
        use crate::protocol::header::{SendHeaderCommon, SendHeaderRef, SendMessageRequestHeaderV2};
        let fields = SendHeaderRef {
            producer_group: "group",
            topic: "Tópic",
            default_topic: "TBW102",
            default_topic_queue_nums: 4,
            queue_id: 3,
            sys_flag: 1,
            born_timestamp: 1_700_000_000_123,
            flag: -1,
            properties: "KEYS\u{1}k\"1\u{2}UNIQ_KEY\u{1}AB\u{2}",
            reconsume_times: 0,
            unit_mode: false,
            max_reconsume_times: Some(16),
            batch: true,
            broker_name: Some("broker-a"),
        };
        let body = Bytes::from_static(b"body");
        for ser in [SerializeType::Json, SerializeType::RocketMq] {
            for flag in [0, 2] {
                let mut req = EncodedRequest::new(320, ser);
                fields.write(&mut req.fields());
                req.body = body.clone();
                let mut fast = BytesMut::from(&b"before"[..]);
                encode_request(&req, 42, flag, &mut fast).unwrap();
                let mut cmd = RemotingCommand::request(320).with_opaque(42).with_body(body.clone());
                cmd.flag = flag;
                fields.write(&mut cmd.ext_fields);
                let mut slow = BytesMut::from(&b"before"[..]);
                encode_frame(&cmd, ser, &mut slow).unwrap();
                assert_eq!(fast, slow, "{ser:?}");
                let back = decode_frame(&mut fast.split_off(6), DEFAULT_MAX_FRAME_LEN).unwrap().unwrap();
                assert_eq!(back.decode_header::<SendMessageRequestHeaderV2>().unwrap().as_ref(), fields);

                // The producer's way: the common fields encoded once, the rest per request.
                let common = SendHeaderCommon::new(ser, "group", "TBW102", 4);
                let mut req = EncodedRequest::new(320, ser);
                fields.write_with(&common, &mut req.fields());
                req.body = body.clone();
                let mut with_common = BytesMut::from(&b"before"[..]);
                encode_request(&req, 42, flag, &mut with_common).unwrap();
                assert_eq!(with_common, slow, "{ser:?} with the common block");
            }
        }
    }

    #[test]
    fn json_escapes_property_separators() {
        let buf = encode(&rich_cmd(), SerializeType::Json);
        let text = std::str::from_utf8(&buf[8..buf.len() - 7]).unwrap();
        assert!(text.contains(r"TAGS\u0001a\u0002KEYS"));
        assert!(text.contains(r#""remark":"bad \"message\" ✓""#));
        assert!(!text.contains('\u{1}'));
    }

    #[test]
    fn json_without_remark_or_ext() {
        let buf = encode(&RemotingCommand::request(34), SerializeType::Json);
        let text = std::str::from_utf8(&buf[8..]).unwrap();
        assert_eq!(
            text,
            r#"{"code":34,"extFields":{},"flag":0,"language":"RUST","opaque":0,"serializeTypeCurrentRPC":"JSON","version":479}"#
        );
    }

    #[test]
    fn binary_leaves_out_empty_ext_values_and_empty_remark() {
        let mut cmd = example_cmd();
        cmd.ext_fields.insert("empty", String::new());
        cmd.ext_fields.insert(String::new(), "x");
        cmd.remark = Some(String::new());
        let buf = encode(&cmd, SerializeType::RocketMq);
        assert_eq!(&buf[..], &EXAMPLE_BINARY[..]);
    }

    #[test]
    fn binary_rejects_codes_beyond_i16() {
        let mut buf = BytesMut::from(&b"keep"[..]);
        let cmd = RemotingCommand::request(200_050);
        assert!(matches!(
            encode_frame(&cmd, SerializeType::RocketMq, &mut buf),
            Err(ProtocolError::BadField { field: "code", .. })
        ));
        assert_eq!(&buf[..], b"keep");
        // JSON carries the full i32.
        let mut buf = encode(&cmd, SerializeType::Json);
        assert_eq!(
            decode_frame(&mut buf, DEFAULT_MAX_FRAME_LEN)
                .unwrap()
                .unwrap()
                .code,
            200_050
        );
    }

    #[test]
    fn binary_rejects_overlong_key() {
        let mut cmd = RemotingCommand::request(10);
        cmd.ext_fields.insert("k".repeat(40_000), "v");
        let mut buf = BytesMut::new();
        assert!(matches!(
            encode_frame(&cmd, SerializeType::RocketMq, &mut buf),
            Err(ProtocolError::TooLong { .. })
        ));
        assert!(buf.is_empty());
    }

    #[test]
    fn encode_rejects_oversized_frames_and_headers() {
        let body = Bytes::from(vec![0u8; DEFAULT_MAX_FRAME_LEN - 8]);
        let cmd = RemotingCommand::request(10).with_body(body);
        for ser in [SerializeType::Json, SerializeType::RocketMq] {
            let mut buf = BytesMut::new();
            assert!(matches!(
                encode_frame(&cmd, ser, &mut buf),
                Err(ProtocolError::FrameTooLarge { .. })
            ));
            assert!(buf.is_empty());
        }
        let mut cmd = RemotingCommand::request(10);
        cmd.remark = Some("r".repeat(MAX_HEADER_LEN));
        for ser in [SerializeType::Json, SerializeType::RocketMq] {
            let mut buf = BytesMut::new();
            assert!(matches!(
                encode_frame(&cmd, ser, &mut buf),
                Err(ProtocolError::HeaderTooLarge(_))
            ));
            assert!(buf.is_empty());
        }
    }

    #[test]
    fn incomplete_input_is_not_consumed() {
        for ser in [SerializeType::Json, SerializeType::RocketMq] {
            let full = encode(&rich_cmd(), ser);
            for cut in 0..full.len() {
                let mut buf = BytesMut::from(&full[..cut]);
                assert_eq!(
                    decode_frame(&mut buf, DEFAULT_MAX_FRAME_LEN),
                    Ok(None),
                    "cut at {cut}"
                );
                assert_eq!(&buf[..], &full[..cut]);
            }
        }
    }

    #[test]
    fn several_frames_in_one_buffer() {
        let mut buf = encode(&example_cmd(), SerializeType::Json);
        encode_frame(&rich_cmd(), SerializeType::RocketMq, &mut buf).unwrap();
        buf.extend_from_slice(&[0, 0]);
        assert_eq!(
            decode_frame(&mut buf, DEFAULT_MAX_FRAME_LEN).unwrap(),
            Some(example_cmd())
        );
        assert_eq!(
            decode_frame(&mut buf, DEFAULT_MAX_FRAME_LEN).unwrap(),
            Some(rich_cmd())
        );
        assert_eq!(decode_frame(&mut buf, DEFAULT_MAX_FRAME_LEN).unwrap(), None);
        assert_eq!(buf.len(), 2);
    }

    #[test]
    fn body_is_not_copied() {
        let mut buf = encode(&rich_cmd(), SerializeType::RocketMq);
        let base = buf.as_ptr() as usize;
        let body_offset = buf.len() - rich_cmd().body.len();
        let cmd = decode_frame(&mut buf, DEFAULT_MAX_FRAME_LEN)
            .unwrap()
            .unwrap();
        assert_eq!(cmd.body.as_ptr() as usize, base + body_offset);
    }

    #[test]
    fn huge_length_fails_before_buffering() {
        assert_eq!(
            decode_all(&[0x7f, 0xff, 0xff, 0xff]),
            Err(ProtocolError::FrameTooLarge {
                len: 0x7fff_ffff + 4,
                max: DEFAULT_MAX_FRAME_LEN
            })
        );
        // Exactly at the limit is accepted (still incomplete here).
        let at_limit = ((DEFAULT_MAX_FRAME_LEN - 4) as u32).to_be_bytes();
        assert_eq!(decode_all(&at_limit), Ok(None));
        let over = ((DEFAULT_MAX_FRAME_LEN - 3) as u32).to_be_bytes();
        assert!(matches!(
            decode_all(&over),
            Err(ProtocolError::FrameTooLarge { .. })
        ));
        // A custom limit applies too.
        let mut buf = encode(&example_cmd(), SerializeType::RocketMq);
        assert!(matches!(
            decode_frame(&mut buf, 48),
            Err(ProtocolError::FrameTooLarge { len: 49, max: 48 })
        ));
    }

    #[test]
    fn bad_length_and_marker() {
        assert_eq!(
            decode_all(&[0xff, 0xff, 0xff, 0xff]),
            Err(ProtocolError::BadFrameLength(-1))
        );
        assert_eq!(
            decode_all(&[0, 0, 0, 3, 0, 0, 0]),
            Err(ProtocolError::BadFrameLength(3))
        );
        assert_eq!(
            decode_all(&[0, 0, 0, 8, 2, 0, 0, 0]),
            Err(ProtocolError::UnknownSerializeType(2))
        );
        assert_eq!(
            decode_all(&[0, 0, 0, 8, 1, 0, 0, 5]),
            Err(ProtocolError::HeaderTooLarge(5))
        );
        // Header length 0 is a bad JSON / binary header, not a panic.
        assert!(matches!(
            decode_all(&[0, 0, 0, 4, 0, 0, 0, 0]),
            Err(ProtocolError::BadHeader(_))
        ));
        assert_eq!(
            decode_all(&[0, 0, 0, 4, 1, 0, 0, 0]),
            Err(ProtocolError::Truncated("code"))
        );
    }

    fn json_frame(header: &str, body: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&((4 + header.len() + body.len()) as u32).to_be_bytes());
        out.extend_from_slice(&(header.len() as u32).to_be_bytes());
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(body);
        out
    }

    #[test]
    fn lenient_json_headers() {
        let cmd = decode_all(&json_frame(
            r#"{"code":0,"language":12,"opaque":5,"flag":1,"remark":null,"extFields":{"queueId":3,"queueOffset":123456789012,"TRACE_ON":true,"x":null,"f":1.5},"whatever":[1,{"a":2}]}"#,
            b"xy",
        ))
        .unwrap()
        .unwrap();
        assert_eq!(cmd.language, LanguageCode::Rust);
        assert_eq!(cmd.version, 0);
        assert!(cmd.is_response());
        assert_eq!(cmd.remark, None);
        assert_eq!(cmd.ext("queueId"), Some("3"));
        assert_eq!(cmd.ext("queueOffset"), Some("123456789012"));
        assert_eq!(cmd.ext("TRACE_ON"), Some("true"));
        assert_eq!(cmd.ext("f"), Some("1.5"));
        assert_eq!(cmd.ext("x"), None);
        assert_eq!(cmd.body.as_ref(), b"xy");

        let cmd = decode_all(&json_frame(
            r#"{"code":17,"extFields":null,"language":"KOTLIN"}"#,
            b"",
        ))
        .unwrap()
        .unwrap();
        assert_eq!(cmd.code, 17);
        assert!(cmd.ext_fields.is_empty());
        assert_eq!(cmd.language, LanguageCode::Other);
        assert!(cmd.body.is_empty());

        let cmd = decode_all(&json_frame(r#"{"code":1}"#, b""))
            .unwrap()
            .unwrap();
        assert_eq!(cmd.language, LanguageCode::Java);
        assert_eq!(
            decode_all(&json_frame(r#"{"code":1,"language":999}"#, b""))
                .unwrap()
                .unwrap()
                .language,
            LanguageCode::Other
        );
    }

    #[test]
    fn bad_json_headers() {
        assert_eq!(
            decode_all(&json_frame(r#"{"opaque":1}"#, b"")),
            Err(ProtocolError::MissingField("code"))
        );
        for bad in [
            "not json",
            "{",
            r#"{"code":"x"}"#,
            r#"{"code":99999999999}"#,
            r#"{"code":1,"extFields":[1]}"#,
            r#"{"code":1,"extFields":{"a":{"b":1}}}"#,
            r#"{"code":1,"language":[]}"#,
            "{\"code\":1,\"remark\":\"a\tb\"}",
            "[]",
        ] {
            assert!(
                matches!(
                    decode_all(&json_frame(bad, b"")),
                    Err(ProtocolError::BadHeader(_))
                ),
                "{bad}"
            );
        }
    }

    fn binary_frame(header: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&((4 + header.len()) as u32).to_be_bytes());
        out.extend_from_slice(&(0x0100_0000u32 | header.len() as u32).to_be_bytes());
        out.extend_from_slice(header);
        out
    }

    #[test]
    fn truncated_binary_headers_give_typed_errors() {
        let full = &EXAMPLE_BINARY[8..];
        for cut in 0..full.len() {
            let result = decode_all(&binary_frame(&full[..cut]));
            assert!(
                matches!(
                    result,
                    Err(ProtocolError::Truncated(_)) | Err(ProtocolError::BadHeader(_))
                ),
                "cut at {cut}: {result:?}"
            );
        }
    }

    #[test]
    fn bad_binary_lengths() {
        let fixed = [0x00, 0x69, 0x0c, 0x01, 0xdf, 0, 0, 0, 1, 0, 0, 0, 0];
        let with = |rest: &[u8]| {
            let mut h = fixed.to_vec();
            h.extend_from_slice(rest);
            decode_all(&binary_frame(&h))
        };
        // Negative / oversized remark length.
        assert!(matches!(
            with(&[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]),
            Err(ProtocolError::BadHeader(_))
        ));
        assert!(matches!(
            with(&[0x7f, 0, 0, 0, 0, 0, 0, 0]),
            Err(ProtocolError::BadHeader(_))
        ));
        // Negative ext length means "none", like Java.
        assert!(with(&[0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff])
            .unwrap()
            .unwrap()
            .ext_fields
            .is_empty());
        // Ext length beyond the header.
        assert_eq!(
            with(&[0, 0, 0, 0, 0, 0, 0, 9, 0, 1]),
            Err(ProtocolError::Truncated("ext fields"))
        );
        // Negative key / value lengths.
        assert!(matches!(
            with(&[0, 0, 0, 0, 0, 0, 0, 2, 0xff, 0xff]),
            Err(ProtocolError::BadHeader(_))
        ));
        assert!(matches!(
            with(&[0, 0, 0, 0, 0, 0, 0, 7, 0, 1, b'k', 0xff, 0xff, 0xff, 0xff]),
            Err(ProtocolError::BadHeader(_))
        ));
        // Zero-length value decodes as absent; duplicate keys: last wins.
        let cmd = with(&[
            0, 0, 0, 0, 0, 0, 0, 23, //
            0, 1, b'k', 0, 0, 0, 0, //
            0, 1, b'a', 0, 0, 0, 1, b'1', //
            0, 1, b'a', 0, 0, 0, 1, b'2',
        ])
        .unwrap()
        .unwrap();
        assert_eq!(cmd.ext("k"), None);
        assert_eq!(cmd.ext("a"), Some("2"));
        // Invalid UTF-8 is replaced, not rejected.
        let cmd = with(&[0, 0, 0, 1, 0xff, 0, 0, 0, 0]).unwrap().unwrap();
        assert_eq!(cmd.remark.as_deref(), Some("\u{fffd}"));
    }

    #[test]
    fn random_garbage_never_panics() {
        let mut rng = fastrand::Rng::with_seed(0x5eed);
        for round in 0..20_000 {
            let len = rng.usize(0..64);
            let mut data: Vec<u8> = (0..len).map(|_| rng.u8(..)).collect();
            if round % 2 == 0 && data.len() >= 8 {
                // Make the prefix plausible so the header decoders get exercised.
                let total = (data.len() - 4) as u32;
                data[..4].copy_from_slice(&total.to_be_bytes());
                let header_len = rng.u32(0..=total - 4);
                let marker = (u32::from(rng.u8(0..=1)) << 24) | header_len;
                data[4..8].copy_from_slice(&marker.to_be_bytes());
            }
            let mut buf = BytesMut::from(&data[..]);
            let _ = decode_frame(&mut buf, 1024);
        }
    }

    /// A frame around a hand-made header (the encoder would refuse or dedupe what these tests
    /// need).
    fn frame_around(header: &[u8], ser: u8) -> BytesMut {
        let mut buf = BytesMut::new();
        buf.put_u32((header.len() + 4) as u32);
        buf.put_u32(u32::from(ser) << 24 | header.len() as u32);
        buf.put_slice(header);
        buf
    }

    fn binary_header_with(fields: impl Iterator<Item = (String, String)>) -> Vec<u8> {
        let mut ext = Vec::new();
        for (k, v) in fields {
            ext.extend_from_slice(&(k.len() as i16).to_be_bytes());
            ext.extend_from_slice(k.as_bytes());
            ext.extend_from_slice(&(v.len() as i32).to_be_bytes());
            ext.extend_from_slice(v.as_bytes());
        }
        let mut h = Vec::new();
        h.extend_from_slice(&0i16.to_be_bytes()); // code
        h.push(0); // language
        h.extend_from_slice(&0i16.to_be_bytes()); // version
        h.extend_from_slice(&1i32.to_be_bytes()); // opaque
        h.extend_from_slice(&1i32.to_be_bytes()); // flag: a response
        h.extend_from_slice(&0i32.to_be_bytes()); // no remark
        h.extend_from_slice(&(ext.len() as i32).to_be_bytes());
        h.extend_from_slice(&ext);
        h
    }

    /// The broker's usual reply, as fastjson writes it (5.3.3, a send reply).
    const BROKER_REPLY: &str = r#"{"code":0,"extFields":{"queueId":"3","MSG_REGION":"DefaultRegion","TRACE_ON":"true","msgId":"7F00000100002A9F0000000000001234","queueOffset":"12"},"flag":1,"language":"JAVA","opaque":5,"serializeTypeCurrentRPC":"JSON","version":475}"#;

    #[test]
    fn json_headers_read_without_serde_match_serde() {
        // The fast path takes what brokers write...
        let fast = super::super::json_header::read_common(BROKER_REPLY.as_bytes(), field_key).expect("the broker's reply takes the fast path");
        assert_eq!(fast.ext_fields.get("msgId"), Some("7F00000100002A9F0000000000001234"));
        assert_eq!((fast.code, fast.opaque, fast.flag, fast.version, fast.language), (0, 5, 1, 475, LanguageCode::Java));
        // ...and, fast or not, every header reads as serde_json reads it (the same command, or
        // the same error).
        let cases = [
            BROKER_REPLY,
            r#"{"code":17,"remark":"topic not exist","flag":1,"opaque":-3,"language":"RUST","version":0}"#,
            r#"{"code":0,"remark":null,"extFields":null}"#,
            r#"{"code":0,"extFields":{}}"#,
            " { \"code\" : 0 ,\n\t\"extFields\" : { \"a\" : \"b\" , \"c\" : null , \"d\" : \"\" } }\r\n",
            r#"{"code":0,"extFields":{"n":5,"t":true,"f":1.5}}"#,
            r#"{"code":0,"extFields":{"q":"a\"b","u":"\u00e9t\u00e9"}}"#,
            r#"{"code":0,"extFields":{"raw":"été ☃"}}"#,
            r#"{"code":0,"code":1}"#,
            r#"{"code":0,"extFields":{"k":"1","k":"2"}}"#,
            r#"{"code":0,"extFields":{"k":"1"},"extFields":{"k":"2"}}"#,
            r#"{"code":0,"foo":[1,{"x":2}]}"#,
            r#"{"code":0,"language":12}"#,
            r#"{"code":0,"language":"KLINGON"}"#,
            r#"{"opaque":1}"#,
            r#"{"code":0}x"#,
            r#"{"code":1.0}"#,
            r#"{"code":1e3}"#,
            r#"{"code":-0}"#,
            r#"{"code":01}"#,
            r#"{"code":2147483648}"#,
            r#"{"code":-2147483648}"#,
            r#"{"code":"0"}"#,
            "{\"code\":0,\"remark\":\"a\u{1}b\"}",
            r#"{}"#,
            r#"[]"#,
            r#"{"code":0,"extFields":{"a":"b",}}"#,
            r#"{"code":0,}"#,
            r#"{"code":0"#,
            r#"{"code":0,"extFields":{"a":"b""#,
            r#"{"code":nul}"#,
            "",
        ];
        for h in cases {
            assert_eq!(decode_json_header(h.as_bytes()), decode_json_header_serde(h.as_bytes()), "{h:?}");
        }
        // Not UTF-8: both refuse it.
        let bad = b"{\"code\":0,\"remark\":\"\xff\"}";
        assert_eq!(decode_json_header(bad), decode_json_header_serde(bad));
    }

    #[test]
    fn values_are_read_leniently_each_on_its_own() {
        // Raw values: one not UTF-8, and two whose bytes are valid only when joined (the first
        // ends with the lead byte of "é", the second starts with its continuation byte).
        let fields: [(&[u8], &[u8]); 5] =
            [(b"bad", b"a\xffb"), (b"left", b"x\xc3"), (b"right", b"\xa9y"), (b"ok", "d\u{e9}j\u{e0}".as_bytes()), (b"msgId", b"ID")];
        let mut ext = Vec::new();
        for (k, v) in fields {
            ext.extend_from_slice(&(k.len() as i16).to_be_bytes());
            ext.extend_from_slice(k);
            ext.extend_from_slice(&(v.len() as i32).to_be_bytes());
            ext.extend_from_slice(v);
        }
        let read = |ext: &[u8]| {
            let mut h = binary_header_with(std::iter::empty());
            h.truncate(h.len() - 4);
            h.extend_from_slice(&(ext.len() as i32).to_be_bytes());
            h.extend_from_slice(ext);
            decode_frame(&mut frame_around(&h, 1), DEFAULT_MAX_FRAME_LEN).unwrap().unwrap()
        };
        let cmd = read(&ext);
        let got: Vec<(&str, &str)> = cmd.ext_fields.iter().collect();
        assert_eq!(
            got,
            [("bad", "a\u{fffd}b"), ("left", "x\u{fffd}"), ("right", "\u{fffd}y"), ("ok", "d\u{e9}j\u{e0}"), ("msgId", "ID")]
        );
        // Without the bad ones: every value as sent, shared in one string.
        let cmd = read(&ext[ext.len() - (2 + 2 + 4 + 6 + 2 + 5 + 4 + 2)..]);
        assert_eq!(cmd.ext_fields.iter().collect::<Vec<_>>(), [("ok", "d\u{e9}j\u{e0}"), ("msgId", "ID")]);
    }

    fn json_header_with(fields: impl Iterator<Item = (String, String)>) -> Vec<u8> {
        let ext: Vec<String> = fields.map(|(k, v)| format!("{k:?}:{v:?}")).collect();
        format!(r#"{{"code":0,"flag":1,"opaque":1,"extFields":{{{}}}}}"#, ext.join(",")).into_bytes()
    }

    #[test]
    fn a_header_with_100_000_fields_is_refused_at_once() {
        // 100,000 distinct keys (a 1.3 MB frame) took seconds when each insert scanned the list.
        let many = || (0..100_000).map(|i| (format!("key{i}"), "v".to_string()));
        for (ser, header) in [(1, binary_header_with(many())), (0, json_header_with(many()))] {
            let started = std::time::Instant::now();
            let err = decode_frame(&mut frame_around(&header, ser), DEFAULT_MAX_FRAME_LEN).unwrap_err();
            assert_eq!(err, ProtocolError::TooMany { what: "ext fields in a header", max: MAX_EXT_FIELDS });
            // Generous (a debug build on a busy machine): the quadratic decoder took 13-19 s.
            assert!(started.elapsed() < std::time::Duration::from_secs(2), "{:?}", started.elapsed());
        }
    }

    #[test]
    fn headers_at_the_field_cap_decode_and_repeated_keys_keep_the_last_value() {
        let at_cap = || (0..MAX_EXT_FIELDS).map(|i| (format!("key{i}"), i.to_string()));
        for (ser, header) in [(1, binary_header_with(at_cap())), (0, json_header_with(at_cap()))] {
            let cmd = decode_frame(&mut frame_around(&header, ser), DEFAULT_MAX_FRAME_LEN).unwrap().unwrap();
            assert_eq!(cmd.ext_fields.len(), MAX_EXT_FIELDS);
            assert_eq!(&cmd.ext_fields["key1023"], "1023");
        }
        // The same long key a thousand times: one field, its last value.
        let key = "k".repeat(1000);
        let repeated = || (0..1000).map(|i| (key.clone(), i.to_string()));
        for (ser, header) in [(1, binary_header_with(repeated())), (0, json_header_with(repeated()))] {
            let cmd = decode_frame(&mut frame_around(&header, ser), DEFAULT_MAX_FRAME_LEN).unwrap().unwrap();
            assert_eq!(cmd.ext_fields.len(), 1);
            assert_eq!(&cmd.ext_fields[key.as_str()], "999");
        }
    }

    #[test]
    fn mutated_valid_frames_never_panic() {
        let mut rng = fastrand::Rng::with_seed(7);
        let originals = [
            encode(&rich_cmd(), SerializeType::RocketMq),
            encode(&rich_cmd(), SerializeType::Json),
        ];
        for _ in 0..20_000 {
            let mut data = originals[rng.usize(0..2)].to_vec();
            for _ in 0..rng.usize(1..4) {
                let i = rng.usize(4..data.len());
                data[i] = rng.u8(..);
            }
            let _ = decode_all(&data);
        }
    }
}
