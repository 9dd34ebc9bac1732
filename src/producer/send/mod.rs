//! The send machine: how one accepted send moves from admission to its end.
//!
//! ```text
//!  accept ──> [Compressing] ──> [Admission] ──> [Route] ──> [Connection] ──> [OnWire] ──> judge
//!                                    │              ^                             │          │
//!                                    └─ Full / out of time          GO_AWAY: same │ broker   │
//!                                                   │                 once more <─┘          │
//!                                                   └──────── retry (another broker) <───────┤
//!                                                                               end <────────┘
//! ```
//!
//! Each stage is a value of [`Stage`] kept on the [`Send`] in the producer's ledger, so the
//! producer can always say where each send is, resume the ones not yet on the wire after a
//! restart, and end any of them once. Every step runs inside the actor; every wait (room in the
//! budget, a route, a connection, a reply, a big compression) runs outside it as a small task
//! that reports back with a message carrying the send's id. The actor therefore never holds a
//! future per in-flight send: actix polls every future spawned in an actor's context on each
//! wake-up, which made many in-flight sends cost quadratic time (10,000 in flight ran 15x slower
//! than 64).
//!
//! The decisions (what a reply means, whether to retry, which error the caller sees) are pure
//! functions in [`judge`].

mod judge;
mod prepare;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use actix::prelude::*;
use bytes::Bytes;
use tracing::debug;

pub(super) use self::judge::{judge, Next, Rules, Verdict};
pub(super) use self::prepare::{Encoder, Prepared};
use super::actor::Producer;
use super::hook::{AttemptOutcome, MessageKind, SendAttempt};
use super::ledger::{Completion, SendId};
use super::queue_select::Target;
use super::record::SendResult;
use crate::client::instance::{FetchPublishInfo, LearnBrokerVersion};
use crate::name::SharedName;
use crate::error::{Delivery, RemotingError, SendError, ValidationError};
use crate::protocol::compression::{compress, CompressionType, COMPRESSED_FLAG};
use crate::protocol::header::SendHeaderRef;
use crate::protocol::route::{MessageQueue, TopicPublishInfo};
use crate::protocol::properties::{find_property, names};
use crate::protocol::sys_flag::TRANSACTION_PREPARED_TYPE;
use crate::protocol::version::BrokerVersion;
use crate::protocol::{EncodedRequest, RemotingCommand};
use crate::remoting::client::{CloseConnection, GetConnection};
use crate::remoting::connection::{Answer, AnswerTo, Answered, AnsweredMany, Dispatch, Outcome, Outgoing, Token, Unanswered, WhenOpen};
use crate::remoting::Connection;

/// Bodies at least this large are compressed on a blocking thread, not on the actor's thread.
const OFFLOAD_COMPRESSION_AT: usize = 256 * 1024;

/// How a send is to be carried out (fixed when it is accepted).
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub target: Target,
    pub max_attempts: u32,
    /// Written with the one-way flag; no reply, no retry.
    pub oneway: bool,
    /// Wait for room in the budget (false: answer `Full` at once).
    pub wait: bool,
}

impl Plan {
    /// A request-reply send: `1 + retries` attempts when the producer picks the queue; one
    /// attempt for a queue the caller chose (as in Java).
    pub(crate) fn request(target: Target, retries: u32, wait: bool) -> Self {
        let max_attempts = if matches!(target, Target::Auto) { 1 + retries } else { 1 };
        Plan { target, max_attempts, oneway: false, wait }
    }
}

/// The send's own time budget, retries included.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    pub started: Instant,
    pub budget: Duration,
}

impl Clock {
    pub(crate) fn new(budget: Duration) -> Self {
        Clock { started: Instant::now(), budget }
    }
    pub(crate) fn left(&self) -> Duration {
        self.left_at(Instant::now())
    }
    /// What is left at `now` (for a caller that has read the clock already).
    pub(crate) fn left_at(&self, now: Instant) -> Duration {
        self.deadline().saturating_duration_since(now)
    }
    pub(crate) fn deadline(&self) -> Instant {
        self.started + self.budget
    }
}

/// What the attempts so far came to.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tries {
    pub attempts: u32,
    /// The broker of the last failed attempt, avoided by the next one.
    pub last_broker: Option<SharedName>,
    // The three below are boxed: they are rare (a failed or not-OK attempt), and unboxed they
    // made up half of every live send, which is moved into and out of the ledger.
    /// The last failure (reported when the budget runs out).
    pub last_error: Option<Box<SendError>>,
    /// The last failure whose request had been written: never hidden by a later one.
    pub unconfirmed: Option<Box<SendError>>,
    /// A stored-but-not-OK result kept while another broker is tried.
    pub not_ok: Option<Box<SendResult>>,
    pub go_away_resent: bool,
}

/// One attempt's destination: a queue of the topic's publish info and its broker's master.
/// It points into the shared publish info instead of copying the names (every send has one).
#[derive(Debug, Clone)]
pub(crate) struct Hop {
    info: Arc<TopicPublishInfo>,
    queue: usize,
}

impl Hop {
    /// The hop to `info.queues[queue]`, if that queue exists and its broker has a master.
    pub(crate) fn new(info: Arc<TopicPublishInfo>, queue: usize) -> Option<Hop> {
        info.master_of(queue)?;
        Some(Hop { info, queue })
    }

