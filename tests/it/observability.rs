//! Metrics and `tracing` spans of real sends: what they count must match what the broker holds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use actix_rocketmq::producer::metrics;
use actix_rocketmq::{ProducerExt, ProducerRecord, SendOneway};
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

use crate::admin::Admin;
use crate::common::{config, unique};
use crate::fixture;

/// The process-wide recorder of this test binary, installed once before the first producer of
/// these tests (producers made earlier by other tests keep no-op handles, and use other groups).
fn recorder() -> &'static Snapshotter {
    static SNAP: OnceLock<Snapshotter> = OnceLock::new();
    SNAP.get_or_init(|| {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        ::metrics::set_global_recorder(recorder).expect("no other recorder in this binary");
        snapshotter
    })
}

/// Every metric as `name{k=v,...}` (labels sorted) -> counter value, gauge value or sample count.
pub fn snapshot(snapshotter: &Snapshotter) -> HashMap<String, f64> {
    let mut out = HashMap::new();
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let mut labels: Vec<String> = key.key().labels().map(|l| format!("{}={}", l.key(), l.value())).collect();
        labels.sort();
        let v = match value {
            DebugValue::Counter(c) => c as f64,
            DebugValue::Gauge(g) => g.into_inner(),
            DebugValue::Histogram(h) => h.len() as f64,
        };
        out.insert(format!("{}{{{}}}", key.key().name(), labels.join(",")), v);
    }
    out
}

#[actix_rt::test]
async fn metrics_count_what_the_broker_stored() {
    let snap = recorder();
    let group = unique("metrics");
    let topic = unique("metrics");
    let p = actix_rocketmq::Producer::spawn(config(&group)).await.expect("start");
    let mut broker_name = String::new();
    for i in 0..30 {
        let r = p.send_message(ProducerRecord::new(&topic, format!("m{i}"))).await.expect("send");
        broker_name = r.message_queue.broker_name.to_string();
    }
    // Refused before anything is sent: counted as invalid input.
    for _ in 0..5 {
        let bad = p.send_message(ProducerRecord::new(&topic, "x").with_property("TAGS", "reserved")).await;
        assert!(bad.is_err());
    }
    let held = Admin::connect(&fixture::broker_addr()).held_settled(&topic, 4, 30).await;
    assert_eq!(held, 30, "the broker holds what was acknowledged");

    let labels = format!("broker={broker_name},group={group},topic={topic}");
    // One snapshot: taking one resets what the debugging recorder holds.
    let m = snapshot(snap);
    let get = |k: String| m.get(&k).copied().unwrap_or_else(|| panic!("no {k}"));
    assert_eq!(get(format!("{}{{{labels}}}", metrics::MESSAGES_SENT)), held as f64);
    assert_eq!(get(format!("{}{{{labels}}}", metrics::BYTES_SENT)), (0..30).map(|i| format!("m{i}").len()).sum::<usize>() as f64);
    assert_eq!(get(format!("{}{{group={group},kind=invalid_input,topic={topic}}}", metrics::SEND_FAILURES)), 5.0);
    assert_eq!(get(format!("{}{{group={group},outcome=ok,topic={topic}}}", metrics::SEND_DURATION)), 30.0);
    // The gauges (connections, in-flight) are checked with a recorder of their own, in
    // retry.rs: this one is shared by the whole test binary, and a snapshot resets them.
    p.shutdown().await;
}

/// One finished span: its name, parent, and fields as text.
#[derive(Debug, Clone, Default)]
struct SeenSpan {
    name: &'static str,
    parent: Option<u64>,
    fields: HashMap<String, String>,
}

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<HashMap<u64, SeenSpan>>>);

struct Fields<'a>(&'a mut HashMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_string(), format!("{value:?}").trim_matches('"').to_string());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_string(), value.to_string());
    }
}

