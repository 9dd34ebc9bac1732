//! A secured cluster, for real: the fixture's secured instance runs ACL 2.0 authentication and
//! authorization on the broker and TLS in enforcing mode on the name server and the broker (the
//! broker also requires a client certificate). Users, topics and certificates come from
//! `scripts/rocketmq-local start --auth --tls`:
//! * `alice` may publish to `AuthTopic`, not to `AuthDenied`; `carol` has no permission at all;
//!   `rocketmq` is the super user (used here to read back what the broker holds);
//! * `ca.pem` signed the server and client certificates; `other-ca.pem` signed neither.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_rocketmq::protocol::SerializeType;
use actix_rocketmq::remoting::signing::Signer;
use actix_rocketmq::remoting::transport::Transport;
use actix_rocketmq::remoting::ConnectionSettings;
use actix_rocketmq::{
    AuthRefusal, Credentials, Delivery, Producer, ProducerConfig, ProducerExt, ProducerRecord, RemotingError, RouteError,
    LocalTransactionState, SendAsync, SendError, SendErrorKind, SendMessage, SendOutcome, SendTransactional, TlsConfig,
    TlsFailure,
};

use crate::admin::{eventually, Admin};
use crate::common::{unique, wait_for, Inbox};
use crate::fixture;

const TOPIC: &str = "AuthTopic";
const DENIED: &str = "AuthDenied";

fn alice() -> Credentials {
    Credentials::new("alice", "alice-secret-1")
}

fn tls() -> TlsConfig {
    TlsConfig::with_ca_file(fixture::secure_tls_file("ca.pem"))
        .with_client_certificate(fixture::secure_tls_file("client.pem"), fixture::secure_tls_file("client.key"))
}

/// A producer config for the secured cluster, in its own client instance (instances are keyed
/// by clientId, and one instance has one set of credentials).
fn config(credentials: Option<Credentials>, tls: Option<TlsConfig>) -> ProducerConfig {
    let mut cfg = ProducerConfig::new(unique("PG_secure"), fixture::secure_namesrv_addr());
    cfg.client.instance_name = unique("secure");
    cfg.client.credentials = credentials;
    cfg.client.tls = tls;
    cfg.send_msg_timeout = Duration::from_secs(10);
    cfg
}

/// The super user, over TLS with the client certificate: reads back what the broker holds.
fn admin() -> Admin {
    let settings = ConnectionSettings {
        transport: Transport::new(Some(&tls())).expect("test certificates load"),
        signer: Some(Arc::new(Signer::new(Credentials::new("rocketmq", "12345678")))),
        ..Default::default()
    };
    Admin::connect_with(&fixture::secure_broker_addr(), settings)
}

/// Max offset of every queue of `topic` on the secured broker (route from the TLS name server).
async fn max_offsets(admin: &Admin, topic: &str) -> Vec<i64> {
    let settings = ConnectionSettings { transport: Transport::new(Some(&tls())).expect("certificates"), ..Default::default() };
    let ns = Admin::connect_with(&fixture::secure_namesrv_addr(), settings);
    let route = ns.route(topic).await.unwrap_or_else(|| panic!("{topic} exists on the secured cluster"));
    let queues = route.queue_datas.iter().map(|q| q.write_queue_nums).max().unwrap_or(0);
    let mut out = Vec::new();
    for q in 0..queues {
        out.push(admin.max_offset(topic, q).await);
    }
    out
}

async fn held_by_key(admin: &Admin, key: &str, body: &str) -> bool {
    admin.query_uniq_key(TOPIC, key).await.iter().any(|m| m.body.as_ref() == body.as_bytes())
}

