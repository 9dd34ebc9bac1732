//! Transactional sends against the real broker (started with fast check-backs: a half message
//! is checked once it is a second old, every second, at most 3 times). Every test reads back
//! what the broker's topic ends up holding.

use std::collections::HashMap;
use std::time::Duration;

use actix::prelude::*;
use actix_rocketmq::protocol::stored::StoredMessage;
use actix_rocketmq::protocol::sys_flag::{TRANSACTION_COMMIT_TYPE, TRANSACTION_TYPE_MASK};
use actix_rocketmq::{
    CheckLocalTransaction, ExecuteLocalTransaction, LocalTransactionState, Producer, ProducerConfig, ProducerExt, ProducerRecord,
    SendTransactional, Start,
};
use futures::future::join_all;

use crate::admin::Admin;
use crate::common::{config, unique};
use crate::fixture;

/// The application side: decides each local transaction from the body's first word
/// (`commit`, `rollback`, anything else: unknown), and answers checks with `check` (after
/// `check_delay`), remembering what it was asked.
struct App {
    check: LocalTransactionState,
    check_delay: Duration,
    /// Checks answered so far, by msgId, with the check count the broker gave.
    checked: HashMap<String, Vec<u32>>,
}

impl App {
    fn start(check: LocalTransactionState) -> Addr<App> {
        App { check, check_delay: Duration::ZERO, checked: HashMap::new() }.start()
    }
}

impl Actor for App {
    type Context = Context<Self>;
}

impl Handler<ExecuteLocalTransaction> for App {
    type Result = MessageResult<ExecuteLocalTransaction>;
    fn handle(&mut self, tx: ExecuteLocalTransaction, _: &mut Context<Self>) -> Self::Result {
        MessageResult(match tx.record.body().split(|b| *b == b' ').next() {
            Some(b"commit") => LocalTransactionState::Commit,
            Some(b"rollback") => LocalTransactionState::Rollback,
            _ => LocalTransactionState::Unknown,
        })
    }
}

impl Handler<CheckLocalTransaction> for App {
    type Result = ResponseFuture<LocalTransactionState>;
    fn handle(&mut self, check: CheckLocalTransaction, _: &mut Context<Self>) -> Self::Result {
        let times = self.checked.entry(check.msg_id.clone()).or_default();
        times.push(check.check_times);
        // The first check waits `check_delay` (longer than the producer's check timeout, in the
        // test of a slow checker); later ones answer at once.
        let delay = if times.len() == 1 { self.check_delay } else { Duration::ZERO };
        let answer = self.check;
        Box::pin(async move {
            tokio::time::sleep(delay).await;
            answer
        })
    }
}

#[derive(Message)]
#[rtype(result = "HashMap<String, Vec<u32>>")]
struct Checked;

impl Handler<Checked> for App {
    type Result = MessageResult<Checked>;
    fn handle(&mut self, _: Checked, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.checked.clone())
    }
}

async fn start_producer(cfg: ProducerConfig, app: &Addr<App>) -> Addr<Producer> {
    let p = Producer::new(cfg).with_transaction_checker(app.clone().recipient()).start();
    p.send(Start).await.expect("mailbox").expect("producer starts");
    p
}

