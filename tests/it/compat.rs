//! The compatibility set: the producer against other RocketMQ releases than the suite's 5.3.3
//! (by default 4.9.7 and 5.5.0, the newest 4.9 and 5.x Maven Central serves whole), each started
//! by `scripts/rocketmq-local start --version V` and checked by what the broker holds: sync,
//! async, one-way, batch, orderly, a level delay, every compression type, both header
//! serializations, the group registered while running and gone after shutdown, and timer delays
//! (refused unsent by a 4.x broker, stored in the timer wheel by a 5.x one).
//!
//! One test runs the releases one after the other (each broker is stopped before the next
//! starts, so at most one extra broker runs beside the suite's). `COMPAT_VERSIONS=4.9.7` (a
//! comma-separated list) runs some of them. Release i (0, 1, ...) uses name server port
//! 21876+10i and broker port 22911+10i (and 22909+10i, 22912+10i), in `target/rocketmq-it-v<V>`:
//! below Linux's ephemeral range (32768-60999), so no client connection can hold one as the
//! broker binds it (an HA port at 60922 once was, and the broker exited).

use std::collections::{HashMap, HashSet};
use std::process::Output;
use std::time::Duration;

use actix::prelude::*;
use actix_rocketmq::protocol::version::BrokerVersion;
use actix_rocketmq::protocol::SerializeType;
use actix_rocketmq::{
    CompressionType, Delay, Delivery, GetInstanceStatus, Producer, ProducerConfig, ProducerExt, ProducerRecord, SendAsync,
    SendError, SendMessage,
};

use crate::admin::{eventually, Admin};
use crate::common::{config_on, unique, Collector};
use crate::fixture;

const DEFAULT_VERSIONS: &str = "4.9.7,5.5.0";

fn versions() -> Vec<String> {
    let list = std::env::var("COMPAT_VERSIONS").ok().filter(|v| !v.trim().is_empty()).unwrap_or_else(|| DEFAULT_VERSIONS.into());
    list.split(',').map(|v| v.trim().to_string()).filter(|v| !v.is_empty()).collect()
}

/// A name server and broker of one release, stopped when dropped (and by the script's watchdog
/// should this process die first).
struct ReleaseBroker {
    version: String,
    /// Work dir under `target/`.
    dir: String,
    namesrv_port: u16,
    broker_port: u16,
}

impl ReleaseBroker {
    fn script(&self, args: &[&str]) -> std::io::Result<Output> {
        fixture::rocketmq_local(&self.dir, self.namesrv_port, self.broker_port, args).output()
    }

    /// Starts release `version` (panics with the script's output if it does not start).
    fn start(version: &str, index: u16) -> ReleaseBroker {
        let broker = ReleaseBroker {
            version: version.to_string(),
            dir: format!("rocketmq-it-v{version}"),
            namesrv_port: 21876 + 10 * index,
            broker_port: 22911 + 10 * index,
        };
        let pid = std::process::id().to_string();
        let output = broker
            .script(&["start", "--version", version, "--watch-pid", &pid])
            .unwrap_or_else(|e| panic!("could not run scripts/rocketmq-local: {e}"));
        let expected = format!("NAMESRV_ADDR={}", broker.namesrv_addr());
        if !output.status.success() || !String::from_utf8_lossy(&output.stdout).lines().rev().any(|l| l.trim() == expected) {
            let what = format!(
                "RocketMQ {version} for the compatibility set (target/{}, {} / {}) did not start",
                broker.dir,
                broker.namesrv_addr(),
                broker.broker_addr()
            );
            panic!("{}", fixture::describe(&what, &output));
        }
        broker
    }

    fn namesrv_addr(&self) -> String {
        format!("127.0.0.1:{}", self.namesrv_port)
    }

    fn broker_addr(&self) -> String {
        format!("127.0.0.1:{}", self.broker_port)
    }

    /// The release as `MQVersion` numbers it (what the broker must report).
    fn expected_version(&self) -> BrokerVersion {
        let parts: Vec<u8> = self.version.split('.').filter_map(|p| p.parse().ok()).collect();
        match parts[..] {
            [major, minor, patch] => BrokerVersion::release(major, minor, patch),
            _ => panic!("COMPAT_VERSIONS: {:?} is not major.minor.patch", self.version),
        }
    }

    /// A producer config for this release: a client instance of its own (another name server
    /// than the suite's instance).
    fn config(&self, name: &str) -> ProducerConfig {
        config_on(name, &self.namesrv_addr())
    }

    /// A fresh topic with `queues` queues, routed by the name server.
    async fn topic(&self, queues: i32) -> String {
        let topic = unique("compat");
        Admin::connect(&self.broker_addr()).create_topic(&topic, queues).await;
        let ns = Admin::connect(&self.namesrv_addr());
        assert!(eventually(Duration::from_secs(15), || async { ns.route(&topic).await.is_some() }).await, "{}: no route for {topic}", self.version);
        topic
    }
}

