//! The `Producer` actor: lifecycle, publish info, queue choice and the send/retry loop.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use actix::prelude::*;
use bytes::Bytes;
use futures::future::{FutureExt, LocalBoxFuture, Shared};
use tracing::{debug, info};

use super::record::{ProducerRecord, SendResult, SendStatus};
use super::selector::QueueSelector;
use super::validate::{check_record, MAX_PROPERTIES_LEN};
use crate::client::instance::{
    ClientInstance, FetchPublishInfo, InstanceHandle, RegisterProducer, RouteUpdated, StartInstance, UnregisterProducer,
};
use crate::client::registry::{ClientRegistry, GetOrCreateInstance};
use crate::client::HeartbeatNow;
use crate::config::ProducerConfig;
use crate::error::{RemotingError, SendError, ServiceState, StartError, ValidationError};
use crate::protocol::codes::{request, response, response_name};
use crate::protocol::compression::{compress, CompressionType, COMPRESSED_FLAG};
use crate::protocol::header::{SendMessageRequestHeaderV2, SendMessageResponseHeader};
use crate::protocol::message_id::UniqIdGenerator;
use crate::protocol::properties::{encode_properties, names};
use crate::protocol::route::{MessageQueue, TopicPublishInfo};
use crate::protocol::RemotingCommand;
use crate::remoting::client::GetConnection;
use crate::remoting::{request as remote_request, Connection};

/// Bodies at least this large are compressed on a blocking thread, not on the actor's thread.
const OFFLOAD_COMPRESSION_AT: usize = 256 * 1024;

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

/// Where the producer is (state, clientId, group).
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
}

/// Send one message and wait for the broker's answer (the Java sync send).
///
/// ```no_run
/// use actix_rocketmq::{Producer, ProducerConfig, ProducerRecord, SendMessage};
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let producer = Producer::spawn(ProducerConfig::new("demo_group", "127.0.0.1:9876")).await?;
/// let result = producer.send(SendMessage::new(ProducerRecord::new("demo", "hi"))).await??;
/// println!("{result}");
/// # Ok(()) }
/// ```
#[derive(Message, Debug, Clone)]
#[rtype(result = "Result<SendResult, SendError>")]
pub struct SendMessage {
    pub record: ProducerRecord,
    /// Total budget for this send; `None` uses `send_msg_timeout`.
    pub timeout: Option<Duration>,
}

impl SendMessage {
    /// A sync send of `record` with the producer's default timeout.
    pub fn new(record: ProducerRecord) -> Self {
        SendMessage { record, timeout: None }
    }

    /// The same send with its own total budget.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
}

/// `Addr<Producer>` helpers that flatten the mailbox error into [`SendError`].
pub trait ProducerExt {
    /// Sends `record` and returns its result or a typed error (never a nested `Result`).
    fn send_message(&self, record: ProducerRecord) -> impl Future<Output = Result<SendResult, SendError>>;
    /// Shuts the producer down.
    fn shutdown(&self) -> impl Future<Output = ()>;
}

impl ProducerExt for Addr<Producer> {
    fn send_message(&self, record: ProducerRecord) -> impl Future<Output = Result<SendResult, SendError>> {
        let req = self.send(SendMessage::new(record));
        async move { req.await? }
    }

    fn shutdown(&self) -> impl Future<Output = ()> {
        let req = self.send(Shutdown);
        async move {
            let _ = req.await;
        }
    }
}

/// A message ready for the wire: properties encoded, body compressed if due.
struct Prepared {
    topic: String,
    body: Bytes,
    sys_flag: i32,
    flag: i32,
    properties: String,
    uniq_key: String,
}

/// One send in progress across its attempts.
struct SendJob {
    msg: Arc<Prepared>,
    started: Instant,
    budget: Duration,
    attempts: u32,
    max_attempts: u32,
    last_broker: Option<String>,
    last_error: Option<SendError>,
}

impl SendJob {
    fn left(&self) -> Duration {
        self.budget.saturating_sub(self.started.elapsed())
    }

    fn out_of_time(&self) -> SendError {
        match &self.last_error {
            Some(SendError::Remoting { source: RemotingError::Timeout { .. }, .. }) | None => {
                SendError::Timeout { budget: self.budget, attempts: self.attempts }
            }
            Some(e) => e.clone(),
        }
    }
}

