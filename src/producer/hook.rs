//! Send hooks (Java `SendMessageHook` and `EndTransactionHook`): the application sees every
//! attempt before it goes on the wire and after its outcome, and every transaction decision.
//!
//! Hooks run inside the producer actor, synchronously, on its hot path: keep them short and
//! never block (hand the data to a channel or an actor, as the trace hook does). With no hook
//! installed, nothing is built or called.

use std::sync::Arc;
use std::time::Duration;

use super::record::SendResult;
use crate::client::peer::{LocalTransactionState, TransactionCheck};
use crate::error::SendError;
use crate::namespace::unwrap;
use crate::protocol::properties::{find_property, names};

/// What kind of message an attempt carries (Java `MessageType`; the ordinal is the trace
/// format's `msgType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    /// A plain message, or a batch.
    Normal,
    /// The half message of a transaction.
    TransactionHalf,
    /// The decision of a transaction (END_TRANSACTION).
    TransactionCommit,
    /// A delay level or a 5.x timer.
    Delay,
}

impl MessageKind {
    /// Java's `MessageType.ordinal()`.
    pub fn ordinal(self) -> u8 {
        match self {
            MessageKind::Normal => 0,
            MessageKind::TransactionHalf => 1,
            MessageKind::TransactionCommit => 2,
            MessageKind::Delay => 3,
        }
    }
}

/// One attempt of a send, as hooks see it. Names are as the brokers see them (namespace
/// included); [`SendAttempt::topic_without_namespace`] strips it.
#[derive(Debug, Clone)]
pub struct SendAttempt<'a> {
    /// The producer group (namespace-prefixed).
    pub group: &'a str,
    /// The topic (namespace-prefixed).
    pub topic: &'a str,
    /// The message id (UNIQ_KEY); for a batch, every id joined by `,`.
    pub msg_id: &'a str,
    /// The encoded properties (use [`SendAttempt::property`]).
    pub properties: &'a str,
    /// Body length as sent (after compression).
    pub body_len: usize,
    /// The broker the attempt goes to.
    pub broker_name: &'a str,
    /// Its master's address, `host:port`.
    pub broker_addr: &'a str,
    /// The queue on that broker.
    pub queue_id: i32,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// What kind of message it carries.
    pub kind: MessageKind,
    /// Written one-way: no reply comes, so its outcome is at best [`AttemptOutcome::Written`].
    pub oneway: bool,
    /// A batch (SEND_BATCH_MESSAGE): `msg_id` lists every message's id.
    pub batch: bool,
    /// Wall-clock time the attempt started, ms since the epoch.
    pub started_ms: i64,
    /// The producer's namespace, if it has one.
    pub namespace: Option<&'a str>,
}

impl SendAttempt<'_> {
    /// A property of the message.
    pub fn property(&self, name: &str) -> Option<&str> {
        find_property(self.properties, name)
    }
    /// The tag, if any.
    pub fn tags(&self) -> Option<&str> {
        self.property(names::TAGS)
    }
    /// The keys, space-separated as on the wire.
    pub fn keys(&self) -> Option<&str> {
        self.property(names::KEYS)
    }
    /// The topic as the user named it.
    pub fn topic_without_namespace(&self) -> String {
        unwrap(self.namespace, self.topic)
    }
}

/// How an attempt ended.
#[derive(Debug, Clone, Copy)]
pub enum AttemptOutcome<'a> {
    /// The broker stored it (`status` may still be a flush/replication timeout).
    Stored(&'a SendResult),
    /// A one-way request was handed to the connection.
    Written,
    /// The attempt failed (the send may still be retried; the hook sees each attempt).
    Failed(&'a SendError),
}

/// A transaction's decision, as hooks see it (Java `EndTransactionContext`). Group and topic
/// are named as the user names them (without namespace).
#[derive(Debug, Clone)]
pub struct EndTransactionInfo<'a> {
    /// The producer group.
    pub group: &'a str,
    /// The message's topic.
    pub topic: &'a str,
    /// The message id (UNIQ_KEY).
    pub msg_id: &'a str,
    /// The broker's transaction id (the message id when the broker gave none).
    pub transaction_id: &'a str,
    /// The message's tag, if any.
    pub tags: Option<&'a str>,
    /// The message's keys, space-separated as on the wire.
    pub keys: Option<&'a str>,
    /// The broker the decision goes to, `host:port`.
    pub broker_addr: &'a str,
    /// The decision.
    pub state: LocalTransactionState,
    /// Answering a broker's check (true) or right after the local transaction (false).
    pub from_check: bool,
}

/// How one send ended, as hooks see it: once per send (a batch is one send), after its last
/// attempt, whatever ended it (a result, an error, a timeout, a drain deadline, the producer
/// going away). This is what metrics count.
#[derive(Debug, Clone)]
pub struct SendSummary<'a> {
    /// The topic as the brokers see it (namespace included); see
    /// [`SendSummary::topic_without_namespace`].
    pub topic: &'a str,
    /// The message id (UNIQ_KEY); for a batch, every id joined by `,`.
    pub msg_id: &'a str,
    /// Messages carried: 1, or the size of a batch.
    pub messages: usize,
    /// Body bytes as sent (after compression; a batch's whole body).
    pub body_len: usize,
    /// Attempts written to a broker (0 when the send ended before any, e.g. refused input or a
    /// full in-flight budget).
    pub attempts: u32,
    /// From the producer accepting the send to its end.
    pub elapsed: Duration,
    /// A one-way send (`Ok(None)` below is a write, not a broker's answer).
    pub oneway: bool,
    /// The broker that took the last attempt, if one did.
    pub broker: Option<&'a str>,
    /// The result (`None` for a one-way write) or the error the caller gets.
    pub outcome: Result<Option<&'a SendResult>, &'a SendError>,
    /// The producer's namespace.
    pub namespace: Option<&'a str>,
}

