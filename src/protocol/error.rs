//! The one error type of the protocol layer.

/// Everything that can go wrong while encoding or decoding RocketMQ remoting data.
///
/// Decoders never panic on hostile input: every malformed, truncated or oversized piece of
/// data maps to one of these variants, so the caller can log it and drop the connection
/// (which is what the Java peers do, too).
///
/// ```
/// use actix_rocketmq::protocol::ProtocolError;
///
/// let err = ProtocolError::MissingField("msgId");
/// assert_eq!(err.to_string(), "missing header field `msgId`");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// A frame (4-byte length prefix included) is larger than the allowed maximum.
    #[error("frame of {len} bytes exceeds the limit of {max} bytes")]
    FrameTooLarge {
        /// The frame's size in bytes, length prefix included.
        len: usize,
        /// The limit that applied.
        max: usize,
    },
    /// The frame length field is negative or too small to hold the header marker.
    #[error("invalid frame length field {0}")]
    BadFrameLength(i32),
    /// The header does not fit the 24-bit length of the header marker, or the frame.
    #[error("header of {0} bytes is too large")]
    HeaderTooLarge(usize),
    /// The input ended in the middle of the named item.
    #[error("truncated input while reading {0}")]
    Truncated(&'static str),
    /// The top byte of the header marker is neither 0 (JSON) nor 1 (ROCKETMQ).
    #[error("unknown serialize type {0}")]
    UnknownSerializeType(u8),
    /// The JSON or binary header could not be decoded.
    #[error("bad header: {0}")]
    BadHeader(String),
    /// A required custom-header field (ext field) is absent.
    #[error("missing header field `{0}`")]
    MissingField(&'static str),
    /// A custom-header field (or other named value) has a value that cannot be used.
    #[error("bad value {value:?} for field `{field}`")]
    BadField {
        /// The field's name (the ext-field key where there is one).
        field: &'static str,
        /// The offending value, as received.
        value: String,
    },
    /// A value is longer than its length field (or the wire format) allows.
    #[error("{what} is {len} bytes long, the limit is {max}")]
    TooLong {
        /// What was too long (e.g. `"ext field key"`, `"batch message properties"`).
        what: &'static str,
        /// Its length in bytes.
        len: usize,
        /// The largest length allowed.
        max: usize,
    },
    /// Received data holds more items than a decoding cap allows (see
    /// [`limits`](super::limits)): too many header fields, route entries, publish queues or
    /// message properties.
    #[error("more than {max} {what}")]
    TooMany {
        /// What there were too many of (e.g. `"ext fields in a header"`).
        what: &'static str,
        /// The cap that applied.
        max: usize,
    },
    /// A message property name or value cannot be encoded.
    #[error("bad message property {name:?}: {reason}")]
    BadProperty {
        /// The property's name.
        name: String,
        /// Why it cannot be encoded (empty, or contains a 0x01/0x02 separator).
        reason: &'static str,
    },
    /// The topic route body could not be parsed.
    #[error("bad topic route data: {0}")]
    Route(String),
    /// Some other JSON body (heartbeat, connection list) could not be parsed.
    #[error("bad body: {0}")]
    BadBody(String),
    /// A message id (UNIQ_KEY or offsetMsgId) is malformed.
    #[error("bad message id: {0}")]
    BadMessageId(String),
    /// Compressing or decompressing a body failed, or the algorithm is not available.
    #[error("compression error: {0}")]
    Compression(String),
    /// A message in commit-log format could not be decoded.
    #[error("bad stored message: {0}")]
    BadStoredMessage(String),
}
