//! The `Producer` actor: its state, lifecycle (start, supervised restart, drained shutdown) and
//! the entry points of every send kind. The send machine itself lives in `send/`.

// A failed send carries the user's message back by design (`SendFailure`); failures are the rare
// path, so the larger `Err` is worth not boxing every result.
#![allow(clippy::result_large_err)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use tokio::sync::oneshot;
use tracing::{debug, info, warn};

use super::accumulate::{Accumulator, MemberReply};
use super::answer::{Answering, Finish, SendReply};
use super::budget::InflightBudget;
use super::hook::Hooks;
use super::ledger::{Completion, Ledger, SendId};
use super::links::Links;
use super::membership::{Join, Membership};
use super::messages::*;
use super::queue_select::Target;
use super::record::{ProducerRecord, SendResult};
use super::routing::Routing;
use super::send::{expect_reply, Clock, Encoder, Plan, Prepared, Send, Stage, Tries};
use super::metrics::ProducerMetrics;
use super::status::{Events, ProducerEvent};
use super::trace::Tracing;
use super::transaction::CheckLocalTransaction;
use super::validate::MAX_PROPERTIES_LEN;
use crate::client::peer::TransactionCheck;
use crate::client::instance::RouteUpdated;
use crate::config::ProducerConfig;
use crate::error::{SendError, ServiceState, StartError};
use crate::protocol::properties::{encode_properties, find_property};
use crate::protocol::route::TopicPublishInfo;
use crate::protocol::header::SendHeaderCommon;
use crate::remoting::client::WatchConnections;
use crate::remoting::RemotingClient;

/// How often the producer sweeps: sends whose work was lost, isolations that ended.
const TICK: Duration = Duration::from_secs(1);
/// A send is ended by the sweep only this long after its own deadline (its own work normally
/// ends it on time; this is the safety net).
const SWEEP_GRACE: Duration = Duration::from_millis(500);

/// Registration tokens: one per `Producer` value, kept across restarts.
static TOKENS: AtomicU64 = AtomicU64::new(1);

/// Where a shutdown is.
#[derive(Default)]
pub(super) enum Closing {
    #[default]
    Open,
    /// New sends are refused; admitted ones are finishing. The senders are told when done.
    Draining(Vec<oneshot::Sender<()>>),
    Closed,
}

impl Closing {
    pub(super) fn is_draining(&self) -> bool {
        matches!(self, Closing::Draining(_))
    }
}

