//! One client instance per clientId: producers, routes, brokers and the periodic tasks.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use actix::WeakRecipient;
use tracing::{debug, info, warn};

use super::heartbeat::{heartbeat_to, HeartbeatNow, HeartbeatScheduler};
use super::peer::{AwaitReply, ForgetReply, LocalTransactionState, ReplyWaiters, TransactionCheck};
use super::poller::NameServerPoller;
use super::registry::{ClientRegistry, RemoveInstance};
use super::routes::fetch_route;
use super::Stop;
use crate::config::{ClientConfig, DEFAULT_TOPIC};
use crate::error::{RemotingError, RouteError, SendError, ServiceState, StartError};
use crate::protocol::codes::{request, response};
use crate::protocol::header::{CheckTransactionStateRequestHeader, UnregisterClientRequestHeader};
use crate::protocol::reply::decode_reply_push;
use crate::protocol::stored::decode_stored_message_bytes;
use crate::protocol::heartbeat::HeartbeatData;
use crate::protocol::route::{TopicPublishInfo, TopicRouteData};
use crate::protocol::version::BrokerVersion;
use crate::protocol::RemotingCommand;
use crate::remoting::client::{CloseAll, NameServerInUse, ServePeerRequests, UpdateNameServers};
use crate::remoting::connection::not_supported;
use crate::remoting::{PeerRequest, Respond};
use crate::remoting::http::fetch_namesrv_list;
use crate::remoting::signing::Signer;
use crate::remoting::transport::Transport;
use crate::remoting::{invoke, ConnectionSettings, RemotingClient};
use crate::protocol::DEFAULT_MAX_FRAME_LEN;

/// How often requests whose reply never came are dropped from the reply table.
const REPLY_SWEEP: Duration = Duration::from_secs(1);

/// A topic's publish info changed (pushed by the instance to every producer).
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct RouteUpdated {
    /// The topic as brokers see it (namespace included).
    pub topic: String,
    /// Its queues and their masters.
    pub info: Arc<TopicPublishInfo>,
}

/// What a registered producer gets back: the instance's shared pieces.
#[derive(Debug, Clone)]
pub struct InstanceHandle {
    /// The instance's clientId (`ip@instance[@unit]`).
    pub client_id: String,
    /// The instance's connections, shared by its producers.
    pub remoting: Addr<RemotingClient>,
}

/// Add a producer group to this instance.
///
/// `token` identifies the registering producer across its restarts: registering again with the
/// same token (a supervised producer after a restart) refreshes the registration instead of
/// being refused as a duplicate, so the group never leaves the broker's producer table.
#[derive(Message)]
#[rtype(result = "Result<InstanceHandle, StartError>")]
pub struct RegisterProducer {
    /// The group as brokers see it (namespace included).
    pub group: String,
    /// The registering producer's identity across its restarts.
    pub token: u64,
    /// Where route changes of the topics this producer uses go.
    pub routes: Recipient<RouteUpdated>,
    /// Where the brokers' transaction checks for this group go.
    pub checks: Recipient<TransactionCheck>,
}

/// One registered producer. Weak, so a producer whose user dropped it can stop (and
/// unregister itself).
struct Registered {
    token: u64,
    routes: WeakRecipient<RouteUpdated>,
    checks: WeakRecipient<TransactionCheck>,
}

/// Start the instance (idempotent): name servers, remoting, periodic tasks.
#[derive(Message, Debug)]
#[rtype(result = "Result<(), StartError>")]
pub struct StartInstance;

/// Remove a producer group: UNREGISTER_CLIENT to every broker; the last one shuts the instance.
/// Only the registration made with `token` is removed (a stale request changes nothing).
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct UnregisterProducer {
    /// The group as brokers see it.
    pub group: String,
    /// The token it registered with.
    pub token: u64,
}

/// Publish info of `topic`, from the name server, else from the auto-create template route.
#[derive(Message, Debug)]
#[rtype(result = "Result<Arc<TopicPublishInfo>, SendError>")]
pub struct FetchPublishInfo {
    /// The topic as brokers see it.
    pub topic: String,
    /// The template topic (`TBW102`) whose route stands in for a topic the name server does
    /// not know, so the broker auto-creates it on the first send.
    pub create_topic_key: String,
    /// Queue count asked for an auto-created topic.
    pub default_queue_nums: i32,
    /// Bound on the name server lookup.
    pub timeout: Duration,
}