    pub(crate) fn mq(&self) -> &MessageQueue {
        // (`new` checked the index)
        &self.info.queues[self.queue]
    }

    pub(crate) fn addr(&self) -> &str {
        self.info.master_of(self.queue).unwrap_or_default()
    }
}

/// The same queue of the same publish info.
impl PartialEq for Hop {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.info, &other.info) && self.queue == other.queue
    }
}

/// Where a send is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Stage {
    /// A big body is being compressed on a blocking thread.
    Compressing,
    /// Waiting for room in the in-flight budget.
    Admission,
    /// Admitted; waiting for (or about to use) the publish info of its topic.
    Route,
    /// Waiting for a connection to the chosen broker (and, for a timer message, for its
    /// release).
    Connection(Hop),
    /// Written to the broker's connection; waiting for the answer.
    OnWire(Hop),
}

impl Stage {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Stage::Compressing => "compressing",
            Stage::Admission => "admission",
            Stage::Route => "route",
            Stage::Connection(_) => "connection",
            Stage::OnWire(_) => "on_wire",
        }
    }
}

/// One accepted send, as the ledger holds it.
#[derive(Debug)]
pub(crate) struct Send {
    pub msg: Prepared,
    pub plan: Plan,
    pub clock: Clock,
    pub tries: Tries,
    pub stage: Stage,
    /// `rocketmq.send`, open from acceptance to the end (see [`send_span`]).
    pub span: tracing::Span,
    /// Counts the writes of this send: an answer carries the count of its write, so a late
    /// answer to an earlier write (before a GO_AWAY resend or a restart) is told apart.
    pub seq: u32,
    /// When the last write was handed to the connection (the attempt's latency starts here).
    pub written_at: Instant,
}

/// The span of one send, a child of the caller's span (carried by the record): topic and
/// message id at once, broker and queue per attempt, attempts and outcome at the end. With no
/// subscriber interested it is a disabled span and nothing is recorded.
pub(crate) fn send_span(group: &str, msg: &Prepared) -> tracing::Span {
    let make = |parent: Option<tracing::Id>| {
        tracing::info_span!(
            parent: parent,
            "rocketmq.send",
            group = %group,
            topic = %msg.topic,
            msg_id = %msg.msg_id,
            broker = tracing::field::Empty,
            queue = tracing::field::Empty,
            attempts = tracing::field::Empty,
            outcome = tracing::field::Empty,
            error = tracing::field::Empty,
        )
    };
    // The child is made under the parent's own subscriber: the caller may run under another one
    // than this thread's (a scoped `set_default`), and a subscriber handed an id that is not its
    // own may panic (tracing-subscriber's registry does).
    match msg.parent.as_ref().and_then(|p| p.with_subscriber(|(id, dispatch)| (id.clone(), dispatch.clone()))) {
        Some((id, dispatch)) => tracing::dispatcher::with_default(&dispatch, || make(Some(id))),
        None => make(None),
    }
}

impl Send {
    /// Whether the broker may hold this send's message now: an attempt is on the wire, or an
    /// earlier one went unanswered.
    pub(crate) fn delivery(&self) -> Delivery {
        match self.stage {
            Stage::OnWire(_) => Delivery::Unknown,
            _ => self.tries.delivery(),
        }
    }

    /// The error of a send ended from outside its own work (a drain deadline, the sweep).
    pub(crate) fn timed_out(&self) -> SendError {
        SendError::Timeout { budget: self.clock.budget, attempts: self.tries.attempts, delivery: self.delivery() }
    }
}

/// Request-reply sends always end with a result; `None` only comes from one-way writes, so it
/// cannot reach a request-reply caller (were it to, the broker's answer is what is missing).
pub(crate) fn expect_reply(res: Option<SendResult>) -> Result<SendResult, SendError> {
    res.ok_or(SendError::BadReply(crate::protocol::ProtocolError::MissingField("send result")))
}

fn delivery(written: bool) -> Delivery {
    if written {
        Delivery::Unknown
    } else {
        Delivery::NotSent
    }
}

/// Internal: a big body was compressed off the actor's thread (`None`: not worth it).
#[derive(Message)]
#[rtype(result = "()")]
pub(super) struct Compressed {
    id: SendId,
    squeezed: Option<(Bytes, i32)>,
}

/// How a wait for budget room ended.
pub(super) enum Admission {
    Admitted,
    /// Room was granted just as the wait timed out: take it, then end the send.
    LateGrant,
    Refused,
}

/// Internal: a wait for budget room ended.
#[derive(Message)]
#[rtype(result = "()")]
pub(super) struct AdmissionDone {
    id: SendId,
    count: usize,
    size: usize,
    admission: Admission,
}

/// Internal: a route fetch for `topic` ended (`Err(None)`: the client instance is gone).
#[derive(Message)]
#[rtype(result = "()")]
pub(super) struct RouteReady {
    topic: String,
    result: Result<Arc<TopicPublishInfo>, Option<SendError>>,
}

/// Internal: a connection to `addr` is open, or could not be opened (`Err(None)`: the remoting
/// client is gone).
#[derive(Message)]
#[rtype(result = "()")]
pub(super) struct ConnectionReady {
    addr: String,
    conn: Result<Addr<Connection>, Option<RemotingError>>,
}

/// Internal: the release of the broker at `addr` is known (`Err(None)`: the client instance is
/// gone).
#[derive(Message)]
#[rtype(result = "()")]
pub(super) struct ReleaseKnown {
    addr: String,
    result: Result<BrokerVersion, Option<RemotingError>>,
}

