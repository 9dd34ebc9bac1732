//! The messages a `Producer` understands, and the helpers that flatten their results.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;

use super::actor::Producer;
use super::queue_select::{MessageQueueSelector, SelectByHash, Target};
use super::record::{ProducerRecord, SendResult};
use crate::error::{SendError, StartError};
use crate::protocol::route::MessageQueue;

/// Start the producer: validate, join (or create) the client instance, register the group,
/// start the instance, heartbeat. Allowed once, from `CREATE_JUST`.
///
/// ```no_run
/// use actix::prelude::*;
/// use actix_rocketmq::{Producer, ProducerConfig, Start};
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let producer = Producer::new(ProducerConfig::new("g", "127.0.0.1:9876")).start();
/// producer.send(Start).await??;
/// # Ok(()) }
/// ```
#[derive(Message, Debug)]
#[rtype(result = "Result<(), StartError>")]
pub struct Start;

/// Shut the producer down, draining first: new sends are refused at once
/// ([`SendError::NotRunning`]); every send admitted before keeps going (retries included) until
/// it ends or the drain deadline (`ProducerConfig::drain_timeout`, default `send_msg_timeout`)
/// passes, when what is left ends with [`SendError::Timeout`] (whose `delivery` says whether the
/// broker may hold it). Only then is the group unregistered from every broker and, for the last
/// producer of its instance, the connections closed. Resolves when all of that is done;
/// idempotent (a second `Shutdown` waits for the first).
///
/// ```no_run
/// use actix_rocketmq::{Producer, ProducerConfig, Shutdown};
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let producer = Producer::spawn(ProducerConfig::new("g", "127.0.0.1:9876")).await?;
/// // ... sends ...
/// producer.send(Shutdown).await?; // every send above has ended, the group is unregistered
/// # Ok(()) }
/// ```
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct Shutdown;

/// Resolves when every send the producer accepted before it has ended (rdkafka's `flush`), with
/// how they ended. Sends accepted after the flush do not hold it up. Bounded: every send ends
/// within its own timeout.
///
/// ```no_run
/// use actix_rocketmq::{Flush, Producer, ProducerConfig, ProducerRecord, SendAsync, SendOutcome};
/// # async fn demo(callback: actix::Recipient<SendOutcome>) -> Result<(), Box<dyn std::error::Error>> {
/// let producer = Producer::spawn(ProducerConfig::new("g", "127.0.0.1:9876")).await?;
/// for i in 0..100 {
///     producer.send(SendAsync::new(ProducerRecord::new("demo", format!("m{i}")), callback.clone())).await?;
/// }
/// let report = producer.send(Flush).await?;
/// assert_eq!(report.succeeded + report.failed, 100);
/// # Ok(()) }
/// ```
#[derive(Message, Debug)]
#[rtype(result = "FlushReport")]
pub struct Flush;

/// How the sends a [`Flush`] waited for ended: those still in flight when it was taken (a send
/// that had already ended is not counted again).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct FlushReport {
    /// Sends that ended with a result (one-way sends: handed to the connection).
    pub succeeded: u64,
    /// Sends that ended with an error.
    pub failed: u64,
}

/// Stop the producer's actor (`ctx.stop()`). Under an [`actix::Supervisor`] it is restarted at
/// once: caches (routes, connections, fault table) start clean, it joins its client instance
/// again under the same registration (so its group never leaves the brokers' producer table),
/// sends not yet on the wire go on from their route, and sends on the wire get their broker's
/// answer as usual. Unsupervised, it stops for good like a dropped producer: every send not yet
/// ended gets [`SendError::Stopped`] and the group is unregistered. For a graceful end use
/// [`Shutdown`].
///
/// ```no_run
/// use actix::Supervisor;
/// use actix_rocketmq::{Producer, ProducerConfig, Restart, Start};
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let producer = Supervisor::start(|_| Producer::new(ProducerConfig::new("g", "127.0.0.1:9876")));
/// producer.send(Start).await??;
/// producer.send(Restart).await?; // same address, clean caches, still registered
/// # Ok(()) }
/// ```
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct Restart;

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
    /// The message.
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
///
/// ```no_run
/// use actix_rocketmq::{Producer, ProducerRecord, SendError, SendMessage, TrySendMessage};
/// # async fn demo(producer: actix::Addr<Producer>) -> Result<(), Box<dyn std::error::Error>> {
/// let sample = ProducerRecord::new("metrics", "cpu=0.93");
/// match producer.send(TrySendMessage(SendMessage::new(sample))).await? {
///     Ok(result) => println!("stored as {}", result.msg_id),
///     // Too many sends in flight: skip this sample rather than wait (nothing was sent).
///     Err(failure) if matches!(failure.error, SendError::Full { .. }) => drop(failure.returned),
///     Err(failure) => return Err(failure.into()),
/// }
/// # Ok(()) }
/// ```
#[derive(Message, Debug, Clone)]
#[rtype(result = "Result<SendResult, SendFailure>")]
pub struct TrySendMessage(pub SendMessage);