/// The topics whose routes the poller refreshes.
#[derive(Message, Debug)]
#[rtype(result = "Vec<String>")]
pub struct TopicsInUse;

/// A fresh route from the poller.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct RouteFetched {
    /// The topic as brokers see it.
    pub topic: String,
    /// The name server's answer.
    pub route: TopicRouteData,
}

/// Heartbeat body and the masters to send it to; also cleans brokers no route mentions.
#[derive(Message, Debug)]
#[rtype(result = "Option<HeartbeatPlan>")]
pub struct PrepareHeartbeat;

/// What the heartbeat scheduler sends, and where.
#[derive(Debug, Clone)]
pub struct HeartbeatPlan {
    /// The HEART_BEAT body: clientId and producer groups.
    pub data: HeartbeatData,
    /// Addresses of every master the routes name.
    pub masters: Vec<String>,
    /// The connections to send it on.
    pub remoting: Addr<RemotingClient>,
}

/// A broker answered a heartbeat with its version.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct BrokerVersionSeen {
    /// The broker's address.
    pub addr: String,
    /// The `version` field of its heartbeat answer (RocketMQ's `MQVersion` ordinal).
    pub version: i32,
}

/// The release of the broker at `addr`: the one its last heartbeat answer reported, or, when it
/// has not answered one yet, that of a heartbeat sent to it now. A producer asks before its first
/// timer message to a broker (4.x brokers ignore timer delays; see
/// [`SendError::BrokerTooOld`]).
#[derive(Message, Debug)]
#[rtype(result = "Result<BrokerVersion, RemotingError>")]
pub struct LearnBrokerVersion {
    /// The broker's address.
    pub addr: String,
    /// Bound on the heartbeat, when one is needed.
    pub timeout: Duration,
}

/// A snapshot of what the instance holds (diagnostics and tests).
#[derive(Message, Debug)]
#[rtype(result = "InstanceStatus")]
pub struct GetStatus;

/// See [`GetStatus`]; also reachable from a producer with
/// [`GetInstanceStatus`](crate::producer::GetInstanceStatus).
#[derive(Debug, Clone, serde::Serialize)]
pub struct InstanceStatus {
    /// The instance's clientId.
    pub client_id: String,
    /// Its lifecycle state.
    pub state: ServiceState,
    /// Producer groups registered (as brokers see them).
    pub groups: Vec<String>,
    /// Topics whose routes the poller refreshes.
    pub topics: Vec<String>,
    /// Broker name -> broker id -> address (id 0 is the master).
    pub brokers: BTreeMap<String, BTreeMap<i64, String>>,
    /// Broker address -> the version it reported in its heartbeat answer.
    pub broker_versions: BTreeMap<String, i32>,
    /// The name server requests go to now.
    pub name_server: Option<String>,
    /// Requests waiting for their replies.
    pub awaiting_replies: usize,
}

/// Owns everything a clientId shares between its producers.
///
/// Only this actor changes the producer table, the route table and the broker table; the
/// poller and heartbeat scheduler ask it for work and report back with messages.
pub struct ClientInstance {
    client_id: String,
    config: ClientConfig,
    state: ServiceState,
    /// Group (as brokers see it) -> its producer.
    producers: HashMap<String, Registered>,
    /// Requests waiting for their replies, by correlation id.
    replies: ReplyWaiters,
    routes: HashMap<String, TopicRouteData>,
    topics: HashSet<String>,
    brokers: BTreeMap<String, BTreeMap<i64, String>>,
    broker_versions: BTreeMap<String, i32>,
    remoting: Addr<RemotingClient>,
    registry: Addr<ClientRegistry>,
    poller: Option<Addr<NameServerPoller>>,
    heartbeat: Option<Addr<HeartbeatScheduler>>,
}

