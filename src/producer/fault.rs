//! 5.x latency fault tolerance (REMOTING.md section 12): brokers that were slow or failed are
//! avoided for a while. Pure; every call takes `now`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::protocol::route::MessageQueue;

/// Latency thresholds (ms) and how long a broker is then avoided (ms), 5.1.4+ tables.
const LATENCY_MAX: [u64; 7] = [50, 100, 550, 1800, 3000, 5000, 15000];
const NOT_AVAILABLE: [u64; 7] = [0, 0, 2000, 5000, 6000, 10000, 30000];
/// The latency an isolated broker is treated as having.
const ISOLATION_LATENCY: Duration = Duration::from_millis(10_000);

#[derive(Debug, Clone, Copy)]
struct FaultItem {
    available_from: Instant,
    reachable: bool,
}

/// Broker name -> when it may be used again.
#[derive(Debug, Default, Clone)]
pub struct LatencyFaultTable {
    items: HashMap<String, FaultItem>,
}

/// How long a broker with this latency is avoided.
pub fn not_available_duration(latency: Duration) -> Duration {
    let ms = latency.as_millis() as u64;
    let i = LATENCY_MAX.iter().rposition(|max| ms >= *max);
    Duration::from_millis(i.map_or(0, |i| NOT_AVAILABLE[i]))
}

impl LatencyFaultTable {
    /// Records the outcome of one attempt on `broker`.
    pub fn update(&mut self, broker: &str, latency: Duration, isolation: bool, reachable: bool, now: Instant) {
        let latency = if isolation { ISOLATION_LATENCY } else { latency };
        let item = FaultItem { available_from: now + not_available_duration(latency), reachable };
        self.items.insert(broker.to_string(), item);
    }

    /// Unknown brokers are available.
    pub fn is_available(&self, broker: &str, now: Instant) -> bool {
        self.items.get(broker).map_or(true, |i| now >= i.available_from)
    }

    /// Unknown brokers are reachable.
    pub fn is_reachable(&self, broker: &str) -> bool {
        self.items.get(broker).map_or(true, |i| i.reachable)
    }

    /// Forgets a broker.
    pub fn remove(&mut self, broker: &str) {
        self.items.remove(broker);
    }

    /// Brokers with an entry.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// No entries.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

fn next(counter: &mut u32, len: usize) -> usize {
    *counter = counter.wrapping_add(1);
    (*counter & 0x7FFF_FFFF) as usize % len
}

/// The 5.x latency-mode queue choice: available and not the last broker, else reachable and
/// not the last broker, else any queue.
pub fn select_queue<'a>(
    queues: &'a [MessageQueue],
    counter: &mut u32,
    last_broker: Option<&str>,
    table: &LatencyFaultTable,
    now: Instant,
) -> Option<&'a MessageQueue> {
    if queues.is_empty() {
        return None;
    }
    if last_broker.is_some() {
        *counter = fastrand::u32(..);
    }
    let not_last = |q: &MessageQueue| last_broker != Some(q.broker_name.as_str());
    for filter in [
        &(|q: &MessageQueue| not_last(q) && table.is_available(&q.broker_name, now)) as &dyn Fn(&MessageQueue) -> bool,
        &(|q: &MessageQueue| not_last(q) && table.is_reachable(&q.broker_name)),
    ] {
        for _ in 0..queues.len() {
            let q = &queues[next(counter, queues.len())];
            if filter(q) {
                return Some(q);
            }
        }
    }
    Some(&queues[next(counter, queues.len())])
}
