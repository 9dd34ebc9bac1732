//! Message trace (Java `enableMsgTrace`): a send hook turns each stored send and each
//! transaction decision into a trace record, and a dispatcher task sends them in batches to
//! the trace topic through an internal producer (Java `AsyncTraceDispatcher`).
//!
//! The user's sends never wait for tracing and never fail because of it: the hook only tries to
//! put the record in a bounded queue (2,048, as Java), and counts what does not fit. The
//! dispatcher flushes every 10 records or after 1 s (Java waits up to 5 s; a shorter wait makes
//! traces visible sooner and loses less when a process dies), cuts trace messages below
//! 128,000 bytes, and on shutdown sends what it holds before the producer leaves.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::{mpsc, oneshot};
use tracing::{debug, warn};

use super::actor::Producer;
use super::hook::{AttemptOutcome, EndTransactionInfo, MessageKind, SendAttempt, SendHook};
use super::messages::SendMessage;
use super::record::{ProducerRecord, SendStatus};
use crate::config::ProducerConfig;
use crate::namespace::unwrap;
use crate::protocol::trace::{EndTransactionRecord, PubRecord, TraceRecord, DEFAULT_REGION, DEFAULT_TRACE_TOPIC, MAX_TRACE_BODY};

/// Records waiting to be sent, at most (Java's queue size).
const QUEUE: usize = 2048;
/// A batch is flushed at this many records...
const BATCH: usize = 10;
/// ...or this long after its first record.
const MAX_DELAY: Duration = Duration::from_secs(1);

/// Counters of one producer's tracing (see [`ProducerStatus::trace`](crate::ProducerStatus)).
#[derive(Debug, Default)]
pub(crate) struct TraceCounters {
    pub dropped: AtomicU64,
    pub sent: AtomicU64,
    pub failed: AtomicU64,
}

/// What tracing did so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct TraceStats {
    /// Records dropped because the queue was full.
    pub dropped: u64,
    /// Records stored in the trace topic.
    pub sent: u64,
    /// Records whose trace message could not be stored.
    pub failed: u64,
}

/// The send hook that records traces.
pub(crate) struct TraceHook {
    tx: mpsc::Sender<TraceRecord>,
    counters: Arc<TraceCounters>,
    /// The trace topic, never traced itself.
    trace_topic: String,
}