impl ClientInstance {
    /// A new, not yet started instance.
    ///
    /// `transport` is built from `config.tls` by the caller (the registry), which reports a bad
    /// certificate file as a configuration error.
    pub fn new(client_id: String, config: ClientConfig, transport: Transport, registry: Addr<ClientRegistry>) -> Self {
        let settings = ConnectionSettings {
            serialize_type: config.serialize_type,
            connect_timeout: config.connect_timeout,
            max_frame_len: DEFAULT_MAX_FRAME_LEN,
            io_threads: config.io_threads,
            transport,
            signer: config.credentials.clone().map(|c| Arc::new(Signer::new(c))),
            // Set by `started`, once this actor has an address.
            peer: None,
        };
        // The list was validated by the registry; an endpoint-only config starts empty.
        let namesrv = config.namesrv_list().unwrap_or_default();
        let remoting = RemotingClient::new(settings, namesrv).start();
        ClientInstance {
            client_id,
            config,
            state: ServiceState::CreateJust,
            producers: HashMap::new(),
            replies: ReplyWaiters::default(),
            routes: HashMap::new(),
            topics: HashSet::from([DEFAULT_TOPIC.to_string()]),
            brokers: BTreeMap::new(),
            broker_versions: BTreeMap::new(),
            remoting,
            registry,
            poller: None,
            heartbeat: None,
        }
    }

    /// Stores a route; tells producers when it changed; heartbeats new masters at once so the
    /// broker knows our groups before the first send lands there.
    fn store_route(&mut self, topic: &str, route: TopicRouteData) -> Arc<TopicPublishInfo> {
        let info = Arc::new(TopicPublishInfo::from_route(topic, &route));
        let changed = self.routes.get(topic) != Some(&route);
        let mut new_master = false;
        for bd in &route.broker_datas {
            let entry = self.brokers.entry(bd.broker_name.clone()).or_default();
            for (id, addr) in &bd.broker_addrs {
                if entry.insert(*id, addr.clone()).as_ref() != Some(addr) && *id == 0 {
                    new_master = true;
                }
            }
        }
        self.topics.insert(topic.to_string());
        if changed {
            debug!(client_id = %self.client_id, topic, queues = info.queues.len(), "route updated");
            self.routes.insert(topic.to_string(), route);
            for listener in self.producers.values().filter_map(|p| p.routes.upgrade()) {
                listener.do_send(RouteUpdated { topic: topic.to_string(), info: info.clone() });
            }
        }
        if new_master {
            if let Some(hb) = &self.heartbeat {
                hb.do_send(HeartbeatNow);
            }
        }
        info
    }

    /// Drops broker addresses that no stored route mentions any more (Java `cleanOfflineBroker`).
    fn clean_offline_brokers(&mut self) {
        let mut live: BTreeMap<String, BTreeMap<i64, String>> = BTreeMap::new();
        for route in self.routes.values() {
            for bd in &route.broker_datas {
                live.entry(bd.broker_name.clone())
                    .or_default()
                    .extend(bd.broker_addrs.iter().map(|(k, v)| (*k, v.clone())));
            }
        }
        if live != self.brokers {
            info!(client_id = %self.client_id, "offline brokers removed");
            self.broker_versions.retain(|addr, _| live.values().any(|ids| ids.values().any(|a| a == addr)));
            self.brokers = live;
        }
    }

    /// The HEART_BEAT body: this clientId and its producer groups.
    fn heartbeat_data(&self) -> HeartbeatData {
        let mut groups: Vec<String> = self.producers.keys().cloned().collect();
        groups.sort();
        HeartbeatData { client_id: self.client_id.clone(), producer_groups: groups }
    }

    fn all_broker_addrs(&self) -> Vec<String> {
        let mut addrs: Vec<String> = self.brokers.values().flat_map(|ids| ids.values().cloned()).collect();
        addrs.sort();
        addrs.dedup();
        addrs
    }

    fn shutdown(&mut self, ctx: &mut Context<Self>) {
        info!(client_id = %self.client_id, "client instance shutting down");
        self.state = ServiceState::ShutdownAlready;
        if let Some(p) = self.poller.take() {
            p.do_send(Stop);
        }
        if let Some(h) = self.heartbeat.take() {
            h.do_send(Stop);
        }
        self.remoting.do_send(CloseAll);
        self.registry.do_send(RemoveInstance { client_id: self.client_id.clone(), instance: ctx.address() });
        ctx.stop();
    }
}

