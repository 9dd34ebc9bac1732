//! One message in commit-log format (Java `MessageDecoder.encode` / `decode`; docs/PROTOCOL.md,
//! Stored messages): the body of CHECK_TRANSACTION_STATE requests and VIEW_MESSAGE_BY_ID replies.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use bytes::{BufMut, Bytes, BytesMut};

use super::compression::{compress, decompress, CompressionType, DEFAULT_LEVEL};
use super::message_id::encode_offset_msg_id;
use super::properties::{decode_received_properties, encode_properties};
use super::reader::Reader;
use super::sys_flag::{BORNHOST_V6_FLAG, COMPRESSED_FLAG, STOREHOSTADDRESS_V6_FLAG};
use super::ProtocolError;

/// Magic of the V1 layout (1-byte topic length).
pub const MAGIC_V1: i32 = 0xDAA3_20A7_u32 as i32;
/// Magic of the V2 layout (2-byte topic length).
pub const MAGIC_V2: i32 = 0xDAA3_20AB_u32 as i32;
/// Largest body we inflate from a compressed stored message (see [`super::limits`]).
pub use super::limits::MAX_DECOMPRESSED_BODY;

/// A decoded commit-log message.
///
/// ```
/// use actix_rocketmq::protocol::stored::{decode_stored_message, encode_stored_message, StoredMessage};
/// use bytes::{Bytes, BytesMut};
///
/// let msg = StoredMessage {
///     queue_id: 1,
///     flag: 0,
///     queue_offset: 7,
///     commit_log_offset: 0x12345,
///     sys_flag: 0x4,
///     born_timestamp: 1_700_000_000_000,
///     born_host: "192.168.1.20:50000".parse().unwrap(),
///     store_timestamp: 1_700_000_000_005,
///     store_host: "10.0.0.5:10911".parse().unwrap(),
///     reconsume_times: 0,
///     prepared_transaction_offset: 0,
///     body: Bytes::from_static(b"hi"),
///     topic: "TopicTest".into(),
///     properties: vec![("PGROUP".into(), "g".into()), ("UNIQ_KEY".into(), "ABC".into())],
/// };
/// let mut buf = BytesMut::new();
/// encode_stored_message(&msg, &mut buf).unwrap();
/// let back = decode_stored_message(&buf).unwrap();
/// assert_eq!(back.property("PGROUP"), Some("g"));
/// assert_eq!(back.offset_msg_id(), "0A00000500002A9F0000000000012345");
/// assert_eq!(back, msg);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    /// `QUEUEID`: the queue the message is stored in (for a check: the real queue).
    pub queue_id: i32,
    /// `FLAG`: the sender's `Message.flag`.
    pub flag: i32,
    /// `QUEUEOFFSET`: the message's offset in its queue.
    pub queue_offset: i64,
    /// `PHYSICALOFFSET`: the message's offset in the broker's commit log.
    pub commit_log_offset: i64,
    /// As stored, except that [`COMPRESSED_FLAG`] is cleared once the body is inflated (like Java).
    pub sys_flag: i32,
    /// `BORNTIMESTAMP`: when the producer sent it (ms since the epoch).
    pub born_timestamp: i64,
    /// `BORNHOST`: the producer's address as the broker saw it (IPv6 if `sys_flag` has
    /// [`BORNHOST_V6_FLAG`]).
    pub born_host: SocketAddr,
    /// `STORETIMESTAMP`: when the broker stored it (ms since the epoch).
    pub store_timestamp: i64,
    /// `STOREHOSTADDRESS`: the storing broker's address (IPv6 if `sys_flag` has
    /// [`STOREHOSTADDRESS_V6_FLAG`]).
    pub store_host: SocketAddr,
    /// `RECONSUMETIMES`: redeliveries so far.
    pub reconsume_times: i32,
    /// Prepared transaction offset: on a committed transaction message, the commit-log offset of
    /// the half message it came from.
    pub prepared_transaction_offset: i64,
    /// Decompressed if the stored body was compressed.
    pub body: Bytes,
    /// `TOPIC`: the topic (for a check: the real topic, not the half topic).
    pub topic: String,
    /// `PROPERTIES`, decoded; in wire order; if a name repeats, the last one counts.
    pub properties: Vec<(String, String)>,
}