/// Internal: a send waiting for a connection reached its deadline.
#[derive(Message)]
#[rtype(result = "()")]
pub(super) struct WaitOver {
    id: SendId,
}

fn squeeze(kind: CompressionType, level: u32, body: &[u8]) -> Option<(Bytes, i32)> {
    let z = compress(kind, level, body).ok()?;
    (z.len() < body.len()).then(|| (Bytes::from(z), COMPRESSED_FLAG | kind.sys_flag_bits()))
}

impl Producer {
    /// Entry of every send: records it in the ledger (which answers it exactly once from here
    /// on), compresses when due (big bodies off the actor's thread), then asks for admission.
    pub(super) fn accept(&mut self, send: Send, completion: Completion, ctx: &mut Context<Self>) -> SendId {
        let compress_now = send.msg.compress;
        let big = send.msg.body.len() >= OFFLOAD_COMPRESSION_AT;
        let id = self.ledger.accept(send, completion);
        if !compress_now {
            self.admit(id, ctx);
            return id;
        }
        let (kind, level) = (self.config.compress_type, self.config.compress_level);
        let Some(send) = self.ledger.get_mut(id) else { return id };
        send.msg.compress = false;
        if !big {
            let squeezed = squeeze(kind, level, &send.msg.body);
            self.on_compressed(id, squeezed, ctx);
            return id;
        }
        send.stage = Stage::Compressing;
        let body = send.msg.body.clone();
        let me = ctx.address();
        actix_rt::spawn(async move {
            let squeezed = tokio::task::spawn_blocking(move || squeeze(kind, level, &body)).await.ok().flatten();
            me.do_send(Compressed { id, squeezed });
        });
        id
    }

    /// Takes the compressed body (if compression paid off), then asks for admission.
    fn on_compressed(&mut self, id: SendId, squeezed: Option<(Bytes, i32)>, ctx: &mut Context<Self>) {
        let Some(send) = self.ledger.get_mut(id) else { return };
        if let Some((body, flags)) = squeezed {
            send.msg.body = body;
            send.msg.sys_flag |= flags;
        }
        self.admit(id, ctx)
    }

    /// Stage Admission: room in the budget now, a wait for it within the send's budget, or
    /// `Full` for a send that must not wait.
    fn admit(&mut self, id: SendId, ctx: &mut Context<Self>) {
        if self.ledger.try_admit(id) {
            return self.route(id, ctx);
        }
        let Some(send) = self.ledger.get_mut(id) else { return };
        if !send.plan.wait {
            let budget = self.ledger.budget_ref();
            let err = SendError::Full { messages: budget.messages(), bytes: budget.bytes() };
            self.ledger.end(id, Err(err));
            return;
        }
        send.stage = Stage::Admission;
        let (count, size, left) = (send.msg.messages, send.msg.body.len(), send.clock.left());
        let mut rx = self.ledger.budget().wait_n(count, size);
        let me = ctx.address();
        actix_rt::spawn(async move {
            let admission = match tokio::time::timeout(left, &mut rx).await {
                Ok(Ok(())) => Admission::Admitted,
                Ok(Err(_)) => Admission::Refused,
                Err(_) => {
                    rx.close();
                    if rx.try_recv().is_ok() {
                        Admission::LateGrant
                    } else {
                        Admission::Refused
                    }
                }
            };
            me.do_send(AdmissionDone { id, count, size, admission });
        });
    }

    fn on_admission(&mut self, id: SendId, count: usize, size: usize, admission: Admission, ctx: &mut Context<Self>) {
        match admission {
            Admission::Admitted if self.ledger.granted(id, (count, size)) => {
                if !self.regather(id, ctx) {
                    self.route(id, ctx)
                }
            }
            Admission::LateGrant if self.ledger.granted(id, (count, size)) => self.out_of_time(id),
            Admission::Admitted | Admission::LateGrant => self.ledger.return_room(count, size),
            Admission::Refused => {
                self.ledger.budget().forget_abandoned();
                self.out_of_time(id)
            }
        }
    }

    fn out_of_time(&mut self, id: SendId) {
        let Some(send) = self.ledger.get(id) else { return };
        let outcome = send.tries.out_of_time(send.clock.budget);
        self.ledger.end(id, outcome.map(Some));
    }

    /// Ends `id` with `error`, unless an earlier attempt's outcome says more (see `Tries::settle`).
    fn fail(&mut self, id: SendId, error: SendError) {
        let Some(send) = self.ledger.get(id) else { return };
        let outcome = send.tries.settle(error, send.clock.budget);
        self.ledger.end(id, outcome.map(Some));
    }

    /// Stage Route, where every attempt starts: the topic's publish info (cached, or parked
    /// until a fetch answers), then a queue and its master.
    pub(super) fn route(&mut self, id: SendId, ctx: &mut Context<Self>) {
        if self.membership.is_none() {
            return self.fail(id, SendError::NotRunning(self.state));
        }
        let Some(send) = self.ledger.get_mut(id) else { return };
        send.stage = Stage::Route;
        if send.clock.left().is_zero() {
            return self.out_of_time(id);
        }
        let Some(info) = self.routing.publish_info(&send.msg.topic) else {
            let (topic, left): (String, _) = (send.msg.topic.to_string(), send.clock.left());
            if self.routing.park(&topic, id) {
                self.fetch_route(topic, left, ctx);
            }
            return;
        };
        let chosen = self.routing.choose(
            &info,
            &send.plan.target,
            send.tries.last_broker.as_deref(),
            &send.msg.topic,
            self.config.namespace.as_deref(),
            self.config.send_latency_fault_enable,
        );
        let hop = match chosen {
            Ok(queue) => Hop::new(info, queue),
            Err(e) => return self.fail(id, e),
        };
        match hop {
            Some(hop) => self.connect(id, hop, ctx),
            None => {
                let topic = send.msg.topic.to_string();
                self.fail(id, SendError::NoRoute { topic })
            }
        }
    }

