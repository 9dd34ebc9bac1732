//! The send machinery of the `Producer` actor: prepare, admit, attempt, judge, retry.
//!
//! Every step that touches producer state runs inside the actor (between awaits, through
//! `ActorFuture` combinators); only the network wait runs outside it. A send therefore never
//! holds a lock, and many sends interleave freely on one actor.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use actix::prelude::*;
use bytes::Bytes;
use futures::future::{FutureExt, LocalBoxFuture, Shared};
use tracing::debug;

use super::actor::Producer;
use super::batch::{check_batch, encode_batch};
use super::namespace::{unwrap, wrap};
use super::queue_select::Target;
use super::record::{ProducerRecord, SendResult, SendStatus};
use super::validate::{check_record, MAX_PROPERTIES_LEN, MAX_TOPIC_LEN};
use crate::client::instance::FetchPublishInfo;
use crate::error::{RemotingError, SendError, ServiceState, ValidationError};
use crate::protocol::codes::{request, response, response_name};
use crate::protocol::compression::{compress, COMPRESSED_FLAG};
use crate::protocol::header::{SendMessageRequestHeaderV2, SendMessageResponseHeader};
use crate::protocol::properties::{encode_properties, names};
use crate::protocol::route::{MessageQueue, TopicPublishInfo};
use crate::protocol::RemotingCommand;
use crate::remoting::client::{CloseConnection, GetConnection};
use crate::remoting::connection::Oneway;
use crate::remoting::{request as remote_request, Connection};

/// Bodies at least this large are compressed on a blocking thread, not on the actor's thread.
const OFFLOAD_COMPRESSION_AT: usize = 256 * 1024;

/// What the attempt machinery yields: the broker's result, or `None` for a one-way write.
pub(super) type SendFuture = ResponseActFuture<Producer, Result<Option<SendResult>, SendError>>;
/// A route fetch shared by every send waiting for the same topic.
pub(super) type RouteFetch = Shared<LocalBoxFuture<'static, Result<Arc<TopicPublishInfo>, SendError>>>;

/// A message (or batch) ready for the wire.
pub(super) struct Prepared {
    pub(super) code: i32,
    /// Namespace-prefixed topic.
    pub(super) topic: String,
    pub(super) body: Bytes,
    pub(super) sys_flag: i32,
    pub(super) flag: i32,
    pub(super) properties: String,
    /// What the user sees as msgId: the UNIQ_KEY, or the inner ones joined by `,` for a batch.
    pub(super) msg_id: String,
    /// The batch envelope's own UNIQ_KEY (used when the broker reports an inner batch).
    pub(super) envelope_key: Option<String>,
    pub(super) batch: bool,
    pub(super) compress: bool,
}

/// One send in progress across its attempts.
pub(super) struct SendJob {
    pub(super) msg: Arc<Prepared>,
    pub(super) started: Instant,
    pub(super) budget: Duration,
    pub(super) attempts: u32,
    pub(super) max_attempts: u32,
    pub(super) target: Target,
    pub(super) last_broker: Option<String>,
    pub(super) last_error: Option<SendError>,
    pub(super) go_away_resent: bool,
}

impl SendJob {
    fn left(&self) -> Duration {
        self.budget.saturating_sub(self.started.elapsed())
    }

    /// The error of a send whose budget ran out: the last real failure if there was one.
    fn out_of_time(&self) -> SendError {
        match &self.last_error {
            Some(SendError::Remoting { source: RemotingError::Timeout { .. }, .. }) | None => {
                SendError::Timeout { budget: self.budget, attempts: self.attempts }
            }
            Some(e) => e.clone(),
        }
    }
}

/// Outcome of one attempt, before the retry decision.
enum Attempt {
    Done(Result<SendResult, SendError>),
    Retry(SendError),
    /// The broker is shutting down this connection: reconnect and resend once.
    GoAway(SendError),
}

enum Admission {
    Admitted,
    /// Room was granted just as the wait timed out: give it back.
    LateGrant,
    Refused,
}

