//! What a producer tells about itself: its status on request, and events pushed to subscribers.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use actix::prelude::*;
use serde::Serialize;

use super::actor::Producer;
use crate::client::instance::{GetStatus, InstanceStatus};
use crate::error::ServiceState;
use crate::remoting::connection::{ConnectionEvent, PendingCount};

/// Where the producer is: ask with [`GetProducerStatus`]. Serializes to JSON for a service's
/// health or debug endpoint.
///
/// ```no_run
/// use actix_rocketmq::{GetProducerStatus, Producer, ProducerConfig};
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let producer = Producer::spawn(ProducerConfig::new("g", "127.0.0.1:9876")).await?;
/// let status = producer.send(GetProducerStatus).await?;
/// println!("{}", serde_json::to_string_pretty(&status)?);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProducerStatus {
    /// Where the producer is in its life; only `RUNNING` takes sends.
    pub state: ServiceState,
    /// `Shutdown` was asked and sends admitted before it are still finishing.
    pub draining: bool,
    /// The producer group, as configured (without namespace).
    pub group: String,
    /// The client id of the client instance it joined (`None` before it joined one, and after
    /// it left).
    pub client_id: Option<String>,
    /// How often the actor was restarted by its supervisor.
    pub restarts: u32,
    /// Topics with publish info (sorted).
    pub topics: Vec<String>,
    /// Per topic: the queues sends go to, and the master address of each broker.
    pub routes: BTreeMap<String, TopicRoute>,
    /// Brokers the latency fault table avoids, and until when.
    pub isolated_brokers: Vec<Isolation>,
    /// Sends admitted by the budget and not yet ended.
    pub inflight_messages: usize,
    /// Body bytes those sends hold in the budget.
    pub inflight_bytes: usize,
    /// Sends waiting for room in the budget.
    pub waiting_sends: usize,
    /// Every send not yet answered, by stage (`admission`, `route`, `connection`, `on_wire`, ...).
    pub sends_by_stage: BTreeMap<&'static str, usize>,
    /// The broker connections the producer uses, with their requests awaiting a reply.
    pub connections: Vec<ConnectionStatus>,
    /// Message trace counters (`None` when `enable_msg_trace` is off).
    pub trace: Option<super::trace::TraceStats>,
}

/// The queues of one topic.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopicRoute {
    /// `(broker name, queue id)` in the order round robin walks them.
    pub queues: Vec<(String, i32)>,
    /// Broker name -> master address.
    pub brokers: BTreeMap<String, String>,
}

/// A broker avoided by the latency fault table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Isolation {
    /// The broker's name.
    pub broker: String,
    /// Wall-clock end of the isolation, ms since the epoch.
    pub until_unix_ms: u64,
}

/// One broker connection.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConnectionStatus {
    /// The broker's address, `host:port`.
    pub addr: String,
    /// Requests written and awaiting a reply (`None`: the connection did not answer in time).
    pub pending_requests: Option<usize>,
}

/// Ask a producer for its [`ProducerStatus`]. It answers in any state, without asking a broker
/// (only its own connections, for their pending requests).
///
/// ```
/// use actix::prelude::*;
/// use actix_rocketmq::{GetProducerStatus, Producer, ProducerConfig, ServiceState};
///
/// #[actix::main]
/// async fn main() {
///     // Not started: no broker needed to ask.
///     let producer = Producer::new(ProducerConfig::new("orders_producer", "127.0.0.1:9876")).start();
///     let status = producer.send(GetProducerStatus).await.unwrap();
///     assert_eq!(status.state, ServiceState::CreateJust);
///     assert_eq!((status.inflight_messages, status.waiting_sends), (0, 0));
///     println!("{}", serde_json::to_string(&status).unwrap());
/// }
/// ```
#[derive(Message, Debug)]
#[rtype(result = "ProducerStatus")]
pub struct GetProducerStatus;

/// Ask a producer for the status of its client instance (brokers, versions, name server in
/// use); `None` before the producer joined one.
///
/// ```no_run
/// use actix_rocketmq::{producer::GetInstanceStatus, Producer, ProducerConfig};
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let producer = Producer::spawn(ProducerConfig::new("g", "127.0.0.1:9876")).await?;
/// if let Some(instance) = producer.send(GetInstanceStatus).await? {
///     println!("name server {:?}, brokers {:?}", instance.name_server, instance.broker_versions);
/// }
/// # Ok(()) }
/// ```
#[derive(Message, Debug)]
#[rtype(result = "Option<InstanceStatus>")]
pub struct GetInstanceStatus;

/// Something that happened to a producer, pushed to [`Subscribe`]d recipients.
#[derive(Message, Debug, Clone, PartialEq, Serialize)]
#[rtype(result = "()")]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ProducerEvent {
    /// A connection of the producer's client instance opened (broker or name server).
    ConnectionOpened {
        /// The remote address, `host:port`.
        addr: String,
    },
    /// A connection closed, or failed to open; `reason` is the error its requests got.
    ConnectionClosed {
        /// The remote address, `host:port`.
        addr: String,
        /// The [`RemotingError`](crate::RemotingError) its requests got, as text.
        reason: String,
    },
    /// A topic's queues or brokers changed (also on the first route of a topic).
    RouteChanged {
        /// The topic, as brokers see it (namespace included).
        topic: String,
        /// `(broker name, queue id)` of every queue sends may go to, in round-robin order.
        queues: Vec<(String, i32)>,
    },
    /// The latency fault table isolated a broker (only with `send_latency_fault_enable`).
    BrokerIsolated {
        /// The broker's name.
        broker: String,
        /// How long it is avoided, in milliseconds.
        for_ms: u64,
    },
    /// An isolated broker's isolation ended.
    BrokerRecovered {
        /// The broker's name.
        broker: String,
    },
    /// The actor was restarted by its supervisor and joined its instance again.
    Restarted {
        /// How many restarts so far, this one included.
        restarts: u32,
    },
}