impl StoredMessage {
    /// The value of a property (the last one if the name repeats, like Java's map).
    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The broker-side message id of this message (store host + commit-log offset).
    pub fn offset_msg_id(&self) -> String {
        encode_offset_msg_id(self.store_host, self.commit_log_offset)
    }
}

fn bad(msg: impl Into<String>) -> ProtocolError {
    ProtocolError::BadStoredMessage(msg.into())
}

fn read_host(r: &mut Reader<'_>, v6: bool) -> Result<SocketAddr, ProtocolError> {
    let ip = if v6 {
        let mut octets = [0u8; 16];
        octets.copy_from_slice(r.bytes(16, "IPv6 host")?);
        IpAddr::V6(Ipv6Addr::from(octets))
    } else {
        let mut octets = [0u8; 4];
        octets.copy_from_slice(r.bytes(4, "IPv4 host")?);
        IpAddr::V4(Ipv4Addr::from(octets))
    };
    let port = r.i32("port")?;
    let port = u16::try_from(port).map_err(|_| bad(format!("port {port}")))?;
    Ok(SocketAddr::new(ip, port))
}

/// Decodes one message in commit-log format, copying the body out of `buf`.
pub fn decode_stored_message(buf: &[u8]) -> Result<StoredMessage, ProtocolError> {
    let mut budget = MAX_DECOMPRESSED_BODY;
    decode(buf, None, &mut budget)
}

/// Decodes the messages a QUERY_MESSAGE or PULL_MESSAGE answer holds, one after the other, each
/// delimited by its leading total size (which must cover at least the size field itself and stay
/// within `buf`). Compressed bodies may inflate to [`MAX_DECOMPRESSED_BODY`] in all.
///
/// ```
/// use actix_rocketmq::protocol::stored::{decode_stored_messages, encode_stored_message, StoredMessage};
/// # let msg = StoredMessage { queue_id: 0, flag: 0, queue_offset: 0, commit_log_offset: 0, sys_flag: 0,
/// #     born_timestamp: 0, born_host: "127.0.0.1:1".parse().unwrap(), store_timestamp: 0,
/// #     store_host: "127.0.0.1:2".parse().unwrap(), reconsume_times: 0, prepared_transaction_offset: 0,
/// #     body: bytes::Bytes::from_static(b"hi"), topic: "T".into(), properties: vec![] };
/// let mut buf = bytes::BytesMut::new();
/// encode_stored_message(&msg, &mut buf).unwrap();
/// encode_stored_message(&msg, &mut buf).unwrap();
/// assert_eq!(decode_stored_messages(&buf).unwrap().len(), 2);
/// assert!(decode_stored_messages(&buf[..buf.len() - 1]).is_err());
/// ```
pub fn decode_stored_messages(buf: &[u8]) -> Result<Vec<StoredMessage>, ProtocolError> {
    let mut out = Vec::new();
    let mut rest = buf;
    // One inflation budget for the whole list: 64 small zstd bodies of 1 MiB each would
    // otherwise cost 64 MiB.
    let mut inflate_budget = MAX_DECOMPRESSED_BODY;
    while !rest.is_empty() {
        let size = Reader::new(rest).i32("total size")?;
        let len = usize::try_from(size).ok().filter(|n| *n >= 4 && *n <= rest.len()).ok_or_else(|| bad(format!("message size {size}")))?;
        out.push(decode(&rest[..len], None, &mut inflate_budget)?);
        rest = &rest[len..];
    }
    Ok(out)
}

/// Like [`decode_stored_message`], but an uncompressed body shares `buf` instead of being copied.
pub fn decode_stored_message_bytes(buf: &Bytes) -> Result<StoredMessage, ProtocolError> {
    let mut budget = MAX_DECOMPRESSED_BODY;
    decode(buf, Some(buf), &mut budget)
}

