//! User-chosen queues: the selector trait behind orderly sends, with hash and random built in.

use std::fmt;
use std::sync::Arc;

use crate::protocol::route::MessageQueue;

/// Picks the queue of a message from the topic's writable queues and a user argument (Java
/// `MessageQueueSelector`). Returning `None`, or an index out of range, fails the send with a
/// typed error ([`SendError::NoQueueSelected`](crate::SendError::NoQueueSelected)).
///
/// ```
/// use std::sync::Arc;
/// use actix_rocketmq::producer::MessageQueueSelector;
/// use actix_rocketmq::{MessageQueue, ProducerRecord, SendMessage};
///
/// /// `arg` names the queue id.
/// struct ByQueueId;
/// impl MessageQueueSelector for ByQueueId {
///     fn select(&self, queues: &[MessageQueue], arg: &str) -> Option<usize> {
///         let id: i32 = arg.parse().ok()?;
///         queues.iter().position(|q| q.queue_id == id)
///     }
/// }
///
/// let queues: Vec<MessageQueue> =
///     (0..4).map(|i| MessageQueue { topic: "orders".into(), broker_name: "broker-a".into(), queue_id: i }).collect();
/// assert_eq!(ByQueueId.select(&queues, "2"), Some(2));
/// assert_eq!(ByQueueId.select(&queues, "two"), None); // the send would fail with NoQueueSelected
/// let send = SendMessage::new(ProducerRecord::new("orders", "x")).ordered_by(Arc::new(ByQueueId), "2");
/// ```
pub trait MessageQueueSelector: Send + Sync {
    /// Index into `queues` given `arg`. (Java also passes the message; the argument is what
    /// every real selector uses, and leaving the message out keeps it owned by the send.)
    fn select(&self, queues: &[MessageQueue], arg: &str) -> Option<usize>;
}

/// `hash(arg) % queues`: all messages with one key land on one queue, in send order. Uses Java's
/// `String.hashCode`, so Rust and Java producers put a key on the same queue.
#[derive(Debug, Clone, Copy, Default)]
pub struct SelectByHash;

/// A random queue per message.
#[derive(Debug, Clone, Copy, Default)]
pub struct SelectRandom;

/// Java's `String.hashCode` over UTF-16 code units.
///
/// ```
/// assert_eq!(actix_rocketmq::producer::queue_select::java_string_hash("hello"), 99162322);
/// ```
pub fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16().fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(c as i32))
}

impl MessageQueueSelector for SelectByHash {
    fn select(&self, queues: &[MessageQueue], arg: &str) -> Option<usize> {
        if queues.is_empty() {
            return None;
        }
        // Java: `hashCode % size`, then `abs` of a negative remainder.
        let v = java_string_hash(arg) % (queues.len() as i32);
        Some(v.unsigned_abs() as usize)
    }
}

impl MessageQueueSelector for SelectRandom {
    fn select(&self, queues: &[MessageQueue], _: &str) -> Option<usize> {
        (!queues.is_empty()).then(|| fastrand::usize(..queues.len()))
    }
}

/// Where a send goes.
#[derive(Clone, Default)]
pub enum Target {
    /// Round robin with retries on other brokers (the default).
    #[default]
    Auto,
    /// Exactly this queue (topic must match the record's); one attempt.
    Queue(MessageQueue),
    /// The queue a selector picks from `arg`; one attempt.
    Selected {
        /// Picks the queue.
        selector: Arc<dyn MessageQueueSelector>,
        /// What it picks by (an order id, a user id, ...).
        arg: String,
    },
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Auto => f.write_str("Auto"),
            Target::Queue(q) => f.debug_tuple("Queue").field(q).finish(),
            Target::Selected { arg, .. } => f.debug_struct("Selected").field("arg", arg).finish_non_exhaustive(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn qs(n: i32) -> Vec<MessageQueue> {
        (0..n).map(|i| MessageQueue { topic: "t".into(), broker_name: "b".into(), queue_id: i }).collect()
    }

    #[test]
    fn hash_matches_java() {
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("order-1"), -1207111310);
        // Non-BMP characters count as two UTF-16 units, as in Java.
        assert_eq!(java_string_hash("😀"), 1772899);
        let q = qs(8);
        let a = SelectByHash.select(&q, "order-1").unwrap();
        assert_eq!(a, 6); // Java: -1207111310 % 8 = -6, abs 6
        assert_eq!(SelectByHash.select(&q, "order-1"), Some(a));
        assert!(SelectByHash.select(&[], "x").is_none());
        assert!(SelectRandom.select(&q, "").unwrap() < 8);
    }
}