fn ready(res: Result<Option<SendResult>, SendError>) -> SendFuture {
    Box::pin(fut::ready(res))
}

impl Producer {
    fn extra_properties(&self) -> Vec<(&'static str, String)> {
        match self.config.namespace.as_deref().filter(|n| !n.is_empty()) {
            Some(ns) => vec![(names::INSTANCE_ID, ns.to_string())],
            None => Vec::new(),
        }
    }

    fn wire_topic(&self, topic: &str) -> Result<String, SendError> {
        let wired = wrap(self.config.namespace.as_deref(), topic);
        if wired.len() > MAX_TOPIC_LEN {
            return Err(ValidationError::TopicTooLong { len: wired.len(), max: MAX_TOPIC_LEN }.into());
        }
        Ok(wired)
    }

    /// Validates and encodes one message; nothing is sent if this fails.
    pub(super) fn prepare_single(&mut self, record: &ProducerRecord) -> Result<Prepared, SendError> {
        check_record(record, self.config.max_message_size)?;
        let topic = self.wire_topic(record.topic())?;
        let uniq_key = self.ids.next_id();
        let extra = self.extra_properties();
        let extra: Vec<(&str, &str)> = extra.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let mut properties = String::with_capacity(96);
        record.encode_properties(&uniq_key, &extra, &mut properties);
        if properties.len() > MAX_PROPERTIES_LEN {
            return Err(ValidationError::PropertiesTooLarge { size: properties.len(), max: MAX_PROPERTIES_LEN }.into());
        }
        Ok(Prepared {
            code: request::SEND_MESSAGE_V2,
            topic,
            body: record.body().clone(),
            sys_flag: 0,
            flag: record.flag(),
            properties,
            msg_id: uniq_key,
            envelope_key: None,
            batch: false,
            compress: record.body().len() >= self.config.compress_msg_body_over_howmuch,
        })
    }

    /// Validates and encodes a batch: every message gets its own UNIQ_KEY, the envelope one more.
    pub(super) fn prepare_batch(&mut self, records: &[ProducerRecord]) -> Result<Prepared, SendError> {
        check_batch(records, self.config.max_message_size)?;
        let first = records.first().ok_or(ValidationError::EmptyBatch)?;
        let topic = self.wire_topic(first.topic())?;
        let keys: Vec<String> = records.iter().map(|_| self.ids.next_id()).collect();
        let extra = self.extra_properties();
        let extra: Vec<(&str, &str)> = extra.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let body = encode_batch(records, &keys, &extra, self.config.max_message_size)?;
        // No UNIQ_KEY on the envelope, unlike Java: a 5.3.3 broker appends the envelope's
        // properties to every inner message, and a later duplicate key wins when read, so an
        // envelope id would replace each message's own id (seen against the real broker).
        let wait = if first.wait_store_msg_ok() { "true" } else { "false" };
        let mut properties = String::new();
        let envelope = [(names::WAIT, wait)];
        encode_properties(envelope.into_iter().chain(extra.iter().copied()), &mut properties);
        Ok(Prepared {
            code: request::SEND_BATCH_MESSAGE,
            topic,
            body,
            sys_flag: 0,
            flag: 0,
            properties,
            msg_id: keys.join(","),
            envelope_key: None,
            batch: true,
            // Java never compresses batches; brokers store inner messages uncompressed.
            compress: false,
        })
    }

    /// Compresses the body when due, then continues with `then`. Big bodies are deflated on a
    /// blocking thread so the actor keeps serving other sends; `fail` reports a lost task.
    pub(super) fn compress_then<T, F, E>(&mut self, mut p: Prepared, then: F, fail: E) -> ResponseActFuture<Producer, T>
    where
        T: 'static,
        F: FnOnce(&mut Producer, Prepared) -> ResponseActFuture<Producer, T> + 'static,
        E: FnOnce(SendError) -> T + 'static,
    {
        if !p.compress {
            return then(self, p);
        }
        let (kind, level) = (self.config.compress_type, self.config.compress_level);
        let squeeze = move |p: &mut Prepared| {
            if let Ok(z) = compress(kind, level, &p.body) {
                if z.len() < p.body.len() {
                    p.body = Bytes::from(z);
                    p.sys_flag |= COMPRESSED_FLAG | kind.sys_flag_bits();
                }
            }
        };
        if p.body.len() < OFFLOAD_COMPRESSION_AT {
            squeeze(&mut p);
            return then(self, p);
        }
        let work = tokio::task::spawn_blocking(move || {
            squeeze(&mut p);
            p
        });
        Box::pin(work.into_actor(self).then(move |res, act, _| match res {
            Ok(p) => then(act, p),
            Err(e) => Box::pin(fut::ready(fail(SendError::Mailbox(format!("compression task failed: {e}"))))),
        }))
    }