/// Decodes one message; a compressed body may inflate to at most `inflate_budget` bytes, which
/// is reduced by what it takes.
fn decode(buf: &[u8], shared: Option<&Bytes>, inflate_budget: &mut usize) -> Result<StoredMessage, ProtocolError> {
    let mut r = Reader::new(buf);
    // Decoded sequentially like Java; the size field is not trusted (Java's encoder may
    // allocate the original store size and leave trailing zeros).
    let _total_size = r.i32("total size")?;
    let magic = r.i32("magic code")?;
    let v2 = match magic {
        MAGIC_V1 => false,
        MAGIC_V2 => true,
        other => return Err(bad(format!("unknown magic code {:#010X}", other as u32))),
    };
    let _body_crc = r.i32("body CRC")?;
    let queue_id = r.i32("queue id")?;
    let flag = r.i32("flag")?;
    let queue_offset = r.i64("queue offset")?;
    let commit_log_offset = r.i64("commit log offset")?;
    let mut sys_flag = r.i32("sys flag")?;
    let born_timestamp = r.i64("born timestamp")?;
    let born_host = read_host(&mut r, sys_flag & BORNHOST_V6_FLAG != 0)?;
    let store_timestamp = r.i64("store timestamp")?;
    let store_host = read_host(&mut r, sys_flag & STOREHOSTADDRESS_V6_FLAG != 0)?;
    let reconsume_times = r.i32("reconsume times")?;
    let prepared_transaction_offset = r.i64("prepared transaction offset")?;

    // Java treats a non-positive length as "no body".
    let body_len = usize::try_from(r.i32("body length")?).unwrap_or(0);
    let body_start = buf.len() - r.remaining();
    let raw_body = r.bytes(body_len, "body")?;

    let topic_len = if v2 {
        let n = r.i16("topic length")?;
        usize::try_from(n).map_err(|_| bad(format!("topic length {n}")))?
    } else {
        // Java reads a signed byte here, so > 127 never worked; unsigned is the only sane reading.
        usize::from(r.u8("topic length")?)
    };
    let topic = String::from_utf8_lossy(r.bytes(topic_len, "topic")?).into_owned();

    // Like Java, a non-positive properties length means none.
    let props_len = usize::try_from(r.i16("properties length")?).unwrap_or(0);
    let props = String::from_utf8_lossy(r.bytes(props_len, "properties")?);
    let properties = decode_received_properties(&props)?;

    // Inflated last: a message that turns out malformed costs no decompression.
    let body = if body_len > 0 && sys_flag & COMPRESSED_FLAG != 0 {
        let kind = CompressionType::from_sys_flag(sys_flag)?;
        let inflated = decompress(kind, raw_body, *inflate_budget)?;
        *inflate_budget -= inflated.len();
        sys_flag &= !COMPRESSED_FLAG;
        Bytes::from(inflated)
    } else if let Some(shared) = shared {
        shared.slice(body_start..body_start + body_len)
    } else {
        Bytes::copy_from_slice(raw_body)
    };

    Ok(StoredMessage {
        queue_id,
        flag,
        queue_offset,
        commit_log_offset,
        sys_flag,
        born_timestamp,
        born_host,
        store_timestamp,
        store_host,
        reconsume_times,
        prepared_transaction_offset,
        body,
        topic,
        properties,
    })
}

fn put_host(dst: &mut BytesMut, addr: SocketAddr) {
    match addr.ip() {
        IpAddr::V4(v4) => dst.put_slice(&v4.octets()),
        IpAddr::V6(v6) => dst.put_slice(&v6.octets()),
    }
    dst.put_i32(i32::from(addr.port()));
}

