//! The send machinery of the `Producer` actor: prepare, admit, attempt, judge, retry.
//!
//! Every step that touches producer state runs inside the actor; every wait (a reply, room in
//! the budget, a route, a connection, a big compression) runs outside it, as its own task that
//! reports back with a message. The actor therefore never holds a future per in-flight send:
//! actix polls every future spawned in an actor's context on each wake-up, which made many
//! in-flight sends cost quadratic time (measured: 10,000 in flight ran 15x slower than 64).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use actix::prelude::*;
use bytes::Bytes;
use tokio::sync::oneshot;
use tracing::debug;

use super::actor::Producer;
use super::batch::{check_batch, encode_batch};
use super::messages::{SendFailure, SendOutcome};
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

/// How a send ends: `Some(result)` for request-reply sends, `None` for one-way writes.
pub(super) type Outcome = Result<Option<SendResult>, SendError>;

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
    pub(super) batch: bool,
    pub(super) compress: bool,
}

/// Where the outcome of a send goes.
pub(super) enum Completion {
    /// A caller awaiting the handler's future.
    Reply(oneshot::Sender<Outcome>),
    /// A `SendAsync` callback; the record travels along to be handed back on failure.
    Callback { to: Recipient<SendOutcome>, context: u64, record: ProducerRecord },
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
    pub(super) oneway: bool,
    /// Wait for room in the budget (false: answer `Full`).
    pub(super) wait: bool,
    /// Holds room in the in-flight budget.
    pub(super) admitted: bool,
    /// Told when the send is admitted or has ended (a `SendAsync` caller waits for this).
    pub(super) on_admit: Option<oneshot::Sender<()>>,
    pub(super) done: Option<Completion>,
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

    fn admitted(&mut self) {
        self.admitted = true;
        if let Some(tx) = self.on_admit.take() {
            let _ = tx.send(());
        }
    }
}

/// Request-reply sends always end with a result; `None` only comes from one-way writes.
pub(super) fn expect_reply(res: Option<SendResult>) -> Result<SendResult, SendError> {
    res.ok_or_else(|| SendError::Mailbox("reply missing for a request-reply send".into()))
}

/// Outcome of one attempt, before the retry decision.
enum Attempt {
    Done(Result<SendResult, SendError>),
    Retry(SendError),
    /// The broker is shutting down this connection: reconnect and resend once.
    GoAway(SendError),
}

/// How a wait for room in the budget ended.
pub(super) enum Admission {
    Admitted,
    /// Room was granted just as the wait timed out: give it back.
    LateGrant,
    Refused,
}

/// Internal: a wait for budget room ended.
#[derive(Message)]
#[rtype(result = "()")]
pub(super) struct AdmissionDone {
    pub(super) job: SendJob,
    pub(super) admission: Admission,
}

/// Internal: a big body was compressed off the actor's thread.
#[derive(Message)]
#[rtype(result = "()")]
pub(super) struct Compressed(pub(super) SendJob);

/// Internal: the broker answered (or the transport failed).
#[derive(Message)]
#[rtype(result = "()")]
pub(super) struct AttemptDone {
    job: SendJob,
    mq: MessageQueue,
    addr: String,
    reply: Result<RemotingCommand, RemotingError>,
    latency: Duration,
}

/// Internal: a route fetch for `topic` ended.
#[derive(Message)]
#[rtype(result = "()")]
pub(super) struct RouteReady {
    topic: String,
    result: Result<Arc<TopicPublishInfo>, SendError>,
}

/// Internal: a connection to `addr` is available (or the remoting client is gone).
#[derive(Message)]
#[rtype(result = "()")]
pub(super) struct ConnectionReady {
    addr: String,
    conn: Option<Addr<Connection>>,
}

