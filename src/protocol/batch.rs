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
    // (checked first so that nothing is written when it is too long)
    props_len(properties.len())?;
    encode_batch_message_with(flag, body, dst, |dst| dst.put_slice(properties.as_bytes()))
}

/// [`encode_batch_message`] with the properties written by `write_properties` straight into
/// `dst`, after the body: a batch's messages are encoded without a property string of their
/// own, copied in afterwards. The lengths are filled in once the properties are written. On
/// error (properties longer than `i16::MAX`, a message longer than `i32::MAX`) nothing is
/// appended, and the error's `len` is the length that was too long.
///
/// ```
/// use actix_rocketmq::protocol::batch::{encode_batch_message, encode_batch_message_with};
/// use bytes::{BufMut, BytesMut};
///
/// let (mut a, mut b) = (BytesMut::new(), BytesMut::new());
/// encode_batch_message(0, b"hi", "UNIQ_KEY\u{1}ABC\u{2}", &mut a).unwrap();
/// encode_batch_message_with(0, b"hi", &mut b, |dst| dst.put_slice(b"UNIQ_KEY\x01ABC\x02")).unwrap();
/// assert_eq!(a, b);
/// ```
pub fn encode_batch_message_with(
    flag: i32,
    body: &[u8],
    dst: &mut BytesMut,
    write_properties: impl FnOnce(&mut BytesMut),
) -> Result<(), ProtocolError> {
    let start = dst.len();
    // The five fixed ints first as zeros (magic code and body CRC stay 0: the broker ignores
    // the one and computes the other), then the body and the room for the properties' length.
    dst.reserve(FIXED_LEN + body.len());
    dst.put_slice(&[0u8; 20]);
    dst.put_slice(body);
    dst.put_i16(0);
    let props_at = dst.len();
    write_properties(dst);
    let lengths = props_len(dst.len() - props_at).and_then(|props| {
        let total = dst.len() - start;
        let total = i32::try_from(total).map_err(|_| ProtocolError::TooLong { what: "batch message", len: total, max: i32::MAX as usize })?;
        Ok((props, total))
    });
    let (props, total) = match lengths {
        Ok(lengths) => lengths,
        Err(error) => {
            dst.truncate(start);
            return Err(error);
        }
    };
    // body.len() < total <= i32::MAX, so this cannot truncate.
    let body_len = body.len() as i32;
    dst[start..start + 4].copy_from_slice(&total.to_be_bytes());
    dst[start + 12..start + 16].copy_from_slice(&flag.to_be_bytes());
    dst[start + 16..start + 20].copy_from_slice(&body_len.to_be_bytes());
    dst[props_at - 2..props_at].copy_from_slice(&props.to_be_bytes());
    Ok(())
}

/// The properties' length as the inner message's 2-byte field.
fn props_len(len: usize) -> Result<i16, ProtocolError> {
    i16::try_from(len).map_err(|_| ProtocolError::TooLong { what: "batch message properties", len, max: i16::MAX as usize })
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

    #[test]
    fn properties_written_in_place_are_undone_when_too_long() {
        let mut dst = BytesMut::from(&b"kept"[..]);
        let too_long = vec![b'p'; i16::MAX as usize + 1];
        let res = encode_batch_message_with(0, b"body", &mut dst, |d| d.put_slice(&too_long));
        assert_eq!(res, Err(ProtocolError::TooLong { what: "batch message properties", len: 32768, max: 32767 }));
        assert_eq!(&dst[..], b"kept", "what came before stays, nothing of the message does");
        encode_batch_message_with(7, b"body", &mut dst, |d| d.put_slice(b"A\x01B\x02")).unwrap();
        let mut expected = BytesMut::from(&b"kept"[..]);
        encode_batch_message(7, b"body", "A\u{1}B\u{2}", &mut expected).unwrap();
        assert_eq!(dst, expected);
    }
}
