//! The whole send API against the real broker: async, one-way, batches, queues and ordering,
//! delays, compression types, namespaces, and the message handed back on failure. Every test
//! checks what the broker ends up holding.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_rocketmq::producer::batch::split_batch;
use actix_rocketmq::{
    CompressionType, Delay, Flush, MessageQueue, OutcomeCallback, Producer, ProducerExt, ProducerRecord, SendAsync,
    SendBatch, SendError, SendMessage, SendOneway, SendOutcome, SendResult, ValidationError,
};

use crate::admin::{eventually, Admin};
use crate::common::{config, producer, unique, Collector};
use crate::fixture;

/// Creates a fresh topic with `queues` queues and waits until the name server routes it.
pub async fn topic_with_queues(queues: i32) -> String {
    let topic = unique("api");
    Admin::connect(&fixture::broker_addr()).create_topic(&topic, queues).await;
    let ns = Admin::connect(fixture::namesrv_addr());
    assert!(eventually(Duration::from_secs(15), || async { ns.route(&topic).await.is_some() }).await);
    topic
}

#[actix_rt::test]
async fn hundred_thousand_async_sends_all_land() {
    const N: usize = 100_000;
    let topic = topic_with_queues(4).await;
    let (p, _) = producer().await;
    let (collector, rx) = Collector::start(N);
    let body = vec![b'x'; 1024];
    for i in 0..N {
        let rec = ProducerRecord::new(&topic, body.clone()).with_key(format!("k{i}"));
        // Callback style: awaiting the request only waits for room in the in-flight budget;
        // the outcome arrives at the collector.
        p.send(SendAsync::new(rec, collector.clone().recipient()).with_context(i as u64)).await.expect("producer alive");
    }
    let outcomes = tokio::time::timeout(Duration::from_secs(300), rx).await.expect("all outcomes arrive").unwrap();
    assert_eq!(outcomes.len(), N);
    let mut contexts = HashSet::new();
    let mut slots = HashSet::new();
    let mut sample: Vec<SendResult> = Vec::new();
    for o in outcomes {
        assert!(contexts.insert(o.context), "context {} twice", o.context);
        let r = o.result.unwrap_or_else(|f| panic!("send {} failed: {}", o.context, f.error));
        assert!(slots.insert((r.message_queue.queue_id, r.queue_offset)), "two messages at one offset");
        if o.context % 10_000 == 0 {
            sample.push(r);
        }
    }
    let broker = Admin::connect(&fixture::broker_addr());
    assert_eq!(broker.held_settled(&topic, 4, N as i64).await, N as i64, "the broker holds exactly the sent messages");
    for r in sample {
        let stored = broker.view(&r.offset_msg_id).await;
        assert_eq!(stored.body.len(), 1024);
        assert_eq!(stored.property("UNIQ_KEY"), Some(r.msg_id.as_str()));
    }
    p.shutdown().await;
}

#[actix_rt::test]
async fn function_callbacks_hear_every_outcome_and_a_panicking_one_stops_nothing() {
    const N: u64 = 200;
    let topic = topic_with_queues(2).await;
    let (p, _) = producer().await;
    let heard: Arc<Mutex<Vec<SendOutcome>>> = Arc::default();
    let callback = {
        let heard = heard.clone();
        OutcomeCallback::function(move |outcome: SendOutcome| {
            if outcome.context == 3 {
                panic!("a caller's bug in its callback");
            }
            heard.lock().unwrap().push(outcome);
        })
    };
    for i in 0..N {
        let rec = ProducerRecord::new(&topic, format!("fn{i}"));
        p.send(SendAsync::new(rec, callback.clone()).with_context(i)).await.expect("producer alive");
    }
    // A send refused before it leaves tells the same callback, with its message back.
    let empty = ProducerRecord::new(&topic, "");
    p.send(SendAsync::new(empty.clone(), callback.clone()).with_context(N)).await.expect("producer alive");
    // Flush returns once every send has ended, and a function runs as its send ends.
    let report = p.send(Flush).await.expect("mailbox");
    assert_eq!(report.failed, 0, "{report:?}");
    let heard = std::mem::take(&mut *heard.lock().unwrap());
    assert_eq!(heard.len() as u64, N, "every outcome but the panicking one's");
    let mut contexts = HashSet::new();
    for o in &heard {
        assert!(contexts.insert(o.context), "context {} twice", o.context);
        match (&o.result, o.context) {
            (Err(f), c) if c == N => {
                assert_eq!(f.error, SendError::Invalid(ValidationError::EmptyBody));
                assert_eq!(f.returned, empty);
            }
            (Ok(r), c) => assert!(c < N && r.queue_offset >= 0),
            (Err(f), c) => panic!("send {c} failed: {}", f.error),
        }
    }
    assert!(!contexts.contains(&3));
    // The panic stopped nothing: the message of send 3 was stored too, and the producer works.
    let broker = Admin::connect(&fixture::broker_addr());
    assert_eq!(broker.held_settled(&topic, 2, N as i64).await, N as i64);
    p.send_message(ProducerRecord::new(&topic, "after")).await.expect("the producer still sends");
    p.shutdown().await;
}