    /// The lookup of `topic`'s publish info, with this producer's auto-create template.
    pub(in crate::producer) fn publish_info_request(&self, topic: String, timeout: Duration) -> FetchPublishInfo {
        FetchPublishInfo {
            topic,
            create_topic_key: self.config.create_topic_key.clone(),
            default_queue_nums: self.config.default_topic_queue_nums,
            timeout,
        }
    }

    fn fetch_route(&mut self, topic: String, left: Duration, ctx: &mut Context<Self>) {
        let Some(instance) = self.membership.as_ref().map(|m| m.instance.clone()) else { return };
        let msg = self.publish_info_request(topic.clone(), self.config.client.request_timeout.min(left));
        let me = ctx.address();
        actix_rt::spawn(async move {
            let result = match instance.send(msg).await {
                Ok(r) => r.map_err(Some),
                Err(_) => Err(None),
            };
            me.do_send(RouteReady { topic, result });
        });
    }

    fn on_route(&mut self, topic: String, result: Result<Arc<TopicPublishInfo>, Option<SendError>>, ctx: &mut Context<Self>) {
        match result {
            Ok(info) => {
                self.route_updated(topic.clone(), info);
                for id in self.routing.unpark(&topic) {
                    self.route(id, ctx);
                }
            }
            Err(Some(e)) => {
                for id in self.routing.unpark(&topic) {
                    self.fail(id, e.clone());
                }
            }
            // The client instance is gone: a fatal error for this producer. The parked sends
            // stay in the ledger; a supervisor's restart resumes them with a fresh instance,
            // otherwise the ledger ends them when the actor goes away.
            Err(None) => self.fatal("the client instance is gone", ctx),
        }
    }

    /// Stage Connection: the cached open connection to the hop's broker, or parked until the
    /// remoting client hands one out and it is open. A parked send ends at its deadline even if
    /// the connect takes longer (the connect timeout may exceed the send's budget).
    fn connect(&mut self, id: SendId, hop: Hop, ctx: &mut Context<Self>) {
        if self.links.get(hop.addr()).is_some() {
            return self.check_release(id, hop, ctx);
        }
        let Some(remoting) = self.remoting() else {
            return self.fail(id, SendError::NotRunning(self.state));
        };
        let Some(send) = self.ledger.get_mut(id) else { return };
        let addr = hop.addr().to_string();
        send.stage = Stage::Connection(hop);
        let me = ctx.address();
        let left = send.clock.left();
        let timer = me.clone();
        actix_rt::spawn(async move {
            tokio::time::sleep(left).await;
            timer.do_send(WaitOver { id });
        });
        if !self.links.park(&addr, id) {
            return;
        }
        actix_rt::spawn(async move {
            let conn = match remoting.send(GetConnection(addr.clone())).await {
                Ok(conn) => conn,
                Err(_) => return me.do_send(ConnectionReady { addr, conn: Err(None) }),
            };
            // The connection answers once its connect is over (its mailbox waits until then),
            // within its connect timeout.
            let conn = match conn.send(WhenOpen).await {
                Ok(Ok(())) => Ok(conn),
                Ok(Err(e)) => Err(Some(e)),
                Err(_) => Err(Some(RemotingError::ConnectionClosed { addr: addr.clone() })),
            };
            me.do_send(ConnectionReady { addr, conn });
        });
    }

    fn on_connection(&mut self, addr: String, conn: Result<Addr<Connection>, Option<RemotingError>>, ctx: &mut Context<Self>) {
        let ids = self.links.unpark(&addr);
        let failure = match conn {
            Ok(conn) => {
                self.links.insert(addr, conn);
                None
            }
            Err(failure) => Some(failure),
        };
        for id in ids {
            let Some(Stage::Connection(hop)) = self.ledger.get(id).map(|s| s.stage.clone()) else { continue };
            match &failure {
                // (connect finds the connection just cached, or, if it closed meanwhile, asks again)
                None => self.connect(id, hop, ctx),
                Some(Some(source)) => self.unreachable(id, hop, source.clone(), ctx),
                Some(None) => {
                    let source = RemotingError::ActorGone { actor: "remoting client" };
                    self.fail(id, SendError::Remoting { attempts: 0, source, delivery: Delivery::NotSent })
                }
            }
        }
    }

    /// The hop's broker could not be connected to: an attempt that wrote nothing. The broker is
    /// isolated as after any transport failure, and another one may do better.
    fn unreachable(&mut self, id: SendId, hop: Hop, source: RemotingError, ctx: &mut Context<Self>) {
        let attempts = self.ledger.get(id).map_or(0, |s| s.tries.attempts) + 1;
        let error = SendError::Remoting { attempts, source, delivery: Delivery::NotSent };
        let verdict = Verdict::Lost(error);
        self.record_latency(&hop.mq().broker_name, Duration::ZERO, &verdict);
        let Verdict::Lost(error) = verdict else { return };
        let Some(send) = self.ledger.get_mut(id) else { return };
        send.tries.attempts += 1;
        let retryable = !error.is_config();
        self.after_failure(id, hop, error, retryable, ctx)
    }

