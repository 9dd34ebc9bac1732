//! Sync sends against the real broker, checked by reading the messages back from the broker.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use actix_rocketmq::{ProducerExt, ProducerRecord, SendStatus};
use futures::future::join_all;

use crate::admin::{eventually, Admin};
use crate::common::{producer, unique};
use crate::fixture;

#[actix_rt::test]
async fn unknown_topic_is_auto_created_through_tbw102() {
    let topic = unique("auto");
    let ns = Admin::connect(fixture::namesrv_addr());
    assert!(ns.route(&topic).await.is_none(), "topic must not exist before the send");

    let (p, _group) = producer().await;
    let r = p.send_message(ProducerRecord::new(&topic, "first message").with_tags("A")).await.expect("send");
    assert_eq!(r.status, SendStatus::SendOk);
    assert_eq!(r.message_queue.topic, topic);
    assert_eq!(r.msg_id.len(), 32);

    let broker = Admin::connect(&fixture::broker_addr());
    let stored = broker.view(&r.offset_msg_id).await;
    assert_eq!(stored.topic, topic);
    assert_eq!(&stored.body[..], b"first message");
    assert_eq!(stored.property("UNIQ_KEY"), Some(r.msg_id.as_str()));
    assert_eq!(stored.queue_id, r.message_queue.queue_id);
    assert_eq!(stored.queue_offset, r.queue_offset);

    // The broker registered the new topic with the name server.
    let registered = eventually(Duration::from_secs(15), || async { ns.route(&topic).await.is_some() }).await;
    assert!(registered, "auto-created topic never reached the name server");
    p.shutdown().await;
}

#[actix_rt::test]
async fn existing_topic_uses_its_own_queues() {
    let topic = unique("existing");
    let broker = Admin::connect(&fixture::broker_addr());
    broker.create_topic(&topic, 3).await;
    let ns = Admin::connect(fixture::namesrv_addr());
    let known = eventually(Duration::from_secs(15), || async { ns.route(&topic).await.is_some() }).await;
    assert!(known, "created topic never reached the name server");

    let (p, _group) = producer().await;
    let mut queues = HashSet::new();
    for i in 0..12 {
        let r = p.send_message(ProducerRecord::new(&topic, format!("m{i}"))).await.expect("send");
        assert!(r.message_queue.queue_id < 3, "queue {} outside the topic's 3 queues", r.message_queue.queue_id);
        queues.insert(r.message_queue.queue_id);
        let stored = broker.view(&r.offset_msg_id).await;
        assert_eq!(stored.body, format!("m{i}").as_bytes());
    }
    assert_eq!(queues.len(), 3, "round robin should reach every queue");
    p.shutdown().await;
}

fn record(topic: &str, i: usize) -> ProducerRecord {
    let body: Vec<u8> = if i == 500 {
        // 100 KiB of compressible text: goes through zlib (sysFlag 0x301).
        "the quick brown fox jumps over the lazy dog. ".repeat(2400).into_bytes()[..100 * 1024].to_vec()
    } else {
        format!("body #{i} — ünïcødé ✓ 日本語 {}", "x".repeat(i % 50)).into_bytes()
    };
    ProducerRecord::new(topic, body)
        .with_tags(format!("tag-{}", i % 5))
        .with_keys([format!("key-{i}"), format!("order-{}", i / 10)])
        .with_property("idx", i.to_string())
        .with_property("greeting", format!("grüß dich, {i} 🌍"))
}

#[actix_rt::test]
async fn thousand_messages_arrive_intact() {
    let topic = unique("intact");
    let (p, _group) = producer().await;
    // Warm the route (auto-create) with one message so the rest go to real queues.
    p.send_message(ProducerRecord::new(&topic, "warm-up")).await.expect("warm-up send");

    let mut results = Vec::new();
    for chunk in (0..1000).collect::<Vec<_>>().chunks(100) {
        let sends = chunk.iter().map(|&i| {
            let p = p.clone();
            let rec = record(&topic, i);
            async move { (i, p.send_message(rec).await) }
        });
        results.extend(join_all(sends).await);
    }

    let broker = Admin::connect(&fixture::broker_addr());
    let mut ids = HashSet::new();
    let mut offsets: HashMap<i32, HashSet<i64>> = HashMap::new();
    for (i, res) in results {
        let r = res.unwrap_or_else(|e| panic!("message {i} failed: {e}"));
        assert_eq!(r.status, SendStatus::SendOk);
        assert!(ids.insert(r.msg_id.clone()), "duplicate msgId {}", r.msg_id);
        assert!(offsets.entry(r.message_queue.queue_id).or_default().insert(r.queue_offset), "duplicate queue offset");

        let want = record(&topic, i);
        let stored = broker.view(&r.offset_msg_id).await;
        assert_eq!(stored.topic, topic, "message {i}");
        assert_eq!(stored.body, want.body(), "body of message {i}");
        assert_eq!(stored.property("TAGS"), want.tags(), "tags of message {i}");
        assert_eq!(stored.property("KEYS"), Some(want.keys().join(" ").as_str()), "keys of message {i}");
        assert_eq!(stored.property("idx"), want.property("idx"), "idx of message {i}");
        assert_eq!(stored.property("greeting"), want.property("greeting"), "greeting of message {i}");
        assert_eq!(stored.property("UNIQ_KEY"), Some(r.msg_id.as_str()), "UNIQ_KEY of message {i}");
        assert_eq!(stored.property("WAIT"), Some("true"));
        assert_eq!(stored.queue_id, r.message_queue.queue_id);
        assert_eq!(stored.queue_offset, r.queue_offset);
        if i == 500 {
            // The decoder inflates and clears bit 0; the zlib type bits stay, and the stored
            // record is far smaller than the 100 KiB body.
            assert_eq!(stored.sys_flag & 0x700, 0x300, "the 100 KiB body must be stored zlib-compressed");
            assert!(broker.view_raw_len(&r.offset_msg_id).await < 20 * 1024, "stored record is not compressed");
        } else {
            assert_eq!(stored.sys_flag & 0x701, 0, "small bodies are not compressed");
        }
    }
    assert_eq!(ids.len(), 1000);
    p.shutdown().await;
}

#[actix_rt::test]
async fn both_header_serializations_reach_the_broker() {
    use actix_rocketmq::protocol::SerializeType;
    let topic = unique("serde");
    let broker = Admin::connect(&fixture::broker_addr());
    for ser in [SerializeType::Json, SerializeType::RocketMq] {
        let mut cfg = crate::common::config(&unique("ser"));
        cfg.client.serialize_type = ser;
        let p = actix_rocketmq::Producer::spawn(cfg).await.expect("start");
        let body = format!("sent with {ser:?} headers: ünïcødé \u{1F600}");
        let r = p
            .send_message(ProducerRecord::new(&topic, body.clone()).with_tags("T").with_property("k", "välue"))
            .await
            .expect("send");
        let stored = broker.view(&r.offset_msg_id).await;
        assert_eq!(stored.body, body.as_bytes());
        assert_eq!(stored.property("k"), Some("välue"));
        assert_eq!(stored.property("UNIQ_KEY"), Some(r.msg_id.as_str()));
        p.shutdown().await;
    }
}
