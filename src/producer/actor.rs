//! The `Producer` actor: its state, lifecycle handlers and the entry points of every send kind.
//! The attempt/retry machinery lives in `send.rs`.

// A failed send carries the user's message back by design (`SendFailure`); failures are the rare
// path, so the larger `Err` is worth not boxing every result.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use tracing::info;

use super::budget::InflightBudget;
use super::fault::LatencyFaultTable;
use super::messages::*;
use super::queue_select::Target;
use super::record::{ProducerRecord, SendResult};
use super::selector::QueueSelector;
use super::send::{expect_reply, Completion, Outcome, Parked, Prepared, SendJob};
use crate::client::instance::{ClientInstance, InstanceHandle, RegisterProducer, RouteUpdated, StartInstance, UnregisterProducer};
use crate::client::registry::{ClientRegistry, GetOrCreateInstance};
use crate::client::HeartbeatNow;
use crate::config::ProducerConfig;
use crate::error::{SendError, ServiceState, StartError};
use crate::protocol::message_id::UniqIdGenerator;
use crate::protocol::route::TopicPublishInfo;
use crate::remoting::Connection;
use tokio::sync::oneshot;

/// One producer group. Owns its config, lifecycle state, publish info per topic, the queue
/// selector and fault table, the message-id generator, the in-flight budget and a cache of
/// broker connections, so the hot path goes `Addr<Producer>` -> `Producer` -> `Connection` with
/// no other actor in between.
pub struct Producer {
    pub(super) config: ProducerConfig,
    /// The group as brokers see it (namespace-prefixed).
    pub(super) wire_group: String,
    pub(super) state: ServiceState,
    pub(super) instance: Option<Addr<ClientInstance>>,
    pub(super) handle: Option<InstanceHandle>,
    pub(super) publish: HashMap<String, Arc<TopicPublishInfo>>,
    pub(super) parked: Parked,
    pub(super) conns: HashMap<String, Addr<Connection>>,
    pub(super) selector: QueueSelector,
    pub(super) faults: LatencyFaultTable,
    pub(super) fault_counter: u32,
    pub(super) ids: UniqIdGenerator,
    pub(super) budget: InflightBudget,
}

impl Producer {
    /// A producer in `CREATE_JUST`; start the actor, then send [`Start`].
    pub fn new(config: ProducerConfig) -> Self {
        let ids = UniqIdGenerator::new(config.client.effective_client_ip(), std::process::id());
        let budget = InflightBudget::new(config.max_inflight_messages, config.max_inflight_bytes);
        Producer {
            wire_group: config.wire_group(),
            config,
            state: ServiceState::CreateJust,
            instance: None,
            handle: None,
            publish: HashMap::new(),
            parked: Parked::default(),
            conns: HashMap::new(),
            selector: QueueSelector::default(),
            faults: LatencyFaultTable::default(),
            fault_counter: fastrand::u32(..),
            ids,
            budget,
        }
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

    #[allow(clippy::too_many_arguments)]
    fn job(
        &self,
        prepared: Prepared,
        timeout: Option<Duration>,
        target: Target,
        max_attempts: u32,
        wait: bool,
        oneway: bool,
        done: Completion,
    ) -> SendJob {
        let auto = matches!(target, Target::Auto);
        SendJob {
            msg: Arc::new(prepared),
            started: Instant::now(),
            budget: timeout.unwrap_or(self.config.send_msg_timeout),
            attempts: 0,
            // Sends to a chosen queue get one attempt, as in Java.
            max_attempts: if auto { max_attempts } else { 1 },
            target,
            last_broker: None,
            last_error: None,
            go_away_resent: false,
            oneway,
            wait,
            admitted: false,
            on_admit: None,
            done: Some(done),
        }
    }

    /// Any request-reply or one-way send: state and validation here; the rest runs in the send
    /// machinery and answers through a oneshot the returned future awaits. `returned` (the
    /// message or batch) comes back inside the failure.
    #[allow(clippy::too_many_arguments)]
    fn submit<R: 'static, T: 'static>(
        &mut self,
        returned: R,
        prepare: fn(&mut Producer, &R) -> Result<Prepared, SendError>,
        timeout: Option<Duration>,
        target: Target,
        opts: (u32, bool, bool),
        finish: fn(Option<SendResult>) -> Result<T, SendError>,
        ctx: &mut Context<Self>,
    ) -> ResponseFuture<Result<T, SendFailure<R>>> {
        let (max_attempts, wait, oneway) = opts;
        let prepared = if self.state == ServiceState::Running {
            prepare(self, &returned)
        } else {
            Err(SendError::NotRunning(self.state))
        };
        let prepared = match prepared {
            Ok(p) => p,
            Err(error) => return Box::pin(async move { Err(SendFailure { error, returned }) }),
        };
        let (tx, rx) = oneshot::channel();
        let job = self.job(prepared, timeout, target, max_attempts, wait, oneway, Completion::Reply(tx));
        self.start_job(job, ctx);
        Box::pin(async move { settle(rx).await.and_then(finish).map_err(|error| SendFailure { error, returned }) })
    }

    /// A single message's send (see [`Producer::submit`]).
    fn single<T: 'static>(
        &mut self,
        send: SendMessage,
        (max_attempts, wait, oneway): (u32, bool, bool),
        finish: fn(Option<SendResult>) -> Result<T, SendError>,
        ctx: &mut Context<Self>,
    ) -> ResponseFuture<Result<T, SendFailure>> {
        let SendMessage { record, timeout, target } = send;
        self.submit(record, |p, r| p.prepare_single(r), timeout, target, (max_attempts, wait, oneway), finish, ctx)
    }
}

