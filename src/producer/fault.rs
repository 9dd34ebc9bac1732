//! Latency fault tolerance and latency-mode queue choice, as in the Java client 5.1.4+
//! (`MQFaultStrategy.selectOneMessageQueue` / `updateFaultItem`, `LatencyFaultToleranceImpl`,
//! `TopicPublishInfo`; docs/PROTOCOL.md, Fault tolerance). Pure: the caller passes
//! `now`, so the behaviour is deterministic under test.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::selector::next_index;
use crate::protocol::route::MessageQueue;

/// Java's `latencyMax` (ms), 5.1.4+.
const LATENCY_MAX_MS: [u64; 7] = [50, 100, 550, 1800, 3000, 5000, 15000];
/// Java's `notAvailableDuration` (ms), 5.1.4+, index for index with [`LATENCY_MAX_MS`].
const NOT_AVAILABLE_MS: [u64; 7] = [0, 0, 2000, 5000, 6000, 10000, 30000];
/// The latency Java substitutes for the lookup when the attempt isolates the broker (transport
/// error or broker error code), whatever the attempt really took.
const ISOLATION_LATENCY: Duration = Duration::from_millis(10_000);
/// Java's `ThreadLocalIndex` masks the counter to keep the index non-negative; the same mask
/// keeps our queue order identical to Java's for the same counter value.
const POSITIVE_MASK: u32 = 0x7FFF_FFFF;

/// How long a broker is avoided after an attempt that took `latency`: `notAvailableDuration[i]`
/// for the largest `i` with `latency >= latencyMax[i]`, zero below 50 ms. (An isolating attempt
/// goes through [`LatencyFaultTable::update`], which looks up 10 000 ms instead, i.e. 10 s.)
///
/// ```
/// use std::time::Duration;
/// use actix_rocketmq::producer::fault::not_available_duration;
///
/// assert_eq!(not_available_duration(Duration::from_millis(49)), Duration::ZERO);
/// assert_eq!(not_available_duration(Duration::from_millis(600)), Duration::from_secs(2));
/// ```
pub fn not_available_duration(latency: Duration) -> Duration {
    LATENCY_MAX_MS
        .iter()
        .zip(NOT_AVAILABLE_MS)
        .rev()
        .find(|(max, _)| latency >= Duration::from_millis(**max))
        .map_or(Duration::ZERO, |(_, ms)| Duration::from_millis(ms))
}

#[derive(Debug, Clone)]
struct FaultItem {
    /// Latency of the last attempt (kept for diagnostics, as Java's `currentLatency`).
    latency: Duration,
    /// Unavailable before this instant (Java's `startTimestamp`); `None` = never isolated.
    unavailable_until: Option<Instant>,
    reachable: bool,
}

/// Per-broker fault state, keyed by broker name. Brokers without an entry are available and
/// reachable.
///
/// ```
/// use std::time::{Duration, Instant};
/// use actix_rocketmq::producer::fault::LatencyFaultTable;
///
/// let t0 = Instant::now();
/// let mut table = LatencyFaultTable::new();
/// table.update("broker-a", Duration::from_millis(3), true, false, t0); // send failed
/// assert!(!table.is_available("broker-a", t0 + Duration::from_secs(9)));
/// assert!(table.is_available("broker-a", t0 + Duration::from_secs(10)));
/// assert!(table.is_available("broker-b", t0));
/// ```
#[derive(Debug, Clone, Default)]
pub struct LatencyFaultTable {
    items: HashMap<String, FaultItem>,
}

impl LatencyFaultTable {
    /// An empty table: every broker available and reachable.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records the outcome of an attempt on `broker` (Java's `updateFaultItem`). Success or a
    /// client-side error: `isolation = false, reachable = true`; transport error: `isolation =
    /// true`; broker error code: `isolation = true, reachable = false`.
    ///
    /// Like Java, the unavailable period is only ever extended, never shortened: a fast success
    /// right after a failure does not lift the isolation early (it would otherwise let one lucky
    /// reply pull traffic back to a broker that just timed out). `reachable` is overwritten.
    pub fn update(
        &mut self,
        broker: &str,
        latency: Duration,
        isolation: bool,
        reachable: bool,
        now: Instant,
    ) {
        let duration = not_available_duration(if isolation {
            ISOLATION_LATENCY
        } else {
            latency
        });
        let item = self
            .items
            .entry(broker.to_owned())
            .or_insert_with(|| FaultItem {
                latency,
                unavailable_until: None,
                reachable,
            });
        item.latency = latency;
        item.reachable = reachable;
        if duration > Duration::ZERO {
            // `checked_add` only fails for instants centuries ahead; then keep what we have.
            if let Some(until) = now.checked_add(duration) {
                if item.unavailable_until.map_or(true, |old| until > old) {
                    item.unavailable_until = Some(until);
                }
            }
        }
    }