impl TraceHook {
    fn push(&self, record: TraceRecord) {
        if self.tx.try_send(record).is_err() {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl SendHook for TraceHook {
    /// A Pub record for an attempt the broker stored and that it allows to be traced: the Java
    /// hook writes none when the answer lacks a region or says `TRACE_ON=false`
    /// (`SendMessageTraceHookImpl#sendMessageAfter`), nor for failed attempts. A batch gets one
    /// record, as in Java: its ids joined by `,`, no tags or keys, the batch body's length.
    fn after_send(&self, a: &SendAttempt<'_>, cost: Duration, outcome: AttemptOutcome<'_>) {
        let AttemptOutcome::Stored(result) = outcome else { return };
        if result.region_id.is_empty() || !result.trace_on || a.topic == self.trace_topic {
            return;
        }
        self.push(TraceRecord::Pub(PubRecord {
            timestamp: a.started_ms,
            region_id: result.region_id.to_string(),
            group: unwrap(a.namespace, a.group),
            topic: a.topic_without_namespace(),
            msg_id: a.msg_id.to_string(),
            tags: a.tags().map(str::to_string),
            keys: a.keys().filter(|k| !k.is_empty()).map(str::to_string),
            store_host: a.broker_addr.to_string(),
            body_len: a.body_len,
            cost_ms: cost.as_millis() as i64,
            msg_type: a.kind.ordinal(),
            offset_msg_id: result.offset_msg_id.clone(),
            success: result.status == SendStatus::SendOk,
        }));
    }

    fn end_transaction(&self, e: &EndTransactionInfo<'_>) {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
        self.push(TraceRecord::EndTransaction(EndTransactionRecord {
            timestamp: now,
            region_id: DEFAULT_REGION.to_string(),
            group: e.group.to_string(),
            topic: e.topic.to_string(),
            msg_id: e.msg_id.to_string(),
            tags: e.tags.map(str::to_string),
            keys: e.keys.filter(|k| !k.is_empty()).map(str::to_string),
            store_host: e.broker_addr.to_string(),
            msg_type: MessageKind::TransactionCommit.ordinal(),
            transaction_id: e.transaction_id.to_string(),
            transaction_state: e.state.to_string(),
            from_transaction_check: e.from_check,
        }));
    }
}

/// The producer's side of tracing: the queue's receiving end until the dispatcher starts, the
/// counters, and the way to stop the dispatcher.
pub(crate) struct Tracing {
    pending: Option<mpsc::Receiver<TraceRecord>>,
    pub(crate) counters: Arc<TraceCounters>,
    close: Option<oneshot::Sender<oneshot::Sender<()>>>,
    trace_topic: String,
}

impl Tracing {
    /// The hook and the tracing state for a producer with `enable_msg_trace`.
    pub(crate) fn new(config: &ProducerConfig) -> (Arc<TraceHook>, Tracing) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let counters = Arc::new(TraceCounters::default());
        let trace_topic = config.trace_topic.clone().unwrap_or_else(|| DEFAULT_TRACE_TOPIC.to_string());
        let hook = Arc::new(TraceHook { tx, counters: counters.clone(), trace_topic: crate::namespace::wrap(config.namespace.as_deref(), &trace_topic) });
        (hook, Tracing { pending: Some(rx), counters, close: None, trace_topic })
    }

    pub(crate) fn stats(&self) -> TraceStats {
        TraceStats {
            dropped: self.counters.dropped.load(Ordering::Relaxed),
            sent: self.counters.sent.load(Ordering::Relaxed),
            failed: self.counters.failed.load(Ordering::Relaxed),
        }
    }

    /// Starts the dispatcher (once; a restart keeps the running one). Its internal producer
    /// joins the same client instance (Java `_INNER_TRACE_PRODUCER-<group>`), so traces share
    /// this producer's connections, and has no trace of its own.
    pub(crate) fn start(&mut self, config: &ProducerConfig) {
        let Some(rx) = self.pending.take() else { return };
        let mut inner = ProducerConfig { group: format!("_INNER_TRACE_PRODUCER-{}", config.group), ..config.clone() };
        inner.enable_msg_trace = false;
        // Trace messages are not the application's: counting them would swell its totals (the
        // trace counters in `ProducerStatus.trace` cover them), and its topics are not theirs.
        inner.enable_metrics = false;
        inner.topics = Vec::new();
        inner.send_msg_timeout = Duration::from_secs(5);
        inner.max_message_size = MAX_TRACE_BODY;
        let (close_tx, close_rx) = oneshot::channel();
        self.close = Some(close_tx);
        actix_rt::spawn(dispatch(inner, self.trace_topic.clone(), rx, close_rx, self.counters.clone()));
    }

    /// Sends what the dispatcher holds and stops it; resolves when that is done.
    pub(crate) fn close(&mut self) -> impl std::future::Future<Output = ()> {
        let close = self.close.take();
        async move {
            if let Some(close) = close {
                let (done_tx, done_rx) = oneshot::channel();
                if close.send(done_tx).is_ok() {
                    let _ = done_rx.await;
                }
            }
        }
    }
}

/// Trace messages for `records`: one per traced topic, cut below the size limit, each with the
/// ids and keys of its records as `KEYS`.
fn trace_messages(trace_topic: &str, records: &[TraceRecord]) -> Vec<(ProducerRecord, u64)> {
    let mut by_topic: BTreeMap<&str, Vec<&TraceRecord>> = BTreeMap::new();
    for r in records {
        by_topic.entry(r.topic()).or_default().push(r);
    }
    let mut out = Vec::new();
    for group in by_topic.values() {
        let (mut body, mut keys, mut count) = (String::new(), Vec::<&str>::new(), 0u64);
        for r in group {
            let before = body.len();
            r.encode(&mut body);
            if body.len() >= MAX_TRACE_BODY && before > 0 {
                // This record starts the next message.
                let tail = body.split_off(before);
                out.push((trace_message(trace_topic, body, &keys), count));
                body = tail;
                keys.clear();
                count = 0;
            }
            keys.extend(r.index_keys());
            count += 1;
        }
        if count > 0 {
            out.push((trace_message(trace_topic, body, &keys), count));
        }
    }
    out
}

fn trace_message(topic: &str, body: String, keys: &[&str]) -> ProducerRecord {
    let mut unique: Vec<&str> = Vec::with_capacity(keys.len());
    for k in keys {
        if !unique.contains(k) {
            unique.push(k);
        }
    }
    ProducerRecord::new(topic, body).with_keys(unique)
}

async fn dispatch(
    config: ProducerConfig,
    trace_topic: String,
    mut rx: mpsc::Receiver<TraceRecord>,
    mut close: oneshot::Receiver<oneshot::Sender<()>>,
    counters: Arc<TraceCounters>,
) {
    let group = config.group.clone();
    let producer = match Producer::spawn(config).await {
        Ok(p) => Some(p),
        Err(e) => {
            warn!(group = %group, error = %e, "trace producer did not start; traces are dropped");
            None
        }
    };
    let mut batch = Vec::with_capacity(BATCH);
    let mut in_flight = Vec::new();
    let done = loop {
        let first = tokio::select! {
            r = rx.recv() => r,
            done = &mut close => break done.ok(),
        };
        let Some(first) = first else { break None };
        batch.push(first);
        let deadline = tokio::time::Instant::now() + MAX_DELAY;
        let mut closing = None;
        while batch.len() < BATCH {
            tokio::select! {
                r = rx.recv() => match r {
                    Some(r) => batch.push(r),
                    None => break,
                },
                _ = tokio::time::sleep_until(deadline) => break,
                done = &mut close => { closing = Some(done.ok()); break }
            }
        }
        in_flight.retain(|h: &actix_rt::task::JoinHandle<()>| !h.is_finished());
        in_flight.extend(flush(&producer, &trace_topic, std::mem::take(&mut batch), &counters));
        if let Some(done) = closing {
            break done;
        }
    };
    // Closing: what is still queued goes out too, then the internal producer drains and leaves.
    rx.close();
    while let Ok(r) = rx.try_recv() {
        batch.push(r);
    }
    in_flight.extend(flush(&producer, &trace_topic, batch, &counters));
    for h in in_flight {
        let _ = h.await;
    }
    if let Some(p) = producer {
        let _ = p.send(super::messages::Shutdown).await;
    }
    debug!(group = %group, "trace dispatcher stopped");
    if let Some(done) = done {
        let _ = done.send(());
    }
}

fn flush(
    producer: &Option<actix::Addr<Producer>>,
    trace_topic: &str,
    records: Vec<TraceRecord>,
    counters: &Arc<TraceCounters>,
) -> Vec<actix_rt::task::JoinHandle<()>> {
    if records.is_empty() {
        return Vec::new();
    }
    let Some(producer) = producer else {
        counters.failed.fetch_add(records.len() as u64, Ordering::Relaxed);
        return Vec::new();
    };
    trace_messages(trace_topic, &records)
        .into_iter()
        .map(|(msg, count)| {
            let send = producer.send(SendMessage::new(msg));
            let counters = counters.clone();
            actix_rt::spawn(async move {
                match send.await {
                    Ok(Ok(_)) => counters.sent.fetch_add(count, Ordering::Relaxed),
                    Ok(Err(f)) => {
                        debug!(error = %f, "trace message not stored");
                        counters.failed.fetch_add(count, Ordering::Relaxed)
                    }
                    Err(_) => counters.failed.fetch_add(count, Ordering::Relaxed),
                };
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::route::MessageQueue;
    use crate::producer::record::SendResult;

    fn attempt<'a>(topic: &'a str) -> SendAttempt<'a> {
        SendAttempt {
            group: "g",
            topic,
            msg_id: "ID",
            properties: "",
            body_len: 3,
            broker_name: "b",
            broker_addr: "127.0.0.1:10911",
            queue_id: 0,
            attempt: 1,
            kind: MessageKind::Normal,
            oneway: false,
            batch: false,
            started_ms: 5,
            namespace: None,
        }
    }

    fn result(region: &str, trace_on: bool) -> SendResult {
        SendResult {
            status: SendStatus::SendOk,
            msg_id: "ID".into(),
            offset_msg_id: "OFF".into(),
            message_queue: MessageQueue { topic: "T".into(), broker_name: "b".into(), queue_id: 0 },
            queue_offset: 0,
            transaction_id: None,
            region_id: region.into(),
            trace_on,
        }
    }

    #[test]
    fn the_hook_never_waits_and_counts_what_it_drops() {
        let (tx, mut rx) = mpsc::channel(2);
        let hook = TraceHook { tx, counters: Arc::default(), trace_topic: DEFAULT_TRACE_TOPIC.into() };
        let ok = result("DefaultRegion", true);
        for _ in 0..5 {
            hook.after_send(&attempt("T"), Duration::from_millis(1), AttemptOutcome::Stored(&ok));
        }
        assert_eq!(hook.counters.dropped.load(Ordering::Relaxed), 3);
        // Not traced: no region, TRACE_ON=false, the trace topic itself, failures.
        let err = crate::error::SendError::NoRoute { topic: "T".into() };
        hook.after_send(&attempt("T"), Duration::ZERO, AttemptOutcome::Stored(&result("", true)));
        hook.after_send(&attempt("T"), Duration::ZERO, AttemptOutcome::Stored(&result("R", false)));
        hook.after_send(&attempt(DEFAULT_TRACE_TOPIC), Duration::ZERO, AttemptOutcome::Stored(&ok));
        hook.after_send(&attempt("T"), Duration::ZERO, AttemptOutcome::Failed(&err));
        assert_eq!(hook.counters.dropped.load(Ordering::Relaxed), 3);
        let Ok(TraceRecord::Pub(p)) = rx.try_recv() else { panic!("a Pub record") };
        assert_eq!((p.topic.as_str(), p.cost_ms, p.timestamp, p.success), ("T", 1, 5, true));
    }

    #[test]
    fn trace_messages_are_cut_below_the_limit_and_keyed_by_ids() {
        let big = |i: usize| {
            TraceRecord::Pub(PubRecord {
                timestamp: 0,
                region_id: "R".into(),
                group: "g".into(),
                topic: "T".into(),
                msg_id: format!("ID{i}"),
                tags: None,
                keys: Some("k".into()),
                store_host: "h".into(),
                body_len: 0,
                cost_ms: 0,
                msg_type: 0,
                offset_msg_id: "x".repeat(30_000),
                success: true,
            })
        };
        let records: Vec<_> = (0..10).map(big).collect();
        let msgs = trace_messages("TT", &records);
        assert!(msgs.len() >= 3);
        assert_eq!(msgs.iter().map(|(_, n)| n).sum::<u64>(), 10);
        for (m, _) in &msgs {
            assert!(m.body().len() < MAX_TRACE_BODY);
            assert_eq!(m.topic(), "TT");
            assert!(m.keys().contains(&"k".to_string()));
        }
        assert_eq!(msgs[0].0.keys()[0], "ID0");
    }
}