    /// A send parked for a connection (or a release) reached its deadline.
    fn on_wait_over(&mut self, id: SendId) {
        if self.ledger.get(id).is_some_and(|s| matches!(s.stage, Stage::Connection(_)) && s.clock.left().is_zero()) {
            self.out_of_time(id);
        }
    }

    /// Before the write of a timer message: the broker's release must have a timer store (a 4.x
    /// broker stores the message and delivers it at once). The release is asked of the client
    /// instance once per broker connection (a heartbeat answer carries it); the send waits for it
    /// in stage Connection. Other messages go straight on.
    fn check_release(&mut self, id: SendId, hop: Hop, ctx: &mut Context<Self>) {
        if !self.ledger.get(id).is_some_and(|s| s.msg.timer) {
            return self.write(id, hop, ctx);
        }
        match self.links.version(hop.addr()) {
            // (a server that reports no release at all is not judged by it)
            Some(v) if v.is_reported() && !v.has_timer_store() => {
                let error = SendError::BrokerTooOld {
                    broker: hop.mq().broker_name.to_string(),
                    addr: hop.addr().to_string(),
                    version: v,
                    needs: "a timer delay needs a 5.0 or later broker (this one would deliver the message at once)",
                };
                self.failed_before_write(id, hop, error, ctx)
            }
            Some(_) => self.write(id, hop, ctx),
            None => self.learn_release(id, hop, ctx),
        }
    }

    /// Parks a timer message until the release of its broker is known (one question per address).
    fn learn_release(&mut self, id: SendId, hop: Hop, ctx: &mut Context<Self>) {
        let Some(instance) = self.membership.as_ref().map(|m| m.instance.clone()) else {
            return self.fail(id, SendError::NotRunning(self.state));
        };
        let Some(send) = self.ledger.get_mut(id) else { return };
        let timeout = self.config.client.request_timeout.min(send.clock.left());
        let addr = hop.addr().to_string();
        send.stage = Stage::Connection(hop);
        if !self.links.park_for_version(&addr, id) {
            return;
        }
        let me = ctx.address();
        actix_rt::spawn(async move {
            let result = instance.send(LearnBrokerVersion { addr: addr.clone(), timeout }).await.map_err(|_| None);
            me.do_send(ReleaseKnown { addr, result: result.and_then(|r| r.map_err(Some)) });
        });
    }

    fn on_release(&mut self, addr: String, result: Result<BrokerVersion, Option<RemotingError>>, ctx: &mut Context<Self>) {
        let error = match result {
            Ok(version) => {
                let ids = self.links.unpark_for_version(&addr);
                self.links.set_version(addr, version);
                for id in ids {
                    if let Some(Stage::Connection(hop)) = self.ledger.get(id).map(|s| s.stage.clone()) {
                        self.connect(id, hop, ctx);
                    }
                }
                return;
            }
            Err(Some(error)) => error,
            // The client instance is gone: fatal, as for a route (the parked sends stay parked
            // for a supervisor's restart to resume; see `on_route`).
            Err(None) => return self.fatal("the client instance is gone", ctx),
        };
        for id in self.links.unpark_for_version(&addr) {
            let Some(Stage::Connection(hop)) = self.ledger.get(id).map(|s| s.stage.clone()) else { continue };
            let attempts = self.ledger.get(id).map_or(0, |s| s.tries.attempts);
            let source = error.clone();
            self.failed_before_write(id, hop, SendError::Remoting { attempts, source, delivery: Delivery::NotSent }, ctx);
        }
    }

    /// An attempt that ended before anything was written (the broker's release refused it, or
    /// could not be learned): it counts against the attempts, and another broker may do better.
    fn failed_before_write(&mut self, id: SendId, hop: Hop, error: SendError, ctx: &mut Context<Self>) {
        let Some(send) = self.ledger.get_mut(id) else { return };
        send.tries.attempts += 1;
        self.after_failure(id, hop, error, true, ctx)
    }

    /// The request of one attempt: its SEND_MESSAGE_V2 / SEND_BATCH_MESSAGE header written
    /// straight into the request's bytes, or, on a cluster with authentication on (the
    /// connection signs the fields), as a command.
    fn build_request(&self, send: &Send, mq: &MessageQueue) -> Outgoing {
        let born_timestamp = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
        let msg = &send.msg;
        let fields = SendHeaderRef {
            producer_group: &self.wire_group,
            topic: &msg.topic,
            default_topic: &self.config.create_topic_key,
            default_topic_queue_nums: self.config.default_topic_queue_nums,
            queue_id: mq.queue_id,
            sys_flag: msg.sys_flag,
            born_timestamp,
            flag: msg.flag,
            properties: &msg.properties,
            reconsume_times: 0,
            unit_mode: false,
            max_reconsume_times: None,
            batch: msg.batch,
            broker_name: Some(&mq.broker_name),
        };
        if self.config.client.credentials.is_some() {
            let mut cmd = RemotingCommand::request(msg.code).with_body(msg.body.clone());
            fields.write(&mut cmd.ext_fields);
            return Outgoing::Command(cmd);
        }
        let mut req = EncodedRequest::new(msg.code, self.send_common.serialize_type());
        fields.write_with(&self.send_common, &mut req.fields());
        req.body = msg.body.clone();
        Outgoing::Encoded(req)
    }