/// One producer group: an actix actor. Start it directly, or under an [`actix::Supervisor`]
/// (see [`Restart`]), then send it [`Start`].
///
/// It owns its config and lifecycle, and groups the state its sends need into parts with one
/// job each: the ledger of accepted sends (which answers every caller exactly once), routing
/// (publish info, queue choice, fault table), links (cached broker connections) and the encoder
/// (validation and message ids). The hot path goes `Addr<Producer>` -> `Producer` ->
/// `Connection` with no other actor in between.
///
/// ```no_run
/// use actix_rocketmq::{Producer, ProducerConfig, ProducerExt, ProducerRecord, SendMessage};
/// #[actix::main]
/// async fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let producer = Producer::spawn(ProducerConfig::new("orders_producer", "127.0.0.1:9876")).await?;
///     let result = producer.send_message(ProducerRecord::new("orders", "created")).await?;
///     println!("stored as {} in {}", result.msg_id, result.message_queue);
///     // The plain actix way: a failure hands the message back.
///     match producer.send(SendMessage::new(ProducerRecord::new("orders", "paid"))).await? {
///         Ok(result) => println!("stored at offset {}", result.queue_offset),
///         Err(failure) => eprintln!("{} (message for {} kept)", failure.error, failure.returned.topic()),
///     }
///     producer.shutdown().await; // drains the sends in flight, then unregisters the group
///     Ok(())
/// }
/// ```
pub struct Producer {
    pub(super) config: ProducerConfig,
    /// The group as brokers see it (namespace-prefixed).
    pub(super) wire_group: String,
    /// The send header fields every request of this producer repeats, encoded once.
    pub(super) send_common: SendHeaderCommon,
    pub(super) state: ServiceState,
    /// Identifies this producer's registration across restarts.
    token: u64,
    pub(super) membership: Option<Membership>,
    pub(super) ledger: Ledger,
    pub(super) routing: Routing,
    pub(super) links: Links,
    pub(super) encoder: Encoder,
    /// Auto-batching: the batches being gathered.
    pub(super) accumulator: Accumulator,
    pub(super) events: Events,
    pub(super) closing: Closing,
    pub(super) restarts: u32,
    /// Set by a restart of a running producer: `started` joins the instance again.
    rejoin: bool,
    /// Sends that were parked on the caches a restart dropped; `started` routes them again.
    resume: Vec<SendId>,
    /// The ticker task runs (it outlives restarts).
    ticking: bool,
    /// The remoting client whose connection events this producer watches.
    watching: Option<Addr<RemotingClient>>,
    /// Answers the brokers' transaction checks for this group.
    pub(super) checker: Option<Recipient<CheckLocalTransaction>>,
    /// Writes the caller's trace context into each message (off unless set).
    trace_context: Option<TraceContext>,
    /// Message trace (`enable_msg_trace`).
    pub(super) tracing: Option<Tracing>,
    /// The metrics hook (also among the ledger's hooks), for the gauges sampled by `tick`.
    metrics: Option<Arc<ProducerMetrics>>,
    /// Where connections answer this producer's requests (see `Producer::answers`).
    pub(super) answers: std::sync::Weak<crate::remoting::connection::AnswerTo>,
}

impl Producer {
    /// A producer in `CREATE_JUST`; start the actor, then send [`Start`].
    pub fn new(config: ProducerConfig) -> Self {
        let budget = InflightBudget::new(config.max_inflight_messages, config.max_inflight_bytes);
        let mut hooks = Hooks::default();
        let tracing = config.enable_msg_trace.then(|| {
            let (hook, tracing) = Tracing::new(&config);
            hooks.add(hook);
            tracing
        });
        let metrics = config.enable_metrics.then(|| {
            let metrics = Arc::new(ProducerMetrics::new(&config.group));
            hooks.add(metrics.clone());
            metrics
        });
        let mut ledger = Ledger::new(budget);
        ledger.observe(hooks, config.namespace.clone());
        Producer {
            wire_group: config.wire_group(),
            send_common: SendHeaderCommon::new(config.client.serialize_type, &config.wire_group(), &config.create_topic_key, config.default_topic_queue_nums),
            encoder: Encoder::new(&config),
            accumulator: Accumulator::default(),
            config,
            state: ServiceState::CreateJust,
            token: TOKENS.fetch_add(1, Ordering::Relaxed),
            membership: None,
            ledger,
            routing: Routing::new(),
            links: Links::default(),
            events: Events::default(),
            closing: Closing::Open,
            restarts: 0,
            rejoin: false,
            resume: Vec::new(),
            ticking: false,
            watching: None,
            checker: None,
            trace_context: None,
            tracing,
            metrics,
            answers: std::sync::Weak::new(),
        }
    }

    /// Sets who answers the brokers' transaction checks for this group (see
    /// [`SendTransactional`](crate::SendTransactional)); without one every check is answered
    /// `Unknown`. Set it before the actor starts; a supervised restart keeps it.
    ///
    /// ```no_run
    /// # use actix::prelude::*;
    /// # use actix_rocketmq::{CheckLocalTransaction, LocalTransactionState, Producer, ProducerConfig};
    /// # struct Ledger;
    /// # impl Actor for Ledger { type Context = Context<Self>; }
    /// # impl Handler<CheckLocalTransaction> for Ledger {
    /// #     type Result = MessageResult<CheckLocalTransaction>;
    /// #     fn handle(&mut self, _: CheckLocalTransaction, _: &mut Context<Self>) -> Self::Result { MessageResult(LocalTransactionState::Unknown) }
    /// # }
    /// # fn demo() {
    /// let checker = Ledger.start().recipient();
    /// let producer = Producer::new(ProducerConfig::new("tx_group", "127.0.0.1:9876")).with_transaction_checker(checker);
    /// # }
    /// ```
    pub fn with_transaction_checker(mut self, checker: Recipient<CheckLocalTransaction>) -> Self {
        self.checker = Some(checker);
        self
    }