#[actix_rt::test]
async fn signed_sends_of_every_kind_land_over_tls_in_both_serializations() {
    let admin = admin();
    for ser in [SerializeType::Json, SerializeType::RocketMq] {
        let mut cfg = config(Some(alice()), Some(tls()));
        cfg.client.serialize_type = ser;
        let p = Producer::spawn(cfg).await.expect("producer starts on the secured cluster");
        let tag = unique(&format!("{ser:?}"));

        let body = format!("sync {tag}");
        let r = p.send_message(ProducerRecord::new(TOPIC, body.clone())).await.expect("signed sync send");
        let stored = admin.view(&r.offset_msg_id).await;
        assert_eq!((stored.topic.as_str(), stored.body.as_ref()), (TOPIC, body.as_bytes()));

        let inbox = Inbox::<SendOutcome>::start();
        let body = format!("async {tag}");
        p.send(SendAsync::new(ProducerRecord::new(TOPIC, body.clone()), inbox.clone().recipient())).await.unwrap();
        let outcome = wait_for(&inbox, 1).await.remove(0);
        let r = outcome.result.unwrap_or_else(|f| panic!("signed async send: {}", f.error));
        assert_eq!(admin.view(&r.offset_msg_id).await.body.as_ref(), body.as_bytes());

        let records: Vec<ProducerRecord> = (0..3).map(|i| ProducerRecord::new(TOPIC, format!("batch {i} {tag}"))).collect();
        let r = p.send_batch(records.clone()).await.expect("signed batch send");
        for (rec, id) in records.iter().zip(r.offset_msg_ids()) {
            assert_eq!(admin.view(id).await.body, rec.body());
        }

        let key = unique("oneway");
        let body = format!("oneway {tag}");
        p.send_oneway(ProducerRecord::new(TOPIC, body.clone()).with_key(&key)).await.expect("written");
        let landed = eventually(Duration::from_secs(10), || held_by_key(&admin, &key, &body)).await;
        assert!(landed, "{ser:?}: the signed one-way message is not on the broker");
        p.shutdown().await;
    }
}

#[actix_rt::test]
async fn the_signed_heartbeat_registers_the_group_and_the_signed_unregister_removes_it() {
    let admin = admin();
    let cfg = config(Some(alice()), Some(tls()));
    let group = cfg.group.clone();
    let p = Producer::spawn(cfg).await.unwrap();
    // A send makes the instance know (and heartbeat) the broker at once.
    p.send_message(ProducerRecord::new(TOPIC, "hb")).await.expect("send");
    let client_id = p.send(actix_rocketmq::GetInstanceStatus).await.unwrap().expect("instance status").client_id;
    assert!(admin.lists_producer(&group, &client_id, true).await, "the broker never listed the group: heartbeat refused?");
    p.shutdown().await;
    assert!(admin.lists_producer(&group, &client_id, false).await, "the broker still lists the group: unregister refused?");
}

/// The outcome of one sync send from a fresh producer with these settings.
async fn send_once(cfg: ProducerConfig, topic: &str) -> (Result<actix_rocketmq::SendResult, actix_rocketmq::SendFailure>, Duration) {
    let p = Producer::spawn(cfg).await.expect("producer starts (nothing is checked before the first request)");
    let started = Instant::now();
    let res = p.send(SendMessage::new(ProducerRecord::new(topic, "refused?"))).await.unwrap();
    let took = started.elapsed();
    p.shutdown().await;
    (res, took)
}

