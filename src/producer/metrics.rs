//! Producer metrics through the [`metrics`] facade, recorded by a [`SendHook`] every producer
//! gets unless [`ProducerConfig::enable_metrics`](crate::ProducerConfig::enable_metrics) is off.
//!
//! Why `metrics` and not OpenTelemetry: it is a facade in the spirit of `log`, so a library
//! records and the application picks the exporter (Prometheus, StatsD, OpenTelemetry through a
//! bridge) or none; with no recorder installed every call goes to a no-op. Handles are resolved
//! once per producer and label set and kept, so a send costs a map lookup and a few atomic
//! updates, and nothing when no recorder is installed beyond that lookup. Install the recorder
//! before creating producers (`Producer::new`, `spawn`, `supervised`): handles resolved earlier
//! stay no-ops.
//!
//! | name | kind | labels | what |
//! |---|---|---|---|
//! | `rocketmq_producer_messages_sent_total` | counter | group, topic, broker | messages the broker stored (one-way: written) |
//! | `rocketmq_producer_bytes_sent_total` | counter | group, topic, broker | their body bytes as sent (after compression) |
//! | `rocketmq_producer_send_failures_total` | counter | group, topic, kind | sends that ended in an error, by [`SendErrorKind`] (refused input included) |
//! | `rocketmq_producer_send_retries_total` | counter | group, topic | attempts beyond the first |
//! | `rocketmq_producer_send_duration_seconds` | histogram | group, topic, outcome | acceptance to end, retries included (`ok`/`error`; sends refused before acceptance are not timed) |
//! | `rocketmq_producer_broker_isolations_total` | counter | group, broker | latency fault tolerance isolating a broker |
//! | `rocketmq_producer_inflight_messages` | gauge | group | sends holding room in the in-flight budget (sampled every second) |
//! | `rocketmq_producer_inflight_bytes` | gauge | group | their body bytes (sampled every second) |
//! | `rocketmq_client_connections` | gauge | | open name server and broker connections of the process |
//!
//! Labels are bounded: groups and topics are the application's own, brokers are the
//! cluster's, kinds are five. Topics are named without the namespace; a send refused because
//! its topic name breaks the rules is counted under topic `-`, so typos make no new series.
//! The internal trace producer records nothing.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use metrics::{counter, gauge, histogram, Counter, Gauge, Histogram};

use super::hook::{SendHook, SendSummary};
use crate::error::SendErrorKind;

/// Counter: messages stored (one-way: written), by group, topic and broker.
pub const MESSAGES_SENT: &str = "rocketmq_producer_messages_sent_total";
/// Counter: body bytes of those messages as sent, by group, topic and broker.
pub const BYTES_SENT: &str = "rocketmq_producer_bytes_sent_total";
/// Counter: sends that ended in an error, by group, topic and kind.
pub const SEND_FAILURES: &str = "rocketmq_producer_send_failures_total";
/// Counter: attempts beyond the first, by group and topic.
pub const SEND_RETRIES: &str = "rocketmq_producer_send_retries_total";
/// Histogram: seconds from acceptance to the end of a send, by group, topic and outcome.
pub const SEND_DURATION: &str = "rocketmq_producer_send_duration_seconds";
/// Counter: broker isolations by latency fault tolerance, by group and broker.
pub const BROKER_ISOLATIONS: &str = "rocketmq_producer_broker_isolations_total";
/// Gauge: sends holding room in the in-flight budget, by group.
pub const INFLIGHT_MESSAGES: &str = "rocketmq_producer_inflight_messages";
/// Gauge: body bytes holding room in the in-flight budget, by group.
pub const INFLIGHT_BYTES: &str = "rocketmq_producer_inflight_bytes";
/// Gauge: open connections (name servers and brokers) of the process.
pub const CONNECTIONS: &str = "rocketmq_client_connections";

/// The label value of a [`SendErrorKind`].
pub fn kind_label(kind: SendErrorKind) -> &'static str {
    match kind {
        SendErrorKind::InvalidInput => "invalid_input",
        SendErrorKind::Config => "config",
        SendErrorKind::NotRunning => "not_running",
        SendErrorKind::Transient => "transient",
        SendErrorKind::OutcomeUnknown => "outcome_unknown",
    }
}