impl Drop for ReleaseBroker {
    fn drop(&mut self) {
        match self.script(&["stop"]) {
            Ok(o) if o.status.success() => {}
            Ok(o) => eprintln!("stopping RocketMQ {}: {}", self.version, String::from_utf8_lossy(&o.stderr)),
            Err(e) => eprintln!("stopping RocketMQ {}: {e}", self.version),
        }
    }
}

#[actix_rt::test]
async fn compatibility_set_on_other_broker_releases() {
    for (index, version) in versions().iter().enumerate() {
        let v = version.clone();
        let broker = actix_rt::task::spawn_blocking(move || ReleaseBroker::start(&v, index as u16)).await.expect("start task");
        let admin = Admin::connect(&broker.broker_addr());
        both_serializations_and_the_group(&broker, &admin).await;
        async_and_one_way(&broker, &admin).await;
        batch(&broker, &admin).await;
        orderly(&broker).await;
        level_delay(&broker, &admin).await;
        compression(&broker, &admin).await;
        timer_delay(&broker, &admin).await;
        actix_rt::task::spawn_blocking(move || drop(broker)).await.expect("stop task");
    }
}

/// Sync sends with JSON and with ROCKETMQ (binary) headers, read back by their offset ids; the
/// group is listed by the broker while the producer runs and gone after its shutdown; the broker
/// reports its release in the heartbeat answer.
async fn both_serializations_and_the_group(broker: &ReleaseBroker, admin: &Admin) {
    let v = &broker.version;
    let topic = broker.topic(4).await;
    for ser in [SerializeType::Json, SerializeType::RocketMq] {
        let mut cfg = broker.config("compat_sync");
        cfg.client.serialize_type = ser;
        let group = cfg.group.clone();
        let p = Producer::spawn(cfg).await.unwrap_or_else(|e| panic!("{v}: start: {e}"));
        for i in 0..10 {
            let body = format!("{v} {ser:?} #{i}: ünïcødé \u{1F600}");
            let rec = ProducerRecord::new(&topic, body.clone()).with_tags("T").with_key(format!("k{i}")).with_property("p", format!("välue {i}"));
            let r = p.send_message(rec).await.unwrap_or_else(|e| panic!("{v} {ser:?}: send {i}: {e}"));
            let stored = admin.view(&r.offset_msg_id).await;
            assert_eq!(stored.topic, topic, "{v} {ser:?}");
            assert_eq!(stored.body, body.as_bytes(), "{v} {ser:?}");
            assert_eq!(stored.property("p"), Some(format!("välue {i}").as_str()), "{v} {ser:?}");
            assert_eq!(stored.property("TAGS"), Some("T"), "{v} {ser:?}");
            assert_eq!(stored.property("KEYS"), Some(format!("k{i}").as_str()), "{v} {ser:?}");
            assert_eq!(stored.property("UNIQ_KEY"), Some(r.msg_id.as_str()), "{v} {ser:?}");
        }
        let status = p.send(GetInstanceStatus).await.unwrap().expect("status");
        let client_id = status.client_id.clone();
        assert!(admin.lists_producer(&group, &client_id, true).await, "{v} {ser:?}: the broker does not list {group} / {client_id}");
        let reported = admin_version(&p, &broker.broker_addr()).await;
        assert_eq!(reported, Some(broker.expected_version()), "{v}: the release the broker reports");
        p.shutdown().await;
        assert!(admin.lists_producer(&group, &client_id, false).await, "{v} {ser:?}: {group} still listed after shutdown");
    }
}