    /// Carries the caller's trace context in each message, W3C style: `inject` is given the span
    /// that was current where the record was made and returns its `traceparent`
    /// (`00-<trace id>-<span id>-<flags>`), which the message gets as its `traceparent`
    /// property, so consumers continue the trace. Off by default. A record made outside any
    /// span, a record that sets `traceparent` itself, and batches are left as they are.
    ///
    /// With OpenTelemetry the injector is a few lines over `tracing-opentelemetry`'s
    /// `OpenTelemetrySpanExt::context()`; this crate does not depend on either.
    ///
    /// ```
    /// use actix_rocketmq::{Producer, ProducerConfig};
    /// let producer = Producer::new(ProducerConfig::new("g", "127.0.0.1:9876"))
    ///     .with_trace_context(|span| span.id().map(|id| format!("00-{:032x}-{:016x}-01", 7, id.into_u64())));
    /// ```
    pub fn with_trace_context(mut self, inject: impl Fn(&tracing::Span) -> Option<String> + std::marker::Send + Sync + 'static) -> Self {
        self.trace_context = Some(Arc::new(inject));
        self
    }

    /// Adds the `traceparent` property to a single message whose record was made in a span.
    fn inject_trace_context(&self, msg: &mut Prepared) {
        let (Some(inject), Some(parent)) = (&self.trace_context, &msg.parent) else { return };
        if msg.batch || find_property(&msg.properties, TRACEPARENT).is_some() {
            return;
        }
        let Some(value) = inject(parent) else { return };
        // The injector is the application's code: a value that would break the encoding or the
        // broker's size limit is dropped (the message still goes), never sent.
        if value.is_empty() || value.contains(['\u{1}', '\u{2}']) || msg.properties.len() + TRACEPARENT.len() + value.len() + 2 /* separators */ > MAX_PROPERTIES_LEN {
            debug!(value, "trace context not carried: unusable traceparent");
            return;
        }
        encode_properties([(TRACEPARENT, value.as_str())], &mut msg.properties);
    }

    /// Adds a [`SendHook`](crate::SendHook): it sees every attempt and every transaction
    /// decision of this producer. Set it before the actor starts.
    pub fn with_hook(mut self, hook: Arc<dyn crate::SendHook>) -> Self {
        self.ledger.add_hook(hook);
        self
    }

    /// Creates the actor, starts it and sends [`Start`] (requires a running actix `System`).
    ///
    /// ```no_run
    /// use actix_rocketmq::{Producer, ProducerConfig};
    /// #[actix::main]
    /// async fn main() {
    ///     let producer = Producer::spawn(ProducerConfig::new("g", "127.0.0.1:9876")).await.unwrap();
    /// }
    /// ```
    pub async fn spawn(config: ProducerConfig) -> Result<Addr<Producer>, StartError> {
        let addr = Producer::new(config).start();
        addr.send(Start).await??;
        Ok(addr)
    }

    /// Like [`Producer::spawn`], under an [`actix::Supervisor`]: a producer that stops (a
    /// [`Restart`], or a fatal internal error such as its client instance dying) is restarted
    /// on the same address and joins its instance again.
    ///
    /// ```no_run
    /// use actix_rocketmq::{Producer, ProducerConfig};
    /// #[actix::main]
    /// async fn main() {
    ///     let producer = Producer::supervised(ProducerConfig::new("g", "127.0.0.1:9876")).await.unwrap();
    /// }
    /// ```
    pub async fn supervised(config: ProducerConfig) -> Result<Addr<Producer>, StartError> {
        let addr = Supervisor::start(move |_| Producer::new(config));
        addr.send(Start).await??;
        Ok(addr)
    }

