//! The messages a `Producer` understands, and the helpers that flatten their results.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;

use super::actor::Producer;
use super::queue_select::{MessageQueueSelector, SelectByHash, Target};
use super::record::{ProducerRecord, SendResult};
use crate::error::{SendError, ServiceState, StartError};
use crate::protocol::route::MessageQueue;

/// Start the producer: validate, join (or create) the client instance, register the group,
/// start the instance, heartbeat. Allowed once, from `CREATE_JUST`.
#[derive(Message, Debug)]
#[rtype(result = "Result<(), StartError>")]
pub struct Start;

/// Shut the producer down: unregister the group from every broker; the last producer of an
/// instance also stops the instance. Idempotent.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct Shutdown;

/// Where the producer is (state, clientId, group, in-flight counts).
#[derive(Message, Debug)]
#[rtype(result = "ProducerStatus")]
pub struct GetProducerStatus;

/// See [`GetProducerStatus`].
#[derive(Debug, Clone, PartialEq)]
pub struct ProducerStatus {
    pub state: ServiceState,
    pub group: String,
    pub client_id: Option<String>,
    pub topics: Vec<String>,
    pub inflight_messages: usize,
    pub inflight_bytes: usize,
    pub waiting_sends: usize,
}

/// A failed send, with what was sent handed back so it can be retried or stored.
///
/// ```
/// use actix_rocketmq::{ProducerRecord, SendError, ValidationError, producer::SendFailure};
/// let f = SendFailure { error: SendError::Invalid(ValidationError::EmptyBody), returned: ProducerRecord::new("t", "") };
/// let (error, record) = f.into_parts();
/// assert_eq!(record.topic(), "t");
/// assert!(matches!(error, SendError::Invalid(_)));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SendFailure<T = ProducerRecord> {
    /// Why it failed.
    pub error: SendError,
    /// The message (or batch) as the caller gave it.
    pub returned: T,
}

impl<T> SendFailure<T> {
    /// The error and the returned message.
    pub fn into_parts(self) -> (SendError, T) {
        (self.error, self.returned)
    }
}

impl<T> fmt::Display for SendFailure<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}

impl<T: fmt::Debug> std::error::Error for SendFailure<T> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl<T> From<SendFailure<T>> for SendError {
    fn from(f: SendFailure<T>) -> Self {
        f.error
    }
}

/// Send one message and wait for the broker's answer (the Java sync send). Many of these may be
/// in flight at once: each `addr.send(..)` is a future. When the producer's in-flight budget is
/// full the send waits for room, within its timeout.
///
/// ```no_run
/// use actix_rocketmq::{Producer, ProducerConfig, ProducerRecord, SendMessage};
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let producer = Producer::spawn(ProducerConfig::new("demo_group", "127.0.0.1:9876")).await?;
/// let result = producer.send(SendMessage::new(ProducerRecord::new("demo", "hi"))).await??;
/// println!("{result}");
/// // Orderly: one key, one queue, in send order.
/// producer.send(SendMessage::new(ProducerRecord::new("demo", "step 1")).ordered_by_key("order-42")).await??;
/// # Ok(()) }
/// ```
#[derive(Message, Debug, Clone)]
#[rtype(result = "Result<SendResult, SendFailure>")]
pub struct SendMessage {
    pub record: ProducerRecord,
    /// Total budget for this send, retries included; `None` uses `send_msg_timeout`.
    pub timeout: Option<Duration>,
    /// Where it goes (round robin by default).
    pub target: Target,
}

impl SendMessage {
    /// A send of `record` with the producer's default timeout, round robin.
    pub fn new(record: ProducerRecord) -> Self {
        SendMessage { record, timeout: None, target: Target::Auto }
    }

    /// The same send with its own total budget.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Sends to exactly `queue` (one attempt; an unknown queue is refused before sending).
    pub fn to_queue(mut self, queue: MessageQueue) -> Self {
        self.target = Target::Queue(queue);
        self
    }

    /// Lets `selector` choose the queue from `arg` (one attempt, as Java's orderly send).
    pub fn ordered_by(mut self, selector: Arc<dyn MessageQueueSelector>, arg: impl Into<String>) -> Self {
        self.target = Target::Selected { selector, arg: arg.into() };
        self
    }

    /// Orderly send: every message with this key goes to the same queue.
    pub fn ordered_by_key(self, key: impl Into<String>) -> Self {
        self.ordered_by(Arc::new(SelectByHash), key)
    }
}

/// Like [`SendMessage`], but never waits for room: a full in-flight budget answers
/// [`SendError::Full`] at once, with the message handed back.
#[derive(Message, Debug, Clone)]
#[rtype(result = "Result<SendResult, SendFailure>")]
pub struct TrySendMessage(pub SendMessage);