/// The outcome a send machinery delivers; a dropped sender means the actor stopped.
async fn settle(rx: oneshot::Receiver<Outcome>) -> Outcome {
    rx.await.unwrap_or_else(|_| Err(SendError::Mailbox("the producer stopped before the send ended".into())))
}

impl Actor for Producer {
    type Context = Context<Self>;

    /// A producer whose last address was dropped without `Shutdown` still leaves its instance
    /// cleanly, so the group does not stay registered (and heartbeated) forever.
    fn stopping(&mut self, _: &mut Context<Self>) -> Running {
        if self.state == ServiceState::Running {
            if let Some(instance) = self.instance.take() {
                instance.do_send(UnregisterProducer { group: self.wire_group.clone() });
            }
            self.state = ServiceState::ShutdownAlready;
        }
        Running::Stop
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
        let client_config = self.config.client.clone();
        let group = self.wire_group.clone();
        let routes = ctx.address().recipient::<RouteUpdated>();
        let flow = async move {
            let registry = ClientRegistry::from_registry();
            // An instance shutting down refuses new groups; the registry forgets it right after,
            // so a short retry gets a fresh instance.
            let mut attempt = 0;
            let (instance, handle) = loop {
                attempt += 1;
                let instance = registry.send(GetOrCreateInstance { config: client_config.clone() }).await??;
                match instance.send(RegisterProducer { group: group.clone(), routes: routes.clone() }).await? {
                    Ok(handle) => break (instance, handle),
                    Err(StartError::InstanceShutDown(_)) if attempt < 5 => {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    Err(e) => return Err(e),
                }
            };
            if let Err(e) = instance.send(StartInstance).await? {
                instance.do_send(UnregisterProducer { group: group.clone() });
                return Err(e);
            }
            instance.do_send(HeartbeatNow);
            Ok::<_, StartError>((instance, handle))
        };
        AtomicResponse::new(Box::pin(flow.into_actor(self).map(|res, act, _| match res {
            Ok((instance, handle)) => {
                info!(group = %act.wire_group, client_id = %handle.client_id, "producer started");
                act.instance = Some(instance);
                act.handle = Some(handle);
                act.state = ServiceState::Running;
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
    type Result = AtomicResponse<Self, ()>;

    fn handle(&mut self, _: Shutdown, _: &mut Context<Self>) -> Self::Result {
        let was = self.state;
        if was == ServiceState::ShutdownAlready {
            return AtomicResponse::new(Box::pin(fut::ready(())));
        }
        self.state = ServiceState::ShutdownAlready;
        self.conns.clear();
        self.publish.clear();
        let unregister = self.instance.take().filter(|_| was == ServiceState::Running).map(|instance| {
            let group = self.wire_group.clone();
            async move {
                let _ = instance.send(UnregisterProducer { group }).await;
            }
        });
        AtomicResponse::new(Box::pin(
            async move {
                if let Some(u) = unregister {
                    u.await;
                }
            }
            .into_actor(self)
            .map(|_, act, _| info!(group = %act.wire_group, "producer shut down")),
        ))
    }
}

impl Handler<SendMessage> for Producer {
    type Result = ResponseFuture<Result<SendResult, SendFailure>>;

    fn handle(&mut self, msg: SendMessage, ctx: &mut Context<Self>) -> Self::Result {
        let attempts = 1 + self.config.retry_times_when_send_failed;
        self.single(msg, (attempts, true, false), expect_reply, ctx)
    }
}

impl Handler<TrySendMessage> for Producer {
    type Result = ResponseFuture<Result<SendResult, SendFailure>>;

    fn handle(&mut self, msg: TrySendMessage, ctx: &mut Context<Self>) -> Self::Result {
        let attempts = 1 + self.config.retry_times_when_send_failed;
        self.single(msg.0, (attempts, false, false), expect_reply, ctx)
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
        if self.state != ServiceState::Running {
            let error = SendError::NotRunning(self.state);
            callback.do_send(SendOutcome { context, result: Err(SendFailure { error, returned: record }) });
            return Response::reply(());
        }
        let prepared = match self.prepare_single(&record) {
            Ok(p) => p,
            Err(error) => {
                callback.do_send(SendOutcome { context, result: Err(SendFailure { error, returned: record }) });
                return Response::reply(());
            }
        };
        let attempts = 1 + self.config.retry_times_when_send_async_failed;
        let done = Completion::Callback { to: callback, context, record };
        let mut job = self.job(prepared, timeout, target, attempts, true, false, done);
        let (tx, mut rx) = oneshot::channel();
        job.on_admit = Some(tx);
        self.start_job(job, ctx);
        // Usually admitted on the spot: answer at once instead of spawning a task to wait.
        if rx.try_recv().is_ok() {
            return Response::reply(());
        }
        Response::fut(async move {
            let _ = rx.await;
        })
    }
}

impl Handler<SendOneway> for Producer {
    type Result = ResponseFuture<Result<(), SendFailure>>;

    fn handle(&mut self, msg: SendOneway, ctx: &mut Context<Self>) -> Self::Result {
        let send = SendMessage { record: msg.record, timeout: None, target: msg.target };
        self.single(send, (1, true, true), |_| Ok(()), ctx)
    }
}

impl Handler<SendBatch> for Producer {
    type Result = ResponseFuture<Result<SendResult, SendFailure<Vec<ProducerRecord>>>>;

    fn handle(&mut self, msg: SendBatch, ctx: &mut Context<Self>) -> Self::Result {
        let SendBatch { records, timeout, target } = msg;
        let attempts = 1 + self.config.retry_times_when_send_failed;
        self.submit(records, |p, r| p.prepare_batch(r), timeout, target, (attempts, true, false), expect_reply, ctx)
    }
}

impl Handler<RouteUpdated> for Producer {
    type Result = ();

    fn handle(&mut self, msg: RouteUpdated, _: &mut Context<Self>) {
        if matches!(self.state, ServiceState::Running | ServiceState::StartFailed) {
            self.publish.insert(msg.topic, msg.info);
        }
    }
}

impl Handler<GetProducerStatus> for Producer {
    type Result = MessageResult<GetProducerStatus>;

    fn handle(&mut self, _: GetProducerStatus, _: &mut Context<Self>) -> Self::Result {
        let mut topics: Vec<String> = self.publish.keys().cloned().collect();
        topics.sort();
        MessageResult(ProducerStatus {
            state: self.state,
            group: self.config.group.clone(),
            client_id: self.handle.as_ref().map(|h| h.client_id.clone()),
            topics,
            inflight_messages: self.budget.messages(),
            inflight_bytes: self.budget.bytes(),
            waiting_sends: self.budget.waiting(),
        })
    }
}