/// Subscribe `0` to the producer's [`ProducerEvent`]s (kept across restarts; dropped once the
/// recipient's actor is gone).
///
/// ```no_run
/// use actix::prelude::*;
/// use actix_rocketmq::{producer::{ProducerEvent, Subscribe}, Producer, ProducerConfig};
///
/// struct Watcher;
/// impl Actor for Watcher { type Context = Context<Self>; }
/// impl Handler<ProducerEvent> for Watcher {
///     type Result = ();
///     fn handle(&mut self, event: ProducerEvent, _: &mut Context<Self>) {
///         println!("{event:?}");
///     }
/// }
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let producer = Producer::spawn(ProducerConfig::new("g", "127.0.0.1:9876")).await?;
/// producer.send(Subscribe(Watcher.start().recipient())).await?;
/// # Ok(()) }
/// ```
#[derive(Message)]
#[rtype(result = "()")]
pub struct Subscribe(pub Recipient<ProducerEvent>);

/// The subscribers of one producer.
#[derive(Default)]
pub(super) struct Events {
    subscribers: Vec<Recipient<ProducerEvent>>,
}

impl Events {
    pub(super) fn emit(&mut self, event: ProducerEvent) {
        if self.subscribers.is_empty() {
            return;
        }
        self.subscribers.retain(|s| s.connected());
        for s in &self.subscribers {
            s.do_send(event.clone());
        }
    }

    pub(super) fn broker_isolated(&mut self, broker: &str, until: Instant) {
        let for_ms = until.saturating_duration_since(Instant::now()).as_millis() as u64;
        self.emit(ProducerEvent::BrokerIsolated { broker: broker.to_string(), for_ms });
    }
}

fn unix_ms(at: Instant) -> u64 {
    let wall = SystemTime::now() + at.saturating_duration_since(Instant::now());
    wall.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// How long the status waits for a connection to count its pending requests.
const PENDING_QUERY_TIMEOUT: Duration = Duration::from_millis(500);

impl Handler<GetProducerStatus> for Producer {
    type Result = ResponseFuture<ProducerStatus>;

    fn handle(&mut self, _: GetProducerStatus, _: &mut Context<Self>) -> Self::Result {
        let mut topics: Vec<String> = self.routing.topics().map(|(t, _)| t.clone()).collect();
        topics.sort();
        let routes = self
            .routing
            .topics()
            .map(|(topic, info)| {
                let queues = info.queues.iter().map(|q| (q.broker_name.to_string(), q.queue_id)).collect();
                let brokers = info.masters.iter().map(|(n, a)| (n.clone(), a.clone())).collect();
                (topic.clone(), TopicRoute { queues, brokers })
            })
            .collect();
        let mut isolated_brokers: Vec<Isolation> = self
            .routing
            .isolations()
            .map(|(broker, until)| Isolation { broker: broker.clone(), until_unix_ms: unix_ms(*until) })
            .collect();
        isolated_brokers.sort_by(|a, b| a.broker.cmp(&b.broker));
        let budget = self.ledger.budget_ref();
        let mut status = ProducerStatus {
            state: self.state,
            draining: self.closing.is_draining(),
            group: self.config.group.clone(),
            client_id: self.membership.as_ref().map(|m| m.handle.client_id.clone()),
            restarts: self.restarts,
            topics,
            routes,
            isolated_brokers,
            inflight_messages: budget.messages(),
            inflight_bytes: budget.bytes(),
            waiting_sends: budget.waiting(),
            sends_by_stage: self.ledger.stages(),
            connections: Vec::new(),
            trace: self.tracing.as_ref().map(|t| t.stats()),
        };
        let conns: Vec<_> = self.links.all().map(|(a, c)| (a.clone(), c.clone())).collect();
        Box::pin(async move {
            for (addr, conn) in conns {
                let pending = tokio::time::timeout(PENDING_QUERY_TIMEOUT, conn.send(PendingCount)).await.ok().and_then(Result::ok);
                status.connections.push(ConnectionStatus { addr, pending_requests: pending });
            }
            status.connections.sort_by(|a, b| a.addr.cmp(&b.addr));
            status
        })
    }
}

impl Handler<GetInstanceStatus> for Producer {
    type Result = ResponseFuture<Option<InstanceStatus>>;

    fn handle(&mut self, _: GetInstanceStatus, _: &mut Context<Self>) -> Self::Result {
        let instance = self.membership.as_ref().map(|m| m.instance.clone());
        Box::pin(async move {
            match instance {
                Some(i) => i.send(GetStatus).await.ok(),
                None => None,
            }
        })
    }
}

impl Handler<Subscribe> for Producer {
    type Result = ();

    fn handle(&mut self, msg: Subscribe, _: &mut Context<Self>) {
        self.events.subscribers.push(msg.0);
    }
}

impl Handler<ConnectionEvent> for Producer {
    type Result = ();

    fn handle(&mut self, msg: ConnectionEvent, _: &mut Context<Self>) {
        let event = match msg {
            ConnectionEvent::Opened { addr, .. } => ProducerEvent::ConnectionOpened { addr },
            ConnectionEvent::Closed { addr, reason, .. } => {
                // The remoting client forgets it too; the next send asks for a fresh one.
                self.links.forget_if_dead(&addr);
                ProducerEvent::ConnectionClosed { addr, reason: reason.to_string() }
            }
        };
        self.events.emit(event);
    }
}