type SendFuture = ResponseActFuture<Producer, Result<SendResult, SendError>>;
type RouteFetch = Shared<LocalBoxFuture<'static, Result<Arc<TopicPublishInfo>, SendError>>>;

/// Outcome of one attempt, before the retry decision.
enum Attempt {
    Done(Result<SendResult, SendError>),
    Retry(SendError),
}

/// One producer group. Owns its config, lifecycle state, publish info per topic, the queue
/// selector, the message-id generator and a cache of broker connections, so the hot path goes
/// `Addr<Producer>` -> `Producer` -> `Connection` with no other actor in between.
pub struct Producer {
    config: ProducerConfig,
    state: ServiceState,
    instance: Option<Addr<ClientInstance>>,
    handle: Option<InstanceHandle>,
    publish: HashMap<String, Arc<TopicPublishInfo>>,
    route_fetches: HashMap<String, RouteFetch>,
    conns: HashMap<String, Addr<Connection>>,
    selector: QueueSelector,
    ids: UniqIdGenerator,
}

impl Producer {
    /// A producer in `CREATE_JUST`; start the actor, then send [`Start`].
    pub fn new(config: ProducerConfig) -> Self {
        let ids = UniqIdGenerator::new(config.client.effective_client_ip(), std::process::id());
        Producer {
            config,
            state: ServiceState::CreateJust,
            instance: None,
            handle: None,
            publish: HashMap::new(),
            route_fetches: HashMap::new(),
            conns: HashMap::new(),
            selector: QueueSelector::default(),
            ids,
        }
    }

    /// Creates the actor and starts it (requires a running actix `System`).
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

    fn prepare(&mut self, record: ProducerRecord) -> Result<(Prepared, bool), SendError> {
        check_record(&record, self.config.max_message_size)?;
        let uniq_key = self.ids.next_id();
        let keys = record.keys().join(" ");
        let mut properties = String::with_capacity(64 + keys.len());
        let fixed = [
            (names::TAGS, record.tags().unwrap_or("")),
            (names::KEYS, keys.as_str()),
            (names::WAIT, if record.wait_store_msg_ok() { "true" } else { "false" }),
            (names::UNIQ_KEY, uniq_key.as_str()),
        ];
        let user = record.properties().iter().map(|(n, v)| (n.as_str(), v.as_str()));
        encode_properties(user.chain(fixed), &mut properties);
        if properties.len() > MAX_PROPERTIES_LEN {
            return Err(ValidationError::PropertiesTooLarge { size: properties.len(), max: MAX_PROPERTIES_LEN }.into());
        }
        let compress_due = record.body().len() >= self.config.compress_msg_body_over_howmuch;
        let prepared = Prepared {
            topic: record.topic().to_string(),
            body: record.body().clone(),
            sys_flag: 0,
            flag: record.flag(),
            properties,
            uniq_key,
        };
        Ok((prepared, compress_due))
    }

    /// The publish info of `topic`, if cached and usable.
    fn cached_publish(&self, topic: &str) -> Option<Arc<TopicPublishInfo>> {
        self.publish.get(topic).filter(|i| i.ok()).cloned()
    }

    /// One route fetch per topic at a time, shared by every send waiting for it.
    fn route_fetch(&mut self, topic: &str) -> Option<RouteFetch> {
        if let Some(f) = self.route_fetches.get(topic) {
            return Some(f.clone());
        }
        let instance = self.instance.clone()?;
        let msg = FetchPublishInfo {
            topic: topic.to_string(),
            create_topic_key: self.config.create_topic_key.clone(),
            default_queue_nums: self.config.default_topic_queue_nums,
            timeout: self.config.client.request_timeout,
        };
        let fut: LocalBoxFuture<'static, _> = async move { instance.send(msg).await? }.boxed_local();
        let shared = fut.shared();
        self.route_fetches.insert(topic.to_string(), shared.clone());
        Some(shared)
    }

