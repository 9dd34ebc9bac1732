//! Retry, fault tolerance and back-pressure against scripted fake brokers (fault injection;
//! the real-broker proof of sends is in `send.rs` and `send_api.rs`).
//!
//! The fake name server builds each route from the topic name: `t_<port>[_<port>]` routes to
//! brokers `a` (and `b`) on those loopback ports, so tests run in parallel without shared state.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use actix_rocketmq::protocol::codes::{request, response};
use actix_rocketmq::protocol::RemotingCommand;
use actix_rocketmq::remoting::connection::{Oneway, PendingCount};
use actix_rocketmq::remoting::{Connection, ConnectionSettings};
use actix_rocketmq::{
    GetProducerStatus, Producer, ProducerConfig, ProducerExt, ProducerRecord, SendError, SendMessage, SendStatus,
    TrySendMessage,
};
use bytes::Bytes;

use crate::common::unique;
use crate::fake::{Behaviour, FakePeer, Responder};

pub fn route_for(topic: &str) -> Option<Bytes> {
    let ports: Vec<&str> = topic.strip_prefix("t_")?.split('_').collect();
    let names = ["a", "b"];
    let brokers: Vec<(&str, String)> = ports.iter().zip(names).map(|(p, n)| (n, format!("127.0.0.1:{p}"))).collect();
    let queue_datas: Vec<String> = brokers
        .iter()
        .map(|(name, _)| format!(r#"{{"brokerName":"{name}","perm":6,"readQueueNums":1,"topicSysFlag":0,"writeQueueNums":1}}"#))
        .collect();
    let broker_datas: Vec<String> = brokers
        .iter()
        .map(|(name, addr)| format!(r#"{{"brokerAddrs":{{"0":"{addr}"}},"brokerName":"{name}","cluster":"c"}}"#))
        .collect();
    Some(Bytes::from(format!(
        r#"{{"brokerDatas":[{}],"filterServerTable":{{}},"queueDatas":[{}]}}"#,
        broker_datas.join(","),
        queue_datas.join(",")
    )))
}

pub fn name_server(cmd: &RemotingCommand) -> Option<RemotingCommand> {
    if cmd.code != request::GET_ROUTEINFO_BY_TOPIC {
        return Some(RemotingCommand::response(response::SUCCESS, 0, None));
    }
    Some(match cmd.ext("topic").and_then(route_for) {
        Some(body) => RemotingCommand::response(response::SUCCESS, 0, None).with_body(body),
        None => RemotingCommand::response(response::TOPIC_NOT_EXIST, 0, Some("no route".into())),
    })
}

pub fn stored(code: i32) -> RemotingCommand {
    let mut reply = RemotingCommand::response(code, 0, None);
    for (k, v) in [("msgId", "7F00000100002A9F0000000000000001"), ("queueId", "0"), ("queueOffset", "5"), ("MSG_REGION", "DefaultRegion")] {
        reply.ext_fields.insert(k, v);
    }
    reply
}

/// Answers SEND_MESSAGE_V2 with `send`, everything else with SUCCESS.
fn broker(send: fn() -> Option<RemotingCommand>) -> impl Fn(&RemotingCommand) -> Option<RemotingCommand> {
    move |cmd| if cmd.code == request::SEND_MESSAGE_V2 { send() } else { Some(RemotingCommand::response(response::SUCCESS, 0, None)) }
}

macro_rules! responder {
    ($send:expr) => {{
        fn r(cmd: &RemotingCommand) -> Option<RemotingCommand> {
            broker($send)(cmd)
        }
        r as Responder
    }};
}

/// A broker that stores every send (and answers everything else with SUCCESS).
pub fn good() -> Responder {
    responder!(|| Some(stored(response::SUCCESS)))
}
fn busy() -> Responder {
    responder!(|| Some(RemotingCommand::response(response::SYSTEM_BUSY, 0, Some("[REJECTREQUEST]system busy".into()))))
}
fn illegal() -> Responder {
    responder!(|| Some(RemotingCommand::response(response::MESSAGE_ILLEGAL, 0, Some("illegal".into()))))
}
fn silent() -> Responder {
    responder!(|| None)
}
fn flush_timeout() -> Responder {
    responder!(|| Some(stored(response::FLUSH_DISK_TIMEOUT)))
}

struct Cluster {
    ns: FakePeer,
    a: FakePeer,
    b: Option<FakePeer>,
    topic: String,
}

impl Cluster {
    async fn two(a: Responder, b: Responder) -> Cluster {
        let a = FakePeer::start(Behaviour::Script(a)).await;
        let b = FakePeer::start(Behaviour::Script(b)).await;
        let topic = format!("t_{}_{}", port(&a), port(&b));
        Cluster { ns: FakePeer::start(Behaviour::Script(name_server)).await, a, b: Some(b), topic }
    }

    async fn one(a: Responder) -> Cluster {
        let a = FakePeer::start(Behaviour::Script(a)).await;
        let topic = format!("t_{}", port(&a));
        Cluster { ns: FakePeer::start(Behaviour::Script(name_server)).await, a, b: None, topic }
    }

    fn config(&self) -> ProducerConfig {
        ProducerConfig::new(unique("fake"), self.ns.addr.clone())
    }

    fn record(&self, body: &str) -> ProducerRecord {
        ProducerRecord::new(&self.topic, body.to_string())
    }

    fn sends_a(&self) -> usize {
        sends(&self.a)
    }
    fn sends_b(&self) -> usize {
        self.b.as_ref().map_or(0, sends)
    }
}

/// The port of a fake, as the topic names of [`route_for`] carry it.
pub fn port(p: &FakePeer) -> &str {
    p.addr.rsplit(':').next().unwrap()
}

fn sends(peer: &FakePeer) -> usize {
    peer.requests().iter().filter(|c| c.code == request::SEND_MESSAGE_V2).count()
}

#[actix_rt::test]
async fn a_busy_broker_is_retried_on_the_other() {
    let c = Cluster::two(busy(), good()).await;
    let p = Producer::spawn(c.config()).await.unwrap();
    for i in 0..10 {
        let r = p.send_message(c.record(&format!("m{i}"))).await.expect("retried onto b");
        assert_eq!(r.message_queue.broker_name, "b");
        assert_eq!(r.queue_offset, 5);
    }
    assert!(c.sends_a() >= 1, "broker a was never tried");
    assert_eq!(c.sends_b(), 10);
    p.shutdown().await;
}

#[actix_rt::test]
async fn a_non_retryable_code_ends_the_send() {
    let c = Cluster::two(illegal(), illegal()).await;
    let p = Producer::spawn(c.config()).await.unwrap();
    let res = p.send_message(c.record("x")).await;
    assert!(matches!(res, Err(SendError::Broker { code: 13, ref remark, .. }) if remark == "illegal"), "{res:?}");
    assert_eq!(c.sends_a() + c.sends_b(), 1);
    p.shutdown().await;
}

#[actix_rt::test]
async fn retryable_everywhere_gives_three_attempts() {
    let c = Cluster::two(busy(), busy()).await;
    let p = Producer::spawn(c.config()).await.unwrap();
    let res = p.send_message(c.record("x")).await;
    assert!(matches!(res, Err(SendError::Broker { code: 2, .. })), "{res:?}");
    assert_eq!(c.sends_a() + c.sends_b(), 3);
    p.shutdown().await;
}

#[actix_rt::test]
async fn silent_brokers_end_the_send_within_its_budget() {
    let c = Cluster::two(silent(), silent()).await;
    let mut cfg = c.config();
    cfg.send_msg_timeout = Duration::from_millis(600);
    let p = Producer::spawn(cfg).await.unwrap();
    let started = std::time::Instant::now();
    let res = p.send_message(c.record("x")).await;
    assert!(matches!(res, Err(SendError::Timeout { delivery: actix_rocketmq::Delivery::Unknown, .. })), "{res:?}");
    assert!(started.elapsed() < Duration::from_secs(5), "a send must end within its budget");
    p.shutdown().await;
}

#[actix_rt::test]
async fn not_store_ok_is_returned_or_retried_elsewhere() {
    let c = Cluster::two(flush_timeout(), flush_timeout()).await;
    let p = Producer::spawn(c.config()).await.unwrap();
    let r = p.send_message(c.record("x")).await.unwrap();
    assert_eq!(r.status, SendStatus::FlushDiskTimeout);
    assert_eq!(c.sends_a() + c.sends_b(), 1, "by default a stored-but-not-flushed message is not resent");
    p.shutdown().await;

    let c = Cluster::two(flush_timeout(), good()).await;
    let mut cfg = c.config();
    cfg.retry_another_broker_when_not_store_ok = true;
    let p = Producer::spawn(cfg).await.unwrap();
    for _ in 0..6 {
        let r = p.send_message(c.record("x")).await.unwrap();
        assert_eq!((r.status, r.message_queue.broker_name.as_str()), (SendStatus::SendOk, "b"));
    }
    assert!(c.sends_a() >= 1);
    p.shutdown().await;
}

static GO_AWAY_SENT: AtomicU32 = AtomicU32::new(0);

#[actix_rt::test]
async fn go_away_reconnects_and_resends_once() {
    let going_away = responder!(|| {
        if GO_AWAY_SENT.fetch_add(1, Ordering::SeqCst) == 0 {
            Some(RemotingCommand::response(response::GO_AWAY, 0, Some("going away".into())))
        } else {
            Some(stored(response::SUCCESS))
        }
    });
    let c = Cluster::one(going_away).await;
    let p = Producer::spawn(c.config()).await.unwrap();
    let r = p.send_message(c.record("x")).await.expect("resent after GO_AWAY");
    assert_eq!(r.message_queue.broker_name, "a");
    assert_eq!(c.sends_a(), 2, "the same request went twice");
    assert_eq!(*c.a.accepted.lock().unwrap(), 2, "the resend used a new connection");
    p.shutdown().await;
}

#[actix_rt::test]
async fn latency_fault_tolerance_avoids_a_failing_broker() {
    let recorder = metrics_util::debugging::DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _recording = metrics::set_default_local_recorder(&recorder);
    let c = Cluster::two(busy(), good()).await;
    let mut cfg = c.config();
    cfg.send_latency_fault_enable = true;
    let p = Producer::spawn(cfg).await.unwrap();
    for _ in 0..20 {
        p.send_message(c.record("x")).await.expect("ends on b");
    }
    assert!(c.sends_a() <= 1, "an isolated broker is avoided (tried {} times)", c.sends_a());
    p.shutdown().await;
    // Each busy answer isolated broker a once, and its send was retried on b.
    let m = crate::observability::snapshot(&snapshotter);
    let total = |name: &str| -> f64 { m.iter().filter(|(k, _)| k.starts_with(&format!("{name}{{"))).map(|(_, v)| v).sum() };
    assert_eq!(total(actix_rocketmq::producer::metrics::BROKER_ISOLATIONS), c.sends_a() as f64, "{m:#?}");
    assert_eq!(total(actix_rocketmq::producer::metrics::SEND_RETRIES), c.sends_a() as f64, "{m:#?}");
    assert_eq!(total(actix_rocketmq::producer::metrics::MESSAGES_SENT), 20.0, "{m:#?}");
}

#[actix_rt::test]
async fn back_pressure_waits_then_times_out_and_try_send_reports_full() {
    let c = Cluster::one(silent()).await;
    let mut cfg = c.config();
    cfg.max_inflight_messages = 2;
    cfg.send_msg_timeout = Duration::from_secs(5);
    let p = Producer::spawn(cfg).await.unwrap();
    // Two sends hang on the silent broker and fill the budget.
    let hanging: Vec<_> = (0..2).map(|i| p.send(SendMessage::new(c.record(&format!("h{i}"))))).collect();
    let full = async {
        loop {
            let s = p.send(GetProducerStatus).await.unwrap();
            if s.inflight_messages == 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let rec = c.record("no room");
        let f = p.send(TrySendMessage(SendMessage::new(rec.clone()))).await.unwrap().unwrap_err();
        assert!(matches!(f.error, SendError::Full { messages: 2, .. }), "{}", f.error);
        assert_eq!(f.returned, rec, "the message comes back");

        let rec = c.record("waits");
        let f = p.send(SendMessage::new(rec.clone()).with_timeout(Duration::from_millis(300))).await.unwrap().unwrap_err();
        assert!(matches!(f.error, SendError::Timeout { attempts: 0, .. }), "{}", f.error);
        assert_eq!(f.returned, rec);
        assert_eq!(p.send(GetProducerStatus).await.unwrap().waiting_sends, 0);
    };
    let (done, _) = futures::join!(full, futures::future::join_all(hanging));
    let _: () = done;
    assert_eq!(sends(&c.a), 2, "nothing beyond the budget reached the broker");
    let s = p.send(GetProducerStatus).await.unwrap();
    assert_eq!((s.inflight_messages, s.inflight_bytes), (0, 0), "every send gave its room back");
    p.shutdown().await;
}

#[actix_rt::test]
async fn one_way_requests_leave_nothing_pending() {
    let peer = FakePeer::start(Behaviour::Script(silent())).await;
    let settings = ConnectionSettings {
        serialize_type: actix_rocketmq::protocol::SerializeType::Json,
        connect_timeout: Duration::from_secs(2),
        max_frame_len: actix_rocketmq::protocol::DEFAULT_MAX_FRAME_LEN,
        io_threads: 0,
        ..Default::default()
    };
    let conn = actix::Actor::start(Connection::new(peer.addr.clone(), 1, settings, None));
    for _ in 0..100 {
        conn.send(Oneway { cmd: RemotingCommand::request(request::SEND_MESSAGE_V2) }).await.unwrap().unwrap();
    }
    assert_eq!(conn.send(PendingCount).await.unwrap(), 0);
    let seen = crate::admin::eventually(Duration::from_secs(5), || async { peer.requests().len() == 100 }).await;
    assert!(seen);
    assert!(peer.requests().iter().all(|c| c.is_oneway()), "the one-way flag is on the wire");

    // Through the producer: one-way sends reach the broker flagged, with no reply needed.
    let c = Cluster::one(silent()).await;
    let p = Producer::spawn(c.config()).await.unwrap();
    for i in 0..20 {
        p.send_oneway(c.record(&format!("o{i}"))).await.unwrap();
    }
    assert!(crate::admin::eventually(Duration::from_secs(5), || async { sends(&c.a) == 20 }).await);
    assert!(c.a.requests().iter().filter(|r| r.code == request::SEND_MESSAGE_V2).all(|r| r.is_oneway()));
    assert_eq!(p.send(GetProducerStatus).await.unwrap().inflight_messages, 0);
    p.shutdown().await;
}

#[actix_rt::test]
async fn async_sends_retry_on_another_broker() {
    use actix_rocketmq::{SendAsync, SendOutcome};

    let c = Cluster::two(busy(), good()).await;
    let mut cfg = c.config();
    cfg.retry_times_when_send_async_failed = 1;
    let p = Producer::spawn(cfg).await.unwrap();
    let inbox = crate::common::Inbox::<SendOutcome>::start();
    for i in 0..10 {
        p.send(SendAsync::new(c.record("a"), inbox.clone().recipient()).with_context(i)).await.unwrap();
    }
    let got = crate::common::wait_for(&inbox, 10).await;
    for o in &got {
        let r = o.result.as_ref().unwrap_or_else(|f| panic!("async send {} failed: {}", o.context, f.error));
        assert_eq!(r.message_queue.broker_name, "b");
    }
    assert!(c.sends_a() >= 1, "some first attempts hit the busy broker and were retried");
    assert_eq!(c.sends_b(), 10);
    p.shutdown().await;
}

#[actix_rt::test]
async fn a_connection_lost_after_the_write_is_an_unknown_outcome_never_hidden_by_a_later_refusal() {
    use actix_rocketmq::{Delivery, SendErrorKind};
    // Broker a hangs up on every connection's first request; broker b's port is closed.
    let a = FakePeer::start(Behaviour::Hangup).await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let b_port = closed.local_addr().unwrap().port();
    drop(closed);
    let ns = FakePeer::start(Behaviour::Script(name_server)).await;
    let topic = format!("t_{}_{b_port}", port(&a));
    let mut cfg = ProducerConfig::new(unique("unknown"), ns.addr.clone());
    cfg.send_msg_timeout = Duration::from_secs(5);
    let p = Producer::spawn(cfg).await.unwrap();
    for i in 0..4 {
        let f = p.send(SendMessage::new(ProducerRecord::new(&topic, format!("u{i}")))).await.unwrap().unwrap_err();
        // Whichever broker came first, one attempt reached broker a's socket and was lost: the
        // refusals of the closed port (not sent) must not replace that.
        assert!(f.error.may_have_been_stored(), "{} ({:?})", f.error, f.error);
        assert_eq!(f.error.kind(), SendErrorKind::OutcomeUnknown);
        assert!(matches!(f.error, SendError::Remoting { delivery: Delivery::Unknown, attempts: 3, .. }), "{:?}", f.error);
        assert_eq!(f.returned.body().as_ref(), format!("u{i}").as_bytes());
    }
    p.shutdown().await;
}

#[actix_rt::test]
async fn refused_connections_are_not_sent() {
    use actix_rocketmq::{Delivery, SendErrorKind};
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let ns = FakePeer::start(Behaviour::Script(name_server)).await;
    let p = Producer::spawn(ProducerConfig::new(unique("refused"), ns.addr.clone())).await.unwrap();
    let f = p.send(SendMessage::new(ProducerRecord::new(format!("t_{port}"), "x"))).await.unwrap().unwrap_err();
    assert!(matches!(f.error, SendError::Remoting { delivery: Delivery::NotSent, .. }), "{:?}", f.error);
    assert_eq!(f.error.kind(), SendErrorKind::Transient);
    assert!(f.error.is_retryable() && !f.error.may_have_been_stored());
    p.shutdown().await;
}

#[actix_rt::test]
async fn a_silent_broker_times_out_with_an_unknown_outcome() {
    use actix_rocketmq::Delivery;
    let c = Cluster::one(silent()).await;
    let mut cfg = c.config();
    cfg.send_msg_timeout = Duration::from_millis(500);
    let p = Producer::spawn(cfg).await.unwrap();
    let f = p.send(SendMessage::new(c.record("x"))).await.unwrap().unwrap_err();
    assert!(matches!(f.error, SendError::Timeout { delivery: Delivery::Unknown, .. }), "{:?}", f.error);
    p.shutdown().await;
}

#[actix_rt::test]
async fn a_send_parked_for_a_route_at_shutdown_ends_with_its_own_error_not_a_mailbox_error() {
    // A name server that never answers: the send waits for its route when Shutdown comes.
    let ns = FakePeer::start(Behaviour::Silent).await;
    let mut cfg = ProducerConfig::new(unique("parked"), ns.addr.clone());
    cfg.send_msg_timeout = Duration::from_millis(800);
    let p = Producer::spawn(cfg).await.unwrap();
    let send = p.send(SendMessage::new(ProducerRecord::new(unique("t"), "x")));
    let status = crate::admin::eventually(Duration::from_secs(2), || async {
        p.send(GetProducerStatus).await.unwrap().sends_by_stage.get("route") == Some(&1)
    });
    assert!(status.await, "the send is parked for its route");
    let started = std::time::Instant::now();
    p.send(actix_rocketmq::Shutdown).await.unwrap();
    let f = send.await.unwrap().unwrap_err();
    assert!(matches!(f.error, SendError::Route { .. } | SendError::Timeout { .. }), "{:?}", f.error);
    assert!(!f.error.may_have_been_stored(), "nothing reached a broker");
    assert!(started.elapsed() < Duration::from_secs(3));
}

fn auth_refused() -> Responder {
    responder!(|| Some(RemotingCommand::response(response::NO_PERMISSION, 0, Some("check signature failed.".into()))))
}
fn topic_forbidden() -> Responder {
    responder!(|| Some(RemotingCommand::response(response::NO_PERMISSION, 0, Some("the topic[t] sending message is forbidden".into()))))
}

#[actix_rt::test]
async fn credential_refusals_end_the_send_at_once_other_permission_refusals_follow_the_retry_list() {
    use actix_rocketmq::{AuthRefusal, SendErrorKind};
    let c = Cluster::two(auth_refused(), auth_refused()).await;
    let p = Producer::spawn(c.config()).await.unwrap();
    let f = p.send(SendMessage::new(c.record("x"))).await.unwrap().unwrap_err();
    assert!(matches!(f.error, SendError::Auth { refusal: AuthRefusal::BadSignature, .. }), "{:?}", f.error);
    assert_eq!(f.error.kind(), SendErrorKind::Config);
    assert_eq!(f.returned.body().as_ref(), b"x", "the message is handed back");
    assert_eq!(c.sends_a() + c.sends_b(), 1, "a credential refusal is not retried");
    p.shutdown().await;

    // Code 16 for a topic that is not writable is in Java's retry list: three attempts.
    let c = Cluster::two(topic_forbidden(), topic_forbidden()).await;
    let p = Producer::spawn(c.config()).await.unwrap();
    let res = p.send_message(c.record("x")).await;
    assert!(matches!(res, Err(SendError::Broker { code: 16, .. })), "{res:?}");
    assert_eq!(c.sends_a() + c.sends_b(), 3);
    p.shutdown().await;
}

/// What the broker checks, computed the plain way: every ext field but the signature, by key,
/// then the body (FEATURES: AclClientRPCHook / DefaultAuthenticationContextBuilder).
fn expected_signature(cmd: &RemotingCommand, secret: &str) -> String {
    use base64::Engine as _;
    use hmac::Mac as _;
    let fields: std::collections::BTreeMap<&str, &str> = cmd.ext_fields.iter().filter(|(k, _)| *k != "Signature").collect();
    let mut data: Vec<u8> = fields.values().flat_map(|v| v.as_bytes().to_vec()).collect();
    data.extend_from_slice(&cmd.body);
    let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(&data);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[actix_rt::test]
async fn every_request_of_an_instance_with_credentials_is_signed() {
    use actix_rocketmq::{Credentials, SendBatch};
    for ser in [actix_rocketmq::protocol::SerializeType::Json, actix_rocketmq::protocol::SerializeType::RocketMq] {
        fn stores_everything(cmd: &RemotingCommand) -> Option<RemotingCommand> {
            let send = [request::SEND_MESSAGE_V2, request::SEND_BATCH_MESSAGE].contains(&cmd.code);
            Some(if send { stored(response::SUCCESS) } else { RemotingCommand::response(response::SUCCESS, 0, None) })
        }
        let c = Cluster::one(stores_everything).await;
        let mut cfg = c.config();
        cfg.client.instance_name = unique("signed");
        cfg.client.serialize_type = ser;
        cfg.client.credentials = Some(Credentials::new("alice", "alice-secret-1").with_security_token("tok-1"));
        let p = Producer::spawn(cfg).await.unwrap();
        p.send_message(c.record("sync")).await.unwrap();
        p.send_oneway(c.record("oneway")).await.unwrap();
        p.send(SendBatch::new(vec![c.record("b1"), c.record("b2")])).await.unwrap().unwrap();
        p.shutdown().await;
        let broker = c.a.requests();
        let codes: Vec<i32> = broker.iter().map(|r| r.code).collect();
        for code in [request::HEART_BEAT, request::SEND_MESSAGE_V2, request::SEND_BATCH_MESSAGE, request::UNREGISTER_CLIENT] {
            assert!(codes.contains(&code), "{ser:?}: no request {code} reached the broker: {codes:?}");
        }
        assert!(broker.iter().any(|r| r.is_oneway()));
        let ns = c.ns.requests();
        assert!(ns.iter().any(|r| r.code == request::GET_ROUTEINFO_BY_TOPIC));
        for r in broker.iter().chain(&ns) {
            assert_eq!(r.ext("AccessKey"), Some("alice"), "{ser:?}: request {} unsigned", r.code);
            assert_eq!(r.ext("SecurityToken"), Some("tok-1"));
            assert_eq!(r.ext("Signature"), Some(expected_signature(r, "alice-secret-1").as_str()), "{ser:?}: request {}", r.code);
        }
    }
}

#[actix_rt::test]
async fn one_client_instance_has_one_set_of_shared_settings() {
    use actix_rocketmq::{ConfigError, Credentials, StartError};
    let c = Cluster::one(good()).await;
    let instance = unique("shared");
    let mut first = c.config();
    first.client.instance_name = instance.clone();
    first.client.credentials = Some(Credentials::new("alice", "a"));
    let p = Producer::spawn(first.clone()).await.unwrap();
    // Same clientId, same credentials: joins the instance.
    let mut same = first.clone();
    same.group = unique("fake");
    let q = Producer::spawn(same).await.expect("same settings share the instance");
    // Same clientId, other credentials: refused before anything is sent.
    let mut other = first.clone();
    other.group = unique("fake");
    other.client.credentials = Some(Credentials::new("bob", "b"));
    let err = Producer::spawn(other).await.unwrap_err();
    assert!(matches!(err, StartError::Config(ConfigError::InstanceConflict { setting: "credentials", .. })), "{err:?}");
    // The same name servers in another order, with a repeat, are the same setting.
    let mut reordered = first.clone();
    reordered.group = unique("fake");
    let ns = first.client.namesrv_addr.clone().unwrap_or_default();
    reordered.client.namesrv_addr = Some(format!(" {ns} ; {ns}"));
    let r = Producer::spawn(reordered).await.expect("the same name server set shares the instance");
    r.shutdown().await;
    // Nor with another header serialization or other name servers: never silently ignored.
    let mut json = first.clone();
    json.group = unique("fake");
    json.client.serialize_type = actix_rocketmq::SerializeType::Json;
    let err = Producer::spawn(json).await.unwrap_err();
    assert!(matches!(err, StartError::Config(ConfigError::InstanceConflict { setting: "serialize_type", .. })), "{err:?}");
    let mut elsewhere = first.clone();
    elsewhere.group = unique("fake");
    elsewhere.client.namesrv_addr = Some(format!("{};127.0.0.1:1", first.client.namesrv_addr.as_deref().unwrap_or_default()));
    let err = Producer::spawn(elsewhere).await.unwrap_err();
    assert!(matches!(err, StartError::Config(ConfigError::InstanceConflict { setting: "namesrv_addr/namesrv_endpoint", .. })), "{err:?}");
    p.shutdown().await;
    q.shutdown().await;
}

#[actix_rt::test]
async fn gauges_sample_sends_in_flight_and_count_open_connections() {
    use actix_rocketmq::producer::metrics::{CONNECTIONS, INFLIGHT_MESSAGES};
    use actix_rocketmq::{SendAsync, SendOutcome};
    let recorder = metrics_util::debugging::DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    // Thread-local: this test's producer, instance and connections run on this thread, other
    // tests' do not, so the counts are this test's alone.
    let _recording = metrics::set_default_local_recorder(&recorder);
    let c = Cluster::one(silent()).await;
    let mut cfg = c.config();
    cfg.send_msg_timeout = Duration::from_secs(5);
    cfg.drain_timeout = Some(Duration::from_millis(100));
    let group = cfg.group.clone();
    let p = Producer::spawn(cfg).await.unwrap();
    let inbox = crate::common::Inbox::<SendOutcome>::start();
    for i in 0..3 {
        p.send(SendAsync::new(c.record(&format!("g{i}")), inbox.clone().recipient())).await.unwrap();
    }
    let on_wire = crate::admin::eventually(Duration::from_secs(3), || async { sends(&c.a) == 3 }).await;
    assert!(on_wire, "the silent broker got {} of 3", sends(&c.a));
    // Past one tick (1 s): the in-flight gauge is sampled. One snapshot, since it resets values.
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let m = crate::observability::snapshot(&snapshotter);
    assert_eq!(m.get(&format!("{INFLIGHT_MESSAGES}{{group={group}}}")), Some(&3.0), "{m:#?}");
    assert_eq!(m.get(&format!("{CONNECTIONS}{{}}")), Some(&2.0), "the name server and the broker: {m:#?}");

    p.shutdown().await;
    // The last producer left: the instance closes both connections (-2 since the snapshot).
    let mut change = 0.0;
    let closed = crate::admin::eventually(Duration::from_secs(5), || {
        change += crate::observability::snapshot(&snapshotter).get(&format!("{CONNECTIONS}{{}}")).copied().unwrap_or(0.0);
        let now = change;
        async move { now == -2.0 }
    })
    .await;
    assert!(closed, "connections gauge moved by {change} after shutdown, not -2");
}