impl Actor for ClientInstance {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        // Before any connection exists: every connection passes peer requests here.
        self.remoting.do_send(ServePeerRequests(ctx.address().recipient()));
        ctx.run_interval(REPLY_SWEEP, |act, _| act.replies.sweep(Instant::now()));
    }
}

impl ClientInstance {
    /// CHECK_TRANSACTION_STATE: to the producer of the half message's group; UNKNOWN when
    /// there is none (the broker asks again), never a guess.
    fn route_check(&mut self, req: PeerRequest) {
        let PeerRequest { from, conn, cmd } = req;
        let header = match cmd.decode_header::<CheckTransactionStateRequestHeader>() {
            Ok(h) => h,
            Err(e) => return warn!(broker = %from, error = %e, "unreadable transaction check ignored"),
        };
        let message = match decode_stored_message_bytes(&cmd.body) {
            Ok(m) => m,
            Err(e) => return warn!(broker = %from, error = %e, "transaction check with an unreadable message ignored"),
        };
        let check = TransactionCheck { broker_addr: from, conn, header, message };
        let Some(group) = check.group().map(str::to_string) else {
            return warn!(broker = %check.broker_addr, "transaction check without a producer group ignored");
        };
        match self.producers.get(&group).and_then(|p| p.checks.upgrade()) {
            Some(producer) => producer.do_send(check),
            None => {
                debug!(group = %group, msg_id = %check.msg_id(), "transaction check for a group with no producer here: UNKNOWN");
                check.reply(&group, LocalTransactionState::Unknown);
            }
        }
    }

    /// PUSH_REPLY_MESSAGE_TO_CLIENT: to the request waiting for it; always answered, SUCCESS
    /// unless the push cannot be read.
    fn take_reply(&mut self, req: PeerRequest) {
        let PeerRequest { from, conn, cmd } = req;
        let answer = match decode_reply_push(&cmd) {
            Ok(reply) => {
                let id = reply.correlation_id().unwrap_or_default().to_string();
                if !self.replies.complete(reply) {
                    debug!(broker = %from, correlation_id = %id, "reply for no waiting request dropped");
                }
                RemotingCommand::response(response::SUCCESS, cmd.opaque, None)
            }
            Err(e) => {
                warn!(broker = %from, error = %e, "unreadable reply push");
                RemotingCommand::response(response::SYSTEM_ERROR, cmd.opaque, Some("process reply message fail".into()))
            }
        };
        if !cmd.is_oneway() {
            conn.do_send(Respond(answer));
        }
    }
}

impl Handler<PeerRequest> for ClientInstance {
    type Result = ();

    fn handle(&mut self, req: PeerRequest, _: &mut Context<Self>) {
        match req.cmd.code {
            request::CHECK_TRANSACTION_STATE => self.route_check(req),
            request::PUSH_REPLY_MESSAGE_TO_CLIENT => self.take_reply(req),
            code => {
                debug!(broker = %req.from, code, "peer request not served");
                if !req.cmd.is_oneway() {
                    req.conn.do_send(Respond(not_supported(&req.cmd)));
                }
            }
        }
    }
}

impl Handler<AwaitReply> for ClientInstance {
    type Result = ();

    fn handle(&mut self, msg: AwaitReply, _: &mut Context<Self>) {
        self.replies.insert(msg);
    }
}

impl Handler<ForgetReply> for ClientInstance {
    type Result = ();

    fn handle(&mut self, msg: ForgetReply, _: &mut Context<Self>) {
        self.replies.forget(&msg.0);
    }
}

impl Handler<RegisterProducer> for ClientInstance {
    type Result = Result<InstanceHandle, StartError>;

    fn handle(&mut self, msg: RegisterProducer, _: &mut Context<Self>) -> Self::Result {
        if self.state == ServiceState::ShutdownAlready {
            return Err(StartError::InstanceShutDown(self.client_id.clone()));
        }
        if let Some(known) = self.producers.get(&msg.group) {
            // The same producer again (after a restart) refreshes; a dead one is replaced.
            if known.token != msg.token && known.routes.upgrade().is_some() {
                return Err(StartError::DuplicateGroup { group: msg.group, client_id: self.client_id.clone() });
            }
        }
        // A late joiner gets every route already known.
        for (topic, route) in &self.routes {
            let info = Arc::new(TopicPublishInfo::from_route(topic, route));
            msg.routes.do_send(RouteUpdated { topic: topic.clone(), info });
        }
        let registered = Registered { token: msg.token, routes: msg.routes.downgrade(), checks: msg.checks.downgrade() };
        self.producers.insert(msg.group, registered);
        Ok(InstanceHandle { client_id: self.client_id.clone(), remoting: self.remoting.clone() })
    }
}

