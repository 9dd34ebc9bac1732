//! Message trace against the real broker (started with `traceTopicEnable=true`): what ends up
//! in RMQ_SYS_TRACE_TOPIC, found the way the dashboard finds it (an index query by msgId).

use std::collections::HashSet;
use std::time::Duration;

use actix::prelude::*;
use actix_rocketmq::producer::{GetProducerStatus, SendHook};
use actix_rocketmq::protocol::stored::StoredMessage;
use actix_rocketmq::protocol::trace::decode_records;
use actix_rocketmq::{
    ExecuteLocalTransaction, LocalTransactionState, Producer, ProducerExt, ProducerRecord, SendTransactional, Start,
};

use crate::admin::Admin;
use crate::common::{config, unique};
use crate::fixture;

const TRACE_TOPIC: &str = "RMQ_SYS_TRACE_TOPIC";

struct CommitAll;
impl Actor for CommitAll {
    type Context = Context<Self>;
}
impl Handler<ExecuteLocalTransaction> for CommitAll {
    type Result = MessageResult<ExecuteLocalTransaction>;
    fn handle(&mut self, _: ExecuteLocalTransaction, _: &mut Context<Self>) -> Self::Result {
        MessageResult(LocalTransactionState::Commit)
    }
}

/// Every trace record (fields) naming `msg_id`, from the trace messages the index finds for it
/// (each stored trace message counted once), waiting up to 10 s for `kind` records to show up.
async fn records_for(broker: &Admin, msg_id: &str, kind: &str) -> Vec<Vec<String>> {
    let end = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let mut seen = HashSet::new();
        let found: Vec<StoredMessage> = broker
            .query_uniq_key(TRACE_TOPIC, msg_id)
            .await
            .into_iter()
            .filter(|m| m.topic == TRACE_TOPIC && seen.insert(m.commit_log_offset))
            .collect();
        let records: Vec<Vec<String>> = found
            .iter()
            .flat_map(|m| {
                let body = String::from_utf8(m.body.to_vec()).expect("trace bodies are text");
                decode_records(&body).into_iter().map(|r| r.into_iter().map(str::to_string).collect::<Vec<_>>()).collect::<Vec<_>>()
            })
            .filter(|r| r.len() > 5 && r[5] == msg_id)
            .collect();
        if records.iter().any(|r| r[0] == kind) || std::time::Instant::now() > end {
            return records;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[actix_rt::test]
async fn every_traced_send_has_one_pub_record_with_its_facts() {
    let topic = unique("traced");
    let group = unique("tracer");
    let mut cfg = config(&group);
    cfg.enable_msg_trace = true;
    let p = Producer::spawn(cfg).await.expect("producer starts");
    let mut sent = Vec::new();
    for i in 0..25 {
        let record = ProducerRecord::new(&topic, format!("traced body {i}")).with_tags("TagA").with_keys([format!("order-{i}"), "shared".into()]);
        sent.push((i, p.send_message(record).await.expect("send")));
    }
    // A batch gets one record, as Java writes it: every id joined by `,`.
    let batch = p.send_batch((0..3).map(|i| ProducerRecord::new(&topic, format!("batched {i}"))).collect()).await.expect("batch");
    // Every trace goes out before the shutdown ends.
    p.send(actix_rocketmq::Shutdown).await.expect("mailbox");

    let broker = Admin::connect(&fixture::broker_addr());
    for (i, r) in &sent {
        let records = records_for(&broker, &r.msg_id, "Pub").await;
        let pubs: Vec<_> = records.iter().filter(|r| r[0] == "Pub").collect();
        assert_eq!(pubs.len(), 1, "exactly one Pub record for {}: {records:?}", r.msg_id);
        let f = pubs[0];
        assert_eq!(f.len(), 14, "{f:?}");
        assert_eq!(f[2], "DefaultRegion");
        assert_eq!(f[3], group);
        assert_eq!(f[4], topic);
        assert_eq!(f[6], "TagA");
        assert_eq!(f[7], format!("order-{i} shared"));
        assert_eq!(f[8], fixture::broker_addr());
        assert_eq!(f[9], format!("traced body {i}").len().to_string());
        assert!(f[10].parse::<i64>().expect("cost") >= 0);
        assert_eq!(f[11], "0", "a normal message");
        assert_eq!(f[12], r.offset_msg_id);
        assert_eq!(f[13], "true");
        assert!(f[1].parse::<i64>().expect("timestamp") > 1_600_000_000_000);
    }
    let records = records_for(&broker, &batch.msg_id, "Pub").await;
    assert_eq!(records.iter().filter(|f| f[0] == "Pub").count(), 1, "one Pub record for the batch {}: {records:?}", batch.msg_id);
    assert_eq!(records[0][12], batch.offset_msg_id);
    // The trace message is also found by the traced message's own keys.
    let by_key = broker.query_uniq_key(TRACE_TOPIC, "order-7").await;
    assert!(by_key.iter().any(|m| m.property("KEYS").is_some_and(|k| k.split(' ').any(|k| k == sent[7].1.msg_id))));
}

#[actix_rt::test]
async fn a_transaction_traces_its_half_message_and_its_decision() {
    let topic = unique("traced_tx");
    let group = unique("tracer");
    let mut cfg = config(&group);
    cfg.enable_msg_trace = true;
    let p = Producer::new(cfg).start();
    p.send(Start).await.expect("mailbox").expect("producer starts");
    let record = ProducerRecord::new(&topic, "pay order 9").with_tags("pay").with_key("order-9");
    let r = p.send(SendTransactional::new(record, CommitAll.start().recipient())).await.expect("mailbox").expect("transaction");
    assert_eq!(r.local_state, LocalTransactionState::Commit);
    let status = p.send(GetProducerStatus).await.expect("mailbox");
    assert_eq!(status.trace.map(|t| t.dropped), Some(0));
    p.send(actix_rocketmq::Shutdown).await.expect("mailbox");

    let broker = Admin::connect(&fixture::broker_addr());
    let records = records_for(&broker, &r.send.msg_id, "EndTransaction").await;
    let half: Vec<_> = records.iter().filter(|f| f[0] == "Pub").collect();
    assert_eq!(half.len(), 1, "{records:?}");
    assert_eq!(half[0][11], "1", "the half message is traced as Trans_Msg_Half");
    assert_eq!(half[0][4], topic);
    let end: Vec<_> = records.iter().filter(|f| f[0] == "EndTransaction").collect();
    assert_eq!(end.len(), 1, "{records:?}");
    let e = end[0];
    assert_eq!(e.len(), 13, "{e:?}");
    assert_eq!((e[3].as_str(), e[4].as_str(), e[6].as_str(), e[7].as_str()), (group.as_str(), topic.as_str(), "pay", "order-9"));
    assert_eq!(e[8], fixture::broker_addr());
    assert_eq!(e[9], "2");
    assert_eq!(e[10], r.transaction_id);
    assert_eq!(e[11], "COMMIT_MESSAGE");
    assert_eq!(e[12], "false");
}

/// A hook the application adds sees every attempt, before and after, with the broker's answer.
#[actix_rt::test]
async fn an_application_hook_sees_every_attempt() {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    #[derive(Default)]
    struct Count {
        before: AtomicU64,
        stored: AtomicU64,
    }
    impl SendHook for Count {
        fn before_send(&self, a: &actix_rocketmq::producer::SendAttempt<'_>) {
            assert_eq!(a.attempt, 1);
            self.before.fetch_add(1, Ordering::Relaxed);
        }
        fn after_send(&self, a: &actix_rocketmq::producer::SendAttempt<'_>, _: Duration, outcome: actix_rocketmq::producer::AttemptOutcome<'_>) {
            if let actix_rocketmq::producer::AttemptOutcome::Stored(r) = outcome {
                assert_eq!(r.msg_id, a.msg_id);
                assert_eq!(a.broker_addr, fixture::broker_addr());
                self.stored.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    let hook = Arc::new(Count::default());
    let p = Producer::new(config(&unique("hooked"))).with_hook(hook.clone()).start();
    p.send(Start).await.expect("mailbox").expect("producer starts");
    let topic = unique("hooked");
    for i in 0..10 {
        p.send_message(ProducerRecord::new(&topic, format!("m{i}"))).await.expect("send");
    }
    assert_eq!(hook.before.load(Ordering::Relaxed), 10);
    assert_eq!(hook.stored.load(Ordering::Relaxed), 10);
    p.shutdown().await;
}