    /// Whether `broker`'s unavailable period is over at `now` (unknown brokers: yes).
    pub fn is_available(&self, broker: &str, now: Instant) -> bool {
        self.items
            .get(broker)
            .and_then(|item| item.unavailable_until)
            .map_or(true, |until| now >= until)
    }

    /// Whether the last attempt on `broker` reported it reachable (unknown brokers: yes). This
    /// does not expire: only a later update (or a detector) makes the broker reachable again.
    pub fn is_reachable(&self, broker: &str) -> bool {
        self.items.get(broker).map_or(true, |item| item.reachable)
    }

    /// Until when `broker` is avoided, if it ever was.
    pub fn unavailable_until(&self, broker: &str) -> Option<Instant> {
        self.items.get(broker).and_then(|item| item.unavailable_until)
    }

    /// The latency of the last recorded attempt on `broker`.
    pub fn latency(&self, broker: &str) -> Option<Duration> {
        self.items.get(broker).map(|item| item.latency)
    }

    /// Forgets `broker` (e.g. when it leaves every route); it is then available and reachable.
    pub fn remove(&mut self, broker: &str) {
        self.items.remove(broker);
    }

    /// The number of brokers with an entry.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// `true` when no broker has an entry.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}


/// Up to `queues.len()` round-robin steps, returning the first queue that passes `accept`
/// (Java's `TopicPublishInfo.selectOneMessageQueue(filters...)`).
fn first_accepted<'a>(
    queues: &'a [MessageQueue],
    counter: &mut u32,
    accept: impl Fn(&MessageQueue) -> bool,
) -> Option<&'a MessageQueue> {
    (0..queues.len())
        .filter_map(|_| queues.get(next_index(counter, queues.len())))
        .find(|q| accept(q))
}

