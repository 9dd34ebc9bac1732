//! Counters, the once-a-second report line and the latency histogram.
//!
//! Everything runs on the actix system's single thread, but async mode's outcome callback must
//! be `Send + Sync` (it runs inside the producer actor), so the stats live behind a `Mutex` that
//! is never contended.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

/// How many one-second snapshots the report averages over (the Java tool keeps 10).
const WINDOW: usize = 10;

/// The stats, shared by the senders, the outcome callback and the reporter.
#[derive(Clone)]
pub struct SharedStats(Arc<Mutex<Stats>>);

impl SharedStats {
    /// The stats (a panicking holder cannot leave them half-written in a way that matters
    /// for a report, so a poisoned lock is used as is).
    pub fn lock(&self) -> MutexGuard<'_, Stats> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

pub struct Stats {
    /// Successful requests (a batch is one request).
    pub ok_requests: u64,
    /// Messages in successful requests.
    pub ok_msgs: u64,
    /// Requests that failed before or without a broker answer (Java: "Send Failed").
    pub send_failed: u64,
    /// Requests the broker answered with an error code (Java: "Response Failed").
    pub response_failed: u64,
    /// Sum of the successful requests' response times, in microseconds.
    pub rt_total_us: u64,
    pub max_rt_us: u64,
    /// Response times of successful requests, microseconds.
    pub hist: Histogram<u64>,
    /// First error of each kind, for the summary.
    pub first_errors: Vec<String>,
    pub started: Instant,
    pub finished: Option<Instant>,
}

#[derive(Clone, Copy)]
struct Snapshot {
    at: Instant,
    ok_requests: u64,
    ok_msgs: u64,
    rt_total_us: u64,
}

impl Stats {
    pub fn shared() -> SharedStats {
        SharedStats(Arc::new(Mutex::new(Stats {
            ok_requests: 0,
            ok_msgs: 0,
            send_failed: 0,
            response_failed: 0,
            rt_total_us: 0,
            max_rt_us: 0,
            hist: Histogram::new_with_bounds(1, 120_000_000, 3).expect("histogram bounds"),
            first_errors: Vec::new(),
            started: Instant::now(),
            finished: None,
        })))
    }

    pub fn success(&mut self, msgs: u64, rt: Duration) {
        let us = (rt.as_micros() as u64).max(1);
        self.ok_requests += 1;
        self.ok_msgs += msgs;
        self.rt_total_us += us;
        self.max_rt_us = self.max_rt_us.max(us);
        self.hist.saturating_record(us);
    }

    pub fn failure(&mut self, response: bool, what: String) {
        if response {
            self.response_failed += 1;
        } else {
            self.send_failed += 1;
        }
        if self.first_errors.len() < 5 && !self.first_errors.contains(&what) {
            self.first_errors.push(what);
        }
    }

    fn snapshot(&self) -> Snapshot {
        Snapshot { at: Instant::now(), ok_requests: self.ok_requests, ok_msgs: self.ok_msgs, rt_total_us: self.rt_total_us }
    }

    pub fn elapsed(&self) -> Duration {
        self.finished.unwrap_or_else(Instant::now).duration_since(self.started)
    }

    /// `p` in 0..=1, milliseconds.
    pub fn quantile_ms(&self, p: f64) -> f64 {
        self.hist.value_at_quantile(p) as f64 / 1000.0
    }

    pub fn avg_rt_ms(&self) -> f64 {
        if self.ok_requests == 0 {
            return 0.0;
        }
        self.rt_total_us as f64 / self.ok_requests as f64 / 1000.0
    }
}

/// The report task: one line per `interval`, in the Java benchmark's format, over a window of
/// the last 10 one-second snapshots (like Java). Returns the last window's TPS when `stop` says so.
pub struct Reporter {
    snaps: VecDeque<Snapshot>,
}

impl Reporter {
    pub fn new(stats: &Stats) -> Self {
        let mut snaps = VecDeque::with_capacity(WINDOW + 1);
        snaps.push_back(stats.snapshot());
        Reporter { snaps }
    }

    /// Takes a snapshot; returns (msgs/s, average RT in ms) over the window.
    pub fn tick(&mut self, stats: &Stats) -> (f64, f64) {
        self.snaps.push_back(stats.snapshot());
        if self.snaps.len() > WINDOW + 1 {
            self.snaps.pop_front();
        }
        self.window()
    }

    pub fn window(&self) -> (f64, f64) {
        let (Some(begin), Some(end)) = (self.snaps.front(), self.snaps.back()) else {
            return (0.0, 0.0);
        };
        let dt = end.at.duration_since(begin.at).as_secs_f64();
        let tps = if dt > 0.0 { (end.ok_msgs - begin.ok_msgs) as f64 / dt } else { 0.0 };
        let reqs = end.ok_requests - begin.ok_requests;
        let avg = if reqs > 0 { (end.rt_total_us - begin.rt_total_us) as f64 / reqs as f64 / 1000.0 } else { 0.0 };
        (tps, avg)
    }

    pub fn line(stats: &Stats, tps: f64, avg_ms: f64) -> String {
        format!(
            "Send TPS: {:.0} | Max RT(ms): {:.3} | Average RT(ms): {:7.3} | Send Failed: {} | Response Failed: {}",
            tps,
            stats.max_rt_us as f64 / 1000.0,
            avg_ms,
            stats.send_failed,
            stats.response_failed
        )
    }
}
