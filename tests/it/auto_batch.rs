//! Auto-batching against the real broker: single sync and async sends gathered into
//! SEND_BATCH_MESSAGE requests, each stored once with its own properties, each caller answered
//! with its own result, and every caller of a refused batch answered with its own error and its
//! message back.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::Actor;
use actix_rocketmq::producer::hook::SendSummary;
use actix_rocketmq::{Flush, GetProducerStatus, Producer, ProducerConfig, ProducerExt, ProducerRecord, SendAsync, SendError, SendHook, SendMessage, SendResult};
use futures::future::join_all;

use crate::admin::Admin;
use crate::common::{config, unique, Collector};
use crate::fixture;
use crate::send_api::topic_with_queues;

/// Counts the sends that ended (one per request) and the messages they carried, and keeps
/// each request's message count in the order they ended.
#[derive(Default)]
struct Requests {
    sends: AtomicUsize,
    messages: AtomicUsize,
    sizes: Mutex<Vec<usize>>,
}

impl SendHook for Requests {
    fn send_ended(&self, s: &SendSummary<'_>) {
        self.sends.fetch_add(1, Ordering::Relaxed);
        self.messages.fetch_add(s.messages, Ordering::Relaxed);
        self.sizes.lock().expect("sizes").push(s.messages);
    }
}

/// A started producer of `cfg` with a [`Requests`] hook.
async fn counting(cfg: ProducerConfig) -> (actix::Addr<Producer>, Arc<Requests>) {
    let requests = Arc::new(Requests::default());
    let p = Producer::new(cfg).with_hook(requests.clone()).start();
    p.send(actix_rocketmq::Start).await.expect("mailbox").expect("producer starts");
    (p, requests)
}

/// A fresh group's config with auto-batching on and `delay` as the batch delay; the send timeout
/// is at least twice the delay, so a delay of a minute leaves only `Flush` and `Shutdown` to
/// send a batch within the test.
fn gathering(delay: Duration) -> ProducerConfig {
    let mut cfg = config(&unique("grp"));
    cfg.auto_batch = true;
    cfg.batch_max_delay = delay;
    cfg.send_msg_timeout = cfg.send_msg_timeout.max(delay * 2);
    cfg
}

fn record(topic: &str, i: usize) -> ProducerRecord {
    ProducerRecord::new(topic, format!("auto-batched body #{i} {}", "y".repeat(i % 40)))
        .with_tags(format!("tag-{}", i % 3))
        .with_keys([format!("key-{i}")])
        .with_property("idx", i.to_string())
}

#[actix_rt::test]
async fn gathered_sends_are_each_stored_once_with_their_own_properties_and_result() {
    const ASYNC: usize = 120;
    const SYNC: usize = 40;
    let topic = topic_with_queues(4).await;
    let mut cfg = gathering(Duration::from_millis(50));
    cfg.batch_max_bytes = 2 * 1024;
    let (p, requests) = counting(cfg).await;

    // Async sends (callbacks) and sync sends from concurrent callers, all gathered.
    let (collector, rx) = Collector::start(ASYNC);
    for i in 0..ASYNC {
        p.send(SendAsync::new(record(&topic, i), collector.clone().recipient()).with_context(i as u64)).await.expect("producer alive");
    }
    let sync = join_all((ASYNC..ASYNC + SYNC).map(|i| {
        let p = p.clone();
        let topic = topic.clone();
        async move { (i, p.send_message(record(&topic, i)).await) }
    }))
    .await;
    let outcomes = tokio::time::timeout(Duration::from_secs(30), rx).await.expect("all callbacks").unwrap();

    let mut results: Vec<(usize, SendResult)> = outcomes
        .into_iter()
        .map(|o| (o.context as usize, o.result.unwrap_or_else(|f| panic!("async send {} failed: {}", o.context, f.error))))
        .collect();
    results.extend(sync.into_iter().map(|(i, r)| (i, r.unwrap_or_else(|f| panic!("sync send {i} failed: {f}")))));
    assert_eq!(results.len(), ASYNC + SYNC);

    // They went as batches: far fewer requests than messages, every message in one.
    let sends = requests.sends.load(Ordering::Relaxed);
    assert_eq!(requests.messages.load(Ordering::Relaxed), ASYNC + SYNC, "every message went in exactly one request");
    assert!(sends * 4 <= ASYNC + SYNC, "{sends} requests for {} messages: not gathered", ASYNC + SYNC);

    // Each caller got its own id and its own slot; the broker holds each message there, once.
    let broker = Admin::connect(&fixture::broker_addr());
    let mut ids = HashSet::new();
    let mut slots = HashSet::new();
    for (i, r) in &results {
        assert!(!r.msg_id.contains(','), "message {i} got a batch's ids: {}", r.msg_id);
        assert!(ids.insert(r.msg_id.clone()), "msgId {} twice", r.msg_id);
        assert!(slots.insert((r.message_queue.queue_id, r.queue_offset)), "two messages at one offset");
        let want = record(&topic, *i);
        let stored = broker.view(&r.offset_msg_id).await;
        assert_eq!(stored.topic, topic);
        assert_eq!(stored.body, want.body(), "body of message {i}");
        assert_eq!(stored.property("TAGS"), want.tags(), "tags of message {i}");
        assert_eq!(stored.property("KEYS"), Some(format!("key-{i}").as_str()), "keys of message {i}");
        assert_eq!(stored.property("idx"), Some(i.to_string().as_str()), "idx of message {i}");
        assert_eq!(stored.property("UNIQ_KEY"), Some(r.msg_id.as_str()), "UNIQ_KEY of message {i}");
        assert_eq!((stored.queue_id, stored.queue_offset), (r.message_queue.queue_id, r.queue_offset), "slot of message {i}");
    }
    assert_eq!(broker.held_settled(&topic, 4, (ASYNC + SYNC) as i64).await, (ASYNC + SYNC) as i64, "stored once each");
    // Read back queue by queue: every UNIQ_KEY once.
    let mut seen: HashMap<String, usize> = HashMap::new();
    for m in broker.pull_all(&topic, 4).await {
        *seen.entry(m.property("UNIQ_KEY").unwrap_or_default().to_string()).or_default() += 1;
    }
    assert_eq!(seen.len(), ASYNC + SYNC);
    assert!(seen.values().all(|&n| n == 1), "a message stored twice");
    assert_eq!(seen.keys().cloned().collect::<HashSet<_>>(), ids);
    p.shutdown().await;
}