/// The committed copy of `msg_id` in `topic`, once the broker holds it (within `limit`).
async fn committed(broker: &Admin, topic: &str, msg_id: &str, limit: Duration) -> Option<StoredMessage> {
    let end = std::time::Instant::now() + limit;
    loop {
        let found = broker.query_uniq_key(topic, msg_id).await.into_iter().find(|m| m.topic == topic);
        if found.is_some() || std::time::Instant::now() > end {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn assert_committed(m: &StoredMessage, body: &[u8]) {
    assert_eq!(&m.body[..], body);
    assert_eq!(m.sys_flag & TRANSACTION_TYPE_MASK, TRANSACTION_COMMIT_TYPE, "stored with the commit bits");
    assert_eq!(m.property("TRAN_MSG"), Some("true"));
}

#[actix_rt::test]
async fn the_executor_commits_or_rolls_back() {
    let topic = unique("tx");
    let group = unique("txg");
    let app = App::start(LocalTransactionState::Unknown);
    let p = start_producer(config(&group), &app).await;
    let broker = Admin::connect(&fixture::broker_addr());

    let send = |body: &'static str| p.send(SendTransactional::new(ProducerRecord::new(&topic, body).with_key("k1"), app.clone().recipient()));
    let commit = send("commit me").await.expect("mailbox").expect("half message stored");
    let rollback = send("rollback me").await.expect("mailbox").expect("half message stored");
    assert_eq!(commit.local_state, LocalTransactionState::Commit);
    assert_eq!(rollback.local_state, LocalTransactionState::Rollback);
    assert!(commit.end_sent && rollback.end_sent, "END_TRANSACTION handed to the connection");
    assert_eq!(commit.transaction_id, commit.send.msg_id, "the broker's transaction id is the UNIQ_KEY");

    let stored = committed(&broker, &topic, &commit.send.msg_id, Duration::from_secs(10)).await.expect("committed message in its topic");
    assert_committed(&stored, b"commit me");
    assert_eq!(stored.property("KEYS"), Some("k1"));
    assert_eq!(stored.property("PGROUP"), Some(group.as_str()));

    // Well past the broker's check interval: the rolled back message never shows up, and the
    // topic holds the committed message only.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(broker.query_uniq_key(&topic, &rollback.send.msg_id).await.iter().all(|m| m.topic != topic));
    let queues = Admin::connect(fixture::namesrv_addr()).route(&topic).await.map_or(4, |r| r.queue_datas[0].write_queue_nums);
    assert_eq!(broker.held(&topic, queues).await, 1);
    p.shutdown().await;
}

#[actix_rt::test]
async fn an_unknown_transaction_is_committed_by_the_check_back_after_a_slow_checker() {
    let topic = unique("txcheck");
    let app = App { check: LocalTransactionState::Commit, check_delay: Duration::from_millis(1500), checked: HashMap::new() }.start();
    let mut cfg = config(&unique("txg"));
    cfg.transaction_check_timeout = Duration::from_millis(300);
    let p = start_producer(cfg, &app).await;
    let broker = Admin::connect(&fixture::broker_addr());

    let record = ProducerRecord::new(&topic, "decide later").with_tags("T");
    let r = p.send(SendTransactional::new(record, app.clone().recipient())).await.expect("mailbox").expect("half message stored");
    assert_eq!(r.local_state, LocalTransactionState::Unknown);
    assert!(broker.query_uniq_key(&topic, &r.send.msg_id).await.iter().all(|m| m.topic != topic), "not delivered before a decision");

    let stored = committed(&broker, &topic, &r.send.msg_id, Duration::from_secs(15)).await.expect("committed through a check-back");
    assert_committed(&stored, b"decide later");
    assert_eq!(stored.property("TAGS"), Some("T"));
    // The first check's answer came too late and counted as UNKNOWN: the broker asked again,
    // and the second answer (COMMIT, echoing the second check's offsets) is what it acted on.
    let checked = app.send(Checked).await.unwrap();
    let times = &checked[&r.send.msg_id];
    assert!(times.len() >= 2, "asked at least twice: {times:?}");
    assert_eq!(&times[..2], &[1, 2]);
    assert_eq!(stored.property("TRANSACTION_CHECK_TIMES"), Some("2"));
    p.shutdown().await;
}

#[actix_rt::test]
async fn a_producer_restarted_before_the_check_still_commits() {
    let topic = unique("txrestart");
    let group = unique("txg");
    let broker = Admin::connect(&fixture::broker_addr());

    // The first run leaves its transaction undecided and goes away (no checker).
    let first = App::start(LocalTransactionState::Unknown);
    let p1 = Producer::spawn(config(&group)).await.expect("producer starts");
    let r = p1
        .send(SendTransactional::new(ProducerRecord::new(&topic, "survives a restart"), first.recipient()))
        .await
        .expect("mailbox")
        .expect("half message stored");
    assert_eq!(r.local_state, LocalTransactionState::Unknown);
    p1.shutdown().await;

    // The next run of the same group has a checker that knows the transaction committed.
    let second = App::start(LocalTransactionState::Commit);
    let p2 = start_producer(config(&group), &second).await;
    let stored = committed(&broker, &topic, &r.send.msg_id, Duration::from_secs(15)).await.expect("committed by the new run");
    assert_committed(&stored, b"survives a restart");
    assert!(second.send(Checked).await.unwrap().contains_key(&r.send.msg_id));
    p2.shutdown().await;
}

#[actix_rt::test]
async fn many_concurrent_transactions_end_as_their_executors_decided() {
    let topic = unique("txmany");
    let broker = Admin::connect(&fixture::broker_addr());
    broker.create_topic(&topic, 4).await;
    let app = App::start(LocalTransactionState::Unknown);
    let p = start_producer(config(&unique("txg")), &app).await;

    let sends = (0..200).map(|i| {
        let body = if i % 2 == 0 { format!("commit {i}") } else { format!("rollback {i}") };
        p.send(SendTransactional::new(ProducerRecord::new(&topic, body), app.clone().recipient()))
    });
    let results: Vec<_> = join_all(sends).await.into_iter().map(|r| r.expect("mailbox").expect("half message stored")).collect();
    let commits: Vec<_> = results.iter().filter(|r| r.local_state == LocalTransactionState::Commit).collect();
    assert_eq!(commits.len(), 100);
    assert!(results.iter().all(|r| r.end_sent));

    assert_eq!(broker.held_settled(&topic, 4, 100).await, 100, "exactly the committed messages are in the topic");
    for r in commits.iter().step_by(10) {
        let m = committed(&broker, &topic, &r.send.msg_id, Duration::from_secs(5)).await.expect("committed message");
        assert!(m.body.starts_with(b"commit "));
    }
    let _ = p.send_message(ProducerRecord::new(&topic, "plain")).await.expect("plain sends still work");
    p.shutdown().await;
}

#[actix_rt::test]
async fn a_delayed_transactional_message_is_refused_with_the_message_back() {
    let app = App::start(LocalTransactionState::Commit);
    let p = start_producer(config(&unique("txg")), &app).await;
    let record = ProducerRecord::new(unique("txdelay"), "x").with_delay(actix_rocketmq::Delay::Level(2));
    let failure = p.send(SendTransactional::new(record.clone(), app.recipient())).await.expect("mailbox").expect_err("refused");
    assert!(matches!(failure.error, actix_rocketmq::SendError::Invalid(actix_rocketmq::ValidationError::DelayInTransaction)));
    assert_eq!(failure.returned, record);
    p.shutdown().await;
}

#[actix_rt::test]
async fn a_supervised_restart_between_half_message_and_check_keeps_the_checker() {
    let topic = unique("txsup");
    let broker = Admin::connect(&fixture::broker_addr());
    let app = App::start(LocalTransactionState::Commit);
    let cfg = config(&unique("txg"));
    let checker = app.clone().recipient();
    let p = actix::Supervisor::start(move |_| Producer::new(cfg).with_transaction_checker(checker));
    p.send(Start).await.expect("mailbox").expect("producer starts");
    // Undecided by its executor (the body is neither commit nor rollback)...
    let r = p
        .send(SendTransactional::new(ProducerRecord::new(&topic, "restart then check"), app.clone().recipient()))
        .await
        .expect("mailbox")
        .expect("half message stored");
    assert_eq!(r.local_state, LocalTransactionState::Unknown);
    // ...then the producer restarts; the broker's check reaches it again, and its checker commits.
    p.send(actix_rocketmq::Restart).await.expect("mailbox");
    let stored = committed(&broker, &topic, &r.send.msg_id, Duration::from_secs(15)).await.expect("committed after the restart");
    assert_committed(&stored, b"restart then check");
    p.shutdown().await;
}