    pub(super) fn remoting(&self) -> Option<Addr<RemotingClient>> {
        self.membership.as_ref().map(|m| m.remoting().clone())
    }

    fn join(&self, ctx: &mut Context<Self>) -> Join {
        Join {
            client: self.config.client.clone(),
            group: self.wire_group.clone(),
            token: self.token,
            routes: ctx.address().recipient::<RouteUpdated>(),
            checks: ctx.address().recipient::<TransactionCheck>(),
        }
    }

    /// Takes a new membership: watches its connections for events.
    fn joined(&mut self, membership: Membership, ctx: &mut Context<Self>) {
        if self.watching.as_ref() != Some(membership.remoting()) {
            membership.remoting().do_send(WatchConnections(ctx.address().downgrade().recipient()));
            self.watching = Some(membership.remoting().clone());
        }
        if let Some(old) = self.membership.replace(membership) {
            // The same registration renewed (or one in an instance that is gone).
            old.disarm();
        }
        self.state = ServiceState::Running;
    }

    /// A fatal internal error: stop the actor. Under a supervisor this is a restart.
    pub(super) fn fatal(&mut self, reason: &str, ctx: &mut Context<Self>) {
        warn!(group = %self.wire_group, reason, "producer stopping after a fatal error");
        ctx.stop();
    }

    /// Takes a new route from the instance (or a fetch) and tells subscribers if it changed.
    pub(super) fn route_updated(&mut self, topic: String, info: Arc<TopicPublishInfo>) {
        let queues: Vec<(String, i32)> = info.queues.iter().map(|q| (q.broker_name.to_string(), q.queue_id)).collect();
        if self.routing.update(topic.clone(), info) {
            self.events.emit(ProducerEvent::RouteChanged { topic, queues });
        }
    }

    /// Any send: state and validation here; the send machine does the rest and answers through
    /// the ledger. `returned` (the message or batch) comes back inside a failure. The answer is a
    /// [`SendReply`] for a handler's own caller, or a future for flows that await the send
    /// inside their own future (see [`Answering`]).
    pub(super) fn submit<R: SendsTo + 'static, T: 'static, A: Answering<T, R>>(
        &mut self,
        returned: R,
        prepare: impl FnOnce(&mut Encoder, &R) -> Result<Prepared, SendError>,
        plan: Plan,
        timeout: Option<Duration>,
        finish: Finish<T>,
        ctx: &mut Context<Self>,
    ) -> A {
        let send = match self.admit_new(returned.topic(), |enc| prepare(enc, &returned), plan, timeout) {
            Ok(send) => send,
            Err(error) => return A::refused(SendFailure { error, returned }),
        };
        let (answer, completion) = A::pending(returned, finish);
        self.accept(send, completion, ctx);
        answer
    }

    /// The state check and preparation every new send goes through. A send refused here never
    /// reaches the ledger, so the hooks hear of it here (with no attempts).
    fn admit_new(
        &mut self,
        topic: &str,
        prepare: impl FnOnce(&mut Encoder) -> Result<Prepared, SendError>,
        plan: Plan,
        timeout: Option<Duration>,
    ) -> Result<Send, SendError> {
        let prepared = if self.state != ServiceState::Running {
            Err(SendError::NotRunning(self.state))
        } else {
            prepare(&mut self.encoder)
        };
        let msg = match prepared {
            Ok(msg) => msg,
            Err(error) => {
                self.ledger.refused(topic, plan.oneway, &error);
                return Err(error);
            }
        };
        Ok(self.new_send(msg, plan, Clock::new(timeout.unwrap_or(self.config.send_msg_timeout))))
    }