    fn attempt(&mut self, job: SendJob) -> SendFuture {
        if self.state != ServiceState::Running {
            return Box::pin(fut::ready(Err(SendError::NotRunning(self.state))));
        }
        if job.left().is_zero() {
            return Box::pin(fut::ready(Err(job.out_of_time())));
        }
        let topic = job.msg.topic.clone();
        let Some(info) = self.cached_publish(&topic) else {
            let Some(fetch) = self.route_fetch(&topic) else {
                return Box::pin(fut::ready(Err(SendError::NotRunning(self.state))));
            };
            let left = job.left();
            return Box::pin(
                async move { tokio::time::timeout(left, fetch).await }.into_actor(self).then(move |res, act, _| {
                    act.route_fetches.remove(&topic);
                    match res {
                        Err(_elapsed) => Box::pin(fut::ready(Err(job.out_of_time()))) as SendFuture,
                        Ok(Err(e)) => Box::pin(fut::ready(Err(e))),
                        Ok(Ok(info)) => {
                            act.publish.insert(topic, info);
                            act.attempt(job)
                        }
                    }
                }),
            );
        };
        let Some(mq) = self.selector.select(&info.queues, job.last_broker.as_deref()).cloned() else {
            return Box::pin(fut::ready(Err(SendError::NoRoute { topic })));
        };
        let Some(addr) = info.masters.get(&mq.broker_name).cloned() else {
            return Box::pin(fut::ready(Err(SendError::NoRoute { topic })));
        };
        match self.conns.get(&addr).filter(|c| c.connected()).cloned() {
            Some(conn) => self.send_to(job, mq, addr, conn),
            None => {
                let Some(handle) = &self.handle else {
                    return Box::pin(fut::ready(Err(SendError::NotRunning(self.state))));
                };
                let get = handle.remoting.send(GetConnection(addr.clone()));
                Box::pin(get.into_actor(self).then(move |res, act, _| match res {
                    Ok(conn) => {
                        act.conns.insert(addr.clone(), conn.clone());
                        act.send_to(job, mq, addr, conn)
                    }
                    Err(_) => Box::pin(fut::ready(Err(SendError::Remoting {
                        attempts: job.attempts,
                        source: RemotingError::ActorGone { actor: "remoting client" },
                    }))) as SendFuture,
                }))
            }
        }
    }

    fn send_to(&mut self, mut job: SendJob, mq: MessageQueue, addr: String, conn: Addr<Connection>) -> SendFuture {
        job.attempts += 1;
        let msg = job.msg.clone();
        let born_timestamp = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
        let header = SendMessageRequestHeaderV2 {
            producer_group: self.config.group.clone(),
            topic: msg.topic.clone(),
            default_topic: self.config.create_topic_key.clone(),
            default_topic_queue_nums: self.config.default_topic_queue_nums,
            queue_id: mq.queue_id,
            sys_flag: msg.sys_flag,
            born_timestamp,
            flag: msg.flag,
            properties: msg.properties.clone(),
            reconsume_times: 0,
            unit_mode: false,
            max_reconsume_times: None,
            batch: false,
            broker_name: Some(mq.broker_name.clone()),
        };
        let cmd = RemotingCommand::request(request::SEND_MESSAGE_V2).with_header(&header).with_body(msg.body.clone());
        let left = job.left();
        let call = async move { remote_request(&conn, &addr, cmd, left).await };
        Box::pin(call.into_actor(self).then(move |reply, act, _| -> SendFuture {
            let outcome = act.judge(&job, &mq, reply);
            match outcome {
                Attempt::Done(res) => Box::pin(fut::ready(res)),
                Attempt::Retry(err) => {
                    debug!(topic = %mq.topic, broker = %mq.broker_name, attempt = job.attempts, error = %err, "send attempt failed");
                    let retry_left = job.attempts < job.max_attempts && !job.left().is_zero();
                    if !retry_left {
                        let final_err = match err {
                            SendError::Remoting { source: RemotingError::Timeout { .. }, .. } => {
                                SendError::Timeout { budget: job.budget, attempts: job.attempts }
                            }
                            other => other,
                        };
                        return Box::pin(fut::ready(Err(final_err)));
                    }
                    job.last_broker = Some(mq.broker_name.clone());
                    job.last_error = Some(err);
                    act.attempt(job)
                }
            }
        }))
    }