/// The queue for the next attempt in latency mode (Java 5.1.4+
/// `MQFaultStrategy.selectOneMessageQueue` with `sendLatencyFaultEnable`): on a retry
/// (`last_broker` set) the counter restarts at a random value, so retries of concurrent sends
/// spread over the queues instead of all moving to the same next one. Then the first queue in
/// round-robin order whose broker is available and not `last_broker`; failing that, one whose
/// broker is reachable and not `last_broker`; failing that, the next queue regardless. `None`
/// only for an empty queue list.
///
/// ```
/// use std::time::{Duration, Instant};
/// use actix_rocketmq::producer::fault::{select_queue, LatencyFaultTable};
/// use actix_rocketmq::protocol::route::MessageQueue;
///
/// let qs: Vec<MessageQueue> = ["a", "b"].iter()
///     .map(|b| MessageQueue { topic: "t".into(), broker_name: (*b).into(), queue_id: 0 })
///     .collect();
/// let now = Instant::now();
/// let mut table = LatencyFaultTable::new();
/// table.update("a", Duration::from_millis(5), true, true, now);
/// let mut counter = 0;
/// for _ in 0..4 {
///     assert_eq!(select_queue(&qs, &mut counter, None, &table, now).unwrap().broker_name, "b");
/// }
/// ```
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
        // Java's `ThreadLocalIndex.reset`: `abs(random.nextInt(Integer.MAX_VALUE))`.
        *counter = fastrand::u32(..POSITIVE_MASK);
    }
    let not_last = |q: &MessageQueue| last_broker != Some(q.broker_name.as_str());
    if let Some(q) = first_accepted(queues, counter, |q| {
        not_last(q) && table.is_available(&q.broker_name, now)
    }) {
        return Some(q);
    }
    if let Some(q) = first_accepted(queues, counter, |q| {
        not_last(q) && table.is_reachable(&q.broker_name)
    }) {
        return Some(q);
    }
    queues.get(next_index(counter, queues.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn queues(spec: &[(&str, i32)]) -> Vec<MessageQueue> {
        spec.iter()
            .flat_map(|(b, n)| {
                (0..*n).map(move |i| MessageQueue {
                    topic: "t".into(),
                    broker_name: (*b).into(),
                    queue_id: i,
                })
            })
            .collect()
    }

    #[test]
    fn duration_table_boundaries() {
        for (latency, expected) in [
            (0, 0),
            (49, 0),
            (50, 0),
            (99, 0),
            (100, 0),
            (549, 0),
            (550, 2000),
            (1799, 2000),
            (1800, 5000),
            (2999, 5000),
            (3000, 6000),
            (4999, 6000),
            (5000, 10000),
            (14_999, 10000),
            (15_000, 30000),
            (600_000, 30000),
        ] {
            assert_eq!(
                not_available_duration(ms(latency)),
                ms(expected),
                "{latency} ms"
            );
        }
        // Durations compare exactly; Java truncates to whole ms first, with the same result.
        assert_eq!(
            not_available_duration(ms(549) + Duration::from_micros(999)),
            Duration::ZERO
        );
        // Isolation looks up 10 000 ms whatever the real latency: unavailable for 10 s.
        let t0 = Instant::now();
        for latency in [0, 49, 1800, 15_000, 600_000] {
            let mut table = LatencyFaultTable::new();
            table.update("a", ms(latency), true, true, t0);
            assert!(!table.is_available("a", t0 + ms(9_999)), "{latency} ms");
            assert!(table.is_available("a", t0 + ms(10_000)), "{latency} ms");
            // The real latency is still what gets recorded.
            assert_eq!(table.latency("a"), Some(ms(latency)));
        }
    }

    #[test]
    fn unknown_brokers_are_available_and_reachable() {
        let table = LatencyFaultTable::new();
        let now = Instant::now();
        assert!(table.is_available("x", now));
        assert!(table.is_reachable("x"));
        assert_eq!(table.latency("x"), None);
        assert!(table.is_empty());
    }

    #[test]
    fn availability_expires() {
        let t0 = Instant::now();
        let mut table = LatencyFaultTable::new();
        table.update("a", ms(600), false, true, t0);
        assert_eq!(table.len(), 1);
        assert!(!table.is_available("a", t0));
        assert!(!table.is_available("a", t0 + ms(1999)));
        assert!(table.is_available("a", t0 + ms(2000)));
        assert!(table.is_reachable("a"));
        assert_eq!(table.latency("a"), Some(ms(600)));

        // Fast replies leave a broker available.
        table.update("b", ms(49), false, true, t0);
        assert!(table.is_available("b", t0));
        assert_eq!(table.len(), 2);
    }

    #[test]
    fn isolation_only_extends() {
        let t0 = Instant::now();
        let mut table = LatencyFaultTable::new();
        table.update("a", ms(1), true, false, t0);
        assert!(!table.is_reachable("a"));
        assert!(!table.is_available("a", t0 + ms(9999)));
        // A quick success one second later clears "unreachable" but not the isolation.
        table.update("a", ms(1), false, true, t0 + ms(1000));
        assert!(table.is_reachable("a"));
        assert!(!table.is_available("a", t0 + ms(9999)));
        assert!(table.is_available("a", t0 + ms(10_000)));
        // A shorter period starting later than the current end does extend it.
        table.update("a", ms(600), false, true, t0 + ms(9000));
        assert!(!table.is_available("a", t0 + ms(10_999)));
        assert!(table.is_available("a", t0 + ms(11_000)));
        // A longer one replaces it.
        table.update("a", ms(20_000), false, true, t0 + ms(9000));
        assert!(!table.is_available("a", t0 + ms(38_999)));
        assert!(table.is_available("a", t0 + ms(39_000)));
    }

    #[test]
    fn remove_forgets() {
        let t0 = Instant::now();
        let mut table = LatencyFaultTable::new();
        table.update("a", ms(1), true, false, t0);
        table.update("b", ms(1), true, false, t0);
        table.remove("a");
        table.remove("never-seen");
        assert_eq!(table.len(), 1);
        assert!(table.is_available("a", t0));
        assert!(table.is_reachable("a"));
        assert!(!table.is_available("b", t0));
    }

    #[test]
    fn empty_queue_list() {
        let table = LatencyFaultTable::new();
        let mut counter = 0;
        assert!(select_queue(&[], &mut counter, None, &table, Instant::now()).is_none());
        assert!(select_queue(&[], &mut counter, Some("a"), &table, Instant::now()).is_none());
    }

    #[test]
    fn plain_round_robin_without_faults() {
        let qs = queues(&[("a", 2), ("b", 2)]);
        let table = LatencyFaultTable::new();
        let now = Instant::now();
        // Start near the wrap-around: the mask keeps the order continuous.
        let mut counter = POSITIVE_MASK - 1;
        let picked: Vec<(String, i32)> = (0..6)
            .map(|_| {
                let q = select_queue(&qs, &mut counter, None, &table, now).unwrap();
                (q.broker_name.to_string(), q.queue_id)
            })
            .collect();
        // counter POSITIVE_MASK → index 3, then 0x8000_0000 & mask = 0 → index 0, …
        let expected = [("b", 1), ("a", 0), ("a", 1), ("b", 0), ("b", 1), ("a", 0)];
        assert_eq!(
            picked,
            expected
                .iter()
                .map(|(b, i)| (b.to_string(), *i))
                .collect::<Vec<_>>()
        );
        assert_eq!(counter, POSITIVE_MASK + 5);
    }

    #[test]
    fn skips_isolated_broker() {
        let qs = queues(&[("a", 2), ("b", 2), ("c", 2)]);
        let t0 = Instant::now();
        let mut table = LatencyFaultTable::new();
        table.update("b", ms(3), true, true, t0);
        for start in 0..50 {
            let mut counter = start;
            let q = select_queue(&qs, &mut counter, None, &table, t0).unwrap();
            assert_ne!(q.broker_name, "b", "start {start}");
        }
        // Once the isolation is over, b is chosen again in its turn.
        let later = t0 + ms(10_000);
        let mut counter = 1; // next index 2: b#0
        assert_eq!(
            select_queue(&qs, &mut counter, None, &table, later)
                .unwrap()
                .broker_name,
            "b"
        );
    }

    #[test]
    fn retry_skips_last_and_isolated_brokers() {
        let qs = queues(&[("a", 2), ("b", 2), ("c", 2)]);
        let t0 = Instant::now();
        let mut table = LatencyFaultTable::new();
        table.update("a", ms(3), true, true, t0);
        table.update("b", ms(3), true, true, t0);
        for seed in 0..50 {
            fastrand::seed(seed);
            // The counter is reset at random on a retry, so its value here does not matter.
            let mut counter = 0;
            let q = select_queue(&qs, &mut counter, Some("c"), &table, t0).unwrap();
            // c is the last broker, a and b are isolated but reachable: a or b.
            assert_ne!(q.broker_name, "c", "seed {seed}");
            // Only b isolated: a (available, not last) always wins.
            let mut only_b = LatencyFaultTable::new();
            only_b.update("b", ms(3), true, true, t0);
            let q = select_queue(&qs, &mut counter, Some("c"), &only_b, t0).unwrap();
            assert_eq!(q.broker_name, "a", "seed {seed}");
        }
    }

    #[test]
    fn falls_back_when_all_isolated() {
        let qs = queues(&[("a", 2), ("b", 2)]);
        let t0 = Instant::now();
        let mut table = LatencyFaultTable::new();
        // All isolated but reachable: any broker but the last one.
        table.update("a", ms(3), true, true, t0);
        table.update("b", ms(3), true, true, t0);
        for seed in 0..20 {
            fastrand::seed(seed);
            let mut counter = 0;
            let q = select_queue(&qs, &mut counter, Some("a"), &table, t0).unwrap();
            assert_eq!(q.broker_name, "b");
        }
        // All isolated and unreachable: still a queue (round robin), even on the last broker.
        table.update("a", ms(3), true, false, t0);
        table.update("b", ms(3), true, false, t0);
        let mut seen = std::collections::HashSet::new();
        for seed in 0..50 {
            fastrand::seed(seed);
            let mut counter = 0;
            let q = select_queue(&qs, &mut counter, Some("a"), &table, t0).unwrap();
            seen.insert(q.broker_name.clone());
        }
        assert_eq!(seen.len(), 2);
        // First attempt, all isolated and unreachable: plain round robin after two full
        // fruitless passes.
        let mut counter = 0;
        let q = select_queue(&qs, &mut counter, None, &table, t0).unwrap();
        assert_eq!(counter, 2 * 4 + 1);
        assert_eq!(q, &qs[1]);
    }

    #[test]
    fn single_broker_retry_still_sends() {
        let qs = queues(&[("a", 3)]);
        let table = LatencyFaultTable::new();
        fastrand::seed(1);
        let mut counter = 0;
        let q = select_queue(&qs, &mut counter, Some("a"), &table, Instant::now()).unwrap();
        assert_eq!(q.broker_name, "a");
    }
}