    /// A new send of `msg`, in stage Admission: the caller's trace context written into it and
    /// its span opened.
    pub(super) fn new_send(&self, mut msg: Prepared, plan: Plan, clock: Clock) -> Send {
        self.inject_trace_context(&mut msg);
        let span = super::send::send_span(&self.config.group, &msg);
        // The send's span holds its parent open from here; the message need not.
        msg.parent = None;
        Send { msg, plan, clock, tries: Tries::default(), stage: Stage::Admission, span, seq: 0, written_at: clock.started }
    }

    /// A send that waits for its reply (and for room in the budget), with the sync retries.
    pub(super) fn sync_plan(&self, target: Target) -> Plan {
        Plan::request(target, self.config.retry_times_when_send_failed, true)
    }

    /// Like [`Producer::sync_plan`], but a full budget answers at once.
    fn try_plan(&self, target: Target) -> Plan {
        Plan::request(target, self.config.retry_times_when_send_failed, false)
    }

    pub(super) fn async_plan(&self, target: Target) -> Plan {
        Plan::request(target, self.config.retry_times_when_send_async_failed, true)
    }

    fn oneway_plan(&self, target: Target) -> Plan {
        Plan { target, max_attempts: 1, oneway: true, wait: true }
    }

    /// Looks up the routes of the configured topics, so the first sends need no lookup. Only a
    /// found route is kept: a failure here fails nothing (a send parked meanwhile has its own
    /// lookup, and the first send may still create the topic).
    fn warm_routes(&self, ctx: &mut Context<Self>) {
        let Some(instance) = self.membership.as_ref().map(|m| m.instance.clone()) else { return };
        for topic in &self.config.topics {
            let topic = crate::namespace::wrap(self.config.namespace.as_deref(), topic);
            let msg = self.publish_info_request(topic.clone(), self.config.client.request_timeout);
            let (instance, me) = (instance.clone(), ctx.address());
            actix_rt::spawn(async move {
                match instance.send(msg).await {
                    Ok(Ok(info)) => me.do_send(RouteWarmed { topic, info }),
                    Ok(Err(error)) => debug!(%topic, %error, "configured topic has no route yet"),
                    Err(_) => {}
                }
            });
        }
    }

    /// A single message's send (see [`Producer::submit`]).
    fn single<T: 'static>(
        &mut self,
        send: SendMessage,
        plan: fn(&Producer, Target) -> Plan,
        finish: Finish<T>,
        ctx: &mut Context<Self>,
    ) -> SendReply<T, ProducerRecord> {
        let SendMessage { record, timeout, target } = send;
        let plan = plan(self, target);
        self.submit(record, |enc, r| enc.single(r), plan, timeout, finish, ctx)
    }

    /// The drain is over (or its deadline passed): end what is left, leave the instance.
    fn finish_shutdown(&mut self) {
        let Closing::Draining(waiters) = std::mem::replace(&mut self.closing, Closing::Closed) else { return };
        if self.ledger.len() > 0 {
            warn!(group = %self.wire_group, left = self.ledger.len(), "drain deadline passed; ending the sends left");
            self.ledger.end_all(Send::timed_out);
        }
        if let Some(metrics) = &self.metrics {
            metrics.set_inflight(0, 0);
        }
        self.links.clear();
        let leave = self.membership.take().map(Membership::leave);
        let group = self.wire_group.clone();
        // Traces of the sends that just ended go out before the group leaves.
        let traces = self.tracing.as_mut().map(Tracing::close);
        actix_rt::spawn(async move {
            if let Some(traces) = traces {
                traces.await;
            }
            if let Some(leave) = leave {
                leave.await;
            }
            info!(group = %group, "producer shut down");
            for w in waiters {
                let _ = w.send(());
            }
        });
    }

    fn tick(&mut self) {
        let now = Instant::now();
        for id in self.ledger.overdue(now, SWEEP_GRACE) {
            warn!(group = %self.wire_group, "a send outlived its budget; ending it");
            if let Some(err) = self.ledger.get(id).map(Send::timed_out) {
                self.ledger.end(id, Err(err));
            }
        }
        for broker in self.routing.recovered(now) {
            self.events.emit(ProducerEvent::BrokerRecovered { broker });
        }
        if let Some(metrics) = &self.metrics {
            let budget = self.ledger.budget_ref();
            metrics.set_inflight(budget.messages(), budget.bytes());
        }
    }
}