impl<S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let parent = ctx.span(id).and_then(|s| s.parent()).map(|p| p.id().into_u64());
        let mut seen = SeenSpan { name: attrs.metadata().name(), parent, fields: HashMap::new() };
        attrs.record(&mut Fields(&mut seen.fields));
        self.0.lock().unwrap().insert(id.into_u64(), seen);
    }
    fn on_record(&self, id: &Id, values: &Record<'_>, _: Context<'_, S>) {
        if let Some(seen) = self.0.lock().unwrap().get_mut(&id.into_u64()) {
            values.record(&mut Fields(&mut seen.fields));
        }
    }
}

#[actix_rt::test]
async fn every_send_has_a_span_under_the_callers_span() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry().with(capture.clone());
    // The test, the producer and its instance run on this thread: a scoped subscriber sees all.
    let _guard = tracing::subscriber::set_default(subscriber);
    let (p, _group) = crate::common::producer().await;
    let topic = unique("spans");
    let request = tracing::info_span!("http_request", path = "/orders");
    let record = {
        let _entered = request.enter();
        ProducerRecord::new(&topic, "traced").with_key("k")
    };
    let r = p.send_message(record).await.expect("send");
    p.send(SendOneway::new(ProducerRecord::new(&topic, "one way"))).await.unwrap().map_err(|f| f.error).expect("oneway");
    p.shutdown().await;

    let spans = capture.0.lock().unwrap().clone();
    let request_id = request.id().expect("request span enabled").into_u64();
    let sends: Vec<&SeenSpan> = spans.values().filter(|s| s.name == "rocketmq.send").collect();
    assert_eq!(sends.len(), 2, "one span per send: {sends:#?}");
    let traced = sends.iter().find(|s| s.fields.get("msg_id") == Some(&r.msg_id)).expect("span of the sync send");
    assert_eq!(traced.parent, Some(request_id), "the send's span is a child of the caller's");
    let f = &traced.fields;
    assert_eq!(f.get("topic"), Some(&topic));
    assert_eq!(f.get("broker"), Some(&r.message_queue.broker_name.to_string()));
    assert_eq!(f.get("queue"), Some(&r.message_queue.queue_id.to_string()));
    assert_eq!(f.get("attempts").map(String::as_str), Some("1"));
    assert_eq!(f.get("outcome").map(String::as_str), Some("stored"));
    let oneway = sends.iter().find(|s| s.fields.get("msg_id") != Some(&r.msg_id)).expect("span of the one-way send");
    assert_eq!(oneway.fields.get("outcome").map(String::as_str), Some("written"));
    assert_eq!(oneway.parent, None, "made outside any span");
}

#[actix_rt::test]
async fn the_callers_trace_context_travels_in_the_message() {
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(capture));
    let producer = actix_rocketmq::Producer::new(config(&unique("traceparent")))
        .with_trace_context(|span| span.id().map(|id| format!("00-{:032x}-{:016x}-01", 0xabcdef_u64, id.into_u64())));
    let p = actix::Actor::start(producer);
    p.send(actix_rocketmq::Start).await.unwrap().expect("start");
    let topic = unique("traceparent");
    let request = tracing::info_span!("http_request");
    let inside = request.in_scope(|| ProducerRecord::new(&topic, "in a request"));
    let inside = p.send_message(inside).await.expect("send");
    let outside = p.send_message(ProducerRecord::new(&topic, "outside any span")).await.expect("send");
    let own = request.in_scope(|| ProducerRecord::new(&topic, "own").with_property("traceparent", "00-set-by-the-app-01"));
    let own = p.send_message(own).await.expect("send");
    p.shutdown().await;

    let broker = Admin::connect(&fixture::broker_addr());
    let expected = format!("00-{:032x}-{:016x}-01", 0xabcdef_u64, request.id().expect("span id").into_u64());
    assert_eq!(broker.view(&inside.offset_msg_id).await.property("traceparent"), Some(expected.as_str()));
    assert_eq!(broker.view(&outside.offset_msg_id).await.property("traceparent"), None);
    assert_eq!(broker.view(&own.offset_msg_id).await.property("traceparent"), Some("00-set-by-the-app-01"));
}