    /// Maps one reply (or transport failure) to a result, or to a retry.
    fn judge(&mut self, job: &SendJob, mq: &MessageQueue, reply: Result<RemotingCommand, RemotingError>) -> Attempt {
        let reply = match reply {
            Ok(r) => r,
            Err(source) => return Attempt::Retry(SendError::Remoting { attempts: job.attempts, source }),
        };
        let status = match reply.code {
            response::SUCCESS => SendStatus::SendOk,
            response::FLUSH_DISK_TIMEOUT => SendStatus::FlushDiskTimeout,
            response::FLUSH_SLAVE_TIMEOUT => SendStatus::FlushSlaveTimeout,
            response::SLAVE_NOT_AVAILABLE => SendStatus::SlaveNotAvailable,
            code => {
                let err = SendError::Broker {
                    broker: mq.broker_name.clone(),
                    code,
                    name: response_name(code),
                    remark: reply.remark.clone().unwrap_or_default(),
                };
                return if self.config.retry_response_codes.contains(&code) {
                    Attempt::Retry(err)
                } else {
                    Attempt::Done(Err(err))
                };
            }
        };
        let header: SendMessageResponseHeader = match reply.decode_header() {
            Ok(h) => h,
            Err(e) => return Attempt::Done(Err(SendError::BadReply(e))),
        };
        let result = SendResult {
            status,
            msg_id: job.msg.uniq_key.clone(),
            offset_msg_id: header.msg_id,
            message_queue: MessageQueue { topic: mq.topic.clone(), broker_name: mq.broker_name.clone(), queue_id: header.queue_id },
            queue_offset: header.queue_offset,
            transaction_id: header.transaction_id,
            region_id: header.region_id.filter(|r| !r.is_empty()).unwrap_or_else(|| "DefaultRegion".to_string()),
            trace_on: header.trace_on,
        };
        if status != SendStatus::SendOk && self.config.retry_another_broker_when_not_store_ok && job.attempts < job.max_attempts {
            return Attempt::Retry(SendError::Broker {
                broker: mq.broker_name.clone(),
                code: reply.code,
                name: response_name(reply.code),
                remark: format!("store status {status}"),
            });
        }
        Attempt::Done(Ok(result))
    }
}

impl Actor for Producer {
    type Context = Context<Self>;
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
        let group = self.config.group.clone();
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
                info!(group = %act.config.group, client_id = %handle.client_id, "producer started");
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
            let group = self.config.group.clone();
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
            .map(|_, act, _| info!(group = %act.config.group, "producer shut down")),
        ))
    }
}

impl Handler<SendMessage> for Producer {
    type Result = ResponseActFuture<Self, Result<SendResult, SendError>>;

    fn handle(&mut self, msg: SendMessage, _: &mut Context<Self>) -> Self::Result {
        if self.state != ServiceState::Running {
            return Box::pin(fut::ready(Err(SendError::NotRunning(self.state))));
        }
        let budget = msg.timeout.unwrap_or(self.config.send_msg_timeout);
        let started = Instant::now();
        let (mut prepared, compress_due) = match self.prepare(msg.record) {
            Ok(p) => p,
            Err(e) => return Box::pin(fut::ready(Err(e))),
        };
        let max_attempts = 1 + self.config.retry_times_when_send_failed;
        let make_job = move |p: Prepared| SendJob {
            msg: Arc::new(p),
            started,
            budget,
            attempts: 0,
            max_attempts,
            last_broker: None,
            last_error: None,
        };
        if !compress_due {
            return self.attempt(make_job(prepared));
        }
        let level = self.config.compress_level;
        if prepared.body.len() < OFFLOAD_COMPRESSION_AT {
            compress_into(&mut prepared, level);
            return self.attempt(make_job(prepared));
        }
        // Big bodies: deflate off the actor's thread so other sends keep flowing.
        let work = tokio::task::spawn_blocking(move || {
            compress_into(&mut prepared, level);
            prepared
        });
        Box::pin(work.into_actor(self).then(move |res, act, _| match res {
            Ok(prepared) => act.attempt(make_job(prepared)),
            Err(e) => Box::pin(fut::ready(Err(SendError::Mailbox(format!("compression task failed: {e}"))))) as SendFuture,
        }))
    }
}

/// Compresses the body with zlib when that helps; keeps it raw otherwise (or on error).
fn compress_into(p: &mut Prepared, level: u32) {
    if let Ok(z) = compress(CompressionType::Zlib, level, &p.body) {
        if z.len() < p.body.len() {
            p.body = Bytes::from(z);
            p.sys_flag |= COMPRESSED_FLAG | CompressionType::Zlib.sys_flag_bits();
        }
    }
}

impl Handler<RouteUpdated> for Producer {
    type Result = ();

    fn handle(&mut self, msg: RouteUpdated, _: &mut Context<Self>) {
        if self.state == ServiceState::Running || self.state == ServiceState::StartFailed {
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
        })
    }
}