/// The release the producer's instance learned for `addr` (heartbeats go out at start).
async fn admin_version(p: &Addr<Producer>, addr: &str) -> Option<BrokerVersion> {
    let end = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let seen = p.send(GetInstanceStatus).await.ok().flatten().and_then(|s| s.broker_versions.get(addr).copied());
        if seen.is_some() || std::time::Instant::now() > end {
            return seen.map(BrokerVersion::from_ordinal);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn async_and_one_way(broker: &ReleaseBroker, admin: &Admin) {
    let v = &broker.version;
    const N: usize = 500;
    let topic = broker.topic(4).await;
    let p = Producer::spawn(broker.config("compat_async")).await.unwrap_or_else(|e| panic!("{v}: start: {e}"));
    let (collector, rx) = Collector::start(N);
    for i in 0..N {
        let rec = ProducerRecord::new(&topic, format!("async {i}"));
        p.send(SendAsync::new(rec, collector.clone().recipient()).with_context(i as u64)).await.expect("producer alive");
    }
    let outcomes = tokio::time::timeout(Duration::from_secs(60), rx).await.expect("all async outcomes").expect("collector");
    let mut slots = HashSet::new();
    let mut sample = Vec::new();
    for o in outcomes {
        let r = o.result.unwrap_or_else(|f| panic!("{v}: async send {} failed: {}", o.context, f.error));
        assert!(slots.insert((r.message_queue.queue_id, r.queue_offset)), "{v}: two messages at one offset");
        if o.context % 100 == 0 {
            sample.push((o.context, r));
        }
    }
    assert_eq!(admin.held_settled(&topic, 4, N as i64).await, N as i64, "{v}: async messages held");
    for (i, r) in sample {
        assert_eq!(admin.view(&r.offset_msg_id).await.body, format!("async {i}").as_bytes(), "{v}");
    }

    let topic = broker.topic(2).await;
    for i in 0..100 {
        p.send_oneway(ProducerRecord::new(&topic, format!("oneway {i}"))).await.unwrap_or_else(|e| panic!("{v}: one-way {i}: {e}"));
    }
    let all = eventually(Duration::from_secs(10), || async { admin.held(&topic, 2).await == 100 }).await;
    assert!(all, "{v}: the broker holds {} of 100 one-way messages", admin.held(&topic, 2).await);
    p.shutdown().await;
}

async fn batch(broker: &ReleaseBroker, admin: &Admin) {
    let v = &broker.version;
    let topic = broker.topic(2).await;
    let p = Producer::spawn(broker.config("compat_batch")).await.unwrap_or_else(|e| panic!("{v}: start: {e}"));
    let records: Vec<ProducerRecord> = (0..16)
        .map(|i| ProducerRecord::new(&topic, format!("batch {i}")).with_tags(format!("t{}", i % 3)).with_key(format!("bk{i}")).with_property("n", i.to_string()))
        .collect();
    let r = p.send_batch(records.clone()).await.unwrap_or_else(|e| panic!("{v}: batch: {e}"));
    let (ids, offsets) = (r.msg_ids(), r.offset_msg_ids());
    assert_eq!(ids.len(), 16, "{v}");
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 16, "{v}: every message has its own UNIQ_KEY");
    for (i, rec) in records.iter().enumerate() {
        let stored = admin.view(offsets[i]).await;
        assert_eq!(stored.body, rec.body(), "{v}: batch message {i}");
        assert_eq!(stored.property("UNIQ_KEY"), Some(ids[i]), "{v}: batch message {i}");
        assert_eq!(stored.property("TAGS"), rec.tags(), "{v}: batch message {i}");
        assert_eq!(stored.property("n"), Some(i.to_string().as_str()), "{v}: batch message {i}");
        assert_eq!(stored.queue_offset, r.queue_offset + i as i64, "{v}: a batch is stored contiguously");
    }
    assert_eq!(admin.held_settled(&topic, 2, 16).await, 16, "{v}: the batch is stored once");
    p.shutdown().await;
}

/// Messages ordered by key: one queue per key, and the broker holds each key's messages in the
/// order they were sent.
async fn orderly(broker: &ReleaseBroker) {
    let v = &broker.version;
    let topic = broker.topic(4).await;
    let admin = Admin::connect(&broker.broker_addr());
    let p = Producer::spawn(broker.config("compat_order")).await.unwrap_or_else(|e| panic!("{v}: start: {e}"));
    let mut queue_of: HashMap<String, i32> = HashMap::new();
    for i in 0..40 {
        let key = format!("order-{}", i % 4);
        let msg = SendMessage::new(ProducerRecord::new(&topic, format!("{key} step {i}"))).ordered_by_key(key.clone());
        let r = p.send(msg).await.unwrap().unwrap_or_else(|f| panic!("{v}: orderly {i}: {}", f.error));
        let q = *queue_of.entry(key.clone()).or_insert(r.message_queue.queue_id);
        assert_eq!(r.message_queue.queue_id, q, "{v}: {key} moved between queues");
    }
    // Pull every queue: per key, the steps come in the order sent.
    let mut steps: HashMap<String, Vec<usize>> = HashMap::new();
    for m in admin.pull_all(&topic, 4).await {
        let text = String::from_utf8_lossy(&m.body).to_string();
        let (key, step) = text.split_once(" step ").expect("orderly body");
        steps.entry(key.to_string()).or_default().push(step.parse().expect("step"));
    }
    assert_eq!(steps.values().map(Vec::len).sum::<usize>(), 40, "{v}: the broker holds the 40 orderly messages");
    for (key, s) in steps {
        assert!(s.windows(2).all(|w| w[0] < w[1]), "{v}: {key} stored out of order: {s:?}");
    }
    p.shutdown().await;
}

async fn level_delay(broker: &ReleaseBroker, admin: &Admin) {
    let v = &broker.version;
    let topic = broker.topic(1).await;
    let p = Producer::spawn(broker.config("compat_level")).await.unwrap_or_else(|e| panic!("{v}: start: {e}"));
    let r = p.send_message(ProducerRecord::new(&topic, "level 1").with_delay(Delay::Level(1))).await.unwrap_or_else(|e| panic!("{v}: level delay: {e}"));
    let held = admin.view(&r.offset_msg_id).await;
    assert_eq!(held.topic, "SCHEDULE_TOPIC_XXXX", "{v}: a level delay waits in the schedule topic");
    assert_eq!(held.property("REAL_TOPIC"), Some(topic.as_str()), "{v}");
    assert_eq!(held.property("DELAY"), Some("1"), "{v}");
    let delivered = eventually(Duration::from_secs(30), || async { admin.max_offset(&topic, 0).await == 1 }).await;
    assert!(delivered, "{v}: the level-delayed message never reached {topic}");
    let found = admin.query_uniq_key(&topic, &r.msg_id).await;
    assert!(found.iter().any(|m| m.topic == topic && m.body[..] == b"level 1"[..]), "{v}: {} not delivered to {topic}", r.msg_id);
    p.shutdown().await;
}

async fn compression(broker: &ReleaseBroker, admin: &Admin) {
    let v = &broker.version;
    let topic = broker.topic(2).await;
    let body: Vec<u8> = format!("compressible text from {v}, again and again. ").repeat(500).into_bytes();
    for (kind, bits) in [(CompressionType::Zlib, 0x300), (CompressionType::Zstd, 0x200), (CompressionType::Lz4, 0x100)] {
        let mut cfg = broker.config("compat_zip");
        cfg.compress_type = kind;
        let p = Producer::spawn(cfg).await.unwrap_or_else(|e| panic!("{v}: start: {e}"));
        let r = p.send_message(ProducerRecord::new(&topic, body.clone())).await.unwrap_or_else(|e| panic!("{v} {kind:?}: {e}"));
        let stored = admin.view(&r.offset_msg_id).await;
        // (the decoder clears the compressed flag once it inflated the body, as Java's does)
        assert_eq!(stored.sys_flag & 0x700, bits, "{v} {kind:?}: type bits");
        assert_eq!(stored.body, body, "{v} {kind:?}: body round trip through the broker");
        assert!(admin.view_raw_len(&r.offset_msg_id).await < body.len() / 4, "{v} {kind:?}: stored compressed");
        p.shutdown().await;
    }
}

/// A 4.x broker has no timer store: a timer message is refused before anything is sent, with
/// the release named and the message handed back. A 5.x broker parks it in its timer wheel.
async fn timer_delay(broker: &ReleaseBroker, admin: &Admin) {
    let v = &broker.version;
    let topic = broker.topic(1).await;
    let p = Producer::spawn(broker.config("compat_timer")).await.unwrap_or_else(|e| panic!("{v}: start: {e}"));
    let record = ProducerRecord::new(&topic, "timer 2s").with_delay(Delay::Millis(2000));
    let outcome = p.send(SendMessage::new(record.clone())).await.unwrap();
    if broker.expected_version().has_timer_store() {
        let r = outcome.unwrap_or_else(|f| panic!("{v}: timer send: {}", f.error));
        let held = admin.view(&r.offset_msg_id).await;
        assert_ne!(held.topic, topic, "{v}: a timer message first goes to the timer wheel");
        assert_eq!(held.property("REAL_TOPIC"), Some(topic.as_str()), "{v}");
        let delivered = eventually(Duration::from_secs(30), || async { admin.max_offset(&topic, 0).await == 1 }).await;
        assert!(delivered, "{v}: the timer message never reached {topic}");
    } else {
        let failure = outcome.expect_err("a 4.x broker must not get a timer message");
        match &failure.error {
            SendError::BrokerTooOld { version, addr, .. } => {
                assert_eq!(*version, broker.expected_version(), "{v}");
                assert_eq!(addr, &broker.broker_addr(), "{v}");
            }
            other => panic!("{v}: expected BrokerTooOld, got {other}"),
        }
        assert!(failure.error.to_string().contains(v.as_str()), "{v}: the error names the release: {}", failure.error);
        assert_eq!(failure.error.delivery(), Delivery::NotSent, "{v}");
        assert_eq!(failure.returned, record, "{v}: the message comes back");
        // Nothing reached the broker: the topic is still empty a moment later.
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(admin.max_offset(&topic, 0).await, 0, "{v}: the broker holds a message it would have delivered at once");
        // A level delay to the same topic still goes.
        p.send_message(ProducerRecord::new(&topic, "level").with_delay(Delay::Level(1))).await.unwrap_or_else(|e| panic!("{v}: level after timer: {e}"));
    }
    p.shutdown().await;
}