/// The result of a [`SendAsync`], delivered to its callback.
///
/// Every accepted `SendAsync` gets exactly one, success or failure (a send refused at once, e.g.
/// by validation or a producer that is not running, too).
///
/// ```
/// use actix::prelude::*;
/// use actix_rocketmq::{ProducerRecord, SendOutcome};
///
/// /// Counts stored messages; keeps the failed ones that are safe to send again.
/// #[derive(Default)]
/// struct Outcomes {
///     stored: u64,
///     to_resend: Vec<ProducerRecord>,
/// }
/// impl Actor for Outcomes {
///     type Context = Context<Self>;
/// }
/// impl Handler<SendOutcome> for Outcomes {
///     type Result = ();
///     fn handle(&mut self, outcome: SendOutcome, _: &mut Context<Self>) {
///         match outcome.result {
///             Ok(_) => self.stored += 1,
///             Err(failure) if failure.error.is_retryable() && !failure.error.may_have_been_stored() => {
///                 self.to_resend.push(failure.returned)
///             }
///             Err(failure) => eprintln!("send {} failed: {}", outcome.context, failure.error),
///         }
///     }
/// }
/// ```
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct SendOutcome {
    /// The caller's correlation value, as given to [`SendAsync::with_context`].
    pub context: u64,
    /// The broker's answer, or the error with the message handed back.
    pub result: Result<SendResult, SendFailure>,
}

/// Where an async send's outcome goes: an actor's mailbox, or a function.
///
/// A function is the Java `SendCallback`: it is called as the send ends, on the producer's
/// thread, inside the producer actor, so the outcome takes no message and no mailbox hop. Keep
/// it short and never block in it: the producer handles nothing else while it runs. A panic in
/// it is caught and logged; the producer goes on. One callback serves many sends: cloning it
/// clones an `Arc`.
///
/// ```no_run
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use std::sync::Arc;
/// use actix_rocketmq::{Flush, OutcomeCallback, Producer, ProducerConfig, ProducerRecord, SendAsync};
///
/// #[actix::main]
/// async fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let producer = Producer::spawn(ProducerConfig::new("orders_producer", "127.0.0.1:9876")).await?;
///     let stored = Arc::new(AtomicU64::new(0));
///     let counted = stored.clone();
///     let callback = OutcomeCallback::function(move |outcome| match outcome.result {
///         Ok(_) => {
///             counted.fetch_add(1, Ordering::Relaxed);
///         }
///         Err(failure) => eprintln!("order {} failed: {}", outcome.context, failure.error),
///     });
///     for order in 0..100u64 {
///         let record = ProducerRecord::new("orders", format!("order {order}"));
///         producer.send(SendAsync::new(record, callback.clone()).with_context(order)).await?;
///     }
///     producer.send(Flush).await?; // every callback has run
///     println!("{} stored", stored.load(Ordering::Relaxed));
///     Ok(())
/// }
/// ```
#[derive(Clone)]
pub enum OutcomeCallback {
    /// The outcome arrives as a [`SendOutcome`] message.
    Recipient(Recipient<SendOutcome>),
    /// Called with the outcome inside the producer actor (see above).
    Function(Arc<dyn Fn(SendOutcome) + Send + Sync>),
}

impl OutcomeCallback {
    /// A callback that calls `f` with each outcome, inside the producer actor.
    pub fn function(f: impl Fn(SendOutcome) + Send + Sync + 'static) -> Self {
        OutcomeCallback::Function(Arc::new(f))
    }

    /// Hands `outcome` over: into the recipient's mailbox, or to the function (a panic in it is
    /// caught: one caller's bug must not stop the producer every other send depends on).
    pub(crate) fn deliver(&self, outcome: SendOutcome) {
        match self {
            OutcomeCallback::Recipient(to) => to.do_send(outcome),
            OutcomeCallback::Function(f) => {
                let context = outcome.context;
                if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(outcome))).is_err() {
                    tracing::error!(context, "a send's outcome callback panicked; the producer goes on");
                }
            }
        }
    }
}

impl From<Recipient<SendOutcome>> for OutcomeCallback {
    fn from(to: Recipient<SendOutcome>) -> Self {
        OutcomeCallback::Recipient(to)
    }
}

impl fmt::Debug for OutcomeCallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OutcomeCallback::Recipient(_) => f.write_str("OutcomeCallback::Recipient"),
            OutcomeCallback::Function(_) => f.write_str("OutcomeCallback::Function"),
        }
    }
}

