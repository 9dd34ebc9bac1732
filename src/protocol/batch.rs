//! The body of SEND_BATCH_MESSAGE (320): inner messages concatenated (Java
//! `MessageDecoder.encodeMessage` / `encodeMessages`, as `MessageBatch.encode` uses them;
//! docs/PROTOCOL.md, Batches).

use bytes::{BufMut, BytesMut};

use super::ProtocolError;

/// Fixed bytes of one inner message: totalSize, magicCode, bodyCRC, flag, bodyLen, propsLen.
const FIXED_LEN: usize = 4 + 4 + 4 + 4 + 4 + 2;

/// The encoded size of one inner message.
pub fn batch_message_len(body_len: usize, properties_len: usize) -> usize {
    FIXED_LEN
        .saturating_add(body_len)
        .saturating_add(properties_len)
}

/// Appends one inner message of a batch body to `dst`.
///
/// `properties` is the message's own encoded property string (it must contain its `UNIQ_KEY`;
/// the broker does not add one to batch messages). The body goes uncompressed: the broker
/// applies the envelope's sysFlag to every inner message. Magic code and CRC are written as 0,
/// which the broker ignores. On error nothing is appended.
///
/// ```
/// use actix_rocketmq::protocol::batch::encode_batch_message;
/// use bytes::BytesMut;
///
/// let mut body = BytesMut::new();
/// encode_batch_message(0, b"hi", "KEYS\u{1}k1\u{2}UNIQ_KEY\u{1}ABC\u{2}", &mut body).unwrap();
/// encode_batch_message(0, b"there", "UNIQ_KEY\u{1}ABD\u{2}", &mut body).unwrap();
/// assert_eq!(&body[..4], &[0, 0, 0, 0x2d]);
/// ```
pub fn encode_batch_message(
    flag: i32,
    body: &[u8],
    properties: &str,
    dst: &mut BytesMut,
) -> Result<(), ProtocolError> {
    let props_len = i16::try_from(properties.len()).map_err(|_| ProtocolError::TooLong {
        what: "batch message properties",
        len: properties.len(),
        max: i16::MAX as usize,
    })?;
    let total = batch_message_len(body.len(), properties.len());
    let total_i32 = i32::try_from(total).map_err(|_| ProtocolError::TooLong {
        what: "batch message",
        len: total,
        max: i32::MAX as usize,
    })?;
    // body.len() < total <= i32::MAX, so this cannot truncate.
    let body_len = body.len() as i32;

    // The five fixed ints in one write: this runs for every message of a batch.
    let mut head = [0u8; 20];
    head[..4].copy_from_slice(&total_i32.to_be_bytes());
    // [4..8] magic code: ignored by the broker; [8..12] body CRC: the broker computes its own
    head[12..16].copy_from_slice(&flag.to_be_bytes());
    head[16..].copy_from_slice(&body_len.to_be_bytes());
    dst.reserve(total);
    dst.put_slice(&head);
    dst.put_slice(body);
    dst.put_i16(props_len);
    dst.put_slice(properties.as_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_example() {
        let mut dst = BytesMut::new();
        encode_batch_message(0, b"hi", "KEYS\u{1}k1\u{2}UNIQ_KEY\u{1}ABC\u{2}", &mut dst).unwrap();
        let expected: [u8; 45] = [
            0x00, 0x00, 0x00, 0x2d, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x68, 0x69, 0x00, 0x15, 0x4b, 0x45, 0x59, 0x53,
            0x01, 0x6b, 0x31, 0x02, 0x55, 0x4e, 0x49, 0x51, 0x5f, 0x4b, 0x45, 0x59, 0x01, 0x41,
            0x42, 0x43, 0x02,
        ];
        assert_eq!(&dst[..], &expected[..]);
        assert_eq!(batch_message_len(2, 21), 45);
    }

    #[test]
    fn appends_and_writes_flag() {
        let mut dst = BytesMut::from(&b"x"[..]);
        encode_batch_message(-2, b"", "", &mut dst).unwrap();
        assert_eq!(
            &dst[..],
            &[b'x', 0, 0, 0, 22, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 0, 0, 0]
        );
    }

    #[test]
    fn properties_limit() {
        let ok = "p".repeat(i16::MAX as usize);
        let mut dst = BytesMut::new();
        encode_batch_message(0, b"b", &ok, &mut dst).unwrap();
        assert_eq!(dst.len(), 22 + 1 + ok.len());

        let too_long = "p".repeat(i16::MAX as usize + 1);
        let mut dst = BytesMut::new();
        assert_eq!(
            encode_batch_message(0, b"b", &too_long, &mut dst),
            Err(ProtocolError::TooLong {
                what: "batch message properties",
                len: 32768,
                max: 32767
            })
        );
        assert!(dst.is_empty());
    }
}