#[actix_rt::test]
async fn each_credential_refusal_is_its_own_typed_error_with_the_message_handed_back() {
    let admin = admin();
    let before = max_offsets(&admin, DENIED).await;
    type Case = (Option<Credentials>, &'static str, fn(&AuthRefusal) -> bool);
    let cases: [Case; 5] = [
        (Some(Credentials::new("alice", "not-her-secret")), TOPIC, |r| *r == AuthRefusal::BadSignature),
        (Some(Credentials::new("nobody", "whatever")), TOPIC, |r| matches!(r, AuthRefusal::UnknownUser { user } if user == "nobody")),
        (Some(alice()), DENIED, |r| *r == AuthRefusal::NoPermission),
        (Some(Credentials::new("carol", "carol-secret-1")), TOPIC, |r| *r == AuthRefusal::NoPermission),
        (None, TOPIC, |r| *r == AuthRefusal::MissingCredentials),
    ];
    for (credentials, topic, expected) in cases {
        let who = credentials.as_ref().map_or("no credentials".to_string(), |c| c.access_key.clone());
        let (res, _) = send_once(config(credentials, Some(tls())), topic).await;
        let f = res.expect_err("refused");
        match &f.error {
            SendError::Auth { refusal, .. } if expected(refusal) => {}
            other => panic!("{who} -> {topic}: unexpected {other:?}"),
        }
        assert_eq!(f.error.kind(), SendErrorKind::Config, "{who}");
        assert!(!f.error.may_have_been_stored());
        assert_eq!(f.returned.topic(), topic);
        assert_eq!(f.returned.body().as_ref(), b"refused?");
    }
    // Refused, so stored nowhere: the denied topic holds what it held (other tests only send to
    // AuthTopic, and alice's refused send went to the denied one).
    assert_eq!(max_offsets(&admin, DENIED).await, before);
}

#[actix_rt::test]
async fn a_refused_one_way_send_vanishes_on_the_broker_side() {
    // Documented behaviour: the broker drops a one-way request that fails authorization without
    // a word, so the caller sees success and nothing is stored.
    let admin = admin();
    let p = Producer::spawn(config(Some(Credentials::new("carol", "carol-secret-1")), Some(tls()))).await.unwrap();
    let key = unique("carol_oneway");
    p.send_oneway(ProducerRecord::new(TOPIC, "never stored").with_key(&key)).await.expect("handed to the socket");
    // Alice's one-way send on the same path lands; carol's never does.
    let q = Producer::spawn(config(Some(alice()), Some(tls()))).await.unwrap();
    let alice_key = unique("alice_oneway");
    q.send_oneway(ProducerRecord::new(TOPIC, "stored").with_key(&alice_key)).await.unwrap();
    assert!(eventually(Duration::from_secs(10), || held_by_key(&admin, &alice_key, "stored")).await);
    assert!(!held_by_key(&admin, &key, "never stored").await);
    p.shutdown().await;
    q.shutdown().await;
}

#[actix_rt::test]
async fn a_plain_client_is_refused_by_the_enforcing_cluster() {
    let mut cfg = config(Some(alice()), None);
    cfg.send_msg_timeout = Duration::from_secs(3);
    let (res, _) = send_once(cfg, TOPIC).await;
    let f = res.expect_err("plain TCP is not served");
    // The name server closes a plain connection without an answer: no route, nothing sent.
    assert!(matches!(f.error, SendError::Route { .. }), "{:?}", f.error);
    assert!(!f.error.may_have_been_stored());
}

#[actix_rt::test]
async fn a_client_that_does_not_trust_the_ca_gets_a_certificate_error_quickly_with_nothing_sent() {
    let admin = admin();
    let before = max_offsets(&admin, DENIED).await;
    let untrusting = TlsConfig::with_ca_file(fixture::secure_tls_file("other-ca.pem"))
        .with_client_certificate(fixture::secure_tls_file("client.pem"), fixture::secure_tls_file("client.key"));
    let cfg = config(Some(alice()), Some(untrusting));
    let budget = cfg.send_msg_timeout;
    let (res, took) = send_once(cfg, DENIED).await;
    let f = res.expect_err("untrusted server certificate");
    let SendError::Route { source: RouteError::Remoting(RemotingError::Tls { addr, failure: TlsFailure::Certificate(reason) }), .. } = &f.error
    else {
        panic!("want a TLS certificate error from the name server, got {:?}", f.error)
    };
    assert_eq!(addr, &fixture::secure_namesrv_addr());
    assert!(reason.contains("UnknownIssuer"), "{reason}");
    assert_eq!(f.error.kind(), SendErrorKind::Config);
    assert_eq!(f.error.delivery(), Delivery::NotSent);
    assert!(took < budget / 2, "a certificate error is final: it took {took:?} of a {budget:?} budget");
    assert_eq!(max_offsets(&admin, DENIED).await, before, "nothing was stored");
}

#[actix_rt::test]
async fn the_broker_refuses_a_client_without_a_certificate_and_nothing_is_stored() {
    let admin = admin();
    let before = max_offsets(&admin, DENIED).await;
    // Trusts the CA, but has no client certificate: the name server (no client auth) answers,
    // the broker refuses the handshake.
    let cfg = config(Some(alice()), Some(TlsConfig::with_ca_file(fixture::secure_tls_file("ca.pem"))));
    let (res, _) = send_once(cfg, DENIED).await;
    let f = res.expect_err("no client certificate");
    match &f.error {
        SendError::Remoting { source: RemotingError::Tls { addr, failure: TlsFailure::Alert(_) }, delivery: Delivery::NotSent, .. } => {
            assert_eq!(addr, &fixture::secure_broker_addr());
        }
        other => panic!("want the broker's TLS refusal, not sent, got {other:?}"),
    }
    assert_eq!(f.error.kind(), SendErrorKind::Config);
    assert_eq!(max_offsets(&admin, DENIED).await, before);
}

#[actix_rt::test]
async fn accept_any_certificate_is_an_explicit_opt_in_that_works() {
    // The self-signed test setups Java's "test mode" serves need it; verification stays the default.
    let any = TlsConfig::danger_accept_any_certificate()
        .with_client_certificate(fixture::secure_tls_file("client.pem"), fixture::secure_tls_file("client.key"));
    let p = Producer::spawn(config(Some(alice()), Some(any))).await.unwrap();
    let r = p.send_message(ProducerRecord::new(TOPIC, "any cert")).await.expect("sent");
    assert_eq!(admin().view(&r.offset_msg_id).await.body.as_ref(), b"any cert");
    p.shutdown().await;
}

#[actix_rt::test]
async fn the_checked_server_name_is_the_address_host_unless_set() {
    let with = |name: &str| {
        let tls = tls().with_server_name(name);
        let mut cfg = config(Some(alice()), Some(tls));
        cfg.send_msg_timeout = Duration::from_secs(5);
        cfg
    };
    // The certificates name IP 127.0.0.1 (what the addresses carry) and DNS localhost.
    let p = Producer::spawn(with("localhost")).await.unwrap();
    let r = p.send_message(ProducerRecord::new(TOPIC, "by name")).await.expect("localhost is on the certificate");
    assert_eq!(admin().view(&r.offset_msg_id).await.body.as_ref(), b"by name");
    p.shutdown().await;

    let (res, _) = send_once(with("rocketmq.invalid"), TOPIC).await;
    let f = res.expect_err("a name the certificate does not carry");
    match &f.error {
        SendError::Route { source: RouteError::Remoting(RemotingError::Tls { failure: TlsFailure::Certificate(reason), .. }), .. } => {
            assert!(reason.contains("NotValidForName"), "{reason}");
        }
        other => panic!("want a certificate name error, got {other:?}"),
    }
}

/// Commits the first local transaction it runs and answers every check with COMMIT; leaves
/// transactions whose body starts with `later` undecided.
struct TxApp;
impl actix::Actor for TxApp {
    type Context = actix::Context<Self>;
}
impl actix::Handler<actix_rocketmq::ExecuteLocalTransaction> for TxApp {
    type Result = actix::MessageResult<actix_rocketmq::ExecuteLocalTransaction>;
    fn handle(&mut self, tx: actix_rocketmq::ExecuteLocalTransaction, _: &mut actix::Context<Self>) -> Self::Result {
        let later = tx.record.body().starts_with(b"later");
        actix::MessageResult(if later { LocalTransactionState::Unknown } else { LocalTransactionState::Commit })
    }
}
impl actix::Handler<actix_rocketmq::CheckLocalTransaction> for TxApp {
    type Result = actix::MessageResult<actix_rocketmq::CheckLocalTransaction>;
    fn handle(&mut self, _: actix_rocketmq::CheckLocalTransaction, _: &mut actix::Context<Self>) -> Self::Result {
        actix::MessageResult(LocalTransactionState::Commit)
    }
}

/// Over TLS with signed requests, END_TRANSACTION and the answers to the broker's checks are
/// signed too (the broker drops an unsigned one-way END_TRANSACTION without a word).
#[actix_rt::test]
async fn transactions_commit_on_a_secured_cluster_directly_and_through_a_check() {
    use actix::Actor;
    let admin = admin();
    let app = TxApp.start();
    let p = Producer::new(config(Some(alice()), Some(tls()))).with_transaction_checker(app.clone().recipient()).start();
    p.send(actix_rocketmq::Start).await.expect("mailbox").expect("producer starts");
    for body in [format!("now {}", unique("tx")), format!("later {}", unique("tx"))] {
        let record = ProducerRecord::new(TOPIC, body.clone());
        let r = p.send(SendTransactional::new(record, app.clone().recipient())).await.expect("mailbox").expect("half message stored");
        let committed = eventually(Duration::from_secs(15), || async {
            admin.query_uniq_key(TOPIC, &r.send.msg_id).await.iter().any(|m| {
                m.topic == TOPIC && m.body.as_ref() == body.as_bytes() && m.sys_flag & 0xC == 0x8
            })
        })
        .await;
        assert!(committed, "{body} ({:?}) committed in {TOPIC}", r.local_state);
    }
    p.shutdown().await;
}