/// Callback send (the Java async send with a `SendCallback`): awaiting it waits only until the
/// send is admitted by the in-flight budget; the outcome goes to `callback` (an actor's
/// [`Recipient`] or an [`OutcomeCallback::function`]). Retries follow
/// `retry_times_when_send_async_failed`, each attempt with a fresh opaque, all within the one
/// timeout.
///
/// ```no_run
/// use actix::prelude::*;
/// use actix_rocketmq::{Flush, Producer, ProducerConfig, ProducerExt, ProducerRecord, SendAsync, SendOutcome};
///
/// /// Hears how each send ended.
/// struct Outcomes;
/// impl Actor for Outcomes {
///     type Context = Context<Self>;
/// }
/// impl Handler<SendOutcome> for Outcomes {
///     type Result = ();
///     fn handle(&mut self, outcome: SendOutcome, _: &mut Context<Self>) {
///         match outcome.result {
///             Ok(result) => println!("order {} stored as {}", outcome.context, result.msg_id),
///             Err(failure) => eprintln!("order {} failed: {}", outcome.context, failure.error),
///         }
///     }
/// }
///
/// #[actix::main]
/// async fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let producer = Producer::spawn(ProducerConfig::new("orders_producer", "127.0.0.1:9876")).await?;
///     let outcomes = Outcomes.start().recipient();
///     for order in 0..100u64 {
///         let record = ProducerRecord::new("orders", format!("order {order}"));
///         // Resolves once the in-flight budget admitted the send, not once it is stored.
///         producer.send(SendAsync::new(record, outcomes.clone()).with_context(order)).await?;
///     }
///     producer.send(Flush).await?; // every outcome has gone to `Outcomes`
///     producer.shutdown().await;
///     Ok(())
/// }
/// ```
#[derive(Message)]
#[rtype(result = "()")]
pub struct SendAsync {
    /// The message, its timeout and its target, as for a [`SendMessage`].
    pub send: SendMessage,
    /// Gets the [`SendOutcome`].
    pub callback: OutcomeCallback,
    /// Echoed in the [`SendOutcome`] (0 unless set with [`SendAsync::with_context`]).
    pub context: u64,
}

impl SendAsync {
    /// An async send of `record` whose outcome goes to `callback`.
    pub fn new(record: ProducerRecord, callback: impl Into<OutcomeCallback>) -> Self {
        SendAsync { send: SendMessage::new(record), callback: callback.into(), context: 0 }
    }

    /// A value echoed in the [`SendOutcome`] to match outcomes to sends.
    pub fn with_context(mut self, context: u64) -> Self {
        self.context = context;
        self
    }
}

/// One-way send: written with the one-way flag, no reply awaited, no retry. Resolves once the
/// frame is handed to the connection.
///
/// Nothing tells a one-way sender about a refusal: a broker with authentication on drops a
/// one-way request whose credentials or permissions it refuses without a word, so `Ok(())` here
/// does not mean stored. Check a new user's permissions with a sync send first.
///
/// ```no_run
/// use actix_rocketmq::{Producer, ProducerRecord, SendOneway};
/// # async fn demo(producer: actix::Addr<Producer>) -> Result<(), Box<dyn std::error::Error>> {
/// // Fire and forget: `Ok` means handed to the broker's connection, not stored.
/// producer.send(SendOneway::new(ProducerRecord::new("clicks", "page=/home"))).await??;
/// # Ok(()) }
/// ```
#[derive(Message, Debug, Clone)]
#[rtype(result = "Result<(), SendFailure>")]
pub struct SendOneway {
    /// The message.
    pub record: ProducerRecord,
    /// Where it goes (round robin by default); one attempt either way.
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
///
/// ```no_run
/// use actix_rocketmq::producer::batch::split_batch;
/// use actix_rocketmq::{Producer, ProducerRecord, SendBatch};
/// # async fn demo(producer: actix::Addr<Producer>) -> Result<(), Box<dyn std::error::Error>> {
/// let orders: Vec<ProducerRecord> =
///     (0..32).map(|i| ProducerRecord::new("orders", format!("order {i}")).with_key(format!("order-{i}"))).collect();
/// let result = producer.send(SendBatch::new(orders)).await??;
/// assert_eq!(result.msg_ids().len(), 32); // one id per message, in order
///
/// // More than one request may carry: split it into parts of at most 1 MiB first.
/// let many: Vec<ProducerRecord> = (0..10_000).map(|_| ProducerRecord::new("orders", vec![b'x'; 1024])).collect();
/// for part in split_batch(many, 1024 * 1024)? {
///     producer.send(SendBatch::new(part)).await??;
/// }
/// # Ok(()) }
/// ```
#[derive(Message, Debug, Clone)]
#[rtype(result = "Result<SendResult, SendFailure<Vec<ProducerRecord>>>")]
pub struct SendBatch {
    /// The messages: one topic, no delays, one `WAIT` value.
    pub records: Vec<ProducerRecord>,
    /// Total budget for this send, retries included; `None` uses `send_msg_timeout`.
    pub timeout: Option<Duration>,
    /// Where it goes (round robin by default).
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