    /// Stage OnWire: hands the request to the connection. The connection tells the outcome
    /// ([`Answered`]) by message: no task, timer or channel per request here.
    fn write(&mut self, id: SendId, hop: Hop, ctx: &mut Context<Self>) {
        let answers = self.answers(ctx);
        let Some(send) = self.ledger.get(id) else { return };
        let request = self.build_request(send, hop.mq());
        let Some(send) = self.ledger.get_mut(id) else { return };
        send.tries.attempts += 1;
        send.seq = send.seq.wrapping_add(1);
        // One clock reading for both the write time and the time left.
        let now = Instant::now();
        send.written_at = now;
        if !send.span.is_disabled() {
            send.span.record("broker", hop.mq().broker_name.as_str());
            send.span.record("queue", hop.mq().queue_id);
        }
        let dispatch = Dispatch {
            request,
            deadline: send.clock.deadline(),
            timeout: send.clock.left_at(now),
            oneway: send.plan.oneway,
            answer: Answer::new(answers, Token { id, seq: send.seq }),
        };
        if self.ledger.hooks().sees_attempts() {
            if let Some(send) = self.ledger.get(id) {
                self.ledger.hooks().before(&self.attempt_view(send, &hop, 0));
            }
        }
        // (A connection gone since `connect` looked it up drops the request, and its answer
        // says so: not written.)
        if let Some(conn) = self.links.get(hop.addr()) {
            conn.do_send(dispatch);
        }
        if let Some(send) = self.ledger.get_mut(id) {
            send.stage = Stage::OnWire(hop);
        }
    }

    /// Where connections tell the outcome of this producer's requests. Held strongly only by
    /// the requests in flight (the producer keeps a weak reference), so it never keeps the
    /// producer's own mailbox open.
    fn answers(&mut self, ctx: &mut Context<Self>) -> Arc<AnswerTo> {
        if let Some(answers) = self.answers.upgrade() {
            return answers;
        }
        let answers = AnswerTo::of(&ctx.address());
        self.answers = Arc::downgrade(&answers);
        answers
    }

    /// An attempt's outcome, told by its connection.
    fn on_answer(&mut self, token: Token, outcome: Outcome, ctx: &mut Context<Self>) {
        let id = token.id;
        let Some(send) = self.ledger.get_mut(id) else { return };
        if send.seq != token.seq || !matches!(send.stage, Stage::OnWire(_)) {
            return;
        }
        // The one clock reading of this answer: its latency, the send's time left, its end.
        let now = Instant::now();
        let latency = now.saturating_duration_since(send.written_at);
        // Every path below sets the stage again (or ends the send).
        let Stage::OnWire(hop) = std::mem::replace(&mut send.stage, Stage::Route) else { return };
        let oneway = send.plan.oneway;
        let reply = match outcome {
            Outcome::Reply(cmd) => Ok(cmd),
            Outcome::Queued => return self.on_oneway(id, hop, Ok(()), latency),
            Outcome::Failed(unanswered) => Err(unanswered),
            Outcome::Dropped { written } => {
                Err(Unanswered { error: RemotingError::ConnectionClosed { addr: hop.addr().to_string() }, written })
            }
        };
        if oneway {
            return self.on_oneway(id, hop, reply.map(|_| ()), latency);
        }
        self.on_reply(id, hop, reply, (latency, now), ctx)
    }