#[actix_rt::test]
async fn one_way_sends_are_stored() {
    let topic = topic_with_queues(2).await;
    let (p, _) = producer().await;
    for i in 0..100 {
        p.send_oneway(ProducerRecord::new(&topic, format!("ow{i}"))).await.expect("written");
    }
    let broker = Admin::connect(&fixture::broker_addr());
    let all = eventually(Duration::from_secs(10), || async { broker.held(&topic, 2).await == 100 }).await;
    assert!(all, "broker holds {} of 100 one-way messages", broker.held(&topic, 2).await);
    p.shutdown().await;
}

#[actix_rt::test]
async fn batches_store_every_message_with_its_own_properties() {
    let topic = unique("batch");
    let (p, _) = producer().await;
    let records: Vec<ProducerRecord> = (0..32)
        .map(|i| {
            ProducerRecord::new(&topic, format!("batch body {i}"))
                .with_tags(format!("t{}", i % 3))
                .with_key(format!("bk{i}"))
                .with_property("n", i.to_string())
                .with_flag(i)
        })
        .collect();
    let r = p.send_batch(records.clone()).await.expect("batch send");
    let ids = r.msg_ids();
    let offsets = r.offset_msg_ids();
    assert_eq!(ids.len(), 32);
    assert_eq!(offsets.len(), 32);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 32, "every message has its own UNIQ_KEY");
    let broker = Admin::connect(&fixture::broker_addr());
    for (i, rec) in records.iter().enumerate() {
        let stored = broker.view(offsets[i]).await;
        assert_eq!(stored.body, rec.body());
        assert_eq!(stored.property("UNIQ_KEY"), Some(ids[i]));
        assert_eq!(stored.property("TAGS"), rec.tags());
        assert_eq!(stored.property("KEYS"), Some(format!("bk{i}").as_str()));
        assert_eq!(stored.property("n"), Some(i.to_string().as_str()));
        assert_eq!(stored.flag, i as i32);
        assert_eq!(stored.queue_offset, r.queue_offset + i as i64, "a batch is stored contiguously");
    }

    // A batch too large for one request is refused with the records handed back, and
    // split_batch makes sendable pieces of it.
    let big: Vec<ProducerRecord> = (0..100).map(|i| ProducerRecord::new(&topic, vec![i as u8; 64 * 1024])).collect();
    let refused = p.send(SendBatch::new(big.clone())).await.unwrap().unwrap_err();
    assert!(matches!(refused.error, SendError::Invalid(ValidationError::BatchTooLarge { .. })), "{}", refused.error);
    assert_eq!(refused.returned, big);
    let mut sent = 0;
    for part in split_batch(big, 1024 * 1024).unwrap() {
        sent += p.send_batch(part).await.expect("part sent").msg_ids().len();
    }
    assert_eq!(sent, 100);

    let mixed = vec![ProducerRecord::new(&topic, "a"), ProducerRecord::new("other_topic", "b")];
    let err = p.send_batch(mixed).await.unwrap_err();
    assert!(matches!(err, SendError::Invalid(ValidationError::MixedTopics { .. })));
    let delayed = vec![ProducerRecord::new(&topic, "a").with_delay(Delay::Level(2))];
    assert_eq!(p.send_batch(delayed).await.unwrap_err(), SendError::Invalid(ValidationError::DelayInBatch));
    p.shutdown().await;
}

#[actix_rt::test]
async fn orderly_sends_keep_one_key_on_one_queue_in_order() {
    let topic = topic_with_queues(4).await;
    let (p, _) = producer().await;
    let mut per_key: HashMap<String, Vec<SendResult>> = HashMap::new();
    for i in 0..60 {
        let key = format!("order-{}", i % 5);
        let msg = SendMessage::new(ProducerRecord::new(&topic, format!("{key} step {i}"))).ordered_by_key(key.clone());
        let r = p.send(msg).await.unwrap().expect("orderly send");
        per_key.entry(key).or_default().push(r);
    }
    for (key, results) in per_key {
        let queue = results[0].message_queue.queue_id;
        assert!(results.iter().all(|r| r.message_queue.queue_id == queue), "{key} moved between queues");
        assert!(results.windows(2).all(|w| w[0].queue_offset < w[1].queue_offset), "{key} out of order");
    }

    // A given queue, and an unknown one.
    let broker_name = p.send_message(ProducerRecord::new(&topic, "probe")).await.unwrap().message_queue.broker_name;
    let mq = MessageQueue { topic: (&topic).into(), broker_name: broker_name.clone(), queue_id: 2 };
    let r = p.send(SendMessage::new(ProducerRecord::new(&topic, "to q2")).to_queue(mq)).await.unwrap().unwrap();
    assert_eq!(r.message_queue.queue_id, 2);
    let bad = MessageQueue { topic: (&topic).into(), broker_name, queue_id: 99 };
    let f = p.send(SendMessage::new(ProducerRecord::new(&topic, "to q99")).to_queue(bad)).await.unwrap().unwrap_err();
    assert!(matches!(f.error, SendError::Invalid(ValidationError::UnknownQueue { .. })), "{}", f.error);
    assert_eq!(f.returned.body(), "to q99".as_bytes(), "the message comes back");
    p.shutdown().await;
}