/// Handles of one topic.
struct TopicMetrics {
    name: String,
    retries: Counter,
    ok: Histogram,
    error: Histogram,
    /// By broker: (messages, bytes).
    sent: crate::hash::FastMap<String, (Counter, Counter)>,
    failures: HashMap<&'static str, Counter>,
}

/// The metrics of one producer group (see the module documentation).
///
/// ```
/// use actix_rocketmq::{Producer, ProducerConfig};
/// // On by default; a producer that must not record turns it off.
/// let mut cfg = ProducerConfig::new("quiet_group", "127.0.0.1:9876");
/// cfg.enable_metrics = false;
/// let producer = Producer::new(cfg);
/// ```
pub struct ProducerMetrics {
    group: String,
    /// Keyed by the topic as sent (namespace included). One producer actor calls in, so the lock
    /// is never contended; it is there because hooks are `Sync`.
    topics: Mutex<crate::hash::FastMap<String, TopicMetrics>>,
    isolations: Mutex<HashMap<String, Counter>>,
    inflight_messages: Gauge,
    inflight_bytes: Gauge,
}

impl ProducerMetrics {
    /// Handles for `group` (the group as the user names it).
    pub fn new(group: &str) -> Self {
        let group = group.to_string();
        ProducerMetrics {
            inflight_messages: gauge!(INFLIGHT_MESSAGES, "group" => group.clone()),
            inflight_bytes: gauge!(INFLIGHT_BYTES, "group" => group.clone()),
            topics: Mutex::new(Default::default()),
            isolations: Mutex::new(HashMap::new()),
            group,
        }
    }

    /// Samples the in-flight budget (the producer calls this every second).
    pub(crate) fn set_inflight(&self, messages: usize, bytes: usize) {
        self.inflight_messages.set(messages as f64);
        self.inflight_bytes.set(bytes as f64);
    }

    fn topic(&self, name: String) -> TopicMetrics {
        let group = self.group.clone();
        TopicMetrics {
            retries: counter!(SEND_RETRIES, "group" => group.clone(), "topic" => name.clone()),
            ok: histogram!(SEND_DURATION, "group" => group.clone(), "topic" => name.clone(), "outcome" => "ok"),
            error: histogram!(SEND_DURATION, "group" => group, "topic" => name.clone(), "outcome" => "error"),
            sent: Default::default(),
            failures: HashMap::new(),
            name,
        }
    }
}

impl SendHook for ProducerMetrics {
    fn sees_attempts(&self) -> bool {
        false
    }

    fn send_ended(&self, s: &SendSummary<'_>) {
        let mut topics = self.topics.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        // One lookup on the hot path; the key is copied only the first time.
        let t = match topics.get_mut(s.topic) {
            Some(t) => t,
            None => topics.entry(s.topic.to_string()).or_insert_with(|| self.topic(s.topic_without_namespace())),
        };
        if s.attempts > 1 {
            t.retries.increment(u64::from(s.attempts - 1));
        }
        match s.outcome {
            Ok(_) => {
                t.ok.record(s.elapsed.as_secs_f64());
                let broker = s.broker.unwrap_or("");
                let (messages, bytes) = match t.sent.get(broker) {
                    Some(counters) => counters,
                    None => {
                        let labels = [("group", self.group.clone()), ("topic", t.name.clone()), ("broker", broker.to_string())];
                        t.sent.entry(broker.to_string()).or_insert_with(|| (counter!(MESSAGES_SENT, &labels), counter!(BYTES_SENT, &labels)))
                    }
                };
                messages.increment(s.messages as u64);
                bytes.increment(s.body_len as u64);
            }
            Err(e) => {
                // A send refused before the producer accepted it (no message id) is counted as a
                // failure but not timed: its zero would drag the latency quantiles down.
                if !s.msg_id.is_empty() {
                    t.error.record(s.elapsed.as_secs_f64());
                }
                let kind = kind_label(e.kind());
                let (group, name) = (&self.group, &t.name);
                t.failures
                    .entry(kind)
                    .or_insert_with(|| counter!(SEND_FAILURES, "group" => group.clone(), "topic" => name.clone(), "kind" => kind))
                    .increment(1);
            }
        }
    }

    fn broker_isolated(&self, broker: &str, _: Duration) {
        let mut isolations = self.isolations.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let group = &self.group;
        isolations
            .entry(broker.to_string())
            .or_insert_with(|| counter!(BROKER_ISOLATIONS, "group" => group.clone(), "broker" => broker.to_string()))
            .increment(1);
    }
}

