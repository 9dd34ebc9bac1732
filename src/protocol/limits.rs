//! Bounds on what decoding untrusted bytes may cost.
//!
//! Every decoder that sees network bytes (frames and both header serializations, route bodies,
//! stored and pushed messages, compressed bodies) works in time and memory proportional to its
//! input, or within one of the fixed caps below. Going past a cap is a typed
//! [`ProtocolError`] (`TooMany`, `TooLong`, `FrameTooLarge`, or the decoder's
//! own variant for errors met inside a JSON body), never a panic or an unbounded allocation.
//!
//! The caps are far above anything a real name server or broker sends: a route lists a handful
//! of brokers with a few dozen queues each, a reply header a dozen fields, a message a few
//! dozen properties. What a decoder does with an input that goes past a cap:
//!
//! | decoder | cap | on the connection |
//! |---|---|---|
//! | frame ([`decode_frame`](super::decode_frame)) | [`DEFAULT_MAX_FRAME_LEN`](super::DEFAULT_MAX_FRAME_LEN) per frame, header ≤ 16 MiB | closed (the stream can no longer be trusted) |
//! | header, JSON or binary | [`MAX_EXT_FIELDS`] fields; duplicate keys cost linear time | closed |
//! | route body ([`parse_route`](super::route::parse_route)) | [`MAX_ROUTE_BROKERS`], [`MAX_ROUTE_QUEUE_DATAS`], [`MAX_BROKER_ADDRS`], [`MAX_ROUTE_QUEUES`], [`MAX_ROUTE_QUEUE_BYTES`] | kept: only that lookup fails |
//! | stored / pushed message | [`MAX_PROPERTIES`], [`MAX_DECOMPRESSED_BODY`] (for a list of stored messages: in all) | kept: only that message is refused |
//! | connection list, heartbeat body | [`MAX_BODY_LIST_ENTRIES`] | kept |
//! | compressed body | [`MAX_DECOMPRESSED_BODY`], zstd window ≤ 8 MiB, output buffer never above the limit | kept |
//!
//! The project's fuzz harness (`tests/fuzz`) checks these bounds: no input under 1 MiB may cost
//! more than 16 MiB of heap or 100 ms.

use super::ProtocolError;

/// Most ext fields (custom header entries) a received header may hold. Real headers have about
/// a dozen; Java's `HashMap` has no cap, but 100,000 keys in a 1.3 MB frame must not cost
/// seconds of decoding.
pub const MAX_EXT_FIELDS: usize = 1024;

/// Most `brokerDatas` entries a route may list.
pub const MAX_ROUTE_BROKERS: usize = 1024;

/// Most `queueDatas` entries a route may list.
pub const MAX_ROUTE_QUEUE_DATAS: usize = 1024;

/// Most addresses (master and slaves) one `brokerDatas` entry may list.
pub const MAX_BROKER_ADDRS: usize = 64;

/// Most publish queues one route may yield (summed over its brokers, from `queueDatas` or from
/// `orderTopicConf`). A 920-byte `orderTopicConf` of 100 `name:65536` items would otherwise
/// build 6.5 million queues.
pub const MAX_ROUTE_QUEUES: usize = 16_384;

/// Most bytes the publish queues of one route may take (each queue holds its topic and broker
/// name): a long broker name times many queues must not multiply into gigabytes.
pub const MAX_ROUTE_QUEUE_BYTES: usize = 4 * 1024 * 1024;

/// Most entries of a list in the other JSON bodies read from peers (a producer connection list,
/// a heartbeat's producer groups): an entry as small as `{}` must not multiply into a large
/// vector of structs.
pub const MAX_BODY_LIST_ENTRIES: usize = 4096;

/// Most properties one received message (stored or pushed) may carry. Real messages carry a few
/// dozen; Java's encoder writes at most 32 KiB of them per stored message.
pub const MAX_PROPERTIES: usize = 1024;

/// Largest body we inflate from one compressed message: the default `maxMessageSize` of the
/// broker and of the Java (and this) producer, which check the body before compressing it. A
/// body that inflates past it could only come from a producer configured past that default;
/// such a message is refused (a transaction check-back carrying one is left unanswered, so the
/// broker asks again). With the LZ4 decoder's two 4 MiB block buffers, inflating one body stays
/// under 13 MiB.
pub const MAX_DECOMPRESSED_BODY: usize = 4 * 1024 * 1024;

/// Largest zstd window (log2) accepted when decompressing: zstd allocates the window a frame
/// header declares before producing output, so this bounds what a 20-byte frame can cost. 8 MiB
/// is what zstd's levels up to 19 use at most, and a body of at most [`MAX_DECOMPRESSED_BODY`]
/// compressed in one call (the Java producer's `Zstd.compress`) gets a window no larger than
/// the body.
pub const ZSTD_WINDOW_LOG_MAX: u32 = 23;

/// The error for a JSON body or header serde could not read. A cap met inside serde (a bounded
/// visitor's `TooMany`) comes back from serde as text only: when the text is one of `caps`, that
/// variant is given back; otherwise `other(text)`.
pub(crate) fn json_error(e: serde_json::Error, caps: &[ProtocolError], other: fn(String) -> ProtocolError) -> ProtocolError {
    let text = e.to_string();
    caps.iter()
        .find(|cap| text.starts_with(&cap.to_string()))
        .cloned()
        .unwrap_or_else(|| other(text))
}