/// Sends waiting for a route or a connection, parked in the actor until it arrives.
#[derive(Default)]
pub(super) struct Parked {
    routes: HashMap<String, Vec<SendJob>>,
    conns: HashMap<String, Vec<(SendJob, MessageQueue)>>,
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
            batch: false,
            compress: record.body().len() >= self.config.compress_msg_body_over_howmuch,
        })
    }

    /// Validates and encodes a batch: every message gets its own UNIQ_KEY.
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
            batch: true,
            // Java never compresses batches; brokers store inner messages uncompressed.
            compress: false,
        })
    }

    /// Entry of every send: compression when due (big bodies off the actor's thread), then
    /// admission by the in-flight budget, then the attempts.
    pub(super) fn start_job(&mut self, mut job: SendJob, ctx: &mut Context<Self>) {
        if job.msg.compress {
            let (kind, level) = (self.config.compress_type, self.config.compress_level);
            let squeeze = move |job: &mut SendJob| {
                // The job was just built, so it holds the only reference to its message.
                let Some(p) = Arc::get_mut(&mut job.msg) else { return };
                p.compress = false;
                if let Ok(z) = compress(kind, level, &p.body) {
                    if z.len() < p.body.len() {
                        p.body = Bytes::from(z);
                        p.sys_flag |= COMPRESSED_FLAG | kind.sys_flag_bits();
                    }
                }
            };
            if job.msg.body.len() < OFFLOAD_COMPRESSION_AT {
                squeeze(&mut job);
            } else {
                let me = ctx.address();
                actix_rt::spawn(async move {
                    let task = tokio::task::spawn_blocking(move || {
                        squeeze(&mut job);
                        job
                    });
                    // A compression task cannot fail short of a panic; the send is then lost to
                    // its caller as a closed mailbox, which maps to `SendError::Mailbox`.
                    if let Ok(job) = task.await {
                        me.do_send(Compressed(job));
                    }
                });
                return;
            }
        }
        self.acquire(job, ctx);
    }

    /// Takes room in the in-flight budget, or waits for it (within the send's budget) in a
    /// task of its own, or answers `Full`.
    fn acquire(&mut self, mut job: SendJob, ctx: &mut Context<Self>) {
        let size = job.msg.body.len();
        if self.budget.try_acquire(size) {
            job.admitted();
            return self.attempt(job, ctx);
        }
        if !job.wait {
            let err = SendError::Full { messages: self.budget.messages(), bytes: self.budget.bytes() };
            return self.complete(job, Err(err));
        }
        let mut rx = self.budget.wait(size);
        let left = job.left();
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
            me.do_send(AdmissionDone { job, admission });
        });
    }

    pub(super) fn on_admission(&mut self, mut job: SendJob, admission: Admission, ctx: &mut Context<Self>) {
        match admission {
            Admission::Admitted => {
                job.admitted();
                self.attempt(job, ctx)
            }
            Admission::LateGrant => {
                job.admitted();
                let err = job.out_of_time();
                self.complete(job, Err(err))
            }
            Admission::Refused => {
                self.budget.forget_abandoned();
                let err = job.out_of_time();
                self.complete(job, Err(err))
            }
        }
    }

    /// Ends a send: gives its room back and delivers the outcome.
    fn complete(&mut self, mut job: SendJob, outcome: Outcome) {
        if job.admitted {
            self.budget.release(job.msg.body.len());
        }
        if let Some(tx) = job.on_admit.take() {
            let _ = tx.send(());
        }
        match job.done.take() {
            Some(Completion::Reply(tx)) => {
                let _ = tx.send(outcome);
            }
            Some(Completion::Callback { to, context, record }) => {
                let result = outcome.and_then(expect_reply).map_err(|error| SendFailure { error, returned: record });
                to.do_send(SendOutcome { context, result });
            }
            None => {}
        }
    }

    /// The publish info of `topic`, if cached and usable.
    fn cached_publish(&self, topic: &str) -> Option<Arc<TopicPublishInfo>> {
        self.publish.get(topic).filter(|i| i.ok()).cloned()
    }

    /// Parks `job` until the route of its topic arrives; the first one starts the fetch.
    fn wait_for_route(&mut self, job: SendJob, ctx: &mut Context<Self>) {
        let topic = job.msg.topic.clone();
        let Some(instance) = self.instance.clone() else {
            let state = self.state;
            return self.complete(job, Err(SendError::NotRunning(state)));
        };
        let first = !self.parked.routes.contains_key(&topic);
        let timeout = self.config.client.request_timeout.min(job.left());
        self.parked.routes.entry(topic.clone()).or_default().push(job);
        if !first {
            return;
        }
        let msg = FetchPublishInfo {
            topic: topic.clone(),
            create_topic_key: self.config.create_topic_key.clone(),
            default_queue_nums: self.config.default_topic_queue_nums,
            timeout,
        };
        let me = ctx.address();
        actix_rt::spawn(async move {
            let result = match instance.send(msg).await {
                Ok(r) => r,
                Err(e) => Err(SendError::from(e)),
            };
            me.do_send(RouteReady { topic, result });
        });
    }

    pub(super) fn on_route(&mut self, topic: String, result: Result<Arc<TopicPublishInfo>, SendError>, ctx: &mut Context<Self>) {
        let jobs = self.parked.routes.remove(&topic).unwrap_or_default();
        match result {
            Ok(info) => {
                self.publish.insert(topic, info);
                for job in jobs {
                    self.attempt(job, ctx);
                }
            }
            Err(e) => {
                for job in jobs {
                    self.complete(job, Err(e.clone()));
                }
            }
        }
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

    /// One attempt: route, queue, connection, then the request.
    fn attempt(&mut self, job: SendJob, ctx: &mut Context<Self>) {
        if self.state != ServiceState::Running {
            let state = self.state;
            return self.complete(job, Err(SendError::NotRunning(state)));
        }
        if job.left().is_zero() {
            let err = job.out_of_time();
            return self.complete(job, Err(err));
        }
        let Some(info) = self.cached_publish(&job.msg.topic) else {
            return self.wait_for_route(job, ctx);
        };
        let mq = match self.choose_queue(&info, &job) {
            Ok(mq) => mq,
            Err(e) => return self.complete(job, Err(e)),
        };
        let Some(addr) = info.masters.get(&mq.broker_name).cloned() else {
            let topic = job.msg.topic.clone();
            return self.complete(job, Err(SendError::NoRoute { topic }));
        };
        self.with_connection(job, mq, addr, ctx)
    }

    /// Continues with the cached connection to `addr`, or parks the job until the remoting
    /// client hands one out.
    fn with_connection(&mut self, job: SendJob, mq: MessageQueue, addr: String, ctx: &mut Context<Self>) {
        if let Some(conn) = self.conns.get(&addr).filter(|c| c.connected()).cloned() {
            return self.send_to(job, mq, addr, conn, ctx);
        }
        let Some(remoting) = self.handle.as_ref().map(|h| h.remoting.clone()) else {
            let state = self.state;
            return self.complete(job, Err(SendError::NotRunning(state)));
        };
        let first = !self.parked.conns.contains_key(&addr);
        self.parked.conns.entry(addr.clone()).or_default().push((job, mq));
        if !first {
            return;
        }
        let me = ctx.address();
        actix_rt::spawn(async move {
            let conn = remoting.send(GetConnection(addr.clone())).await.ok();
            me.do_send(ConnectionReady { addr, conn });
        });
    }

    pub(super) fn on_connection(&mut self, addr: String, conn: Option<Addr<Connection>>, ctx: &mut Context<Self>) {
        let jobs = self.parked.conns.remove(&addr).unwrap_or_default();
        match conn {
            Some(conn) => {
                self.conns.insert(addr.clone(), conn.clone());
                for (job, mq) in jobs {
                    self.send_to(job, mq, addr.clone(), conn.clone(), ctx);
                }
            }
            None => {
                for (job, _) in jobs {
                    let err = SendError::Remoting {
                        attempts: job.attempts,
                        source: RemotingError::ActorGone { actor: "remoting client" },
                    };
                    self.complete(job, Err(err));
                }
            }
        }
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

    /// Hands the request to the connection; the wait for the reply is a task of its own.
    fn send_to(&mut self, mut job: SendJob, mq: MessageQueue, addr: String, conn: Addr<Connection>, ctx: &mut Context<Self>) {
        job.attempts += 1;
        let cmd = self.build_command(&job.msg, &mq);
        if job.oneway {
            // The hand-off resolves at once unless the socket is behind, so this future is
            // short-lived and cheaper in the actor's context than a task and a message back.
            let attempts = job.attempts;
            ctx.spawn(conn.send(Oneway { cmd }).into_actor(self).map(move |res, act, _| {
                let outcome = match res {
                    Ok(Ok(())) => Ok(None),
                    Ok(Err(source)) => Err(SendError::Remoting { attempts, source }),
                    Err(_) => Err(SendError::Remoting { attempts, source: RemotingError::ConnectionClosed { addr } }),
                };
                act.complete(job, outcome);
            }));
            return;
        }
        let me = ctx.address();
        let left = job.left();
        actix_rt::spawn(async move {
            let begin = Instant::now();
            let reply = remote_request(&conn, &addr, cmd, left).await;
            me.do_send(AttemptDone { job, mq, addr, reply, latency: begin.elapsed() });
        });
    }

    fn on_reply(&mut self, done: AttemptDone, ctx: &mut Context<Self>) {
        let AttemptDone { mut job, mq, addr, reply, latency } = done;
        let outcome = self.judge(&job, &mq, reply);
        self.record_latency(&mq.broker_name, latency, &outcome);
        match outcome {
            Attempt::Done(res) => self.complete(job, res.map(Some)),
            Attempt::GoAway(_) if !job.go_away_resent && !job.left().is_zero() => {
                // Java 5.3 behaviour: a fresh connection to the same address, the same request
                // once more; it does not count as another attempt.
                debug!(broker = %addr, "GO_AWAY: reconnecting and resending once");
                job.go_away_resent = true;
                job.attempts -= 1;
                self.conns.remove(&addr);
                if let Some(h) = &self.handle {
                    h.remoting.do_send(CloseConnection(addr.clone()));
                }
                self.with_connection(job, mq, addr, ctx)
            }
            Attempt::GoAway(err) | Attempt::Retry(err) => self.retry(job, mq, err, ctx),
        }
    }

    fn retry(&mut self, mut job: SendJob, mq: MessageQueue, err: SendError, ctx: &mut Context<Self>) {
        debug!(topic = %mq.topic, broker = %mq.broker_name, attempt = job.attempts, error = %err, "send attempt failed");
        if job.attempts >= job.max_attempts || job.left().is_zero() {
            let final_err = match err {
                SendError::Remoting { source: RemotingError::Timeout { .. }, .. } => {
                    SendError::Timeout { budget: job.budget, attempts: job.attempts }
                }
                other => other,
            };
            return self.complete(job, Err(final_err));
        }
        job.last_broker = Some(mq.broker_name);
        job.last_error = Some(err);
        self.attempt(job, ctx)
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
        let ns = self.config.namespace.as_deref();
        let result = SendResult {
            status,
            msg_id: job.msg.msg_id.clone(),
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

impl Handler<AdmissionDone> for Producer {
    type Result = ();
    fn handle(&mut self, msg: AdmissionDone, ctx: &mut Context<Self>) {
        self.on_admission(msg.job, msg.admission, ctx);
    }
}

impl Handler<Compressed> for Producer {
    type Result = ();
    fn handle(&mut self, msg: Compressed, ctx: &mut Context<Self>) {
        self.acquire(msg.0, ctx);
    }
}

impl Handler<AttemptDone> for Producer {
    type Result = ();
    fn handle(&mut self, msg: AttemptDone, ctx: &mut Context<Self>) {
        self.on_reply(msg, ctx);
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