impl Drop for ProducerMetrics {
    /// A producer gone for good has nothing in flight: its gauges must not keep the last sample.
    fn drop(&mut self) {
        self.set_inflight(0, 0);
    }
}

/// Counts a connection opened (`+1`) or closed (`-1`).
pub(crate) fn connection_opened(opened: bool) {
    let g = gauge!(CONNECTIONS);
    if opened {
        g.increment(1.0);
    } else {
        g.decrement(1.0);
    }
}

#[cfg(test)]
mod tests {
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};

    use super::*;
    use crate::error::{Delivery, SendError};
    use crate::protocol::route::MessageQueue;
    use crate::producer::record::{SendResult, SendStatus};

    fn summary<'a>(outcome: Result<Option<&'a SendResult>, &'a SendError>, attempts: u32) -> SendSummary<'a> {
        SendSummary {
            topic: "ns%orders",
            msg_id: "A,B",
            messages: 2,
            body_len: 100,
            attempts,
            elapsed: Duration::from_millis(5),
            oneway: false,
            broker: Some("broker-a"),
            outcome,
            namespace: Some("ns"),
        }
    }

    #[test]
    fn sends_are_counted_by_topic_broker_and_kind() {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let m = metrics::with_local_recorder(&recorder, || {
            let m = ProducerMetrics::new("g");
            let result = SendResult {
                status: SendStatus::SendOk,
                msg_id: "A,B".into(),
                offset_msg_id: "X".into(),
                message_queue: MessageQueue { topic: "ns%orders".into(), broker_name: "broker-a".into(), queue_id: 1 },
                queue_offset: 0,
                transaction_id: None,
                region_id: "".into(),
                trace_on: true,
            };
            m.send_ended(&summary(Ok(Some(&result)), 1));
            m.send_ended(&summary(Ok(Some(&result)), 3));
            let err = SendError::Timeout { budget: Duration::from_secs(3), attempts: 2, delivery: Delivery::Unknown };
            m.send_ended(&summary(Err(&err), 2));
            m.broker_isolated("broker-a", Duration::from_secs(1));
            m.set_inflight(4, 400);
            m
        });
        let mut seen = HashMap::new();
        for (key, _, _, value) in snapshotter.snapshot().into_vec() {
            let mut labels: Vec<String> = key.key().labels().map(|l| format!("{}={}", l.key(), l.value())).collect();
            labels.sort();
            let v = match value {
                DebugValue::Counter(c) => c as f64,
                DebugValue::Gauge(g) => g.into_inner(),
                DebugValue::Histogram(h) => h.len() as f64,
            };
            seen.insert(format!("{}{{{}}}", key.key().name(), labels.join(",")), v);
        }
        let get = |k: &str| seen.get(k).copied().unwrap_or_else(|| panic!("no {k} in {seen:#?}"));
        assert_eq!(get("rocketmq_producer_messages_sent_total{broker=broker-a,group=g,topic=orders}"), 4.0);
        assert_eq!(get("rocketmq_producer_bytes_sent_total{broker=broker-a,group=g,topic=orders}"), 200.0);
        assert_eq!(get("rocketmq_producer_send_retries_total{group=g,topic=orders}"), 3.0);
        assert_eq!(get("rocketmq_producer_send_failures_total{group=g,kind=outcome_unknown,topic=orders}"), 1.0);
        assert_eq!(get("rocketmq_producer_send_duration_seconds{group=g,outcome=ok,topic=orders}"), 2.0);
        assert_eq!(get("rocketmq_producer_send_duration_seconds{group=g,outcome=error,topic=orders}"), 1.0);
        assert_eq!(get("rocketmq_producer_broker_isolations_total{broker=broker-a,group=g}"), 1.0);
        assert_eq!(get("rocketmq_producer_inflight_messages{group=g}"), 4.0);
        assert_eq!(get("rocketmq_producer_inflight_bytes{group=g}"), 400.0);
        // A producer gone for good leaves its gauges at 0, not at the last sample.
        m.set_inflight(5, 500);
        drop(m);
        let after = snapshotter.snapshot().into_vec();
        assert!(after.iter().all(|(_, _, _, v)| !matches!(v, DebugValue::Gauge(g) if g.into_inner() != 0.0)), "{after:?}");
    }
}