#[actix_rt::test]
async fn a_batch_goes_once_its_bodies_pass_batch_max_bytes() {
    // Java's rule: bodies only, and only past the bound. Four 1 KiB bodies fill a 4 KiB bound
    // exactly and wait (their encoded batch, with properties, is well over 4 KiB); the fifth
    // passes it and the five go at once, long before the minute's delay.
    let topic = topic_with_queues(1).await;
    let mut cfg = gathering(Duration::from_secs(60));
    cfg.batch_max_bytes = 4 * 1024;
    let (p, requests) = counting(cfg).await;
    let body = |i: usize| ProducerRecord::new(&topic, vec![b'a' + i as u8; 1024]).with_keys([format!("k-{i}")]);
    let (collector, rx) = Collector::start(9);
    for i in 0..4 {
        p.send(SendAsync::new(body(i), collector.clone().recipient()).with_context(i as u64)).await.unwrap();
    }
    let broker = Admin::connect(&fixture::broker_addr());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(requests.sends.load(Ordering::Relaxed), 0, "4 KiB of bodies do not pass a 4 KiB bound");
    assert_eq!(broker.held(&topic, 1).await, 0);
    p.send(SendAsync::new(body(4), collector.clone().recipient()).with_context(4)).await.unwrap();
    assert_eq!(broker.held_settled(&topic, 1, 5).await, 5, "the fifth body passed the bound: five stored, in time");
    assert_eq!((requests.sends.load(Ordering::Relaxed), requests.messages.load(Ordering::Relaxed)), (1, 5), "one request of five");
    // The next batch starts empty.
    for i in 5..9 {
        p.send(SendAsync::new(body(i), collector.clone().recipient()).with_context(i as u64)).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(requests.sends.load(Ordering::Relaxed), 1, "the next four wait again");
    p.shutdown().await;
    let outcomes = tokio::time::timeout(Duration::from_secs(10), rx).await.expect("every callback").unwrap();
    assert!(outcomes.iter().all(|o| o.result.is_ok()));
    assert_eq!(broker.held_settled(&topic, 1, 9).await, 9);
}

#[actix_rt::test]
async fn flush_and_shutdown_send_what_is_gathering() {
    let topic = topic_with_queues(2).await;
    // Longer than the test waits: only Flush and Shutdown can send these.
    let p = Producer::spawn(gathering(Duration::from_secs(60))).await.expect("producer starts");
    let (collector, rx) = Collector::start(5);
    for i in 0..3 {
        p.send(SendAsync::new(record(&topic, i), collector.clone().recipient()).with_context(i as u64)).await.unwrap();
    }
    let report = p.send(Flush).await.expect("mailbox");
    assert_eq!((report.succeeded, report.failed), (3, 0), "flush sent the gathered messages and waited for them");
    for i in 3..5 {
        p.send(SendAsync::new(record(&topic, i), collector.clone().recipient()).with_context(i as u64)).await.unwrap();
    }
    p.shutdown().await;
    let outcomes = tokio::time::timeout(Duration::from_secs(10), rx).await.expect("every callback").unwrap();
    assert!(outcomes.iter().all(|o| o.result.is_ok()), "{:?}", outcomes.iter().map(|o| o.result.as_ref().err()).collect::<Vec<_>>());
    let broker = Admin::connect(&fixture::broker_addr());
    assert_eq!(broker.held_settled(&topic, 2, 5).await, 5);
}

#[actix_rt::test]
async fn a_batch_the_broker_refuses_fails_every_caller_with_its_own_message() {
    let topic = topic_with_queues(1).await;
    let mut cfg = gathering(Duration::from_millis(300));
    // The client lets 5 MiB through; the broker stores at most 4 MiB (its maxMessageSize).
    cfg.max_message_size = 8 * 1024 * 1024;
    cfg.batch_max_bytes = 8 * 1024 * 1024;
    cfg.compress_msg_body_over_howmuch = usize::MAX;
    cfg.send_msg_timeout = Duration::from_secs(10);
    let p = Producer::spawn(cfg).await.expect("producer starts");
    let (collector, rx) = Collector::start(3);
    let big = |i: usize| ProducerRecord::new(&topic, vec![b'0' + i as u8; 1024 * 1024]).with_keys([format!("big-{i}")]);
    for i in 0..3 {
        p.send(SendAsync::new(big(i), collector.clone().recipient()).with_context(i as u64)).await.unwrap();
    }
    let sync = join_all((3..5).map(|i| p.send(SendMessage::new(big(i))))).await;
    let outcomes = tokio::time::timeout(Duration::from_secs(20), rx).await.expect("every callback").unwrap();
    let mut failures: Vec<(usize, SendError, ProducerRecord)> =
        outcomes.into_iter().map(|o| (o.context as usize, o.result.expect_err("refused").into_parts())).map(|(i, (e, r))| (i, e, r)).collect();
    failures.extend(sync.into_iter().enumerate().map(|(j, r)| {
        let (e, rec) = r.expect("mailbox").expect_err("refused").into_parts();
        (3 + j, e, rec)
    }));
    assert_eq!(failures.len(), 5);
    let first = failures[0].1.clone();
    for (i, error, returned) in &failures {
        // 5.3.3 refuses the whole batch in its encoder (MessageExtEncoder#encode) as SYSTEM_ERROR.
        assert!(matches!(error, SendError::Broker { code: 1, remark, .. } if remark.contains("size exceeded")), "message {i}: {error}");
        assert_eq!(error, &first, "one batch, one refusal");
        assert_eq!(returned.keys(), [format!("big-{i}")], "message {i} came back to its own caller");
        assert_eq!(returned.body().len(), 1024 * 1024);
    }
    let broker = Admin::connect(&fixture::broker_addr());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(broker.held(&topic, 1).await, 0, "nothing of the refused batch was stored");
    p.shutdown().await;
}

#[actix_rt::test]
async fn gathered_messages_hold_room_in_the_in_flight_budget() {
    let topic = topic_with_queues(1).await;
    let mut cfg = gathering(Duration::from_secs(60));
    cfg.max_inflight_messages = 4;
    let p = Producer::spawn(cfg).await.expect("producer starts");
    let (collector, rx) = Collector::start(6);
    for i in 0..4 {
        p.send(SendAsync::new(record(&topic, i), collector.clone().recipient()).with_context(i as u64)).await.unwrap();
    }
    let status = p.send(GetProducerStatus).await.unwrap();
    assert_eq!((status.inflight_messages, status.waiting_sends), (4, 0), "four gathered messages hold four places");
    // No room for more: the fifth waits for room, so its caller waits too. The gathered batch,
    // which holds the room without flying, goes at once instead of after its 60-s delay, and
    // its answer gives the room to the waiting sends: no Flush needed (it then sends the two,
    // gathered again once they had room).
    let fifth = p.send(SendAsync::new(record(&topic, 4), collector.clone().recipient()).with_context(4));
    let sixth = p.send(SendAsync::new(record(&topic, 5), collector.clone().recipient()).with_context(5));
    tokio::time::timeout(Duration::from_secs(20), async {
        fifth.await.unwrap();
        sixth.await.unwrap();
    })
    .await
    .expect("the waiting sends got room before the batch's delay was up");
    let report = p.send(Flush).await.unwrap();
    assert_eq!(report.failed, 0);
    let outcomes = tokio::time::timeout(Duration::from_secs(20), rx).await.expect("every callback").unwrap();
    assert!(outcomes.iter().all(|o| o.result.is_ok()));
    assert_eq!(Admin::connect(&fixture::broker_addr()).held_settled(&topic, 1, 6).await, 6);
    p.shutdown().await;
}

/// After `p`'s `n` async sends of `body(i)` (context `i`) to `topic` (`queues` queues): flushes,
/// then checks that every callback got a result, the broker holds each message once with its
/// body, and the requests carried `sizes` messages each, in that order.
#[allow(clippy::too_many_arguments)]
async fn stored_in_requests_of(
    p: &actix::Addr<Producer>,
    requests: &Requests,
    rx: tokio::sync::oneshot::Receiver<Vec<actix_rocketmq::SendOutcome>>,
    topic: &str,
    queues: i32,
    n: usize,
    body: impl Fn(usize) -> ProducerRecord,
    sizes: Vec<usize>,
) {
    // (A batch still gathering goes now.)
    let report = p.send(Flush).await.expect("mailbox");
    assert_eq!(report.failed, 0);
    let outcomes = tokio::time::timeout(Duration::from_secs(20), rx).await.expect("every callback").unwrap();
    let broker = Admin::connect(&fixture::broker_addr());
    for o in &outcomes {
        let r = o.result.as_ref().unwrap_or_else(|f| panic!("send {} failed: {}", o.context, f.error));
        let stored = broker.view(&r.offset_msg_id).await;
        assert_eq!(stored.body, body(o.context as usize).body(), "body of message {}", o.context);
        assert_eq!(stored.property("KEYS"), body(o.context as usize).keys().first().map(String::as_str), "keys of message {}", o.context);
    }
    assert_eq!(*requests.sizes.lock().unwrap(), sizes, "requests by message count");
    assert_eq!(broker.held_settled(topic, queues, n as i64).await, n as i64, "each stored once");
}

#[actix_rt::test]
async fn a_send_that_waited_for_room_is_gathered_once_it_has_room() {
    // A sender that keeps the budget full, as an async loop awaiting each admission does: eight
    // places, and 100-byte bodies whose batch passes 750 bytes at its eighth. Each batch takes
    // all the room; the next message finds none and waits. When the batch's answer gives the
    // room back, that message opens the next batch instead of going alone: every request is a
    // full batch of eight, none a single message.
    const PLACES: usize = 8;
    const N: usize = 64;
    let topic = topic_with_queues(2).await;
    let mut cfg = gathering(Duration::from_secs(60));
    cfg.max_inflight_messages = PLACES;
    cfg.batch_max_bytes = 750;
    let (p, requests) = counting(cfg).await;
    let body = |i: usize| ProducerRecord::new(&topic, format!("{i:0>100}")).with_keys([format!("waited-{i}")]);
    let (collector, rx) = Collector::start(N);
    for i in 0..N {
        tokio::time::timeout(Duration::from_secs(20), p.send(SendAsync::new(body(i), collector.clone().recipient()).with_context(i as u64)))
            .await
            .expect("admitted once a batch's answer gave room back")
            .expect("producer alive");
    }
    stored_in_requests_of(&p, &requests, rx, &topic, 2, N, body, vec![PLACES; N / PLACES]).await;
    p.shutdown().await;
}

#[actix_rt::test]
async fn a_message_that_would_push_its_batch_past_max_message_size_opens_the_next() {
    // 1,000-byte bodies (about 1,075 bytes each once encoded) under a 4 KiB message size limit,
    // and the body bound at that limit too (it would send a batch at its fifth body): the
    // fourth message would take the encoded batch past the limit, so the three gathered go and
    // the fourth opens the next batch.
    const N: usize = 12;
    let topic = topic_with_queues(1).await;
    let mut cfg = gathering(Duration::from_secs(60));
    cfg.max_message_size = 4096;
    cfg.batch_max_bytes = 4096;
    let (p, requests) = counting(cfg).await;
    let body = |i: usize| ProducerRecord::new(&topic, vec![b'a' + (i % 26) as u8; 1000]).with_keys([format!("limit-{i}")]);
    let (collector, rx) = Collector::start(N);
    for i in 0..N {
        p.send(SendAsync::new(body(i), collector.clone().recipient()).with_context(i as u64)).await.expect("producer alive");
    }
    stored_in_requests_of(&p, &requests, rx, &topic, 1, N, body, vec![3; N / 3]).await;
    p.shutdown().await;
}