    /// An attempt as the send hooks see it (`cost_ms`: how long ago it started).
    fn attempt_view<'a>(&'a self, send: &'a Send, hop: &'a Hop, cost_ms: i64) -> SendAttempt<'a> {
        let msg = &send.msg;
        let delayed = || [names::DELAY, names::TIMER_DELAY_SEC, names::TIMER_DELAY_MS, names::TIMER_DELIVER_MS]
            .iter()
            .any(|n| find_property(&msg.properties, n).is_some());
        let kind = if msg.sys_flag & TRANSACTION_PREPARED_TYPE != 0 {
            MessageKind::TransactionHalf
        } else if delayed() {
            MessageKind::Delay
        } else {
            MessageKind::Normal
        };
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
        SendAttempt {
            group: &self.wire_group,
            topic: &msg.topic,
            msg_id: &msg.msg_id,
            properties: &msg.properties,
            body_len: msg.body.len(),
            broker_name: &hop.mq().broker_name,
            broker_addr: hop.addr(),
            queue_id: hop.mq().queue_id,
            attempt: send.tries.attempts,
            kind,
            oneway: send.plan.oneway,
            batch: msg.batch,
            started_ms: now_ms - cost_ms,
            namespace: self.config.namespace.as_deref(),
        }
    }

    /// Tells the hooks how an attempt ended.
    fn after_hooks(&self, id: SendId, hop: &Hop, cost: Duration, outcome: AttemptOutcome<'_>) {
        if let Some(send) = self.ledger.get(id) {
            self.ledger.hooks().after(&self.attempt_view(send, hop, cost.as_millis() as i64), cost, outcome);
        }
    }

    fn on_oneway(&mut self, id: SendId, hop: Hop, result: Result<(), Unanswered>, latency: Duration) {
        let outcome = result.map_err(|Unanswered { error, written }| {
            let attempts = self.ledger.get(id).map_or(1, |s| s.tries.attempts);
            SendError::Remoting { attempts, source: error, delivery: delivery(written) }
        });
        if self.ledger.hooks().sees_attempts() {
            let seen = match &outcome {
                Ok(()) => AttemptOutcome::Written,
                Err(error) => AttemptOutcome::Failed(error),
            };
            self.after_hooks(id, &hop, latency, seen);
        }
        if outcome.is_err() {
            if let Some(send) = self.ledger.get_mut(id) {
                send.tries.last_broker = Some(hop.mq().broker_name.clone());
            }
        }
        self.ledger.end(id, outcome.map(|()| None));
    }

    /// Judges a reply and moves on: the end, a GO_AWAY resend, or a retry.
    /// `heard`: the attempt's latency, and when its answer came.
    fn on_reply(&mut self, id: SendId, hop: Hop, reply: Result<RemotingCommand, Unanswered>, heard: (Duration, Instant), ctx: &mut Context<Self>) {
        let (latency, now) = heard;
        let hooks_see_attempts = self.ledger.hooks().sees_attempts();
        let Some(send) = self.ledger.get_mut(id) else { return };
        let rules = Rules {
            retry_codes: &self.config.retry_response_codes,
            retry_another_broker_when_not_store_ok: self.config.retry_another_broker_when_not_store_ok,
            namespace: self.config.namespace.as_deref(),
        };
        let reply = reply.map_err(|u| (u.error, delivery(u.written)));
        let mut verdict = judge(&rules, hop.mq(), send.tries.attempts, reply);
        // The result gets the send's id. A success ends the send: its id moves over (a batch's
        // ids are a kilobyte). The attempt hooks read the id from the send, and a result kept
        // while another broker is tried may not end it: those get a copy.
        match &mut verdict {
            Verdict::Stored(r) if !hooks_see_attempts => r.msg_id = std::mem::take(&mut send.msg.msg_id),
            Verdict::Stored(r) | Verdict::StoredNotOk(r) => r.msg_id = send.msg.msg_id.clone(),
            _ => {}
        }
        self.record_latency(&hop.mq().broker_name, latency, &verdict);
        if hooks_see_attempts {
            let outcome = match &verdict {
                Verdict::Stored(r) | Verdict::StoredNotOk(r) => AttemptOutcome::Stored(r),
                Verdict::GoAway(e) | Verdict::Refused { error: e, .. } | Verdict::Lost(e) => AttemptOutcome::Failed(e),
            };
            self.after_hooks(id, &hop, latency, outcome);
        }
        let Some(send) = self.ledger.get_mut(id) else { return };
        let (left, max) = (send.clock.left_at(now), send.plan.max_attempts);
        match verdict {
            Verdict::Stored(result) => {
                self.ledger.end_at(id, Ok(Some(result)), now);
            }
            Verdict::StoredNotOk(result) => {
                let next = send.tries.after_not_ok(result, max, left);
                self.next(id, hop, next, ctx)
            }
            Verdict::GoAway(_) if !send.tries.go_away_resent && !left.is_zero() => {
                // Java 5.3 behaviour: a fresh connection to the same address, the same request
                // once more; it does not count as another attempt.
                debug!(broker = %hop.addr(), "GO_AWAY: reconnecting and resending once");
                send.tries.go_away_resent = true;
                send.tries.attempts -= 1;
                self.links.forget(hop.addr());
                if let Some(remoting) = self.remoting() {
                    remoting.do_send(CloseConnection(hop.addr().to_string()));
                }
                self.connect(id, hop, ctx)
            }
            Verdict::GoAway(error) => self.after_failure(id, hop, error, true, ctx),
            Verdict::Refused { error, retryable } => self.after_failure(id, hop, error, retryable, ctx),
            // An unreadable success reply means the broker stored it: never resend.
            Verdict::Lost(error @ SendError::BadReply(_)) => self.after_failure(id, hop, error, false, ctx),
            // A TLS trust failure repeats on every broker until the setup changes.
            Verdict::Lost(error) => {
                let retryable = !error.is_config();
                self.after_failure(id, hop, error, retryable, ctx)
            }
        }
    }

    fn after_failure(&mut self, id: SendId, hop: Hop, error: SendError, retryable: bool, ctx: &mut Context<Self>) {
        let Some(send) = self.ledger.get_mut(id) else { return };
        debug!(topic = %hop.mq().topic, broker = %hop.mq().broker_name, attempt = send.tries.attempts, error = %error, "send attempt failed");
        let (left, budget, max) = (send.clock.left(), send.clock.budget, send.plan.max_attempts);
        let next = send.tries.after_failure(error, retryable, max, left, budget);
        self.next(id, hop, next, ctx)
    }

    /// Carries out a decision after an attempt on `hop`: another attempt (avoiding its broker),
    /// or the end.
    fn next(&mut self, id: SendId, hop: Hop, next: Next, ctx: &mut Context<Self>) {
        match next {
            Next::Retry => {
                if let Some(send) = self.ledger.get_mut(id) {
                    send.tries.last_broker = Some(hop.mq().broker_name.clone());
                }
                self.route(id, ctx)
            }
            Next::End(outcome) => {
                // The broker of the last attempt, for the send's report.
                if let Some(send) = self.ledger.get_mut(id) {
                    send.tries.last_broker = Some(hop.mq().broker_name.clone());
                }
                self.ledger.end(id, outcome.map(Some));
            }
        }
    }

    /// Feeds the latency fault table (5.x rules): success or client error -> not isolated;
    /// transport error -> isolated but reachable; broker error code -> isolated, unreachable.
    fn record_latency(&mut self, broker: &str, latency: Duration, verdict: &Verdict) {
        if !self.config.send_latency_fault_enable {
            return;
        }
        let (isolation, reachable) = match verdict {
            Verdict::Stored(_) | Verdict::StoredNotOk(_) => (false, true),
            Verdict::Lost(SendError::Remoting { .. }) => (true, true),
            Verdict::Refused { .. } | Verdict::GoAway(_) => (true, false),
            Verdict::Lost(_) => (false, true),
        };
        if let Some(until) = self.routing.record(broker, latency, isolation, reachable) {
            self.events.broker_isolated(broker, until);
            self.ledger.hooks().isolated(broker, until.saturating_duration_since(Instant::now()));
        }
    }

    /// Takes every send parked for a route or a connection (the caches they wait on are about
    /// to be dropped), for a restart to send again from stage Route.
    pub(super) fn unpark_all(&mut self) -> Vec<SendId> {
        let mut ids = self.routing.unpark_all();
        ids.extend(self.links.unpark_all());
        ids.sort_unstable();
        ids
    }
}