/// Encodes a message in commit-log format (for tests and mock brokers).
///
/// The IPv6 bits of `sys_flag` follow the host addresses. If `sys_flag` has
/// [`COMPRESSED_FLAG`], the body is compressed with the algorithm of bits 8–10. The V1 magic is
/// used when the topic fits its 1-byte length (as Java's check encoder does), V2 otherwise.
/// The body CRC is Java's `UtilAll.crc32` (CRC32 & 0x7FFFFFFF) of the stored body.
pub fn encode_stored_message(msg: &StoredMessage, dst: &mut BytesMut) -> Result<(), ProtocolError> {
    let mut sys_flag = msg.sys_flag & !(BORNHOST_V6_FLAG | STOREHOSTADDRESS_V6_FLAG);
    if msg.born_host.is_ipv6() {
        sys_flag |= BORNHOST_V6_FLAG;
    }
    if msg.store_host.is_ipv6() {
        sys_flag |= STOREHOSTADDRESS_V6_FLAG;
    }
    let compressed;
    let body: &[u8] = if sys_flag & COMPRESSED_FLAG != 0 {
        compressed = compress(
            CompressionType::from_sys_flag(sys_flag)?,
            DEFAULT_LEVEL,
            &msg.body,
        )?;
        &compressed
    } else {
        &msg.body
    };
    let mut props = String::new();
    encode_properties(
        msg.properties.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        &mut props,
    );
    let props_len = i16::try_from(props.len()).map_err(|_| ProtocolError::TooLong {
        what: "properties",
        len: props.len(),
        max: i16::MAX as usize,
    })?;
    let topic = msg.topic.as_bytes();
    let v1 = topic.len() <= usize::from(u8::MAX);
    let topic_len_size = if v1 { 1 } else { 2 };
    if topic.len() > i16::MAX as usize {
        return Err(ProtocolError::TooLong {
            what: "topic",
            len: topic.len(),
            max: i16::MAX as usize,
        });
    }
    let host_len = |a: SocketAddr| if a.is_ipv6() { 20 } else { 8 };
    let total = 4
        + 4
        + 4
        + 4
        + 4
        + 8
        + 8
        + 4
        + 8
        + host_len(msg.born_host)
        + 8
        + host_len(msg.store_host)
        + 4
        + 8
        + 4
        + body.len()
        + topic_len_size
        + topic.len()
        + 2
        + props.len();
    let total_i32 = i32::try_from(total).map_err(|_| ProtocolError::TooLong {
        what: "stored message",
        len: total,
        max: i32::MAX as usize,
    })?;
    let body_len = i32::try_from(body.len()).map_err(|_| ProtocolError::TooLong {
        what: "body",
        len: body.len(),
        max: i32::MAX as usize,
    })?;
    let mut crc = flate2::Crc::new();
    crc.update(body);

    dst.reserve(total);
    dst.put_i32(total_i32);
    dst.put_i32(if v1 { MAGIC_V1 } else { MAGIC_V2 });
    dst.put_i32((crc.sum() & 0x7FFF_FFFF) as i32);
    dst.put_i32(msg.queue_id);
    dst.put_i32(msg.flag);
    dst.put_i64(msg.queue_offset);
    dst.put_i64(msg.commit_log_offset);
    dst.put_i32(sys_flag);
    dst.put_i64(msg.born_timestamp);
    put_host(dst, msg.born_host);
    dst.put_i64(msg.store_timestamp);
    put_host(dst, msg.store_host);
    dst.put_i32(msg.reconsume_times);
    dst.put_i64(msg.prepared_transaction_offset);
    dst.put_i32(body_len);
    dst.put_slice(body);
    if v1 {
        dst.put_u8(topic.len() as u8);
    } else {
        dst.put_i16(topic.len() as i16);
    }
    dst.put_slice(topic);
    dst.put_i16(props_len);
    dst.put_slice(props.as_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::sys_flag::{COMPRESSION_ZLIB, TRANSACTION_PREPARED_TYPE};

    fn sample() -> StoredMessage {
        StoredMessage {
            queue_id: 0,
            flag: 3,
            queue_offset: 42,
            commit_log_offset: 0x12345,
            sys_flag: TRANSACTION_PREPARED_TYPE,
            born_timestamp: 1_700_000_000_000,
            born_host: "192.168.1.20:50000".parse().unwrap(),
            store_timestamp: 1_700_000_000_123,
            store_host: "10.0.0.5:10911".parse().unwrap(),
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body: Bytes::from_static(b"hello"),
            topic: "TopicTest".into(),
            properties: vec![
                ("TRAN_MSG".into(), "true".into()),
                ("PGROUP".into(), "my_group".into()),
                ("UNIQ_KEY".into(), "C0A8010A30391B6D35860A1B2C3D0001".into()),
                ("REAL_TOPIC".into(), "TopicTest".into()),
                ("REAL_QID".into(), "2".into()),
            ],
        }
    }

    fn encode(msg: &StoredMessage) -> BytesMut {
        let mut buf = BytesMut::new();
        encode_stored_message(msg, &mut buf).unwrap();
        buf
    }

    #[test]
    fn a_list_of_messages_shares_one_inflation_budget() {
        // Each body inflates to 1 MiB (zlib, ~1 KB compressed); 8 of them would take 8 MiB.
        let mut msg = sample();
        msg.sys_flag |= COMPRESSED_FLAG | COMPRESSION_ZLIB;
        // (the encoder compresses the body when the flag says so)
        msg.body = Bytes::from(vec![b'x'; 1 << 20]);
        let mut list = BytesMut::new();
        for _ in 0..4 {
            encode_stored_message(&msg, &mut list).unwrap();
        }
        assert_eq!(decode_stored_messages(&list).unwrap().len(), 4, "4 MiB in all: within the budget");
        for _ in 0..4 {
            encode_stored_message(&msg, &mut list).unwrap();
        }
        assert!(matches!(decode_stored_messages(&list), Err(ProtocolError::Compression(_))));
        // One at a time, each gets the whole budget.
        assert_eq!(decode_stored_message(&encode(&msg)).unwrap().body.len(), 1 << 20);
    }

    #[test]
    fn too_many_properties_are_refused() {
        let mut msg = sample();
        msg.properties = (0..=crate::protocol::limits::MAX_PROPERTIES).map(|i| (format!("k{i}"), "v".to_string())).collect();
        let buf = encode(&msg);
        assert!(matches!(decode_stored_message(&buf), Err(ProtocolError::TooMany { what: "properties in a message", .. })));
    }

    /// A V1 record written field by field, independent of the encoder.
    #[test]
    fn decodes_hand_built_v1_record() {
        let mut b = Vec::new();
        b.extend_from_slice(&0i32.to_be_bytes()); // size: not trusted
        b.extend_from_slice(&[0xDA, 0xA3, 0x20, 0xA7]);
        b.extend_from_slice(&0i32.to_be_bytes()); // crc
        b.extend_from_slice(&2i32.to_be_bytes()); // queue id
        b.extend_from_slice(&0i32.to_be_bytes()); // flag
        b.extend_from_slice(&5i64.to_be_bytes()); // queue offset
        b.extend_from_slice(&0x12345i64.to_be_bytes()); // commit log offset
        b.extend_from_slice(&4i32.to_be_bytes()); // sys flag
        b.extend_from_slice(&1i64.to_be_bytes()); // born ts
        b.extend_from_slice(&[192, 168, 1, 20, 0, 0, 0xC3, 0x50]); // 192.168.1.20:50000
        b.extend_from_slice(&2i64.to_be_bytes()); // store ts
        b.extend_from_slice(&[10, 0, 0, 5, 0, 0, 0x2A, 0x9F]); // 10.0.0.5:10911
        b.extend_from_slice(&0i32.to_be_bytes()); // reconsume
        b.extend_from_slice(&0i64.to_be_bytes()); // prepared offset
        b.extend_from_slice(&2i32.to_be_bytes());
        b.extend_from_slice(b"hi");
        b.push(1);
        b.extend_from_slice(b"T");
        let props = b"PGROUP\x01g\x02UNIQ_KEY\x01ABC\x02";
        b.extend_from_slice(&(props.len() as i16).to_be_bytes());
        b.extend_from_slice(props);
        b.extend_from_slice(&[0, 0, 0]); // trailing zeros are ignored

        let m = decode_stored_message(&b).unwrap();
        assert_eq!(
            (m.queue_id, m.queue_offset, m.commit_log_offset, m.sys_flag),
            (2, 5, 0x12345, 4)
        );
        assert_eq!(m.born_host.to_string(), "192.168.1.20:50000");
        assert_eq!(m.store_host.to_string(), "10.0.0.5:10911");
        assert_eq!((m.born_timestamp, m.store_timestamp), (1, 2));
        assert_eq!(m.body.as_ref(), b"hi");
        assert_eq!(m.topic, "T");
        assert_eq!(m.property("UNIQ_KEY"), Some("ABC"));
        assert_eq!(m.property("nope"), None);
        assert_eq!(m.offset_msg_id(), "0A00000500002A9F0000000000012345");
    }

    #[test]
    fn round_trip_v1_v2_ipv6() {
        let msg = sample();
        let buf = encode(&msg);
        assert_eq!(&buf[4..8], &[0xDA, 0xA3, 0x20, 0xA7]);
        assert_eq!(
            i32::from_be_bytes(buf[..4].try_into().unwrap()) as usize,
            buf.len()
        );
        assert_eq!(decode_stored_message(&buf).unwrap(), msg);

        let long_topic = StoredMessage {
            topic: "t".repeat(300),
            ..sample()
        };
        let buf = encode(&long_topic);
        assert_eq!(&buf[4..8], &[0xDA, 0xA3, 0x20, 0xAB]);
        assert_eq!(decode_stored_message(&buf).unwrap(), long_topic);

        let mut v6 = sample();
        v6.born_host = "[2001:db8::1]:1234".parse().unwrap();
        v6.store_host = "[2001:db8::2]:10911".parse().unwrap();
        let back = decode_stored_message(&encode(&v6)).unwrap();
        assert_eq!(
            back.sys_flag,
            TRANSACTION_PREPARED_TYPE | BORNHOST_V6_FLAG | STOREHOSTADDRESS_V6_FLAG
        );
        assert_eq!(
            (back.born_host, back.store_host),
            (v6.born_host, v6.store_host)
        );
        assert_eq!(back.offset_msg_id().len(), 56);
    }

    #[test]
    fn compressed_body_is_inflated() {
        let mut msg = sample();
        msg.body = Bytes::from(b"compress me ".repeat(500));
        msg.sys_flag |= COMPRESSED_FLAG | COMPRESSION_ZLIB;
        let buf = encode(&msg);
        assert!(buf.len() < msg.body.len());
        let back = decode_stored_message(&buf).unwrap();
        assert_eq!(back.body, msg.body);
        assert_eq!(back.sys_flag, TRANSACTION_PREPARED_TYPE | COMPRESSION_ZLIB);
    }

    #[test]
    fn shared_decode_does_not_copy() {
        let buf = encode(&sample()).freeze();
        let m = decode_stored_message_bytes(&buf).unwrap();
        let start = buf.as_ptr() as usize;
        let body = m.body.as_ptr() as usize;
        assert!(body >= start && body + m.body.len() <= start + buf.len());
        assert_eq!(m, sample());
    }

    #[test]
    fn empty_body_and_properties() {
        let msg = StoredMessage {
            body: Bytes::new(),
            properties: vec![],
            topic: String::new(),
            ..sample()
        };
        assert_eq!(decode_stored_message(&encode(&msg)).unwrap(), msg);
    }

    #[test]
    fn truncation_and_garbage_give_typed_errors() {
        let buf = encode(&sample());
        for cut in 0..buf.len() {
            let result = decode_stored_message(&buf[..cut]);
            assert!(
                matches!(result, Err(ProtocolError::Truncated(_))),
                "cut {cut}: {result:?}"
            );
        }
        let mut bad_magic = buf.to_vec();
        bad_magic[7] = 0;
        assert!(matches!(
            decode_stored_message(&bad_magic),
            Err(ProtocolError::BadStoredMessage(_))
        ));

        let mut bad_port = buf.to_vec();
        bad_port[52..56].copy_from_slice(&(-1i32).to_be_bytes()); // born host port
        assert!(matches!(
            decode_stored_message(&bad_port),
            Err(ProtocolError::BadStoredMessage(_))
        ));

        let mut bad_zlib = buf.to_vec();
        bad_zlib[36..40]
            .copy_from_slice(&(TRANSACTION_PREPARED_TYPE | COMPRESSED_FLAG).to_be_bytes());
        assert!(matches!(
            decode_stored_message(&bad_zlib),
            Err(ProtocolError::Compression(_))
        ));

        let mut rng = fastrand::Rng::with_seed(3);
        for _ in 0..20_000 {
            let mut data = buf.to_vec();
            for _ in 0..rng.usize(1..4) {
                let i = rng.usize(..data.len());
                data[i] = rng.u8(..);
            }
            let _ = decode_stored_message(&data);
            let len = rng.usize(..200);
            let noise: Vec<u8> = (0..len).map(|_| rng.u8(..)).collect();
            let _ = decode_stored_message(&noise);
        }
    }

    #[test]
    fn encoder_limits() {
        let msg = StoredMessage {
            properties: vec![("k".into(), "v".repeat(40_000))],
            ..sample()
        };
        assert!(matches!(
            encode_stored_message(&msg, &mut BytesMut::new()),
            Err(ProtocolError::TooLong { .. })
        ));
    }
}