    /// Takes room in the in-flight budget, waiting for it (within the send's budget) when
    /// `wait`; a send that gets no room ends with `Full` or its timeout.
    pub(super) fn acquire(&mut self, job: SendJob, wait: bool) -> ResponseActFuture<Producer, Result<SendJob, SendError>> {
        let size = job.msg.body.len();
        if self.budget.try_acquire(size) {
            return Box::pin(fut::ready(Ok(job)));
        }
        if !wait {
            return Box::pin(fut::ready(Err(SendError::Full { messages: self.budget.messages(), bytes: self.budget.bytes() })));
        }
        let mut rx = self.budget.wait(size);
        let left = job.left();
        let waiting = async move {
            match tokio::time::timeout(left, &mut rx).await {
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
            }
        };
        Box::pin(waiting.into_actor(self).map(move |admission, act, _| match admission {
            Admission::Admitted => Ok(job),
            Admission::LateGrant => {
                act.budget.release(size);
                Err(job.out_of_time())
            }
            Admission::Refused => {
                act.budget.forget_abandoned();
                Err(job.out_of_time())
            }
        }))
    }

    /// Runs the attempts of an admitted send and gives its room back however they end.
    pub(super) fn run(&mut self, job: SendJob, oneway: bool) -> SendFuture {
        let size = job.msg.body.len();
        Box::pin(self.attempt(job, oneway).map(move |res, act, _| {
            act.budget.release(size);
            res
        }))
    }