/// Internal: a configured topic's route, looked up at start.
#[derive(Message)]
#[rtype(result = "()")]
struct RouteWarmed {
    topic: String,
    info: Arc<TopicPublishInfo>,
}

impl Handler<RouteWarmed> for Producer {
    type Result = ();

    fn handle(&mut self, msg: RouteWarmed, _: &mut Context<Self>) {
        self.route_updated(msg.topic, msg.info);
    }
}

/// The property carrying the W3C trace context (see [`Producer::with_trace_context`]).
pub const TRACEPARENT: &str = "traceparent";

/// Turns the caller's span into a W3C `traceparent` (see [`Producer::with_trace_context`]).
pub type TraceContext = Arc<dyn Fn(&tracing::Span) -> Option<String> + std::marker::Send + Sync>;

/// What a send hands back inside a failure: a record or a batch, and the topic it was for.
pub(super) trait SendsTo {
    fn topic(&self) -> &str;
}

impl SendsTo for ProducerRecord {
    fn topic(&self) -> &str {
        ProducerRecord::topic(self)
    }
}

impl SendsTo for Vec<ProducerRecord> {
    fn topic(&self) -> &str {
        self.first().map_or("", ProducerRecord::topic)
    }
}

/// Ticks the producer every [`TICK`] through a weak address: an interval in the actor's own
/// context would keep it alive after its last address is dropped.
fn spawn_ticker(me: actix::WeakAddr<Producer>) {
    actix_rt::spawn(async move {
        loop {
            tokio::time::sleep(TICK).await;
            match me.upgrade() {
                Some(addr) if addr.connected() => addr.do_send(Tick),
                _ => break,
            }
        }
    });
}

/// Internal: time to sweep.
#[derive(Message)]
#[rtype(result = "()")]
struct Tick;

impl Handler<Tick> for Producer {
    type Result = ();
    fn handle(&mut self, _: Tick, _: &mut Context<Self>) {
        self.tick();
    }
}

/// The outcome the ledger delivers; it always answers (its `Drop` included), so a closed
/// channel only means the runtime itself is going away.
impl Actor for Producer {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        if !self.ticking {
            self.ticking = true;
            spawn_ticker(ctx.address().downgrade());
        }
        if !self.rejoin {
            // A first start, or a restart of a producer that was not running (or is draining):
            // its membership, if any, still holds; parked sends go on at once.
            for id in std::mem::take(&mut self.resume) {
                self.route(id, ctx);
            }
            return;
        }
        // A restart of a running producer: join again (same token, so the instance renews the
        // registration), then send on what was parked. `wait` holds the mailbox meanwhile.
        self.rejoin = false;
        let join = self.join(ctx).run();
        ctx.wait(join.into_actor(self).map(|res, act, ctx| {
            let resumed = std::mem::take(&mut act.resume);
            match res {
                Ok(membership) => {
                    act.joined(membership, ctx);
                    info!(group = %act.wire_group, restarts = act.restarts, "producer restarted");
                    act.events.emit(ProducerEvent::Restarted { restarts: act.restarts });
                }
                Err(e) => {
                    warn!(group = %act.wire_group, error = %e, "producer could not rejoin after a restart");
                    act.state = ServiceState::StartFailed;
                    // Its drop unregisters the group.
                    act.membership = None;
                }
            }
            // Resumed sends go through stage Route again; without a membership it ends them.
            for id in resumed {
                act.route(id, ctx);
            }
        }));
    }
}