impl SendSummary<'_> {
    /// The topic as the user named it.
    pub fn topic_without_namespace(&self) -> String {
        unwrap(self.namespace, self.topic)
    }
}

/// An interceptor on every send of a producer. Every method has a default that does nothing.
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use std::sync::Arc;
/// use actix_rocketmq::producer::{AttemptOutcome, SendAttempt, SendHook};
///
/// /// Counts failed attempts per producer.
/// #[derive(Default)]
/// struct Failures(AtomicU64);
/// impl SendHook for Failures {
///     fn after_send(&self, _: &SendAttempt<'_>, _cost: std::time::Duration, outcome: AttemptOutcome<'_>) {
///         if let AttemptOutcome::Failed(_) = outcome {
///             self.0.fetch_add(1, Ordering::Relaxed);
///         }
///     }
/// }
/// let hook = Arc::new(Failures::default());
/// let producer = actix_rocketmq::Producer::new(actix_rocketmq::ProducerConfig::new("g", "127.0.0.1:9876"))
///     .with_hook(hook.clone());
/// ```
pub trait SendHook: Send + Sync + 'static {
    /// Right before an attempt is handed to the broker's connection.
    fn before_send(&self, attempt: &SendAttempt<'_>) {
        let _ = attempt;
    }
    /// When an attempt ended, `cost` after it started.
    fn after_send(&self, attempt: &SendAttempt<'_>, cost: Duration, outcome: AttemptOutcome<'_>) {
        let _ = (attempt, cost, outcome);
    }
    /// When a transaction's decision is sent (after the local transaction or a check).
    fn end_transaction(&self, end: &EndTransactionInfo<'_>) {
        let _ = end;
    }
    /// Whether this hook wants [`before_send`](Self::before_send) and
    /// [`after_send`](Self::after_send). A hook that only counts whole sends returns `false`, and
    /// when no hook wants them the producer builds no per-attempt view at all.
    fn sees_attempts(&self) -> bool {
        true
    }
    /// When a send ended (once per send, after all its attempts).
    fn send_ended(&self, summary: &SendSummary<'_>) {
        let _ = summary;
    }
    /// When latency fault tolerance isolates a broker (`send_latency_fault_enable`) for `for_`.
    fn broker_isolated(&self, broker: &str, for_: Duration) {
        let _ = (broker, for_);
    }
}

/// The hooks of one producer (cheap to clone; empty by default).
#[derive(Clone, Default)]
pub(crate) struct Hooks {
    all: Arc<Vec<Arc<dyn SendHook>>>,
    /// Some hook wants the per-attempt calls.
    attempts: bool,
}

impl Hooks {
    pub(crate) fn add(&mut self, hook: Arc<dyn SendHook>) {
        let mut all: Vec<_> = self.all.iter().cloned().collect();
        self.attempts |= hook.sees_attempts();
        all.push(hook);
        self.all = Arc::new(all);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.all.is_empty()
    }

    /// Whether an attempt's view must be built (some hook wants `before_send`/`after_send`).
    pub(crate) fn sees_attempts(&self) -> bool {
        self.attempts
    }

    pub(crate) fn before(&self, attempt: &SendAttempt<'_>) {
        for h in self.all.iter() {
            h.before_send(attempt);
        }
    }

    pub(crate) fn after(&self, attempt: &SendAttempt<'_>, cost: Duration, outcome: AttemptOutcome<'_>) {
        for h in self.all.iter() {
            h.after_send(attempt, cost, outcome);
        }
    }

    pub(crate) fn ended(&self, summary: &SendSummary<'_>) {
        for h in self.all.iter() {
            h.send_ended(summary);
        }
    }

    pub(crate) fn isolated(&self, broker: &str, for_: Duration) {
        for h in self.all.iter() {
            h.broker_isolated(broker, for_);
        }
    }

    fn end(&self, info: &EndTransactionInfo<'_>) {
        for h in self.all.iter() {
            h.end_transaction(info);
        }
    }

    /// The decision sent right after the local transaction.
    pub(crate) fn end_transaction(&self, group: &str, send: &SendResult, tags: Option<&str>, keys: Option<&str>, broker_addr: &str, state: LocalTransactionState) {
        if self.is_empty() {
            return;
        }
        self.end(&EndTransactionInfo {
            group,
            topic: &send.message_queue.topic,
            msg_id: &send.msg_id,
            transaction_id: send.transaction_id.as_deref().unwrap_or(&send.msg_id),
            tags,
            keys,
            broker_addr,
            state,
            from_check: false,
        });
    }

    /// The decision answering a broker's check.
    pub(crate) fn end_transaction_checked(&self, group: &str, namespace: Option<&str>, check: &TransactionCheck, state: LocalTransactionState) {
        if self.is_empty() {
            return;
        }
        let msg_id = check.msg_id();
        let message = &check.message;
        let topic = unwrap(namespace, check.real_topic());
        self.end(&EndTransactionInfo {
            group,
            topic: &topic,
            msg_id: &msg_id,
            transaction_id: check.header.transaction_id.as_deref().unwrap_or(&msg_id),
            tags: message.property(names::TAGS),
            keys: message.property(names::KEYS),
            broker_addr: &check.broker_addr,
            state,
            from_check: true,
        });
    }
}