impl Handler<Compressed> for Producer {
    type Result = ();
    fn handle(&mut self, msg: Compressed, ctx: &mut Context<Self>) {
        self.on_compressed(msg.id, msg.squeezed, ctx);
    }
}

impl Handler<AdmissionDone> for Producer {
    type Result = ();
    fn handle(&mut self, msg: AdmissionDone, ctx: &mut Context<Self>) {
        self.on_admission(msg.id, msg.count, msg.size, msg.admission, ctx);
    }
}

impl Handler<RouteReady> for Producer {
    type Result = ();
    fn handle(&mut self, msg: RouteReady, ctx: &mut Context<Self>) {
        self.on_route(msg.topic, msg.result, ctx);
    }
}

impl Handler<ConnectionReady> for Producer {
    type Result = ();
    fn handle(&mut self, msg: ConnectionReady, ctx: &mut Context<Self>) {
        self.on_connection(msg.addr, msg.conn, ctx);
    }
}

impl Handler<ReleaseKnown> for Producer {
    type Result = ();
    fn handle(&mut self, msg: ReleaseKnown, ctx: &mut Context<Self>) {
        self.on_release(msg.addr, msg.result, ctx);
    }
}

impl Handler<Answered> for Producer {
    type Result = ();
    fn handle(&mut self, msg: Answered, ctx: &mut Context<Self>) {
        self.on_answer(msg.token, msg.outcome, ctx);
    }
}

impl Handler<AnsweredMany> for Producer {
    type Result = ();
    fn handle(&mut self, msg: AnsweredMany, ctx: &mut Context<Self>) {
        for one in msg.0 {
            self.on_answer(one.token, one.outcome, ctx);
        }
    }
}

impl Handler<WaitOver> for Producer {
    type Result = ();
    fn handle(&mut self, msg: WaitOver, _: &mut Context<Self>) {
        self.on_wait_over(msg.id);
    }
}

/// The unknown queue of a `Target::Queue` send, as the error shows it.
pub(super) fn unknown_queue(topic: &str, mq: &MessageQueue) -> SendError {
    ValidationError::UnknownQueue { topic: topic.to_string(), queue: format!("{}:{}:{}", mq.topic, mq.broker_name, mq.queue_id) }.into()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A send of an 8-byte body, as a unit test of the ledger needs one.
    pub(crate) fn sample_send() -> Send {
        Send {
            msg: Prepared::sample(),
            plan: Plan { target: Target::Auto, max_attempts: 3, oneway: false, wait: true },
            clock: Clock::new(Duration::from_secs(3)),
            tries: Tries::default(),
            stage: Stage::Admission,
            span: tracing::Span::none(),
            seq: 0,
            written_at: Instant::now(),
        }
    }

    #[test]
    fn a_clock_counts_down_to_its_deadline() {
        let c = Clock::new(Duration::from_secs(5));
        assert!(c.left() <= Duration::from_secs(5) && c.left() > Duration::from_secs(4));
        assert_eq!(c.deadline(), c.started + Duration::from_secs(5));
    }

    #[test]
    fn stages_have_stable_names_for_the_status() {
        let route = crate::protocol::route::parse_route(
            br#"{"brokerDatas":[{"brokerAddrs":{"0":"127.0.0.1:10911"},"brokerName":"b","cluster":"c"}],"queueDatas":[{"brokerName":"b","perm":6,"readQueueNums":1,"writeQueueNums":1}]}"#,
        )
        .unwrap();
        let hop = Hop::new(Arc::new(TopicPublishInfo::from_route("t", &route)), 0).unwrap();
        assert_eq!((hop.mq().broker_name.as_str(), hop.addr()), ("b", "127.0.0.1:10911"));
        let names: Vec<_> = [Stage::Compressing, Stage::Admission, Stage::Route, Stage::Connection(hop.clone()), Stage::OnWire(hop)]
            .iter()
            .map(Stage::name)
            .collect();
        assert_eq!(names, ["compressing", "admission", "route", "connection", "on_wire"]);
    }
}