impl Supervised for Producer {
    /// Clean caches, same registration, same ledger: see [`Restart`].
    fn restarting(&mut self, _: &mut Context<Self>) {
        self.restarts += 1;
        // Sends parked on the old caches are sent again from stage Route by `started`.
        self.resume = self.unpark_all();
        self.routing = Routing::new();
        self.links = Links::default();
        self.rejoin = self.state == ServiceState::Running;
    }
}

impl Handler<Start> for Producer {
    type Result = AtomicResponse<Self, Result<(), StartError>>;

    fn handle(&mut self, _: Start, ctx: &mut Context<Self>) -> Self::Result {
        if self.state != ServiceState::CreateJust {
            return AtomicResponse::new(Box::pin(fut::ready(Err(StartError::WrongState(self.state)))));
        }
        // Like Java: a start that gets past this point and fails leaves START_FAILED.
        self.state = ServiceState::StartFailed;
        if let Err(e) = self.config.validate() {
            return AtomicResponse::new(Box::pin(fut::ready(Err(e.into()))));
        }
        let join = self.join(ctx).run();
        AtomicResponse::new(Box::pin(join.into_actor(self).map(|res, act, ctx| match res {
            Ok(membership) => {
                info!(group = %act.wire_group, client_id = %membership.handle.client_id, "producer started");
                act.joined(membership, ctx);
                if let Some(tracing) = &mut act.tracing {
                    tracing.start(&act.config);
                }
                act.warm_routes(ctx);
                Ok(())
            }
            Err(e) => {
                // A refused registration leaves nothing behind, so the producer may try again.
                if matches!(e, StartError::DuplicateGroup { .. }) {
                    act.state = ServiceState::CreateJust;
                }
                Err(e)
            }
        })))
    }
}

impl Handler<Shutdown> for Producer {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, _: Shutdown, ctx: &mut Context<Self>) -> Self::Result {
        // What is gathering goes out now, and the drain waits for it like any send.
        self.send_all_gathered(ctx);
        let was = self.state;
        self.state = ServiceState::ShutdownAlready;
        let (tx, rx) = oneshot::channel();
        if let Closing::Draining(waiters) = &mut self.closing {
            waiters.push(tx);
            return Box::pin(async move {
                let _ = rx.await;
            });
        }
        match self.closing {
            Closing::Closed | Closing::Draining(_) => return Box::pin(async {}),
            Closing::Open if was != ServiceState::Running => {
                self.closing = Closing::Closed;
                // A half-started producer may hold a membership; leave it.
                let leave = self.membership.take().map(Membership::leave);
                return Box::pin(async move {
                    if let Some(leave) = leave {
                        leave.await;
                    }
                });
            }
            Closing::Open => {
                self.closing = Closing::Draining(vec![tx]);
                info!(group = %self.wire_group, inflight = self.ledger.len(), "producer draining");
                let drained = self.ledger.drained();
                let deadline = self.config.drain_timeout.unwrap_or(self.config.send_msg_timeout);
                let me = ctx.address();
                actix_rt::spawn(async move {
                    let _ = tokio::time::timeout(deadline, drained).await;
                    me.do_send(DrainOver);
                });
            }
        }
        Box::pin(async move {
            let _ = rx.await;
        })
    }
}

/// Internal: the drain of a shutdown ended (everything answered, or the deadline passed).
#[derive(Message)]
#[rtype(result = "()")]
struct DrainOver;

impl Handler<DrainOver> for Producer {
    type Result = ();
    fn handle(&mut self, _: DrainOver, _: &mut Context<Self>) {
        self.finish_shutdown();
    }
}

impl Handler<Flush> for Producer {
    type Result = ResponseFuture<FlushReport>;

    fn handle(&mut self, _: Flush, ctx: &mut Context<Self>) -> Self::Result {
        self.send_all_gathered(ctx);
        let rx = self.ledger.flush();
        Box::pin(async move { rx.await.unwrap_or_default() })
    }
}