impl Handler<StartInstance> for ClientInstance {
    type Result = ResponseActFuture<Self, Result<(), StartError>>;

    fn handle(&mut self, _: StartInstance, _: &mut Context<Self>) -> Self::Result {
        match self.state {
            ServiceState::Running => return Box::pin(fut::ready(Ok(()))),
            ServiceState::ShutdownAlready => {
                return Box::pin(fut::ready(Err(StartError::InstanceShutDown(self.client_id.clone()))))
            }
            _ => {}
        }
        // Mark it now: a second producer starting meanwhile must not start the tasks twice.
        self.state = ServiceState::Running;
        let endpoint = self.config.endpoint_in_use().map(str::to_string);
        let timeout = self.config.request_timeout;
        let remoting = self.remoting.clone();
        let resolve = async move {
            if let Some(url) = endpoint {
                let list = fetch_namesrv_list(&url, timeout).await?;
                remoting.do_send(UpdateNameServers(list));
            }
            Ok::<(), StartError>(())
        };
        Box::pin(resolve.into_actor(self).map(|res, act, ctx| {
            if let Err(e) = res {
                act.state = ServiceState::StartFailed;
                return Err(e);
            }
            let me = ctx.address();
            act.poller = Some(NameServerPoller::new(me.clone(), act.remoting.clone(), &act.config).start());
            act.heartbeat = Some(HeartbeatScheduler::new(me, act.config.heartbeat_broker_interval, act.config.request_timeout).start());
            info!(client_id = %act.client_id, "client instance started");
            Ok(())
        }))
    }
}

impl Handler<UnregisterProducer> for ClientInstance {
    type Result = ResponseActFuture<Self, ()>;

    fn handle(&mut self, msg: UnregisterProducer, _: &mut Context<Self>) -> Self::Result {
        if self.producers.get(&msg.group).map(|p| p.token) != Some(msg.token) {
            return Box::pin(fut::ready(()));
        }
        // Out of the table first, so no later heartbeat names the group again.
        self.producers.remove(&msg.group);
        let header = UnregisterClientRequestHeader {
            client_id: self.client_id.clone(),
            producer_group: Some(msg.group.clone()),
            consumer_group: None,
        };
        let remoting = self.remoting.clone();
        let timeout = self.config.request_timeout;
        let sends = self.all_broker_addrs().into_iter().map(move |addr| {
            let cmd = RemotingCommand::request(request::UNREGISTER_CLIENT).with_header(&header);
            let remoting = remoting.clone();
            async move {
                if let Err(e) = invoke(&remoting, &addr, cmd, timeout).await {
                    warn!(broker = %addr, error = %e, "unregister failed");
                }
            }
        });
        let all = futures::future::join_all(sends.collect::<Vec<_>>());
        Box::pin(all.into_actor(self).map(|_, act, ctx| {
            if act.producers.is_empty() && act.state != ServiceState::ShutdownAlready {
                act.shutdown(ctx);
            }
        }))
    }
}

impl Handler<FetchPublishInfo> for ClientInstance {
    type Result = ResponseActFuture<Self, Result<Arc<TopicPublishInfo>, SendError>>;

    fn handle(&mut self, msg: FetchPublishInfo, _: &mut Context<Self>) -> Self::Result {
        let remoting = self.remoting.clone();
        let topic = msg.topic.clone();
        let lookup = async move {
            // One budget for both lookups (the topic, then the template).
            let started = Instant::now();
            if let Some(route) = fetch_route(&remoting, &topic, msg.timeout).await? {
                return Ok::<_, RouteError>((route, false));
            }
            // Unknown topic: borrow the template's brokers so the broker auto-creates it.
            let left = msg.timeout.saturating_sub(started.elapsed());
            match fetch_route(&remoting, &msg.create_topic_key, left).await? {
                Some(mut template) => {
                    template.clamp_queue_nums(msg.default_queue_nums);
                    Ok((template, true))
                }
                None => Ok((TopicRouteData::default(), true)),
            }
        };
        Box::pin(lookup.into_actor(self).map(move |res, act, _| {
            let topic = msg.topic;
            let (route, from_template) = res.map_err(|source| SendError::Route { topic: topic.clone(), source })?;
            let info = act.store_route(&topic, route);
            if !info.ok() {
                return Err(SendError::NoRoute { topic });
            }
            if from_template {
                debug!(topic = %topic, "topic not on the name server yet; using the auto-create template");
            }
            Ok(info)
        }))
    }
}