#[actix_rt::test]
async fn delayed_messages_wait_in_the_schedule_then_arrive() {
    let topic = topic_with_queues(1).await;
    let (p, _) = producer().await;
    let broker = Admin::connect(&fixture::broker_addr());
    let level = p.send_message(ProducerRecord::new(&topic, "level 1").with_delay(Delay::Level(1))).await.unwrap();
    let timer = p.send_message(ProducerRecord::new(&topic, "timer 2s").with_delay(Delay::Millis(2000))).await.unwrap();

    // Right after the send, the broker holds them in its schedule topics, not in ours.
    let held = broker.view(&level.offset_msg_id).await;
    assert_eq!(held.topic, "SCHEDULE_TOPIC_XXXX");
    assert_eq!(held.property("REAL_TOPIC"), Some(topic.as_str()));
    assert_eq!(held.property("DELAY"), Some("1"));
    let held = broker.view(&timer.offset_msg_id).await;
    assert_ne!(held.topic, topic, "a timer message first goes to the timer wheel");
    assert_eq!(held.property("REAL_TOPIC"), Some(topic.as_str()));
    assert_eq!(broker.max_offset(&topic, 0).await, 0, "nothing delivered yet");

    // Then both are delivered to the real topic.
    let delivered = eventually(Duration::from_secs(30), || async { broker.max_offset(&topic, 0).await == 2 }).await;
    assert!(delivered, "delayed messages never reached the topic");
    for r in [&level, &timer] {
        let found = broker.query_uniq_key(&topic, &r.msg_id).await;
        assert!(found.iter().any(|m| m.topic == topic), "{} not found in {topic}", r.msg_id);
    }

    let f = p.send(SendMessage::new(ProducerRecord::new(&topic, "x").with_delay(Delay::Millis(-5)))).await.unwrap().unwrap_err();
    assert!(matches!(f.error, SendError::Invalid(ValidationError::InvalidDelay(_))));
    p.shutdown().await;
}

#[actix_rt::test]
async fn every_compression_type_is_stored_readable() {
    let topic = unique("compress");
    let body: Vec<u8> = "compressible text, again and again. ".repeat(1000).into_bytes();
    let broker = Admin::connect(&fixture::broker_addr());
    for (kind, bits) in [(CompressionType::Zlib, 0x300), (CompressionType::Zstd, 0x200), (CompressionType::Lz4, 0x100)] {
        let mut cfg = config(&unique("cmp"));
        cfg.compress_type = kind;
        let p = Producer::spawn(cfg).await.unwrap();
        let r = p.send_message(ProducerRecord::new(&topic, body.clone())).await.expect("send");
        let stored = broker.view(&r.offset_msg_id).await;
        assert_eq!(stored.sys_flag & 0x700, bits, "{kind:?} type bits");
        assert_eq!(stored.body, body, "{kind:?} body round trip through the broker");
        assert!(broker.view_raw_len(&r.offset_msg_id).await < body.len() / 4, "{kind:?} stored compressed");
        let small = p.send_message(ProducerRecord::new(&topic, "tiny")).await.unwrap();
        assert_eq!(broker.view(&small.offset_msg_id).await.sys_flag & 0x701, 0, "small bodies stay raw");
        p.shutdown().await;
    }
}

#[actix_rt::test]
async fn namespaces_prefix_the_wire_and_not_the_results() {
    let topic = unique("nstopic");
    let mut cfg = config(&unique("nsgroup"));
    cfg.namespace = Some("tenant1".into());
    let group = cfg.group.clone();
    let p = Producer::spawn(cfg).await.unwrap();
    let r = p.send_message(ProducerRecord::new(&topic, "in a namespace").with_wait_store_msg_ok(false)).await.unwrap();
    assert_eq!(r.message_queue.topic, topic, "results show the bare topic");
    let broker = Admin::connect(&fixture::broker_addr());
    let stored = broker.view(&r.offset_msg_id).await;
    assert_eq!(stored.topic, format!("tenant1%{topic}"));
    assert_eq!(stored.property("INSTANCE_ID"), Some("tenant1"));
    assert_eq!(stored.property("WAIT"), Some("false"));
    let wire_group = format!("tenant1%{group}");
    assert!(eventually(Duration::from_secs(10), || async { !broker.producer_client_ids(&wire_group).await.is_empty() }).await);
    p.shutdown().await;
}

#[actix_rt::test]
async fn a_failed_send_hands_the_message_back() {
    let (p, _) = producer().await;
    let rec = ProducerRecord::new("fine", "body").with_property("DELAY", "3");
    let f = p.send(SendMessage::new(rec.clone())).await.unwrap().unwrap_err();
    assert_eq!(f.error, SendError::Invalid(ValidationError::ReservedProperty("DELAY".into())));
    assert_eq!(f.returned, rec);
    p.shutdown().await;
    let rec = ProducerRecord::new("fine", "after shutdown");
    let f = p.send(SendOneway::new(rec.clone())).await.unwrap().unwrap_err();
    assert_eq!(f.returned, rec);
}