/// The result of a [`SendAsync`], delivered to its callback.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct SendOutcome {
    /// The caller's correlation value, as given to [`SendAsync::with_context`].
    pub context: u64,
    pub result: Result<SendResult, SendFailure>,
}

/// Callback send (the Java async send with a `SendCallback`): awaiting it waits only until the
/// send is admitted by the in-flight budget; the outcome goes to `callback`. Retries follow
/// `retry_times_when_send_async_failed`, each attempt with a fresh opaque, all within the one
/// timeout.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SendAsync {
    pub send: SendMessage,
    pub callback: Recipient<SendOutcome>,
    pub context: u64,
}

impl SendAsync {
    /// An async send of `record` whose outcome goes to `callback`.
    pub fn new(record: ProducerRecord, callback: Recipient<SendOutcome>) -> Self {
        SendAsync { send: SendMessage::new(record), callback, context: 0 }
    }

    /// A value echoed in the [`SendOutcome`] to match outcomes to sends.
    pub fn with_context(mut self, context: u64) -> Self {
        self.context = context;
        self
    }
}

/// One-way send: written with the one-way flag, no reply awaited, no retry. Resolves once the
/// frame is handed to the connection.
#[derive(Message, Debug, Clone)]
#[rtype(result = "Result<(), SendFailure>")]
pub struct SendOneway {
    pub record: ProducerRecord,
    pub target: Target,
}

impl SendOneway {
    /// A one-way send of `record`.
    pub fn new(record: ProducerRecord) -> Self {
        SendOneway { record, target: Target::Auto }
    }
}

/// Send several messages of one topic as one SEND_BATCH_MESSAGE. Each message keeps its own
/// properties and gets its own `UNIQ_KEY`; the result lists every id. Too large a batch is
/// refused; split it with [`crate::producer::batch::split_batch`].
#[derive(Message, Debug, Clone)]
#[rtype(result = "Result<SendResult, SendFailure<Vec<ProducerRecord>>>")]
pub struct SendBatch {
    pub records: Vec<ProducerRecord>,
    pub timeout: Option<Duration>,
    pub target: Target,
}

impl SendBatch {
    /// A batch of `records` (same topic, no delays).
    pub fn new(records: Vec<ProducerRecord>) -> Self {
        SendBatch { records, timeout: None, target: Target::Auto }
    }

    /// Sends the batch to exactly `queue`.
    pub fn to_queue(mut self, queue: MessageQueue) -> Self {
        self.target = Target::Queue(queue);
        self
    }
}

/// `Addr<Producer>` helpers that flatten the mailbox error into [`SendError`].
///
/// ```no_run
/// use actix_rocketmq::{Producer, ProducerConfig, ProducerExt, ProducerRecord};
/// # async fn demo() -> Result<(), actix_rocketmq::SendError> {
/// # let producer = Producer::spawn(ProducerConfig::new("g", "127.0.0.1:9876")).await.unwrap();
/// let result = producer.send_message(ProducerRecord::new("demo", "hi")).await?;
/// # Ok(()) }
/// ```
pub trait ProducerExt {
    /// Sends `record` and returns its result or a typed error (never a nested `Result`).
    fn send_message(&self, record: ProducerRecord) -> impl Future<Output = Result<SendResult, SendError>>;
    /// Sends a batch.
    fn send_batch(&self, records: Vec<ProducerRecord>) -> impl Future<Output = Result<SendResult, SendError>>;
    /// Sends one-way.
    fn send_oneway(&self, record: ProducerRecord) -> impl Future<Output = Result<(), SendError>>;
    /// Shuts the producer down.
    fn shutdown(&self) -> impl Future<Output = ()>;
}

impl ProducerExt for Addr<Producer> {
    fn send_message(&self, record: ProducerRecord) -> impl Future<Output = Result<SendResult, SendError>> {
        let req = self.send(SendMessage::new(record));
        async move { Ok(req.await??) }
    }

    fn send_batch(&self, records: Vec<ProducerRecord>) -> impl Future<Output = Result<SendResult, SendError>> {
        let req = self.send(SendBatch::new(records));
        async move { Ok(req.await??) }
    }

    fn send_oneway(&self, record: ProducerRecord) -> impl Future<Output = Result<(), SendError>> {
        let req = self.send(SendOneway::new(record));
        async move { Ok(req.await??) }
    }

    fn shutdown(&self) -> impl Future<Output = ()> {
        let req = self.send(Shutdown);
        async move {
            let _ = req.await;
        }
    }
}