impl Handler<TopicsInUse> for ClientInstance {
    type Result = Vec<String>;

    fn handle(&mut self, _: TopicsInUse, _: &mut Context<Self>) -> Vec<String> {
        self.topics.iter().cloned().collect()
    }
}

impl Handler<RouteFetched> for ClientInstance {
    type Result = ();

    fn handle(&mut self, msg: RouteFetched, _: &mut Context<Self>) {
        if self.state == ServiceState::Running {
            self.store_route(&msg.topic, msg.route);
        }
    }
}

impl Handler<PrepareHeartbeat> for ClientInstance {
    type Result = Option<HeartbeatPlan>;

    fn handle(&mut self, _: PrepareHeartbeat, _: &mut Context<Self>) -> Self::Result {
        if self.state != ServiceState::Running || self.producers.is_empty() {
            return None;
        }
        self.clean_offline_brokers();
        // A producer-only client heartbeats masters only (Java does the same).
        let masters: Vec<String> = self.brokers.values().filter_map(|ids| ids.get(&0).cloned()).collect();
        Some(HeartbeatPlan {
            data: self.heartbeat_data(),
            masters,
            remoting: self.remoting.clone(),
        })
    }
}

impl Handler<BrokerVersionSeen> for ClientInstance {
    type Result = ();

    fn handle(&mut self, msg: BrokerVersionSeen, _: &mut Context<Self>) {
        self.broker_versions.insert(msg.addr, msg.version);
    }
}

impl Handler<LearnBrokerVersion> for ClientInstance {
    type Result = ResponseActFuture<Self, Result<BrokerVersion, RemotingError>>;

    fn handle(&mut self, msg: LearnBrokerVersion, _: &mut Context<Self>) -> Self::Result {
        if let Some(&v) = self.broker_versions.get(&msg.addr) {
            return Box::pin(fut::ready(Ok(BrokerVersion::from_ordinal(v))));
        }
        let body = bytes::Bytes::from(self.heartbeat_data().to_json());
        let remoting = self.remoting.clone();
        let LearnBrokerVersion { addr, timeout } = msg;
        let asked = addr.clone();
        Box::pin(async move { heartbeat_to(&remoting, &asked, body, timeout).await }.into_actor(self).map(
            move |reply, act, _| {
                // Any answer carries the release, a refusal's too (the heartbeat scheduler
                // reports refusals).
                let version = reply?.version;
                act.broker_versions.insert(addr, version);
                Ok(BrokerVersion::from_ordinal(version))
            },
        ))
    }
}

impl Handler<GetStatus> for ClientInstance {
    type Result = ResponseActFuture<Self, InstanceStatus>;

    fn handle(&mut self, _: GetStatus, _: &mut Context<Self>) -> Self::Result {
        let in_use = self.remoting.send(NameServerInUse);
        Box::pin(async move { in_use.await.ok().flatten() }.into_actor(self).map(|name_server, act, _| {
            let mut groups: Vec<String> = act.producers.keys().cloned().collect();
            groups.sort();
            let mut topics: Vec<String> = act.topics.iter().cloned().collect();
            topics.sort();
            InstanceStatus {
                client_id: act.client_id.clone(),
                state: act.state,
                groups,
                topics,
                brokers: act.brokers.clone(),
                broker_versions: act.broker_versions.clone(),
                name_server,
                awaiting_replies: act.replies.len(),
            }
        }))
    }
}

impl Handler<HeartbeatNow> for ClientInstance {
    type Result = ();

    fn handle(&mut self, msg: HeartbeatNow, _: &mut Context<Self>) {
        if let Some(hb) = &self.heartbeat {
            hb.do_send(msg);
        }
    }
}