    /// [`Producer::acquire`] then [`Producer::run`].
    pub(super) fn admit(&mut self, job: SendJob, wait: bool, oneway: bool) -> SendFuture {
        Box::pin(self.acquire(job, wait).then(move |res, act, _| match res {
            Ok(job) => act.run(job, oneway),
            Err(e) => ready(Err(e)),
        }))
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

    /// The queue of this attempt: round robin (optionally latency-aware), a given queue, or the
    /// user selector's choice.
    fn choose_queue(&mut self, info: &TopicPublishInfo, job: &SendJob) -> Result<MessageQueue, SendError> {
        let no_route = || SendError::NoRoute { topic: job.msg.topic.clone() };
        match &job.target {
            Target::Auto => {
                let last = job.last_broker.as_deref();
                let q = if self.config.send_latency_fault_enable {
                    super::fault::select_queue(&info.queues, &mut self.fault_counter, last, &self.faults, Instant::now())
                } else {
                    self.selector.select(&info.queues, last)
                };
                q.cloned().ok_or_else(no_route)
            }
            Target::Queue(mq) => {
                let wired = MessageQueue { topic: wrap(self.config.namespace.as_deref(), &mq.topic), ..mq.clone() };
                if info.queues.contains(&wired) {
                    Ok(wired)
                } else {
                    Err(ValidationError::UnknownQueue {
                        topic: job.msg.topic.clone(),
                        queue: format!("{}:{}:{}", mq.topic, mq.broker_name, mq.queue_id),
                    }
                    .into())
                }
            }
            Target::Selected { selector, arg } => selector
                .select(&info.queues, arg)
                .and_then(|i| info.queues.get(i))
                .cloned()
                .ok_or(SendError::NoQueueSelected),
        }
    }

    fn attempt(&mut self, job: SendJob, oneway: bool) -> SendFuture {
        if self.state != ServiceState::Running {
            return ready(Err(SendError::NotRunning(self.state)));
        }
        if job.left().is_zero() {
            return ready(Err(job.out_of_time()));
        }
        let topic = job.msg.topic.clone();
        let Some(info) = self.cached_publish(&topic) else {
            let Some(fetch) = self.route_fetch(&topic) else {
                return ready(Err(SendError::NotRunning(self.state)));
            };
            let left = job.left();
            return Box::pin(async move { tokio::time::timeout(left, fetch).await }.into_actor(self).then(
                move |res, act, _| {
                    act.route_fetches.remove(&topic);
                    match res {
                        Err(_elapsed) => ready(Err(job.out_of_time())),
                        Ok(Err(e)) => ready(Err(e)),
                        Ok(Ok(info)) => {
                            act.publish.insert(topic, info);
                            act.attempt(job, oneway)
                        }
                    }
                },
            ));
        };
        let mq = match self.choose_queue(&info, &job) {
            Ok(mq) => mq,
            Err(e) => return ready(Err(e)),
        };
        let Some(addr) = info.masters.get(&mq.broker_name).cloned() else {
            return ready(Err(SendError::NoRoute { topic }));
        };
        self.with_connection(job, mq, addr, oneway)
    }

    /// Continues with the cached connection to `addr`, or gets one from the remoting client.
    fn with_connection(&mut self, job: SendJob, mq: MessageQueue, addr: String, oneway: bool) -> SendFuture {
        if let Some(conn) = self.conns.get(&addr).filter(|c| c.connected()).cloned() {
            return self.send_to(job, mq, addr, conn, oneway);
        }
        let Some(handle) = &self.handle else {
            return ready(Err(SendError::NotRunning(self.state)));
        };
        let get = handle.remoting.send(GetConnection(addr.clone()));
        Box::pin(get.into_actor(self).then(move |res, act, _| match res {
            Ok(conn) => {
                act.conns.insert(addr.clone(), conn.clone());
                act.send_to(job, mq, addr, conn, oneway)
            }
            Err(_) => ready(Err(SendError::Remoting {
                attempts: job.attempts,
                source: RemotingError::ActorGone { actor: "remoting client" },
            })),
        }))
    }

    fn build_command(&self, msg: &Prepared, mq: &MessageQueue) -> RemotingCommand {
        let born_timestamp = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
        let header = SendMessageRequestHeaderV2 {
            producer_group: self.wire_group.clone(),
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
            batch: msg.batch,
            broker_name: Some(mq.broker_name.clone()),
        };
        RemotingCommand::request(msg.code).with_header(&header).with_body(msg.body.clone())
    }

    fn send_to(&mut self, mut job: SendJob, mq: MessageQueue, addr: String, conn: Addr<Connection>, oneway: bool) -> SendFuture {
        job.attempts += 1;
        let cmd = self.build_command(&job.msg, &mq);
        if oneway {
            let attempts = job.attempts;
            let closed = RemotingError::ConnectionClosed { addr: addr.clone() };
            return Box::pin(conn.send(Oneway { cmd }).into_actor(self).map(move |res, _, _| match res {
                Ok(Ok(())) => Ok(None),
                Ok(Err(source)) => Err(SendError::Remoting { attempts, source }),
                Err(_) => Err(SendError::Remoting { attempts, source: closed }),
            }));
        }
        let left = job.left();
        let begin = Instant::now();
        let call = {
            let addr = addr.clone();
            async move { remote_request(&conn, &addr, cmd, left).await }
        };
        Box::pin(call.into_actor(self).then(move |reply, act, _| {
            let outcome = act.judge(&job, &mq, reply);
            act.record_latency(&mq.broker_name, begin.elapsed(), &outcome);
            match outcome {
                Attempt::Done(res) => ready(res.map(Some)),
                Attempt::GoAway(_) if !job.go_away_resent && !job.left().is_zero() => {
                    // Java 5.3 behaviour: a fresh connection to the same address, the same request
                    // once more; it does not count as another attempt.
                    debug!(broker = %addr, "GO_AWAY: reconnecting and resending once");
                    job.go_away_resent = true;
                    job.attempts -= 1;
                    act.conns.remove(&addr);
                    if let Some(h) = &act.handle {
                        h.remoting.do_send(CloseConnection(addr.clone()));
                    }
                    act.with_connection(job, mq, addr, false)
                }
                Attempt::GoAway(err) | Attempt::Retry(err) => act.retry(job, mq, err),
            }
        }))
    }

    fn retry(&mut self, mut job: SendJob, mq: MessageQueue, err: SendError) -> SendFuture {
        debug!(topic = %mq.topic, broker = %mq.broker_name, attempt = job.attempts, error = %err, "send attempt failed");
        if job.attempts >= job.max_attempts || job.left().is_zero() {
            let final_err = match err {
                SendError::Remoting { source: RemotingError::Timeout { .. }, .. } => {
                    SendError::Timeout { budget: job.budget, attempts: job.attempts }
                }
                other => other,
            };
            return ready(Err(final_err));
        }
        job.last_broker = Some(mq.broker_name);
        job.last_error = Some(err);
        self.attempt(job, false)
    }

    /// Feeds the latency fault table (5.x rules): success or client error -> not isolated;
    /// transport error -> isolated but reachable; broker error code -> isolated, unreachable.
    fn record_latency(&mut self, broker: &str, latency: Duration, outcome: &Attempt) {
        if !self.config.send_latency_fault_enable {
            return;
        }
        let (isolation, reachable) = match outcome {
            Attempt::Done(Ok(_)) => (false, true),
            Attempt::Retry(SendError::Remoting { .. }) => (true, true),
            Attempt::Retry(SendError::Broker { .. }) | Attempt::GoAway(_) | Attempt::Done(Err(SendError::Broker { .. })) => {
                (true, false)
            }
            _ => (false, true),
        };
        self.faults.update(broker, latency, isolation, reachable, Instant::now());
    }

    /// Maps one reply (or transport failure) to a result, a retry, or a GO_AWAY resend.
    fn judge(&mut self, job: &SendJob, mq: &MessageQueue, reply: Result<RemotingCommand, RemotingError>) -> Attempt {
        let reply = match reply {
            Ok(r) => r,
            Err(source) => return Attempt::Retry(SendError::Remoting { attempts: job.attempts, source }),
        };
        let broker_error = |code: i32, remark: String| SendError::Broker {
            broker: mq.broker_name.clone(),
            code,
            name: response_name(code),
            remark,
        };
        let status = match reply.code {
            response::SUCCESS => SendStatus::SendOk,
            response::FLUSH_DISK_TIMEOUT => SendStatus::FlushDiskTimeout,
            response::FLUSH_SLAVE_TIMEOUT => SendStatus::FlushSlaveTimeout,
            response::SLAVE_NOT_AVAILABLE => SendStatus::SlaveNotAvailable,
            response::GO_AWAY => return Attempt::GoAway(broker_error(response::GO_AWAY, reply.remark.unwrap_or_default())),
            code => {
                let err = broker_error(code, reply.remark.unwrap_or_default());
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
        let msg_id = match (&header.batch_uniq_id, &job.msg.envelope_key) {
            (Some(_), Some(envelope)) => envelope.clone(),
            _ => job.msg.msg_id.clone(),
        };
        let ns = self.config.namespace.as_deref();
        let result = SendResult {
            status,
            msg_id,
            offset_msg_id: header.msg_id,
            message_queue: MessageQueue {
                topic: unwrap(ns, &mq.topic),
                broker_name: mq.broker_name.clone(),
                queue_id: header.queue_id,
            },
            queue_offset: header.queue_offset,
            transaction_id: header.transaction_id,
            region_id: header.region_id.filter(|r| !r.is_empty()).unwrap_or_else(|| "DefaultRegion".to_string()),
            trace_on: header.trace_on,
        };
        if status != SendStatus::SendOk && self.config.retry_another_broker_when_not_store_ok {
            return Attempt::Retry(broker_error(reply.code, format!("store status {status}")));
        }
        Attempt::Done(Ok(result))
    }
}