impl Handler<Restart> for Producer {
    type Result = ();

    fn handle(&mut self, _: Restart, ctx: &mut Context<Self>) {
        info!(group = %self.wire_group, "producer stopping for a restart");
        ctx.stop();
    }
}

impl Handler<SendMessage> for Producer {
    type Result = SendReply<SendResult, ProducerRecord>;

    fn handle(&mut self, msg: SendMessage, ctx: &mut Context<Self>) -> Self::Result {
        if self.gathers(&msg.record, &msg.target, ctx) {
            let (tx, rx) = oneshot::channel();
            let returned = msg.record.clone();
            self.gather(msg.record, MemberReply::Sync(tx), msg.timeout, msg.target, ctx);
            // (The accumulator and the ledger answer every member, even when the actor goes.)
            let stopped = SendError::Stopped { delivery: crate::error::Delivery::Unknown };
            return SendReply::later(Box::pin(async move { rx.await.unwrap_or(Err(SendFailure { error: stopped, returned })) }));
        }
        self.single(msg, Producer::sync_plan, expect_reply, ctx)
    }
}

impl Handler<TrySendMessage> for Producer {
    type Result = SendReply<SendResult, ProducerRecord>;

    fn handle(&mut self, msg: TrySendMessage, ctx: &mut Context<Self>) -> Self::Result {
        self.single(msg.0, Producer::try_plan, expect_reply, ctx)
    }
}

impl Handler<SendAsync> for Producer {
    /// Resolves once the send is admitted (or has ended): a caller awaiting each `SendAsync` is
    /// held back by the in-flight budget instead of queueing without limit. The outcome, success
    /// or failure, always goes to the callback.
    type Result = Response<()>;

    fn handle(&mut self, msg: SendAsync, ctx: &mut Context<Self>) -> Self::Result {
        let SendAsync { send, callback, context } = msg;
        let SendMessage { record, timeout, target } = send;
        if self.gathers(&record, &target, ctx) {
            self.gather(record, MemberReply::Async { to: callback, context }, timeout, target, ctx);
            return Response::reply(());
        }
        let plan = self.async_plan(target);
        let send = match self.admit_new(record.topic(), |enc| enc.single(&record), plan, timeout) {
            Ok(send) => send,
            Err(error) => {
                callback.deliver(SendOutcome { context, result: Err(SendFailure { error, returned: record }) });
                return Response::reply(());
            }
        };
        let id = self.accept(send, Completion::Callback { to: callback, context, record }, ctx);
        // Usually admitted on the spot: answer at once, with no channel and no task to wait.
        match self.ledger.when_admitted(id) {
            None => Response::reply(()),
            Some(rx) => Response::fut(async move {
                let _ = rx.await;
            }),
        }
    }
}

impl Handler<SendOneway> for Producer {
    type Result = SendReply<(), ProducerRecord>;

    fn handle(&mut self, msg: SendOneway, ctx: &mut Context<Self>) -> Self::Result {
        let send = SendMessage { record: msg.record, timeout: None, target: msg.target };
        self.single(send, Producer::oneway_plan, |_| Ok(()), ctx)
    }
}

impl Handler<SendBatch> for Producer {
    type Result = SendReply<SendResult, Vec<ProducerRecord>>;

    fn handle(&mut self, msg: SendBatch, ctx: &mut Context<Self>) -> Self::Result {
        let SendBatch { records, timeout, target } = msg;
        let plan = self.sync_plan(target);
        self.submit(records, |enc, r| enc.batch(r), plan, timeout, expect_reply, ctx)
    }
}

impl Handler<RouteUpdated> for Producer {
    type Result = ();

    fn handle(&mut self, msg: RouteUpdated, _: &mut Context<Self>) {
        if self.membership.is_some() || self.state == ServiceState::StartFailed {
            self.route_updated(msg.topic, msg.info);
        }
    }
}
