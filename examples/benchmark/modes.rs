//! The send loops of each mode, mirroring `org.apache.rocketmq.example.benchmark.Producer`
//! (sync / async) and `BatchProducer` (batch).
//!
//! * sync: `-w` workers, each sends one message and waits for the result, like Java's `-w`
//!   threads calling `producer.send(msg)`. `-q` is split evenly, the remainder to worker 0.
//! * async: one sender (Java forces one thread with `-y true`) firing `SendAsync` requests (the
//!   crate's callback send, Java's `send(msg, SendCallback)`), waiting only until each is admitted;
//!   outcomes go to a callback function (`OutcomeCallback::function`, Java's callback object). The bound is the producer's back-pressure budget,
//!   `max_inflight_messages` = `--inflight` (Java bounds its executor queue at ~10000 instead).
//! * oneway: `-w` workers calling the one-way send (no broker reply).
//! * batch: `-w` workers each sending batches of `--batch-size` messages (Java `BatchProducer`).
//!
//! Failures: a broker error code counts as "Response Failed", everything else as "Send Failed";
//! in the sync, one-way and batch loops a transport or broker failure pauses that worker for
//! 3 s, as the Java tool does. In async mode every failure is "Send Failed" (Java's callback).

use std::cell::Cell;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use actix::Addr;
use actix_rocketmq::{OutcomeCallback, Producer, ProducerExt, ProducerRecord, SendAsync, SendError, SendOutcome, TopicName};
use bytes::Bytes;
use tokio::sync::Notify;

use crate::stats::SharedStats;

/// Pause after a transport or broker failure (the Java tool sleeps 3000 ms).
const FAILURE_PAUSE: Duration = Duration::from_secs(3);

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    Sync,
    Async,
    Oneway,
    Batch,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Sync => "sync",
            Mode::Async => "async",
            Mode::Oneway => "oneway",
            Mode::Batch => "batch",
        }
    }
}

/// Why a send loop gave up.
#[derive(Debug)]
pub enum BenchError {
    Send(SendError),
    /// The crate does not offer this kind of send (exit status 2, "n/a (not yet)" in compare.sh).
    #[allow(dead_code)]
    NotAvailable(&'static str),
}

impl From<SendError> for BenchError {
    fn from(e: SendError) -> Self {
        BenchError::Send(e)
    }
}

impl From<actix::MailboxError> for BenchError {
    fn from(e: actix::MailboxError) -> Self {
        BenchError::Send(SendError::from(e))
    }
}

/// What to send and how much.
pub struct Plan {
    pub mode: Mode,
    pub topic: TopicName,
    pub body: Bytes,
    pub workers: usize,
    pub batch_size: usize,
    pub keys: bool,
    pub tag_count: u64,
    /// Total messages (`-q`); `None` = until the deadline or forever.
    pub messages: Option<u64>,
    pub deadline: Option<Instant>,
}

impl Plan {
    fn record(&self) -> ProducerRecord {
        let mut r = ProducerRecord::new(self.topic.clone(), self.body.clone());
        if self.keys || self.tag_count > 0 {
            let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
            if self.keys {
                r = r.with_key((now / 1000).to_string());
            }
            if self.tag_count > 0 {
                r = r.with_tags(format!("tag{}", now % self.tag_count));
            }
        }
        r
    }

    fn msgs_per_request(&self) -> u64 {
        if self.mode == Mode::Batch {
            self.batch_size.max(1) as u64
        } else {
            1
        }
    }

    fn out_of_time(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// Requests per worker (Java: `messageNum / threadCount`, the remainder to the first).
    fn shares(&self) -> Vec<Option<u64>> {
        let workers = if self.mode == Mode::Async { 1 } else { self.workers.max(1) };
        match self.messages {
            None => vec![None; workers],
            Some(total) => {
                let requests = total.div_ceil(self.msgs_per_request());
                let w = workers as u64;
                let mut v: Vec<Option<u64>> = (0..w).map(|_| Some(requests / w)).collect();
                v[0] = Some(requests / w + requests % w);
                v.retain(|s| *s != Some(0));
                v
            }
        }
    }
}

// ---- the send calls ------------------------------------------------------------------------
// (One-way and batch were `// WIRE:` spots returning `NotAvailable` until `ProducerExt::send_oneway`
// / `send_batch` landed; `NotAvailable` stays for modes the crate may lack in the future.)

/// One sync send.
async fn send_sync(addr: &Addr<Producer>, record: ProducerRecord) -> Result<u64, BenchError> {
    addr.send_message(record).await?;
    Ok(1)
}

/// One one-way send (`SendOneway`): resolves once the frame is handed to the connection.
async fn send_oneway(addr: &Addr<Producer>, record: ProducerRecord) -> Result<u64, BenchError> {
    addr.send_oneway(record).await?;
    Ok(1)
}

/// One batch send of `records` (`SendBatch`, one SEND_BATCH_MESSAGE).
async fn send_batch(addr: &Addr<Producer>, records: Vec<ProducerRecord>) -> Result<u64, BenchError> {
    let n = records.len() as u64;
    addr.send_batch(records).await?;
    Ok(n)
}

// ---- loops ---------------------------------------------------------------------------------

/// Runs the plan to the end. `Err` only when the mode is not available (or was stopped by one).
pub async fn run(addr: Addr<Producer>, plan: Rc<Plan>, stats: SharedStats, stop: Rc<Cell<bool>>) -> Result<(), BenchError> {
    let shares = plan.shares();
    if plan.mode == Mode::Async {
        let share = shares.first().copied().unwrap_or(Some(0));
        return async_loop(addr, plan, stats, stop, share).await;
    }
    let mut handles = Vec::with_capacity(shares.len());
    for share in shares {
        let (addr, plan, stats, stop) = (addr.clone(), plan.clone(), stats.clone(), stop.clone());
        handles.push(actix::spawn(worker(addr, plan, stats, stop, share)));
    }
    let mut result = Ok(());
    for h in handles {
        match h.await {
            Ok(Err(e)) if result.is_ok() => result = Err(e),
            Ok(_) => {}
            Err(join) => result = Err(BenchError::Send(SendError::Mailbox(format!("worker task failed: {join}")))),
        }
    }
    result
}

async fn worker(
    addr: Addr<Producer>,
    plan: Rc<Plan>,
    stats: SharedStats,
    stop: Rc<Cell<bool>>,
    share: Option<u64>,
) -> Result<(), BenchError> {
    let mut n = 0u64;
    while !stop.get() && !plan.out_of_time() && share.map_or(true, |s| n < s) {
        let started = Instant::now();
        let res = match plan.mode {
            Mode::Sync | Mode::Async => send_sync(&addr, plan.record()).await,
            Mode::Oneway => send_oneway(&addr, plan.record()).await,
            Mode::Batch => {
                let records = (0..plan.batch_size.max(1)).map(|_| plan.record()).collect();
                send_batch(&addr, records).await
            }
        };
        n += 1;
        match res {
            Ok(msgs) => stats.lock().success(msgs, started.elapsed()),
            Err(BenchError::NotAvailable(what)) => {
                stop.set(true);
                return Err(BenchError::NotAvailable(what));
            }
            Err(BenchError::Send(e)) => {
                let (response, pause) = classify(&e);
                stats.lock().failure(response, e.to_string());
                if pause {
                    tokio::time::sleep(FAILURE_PAUSE).await;
                }
            }
        }
    }
    Ok(())
}

/// (is it a broker answer, should the worker pause) — the Java tool's catch blocks.
fn classify(e: &SendError) -> (bool, bool) {
    match e {
        SendError::Broker { .. } => (true, true),
        SendError::Remoting { .. } | SendError::Timeout { .. } => (false, true),
        _ => (false, false),
    }
}

/// Java's async loop: one sender fires `SendAsync` (outcome to a callback) and waits only until
/// the producer admits each send; the producer's in-flight budget (`--inflight`) is the bound.
/// The callback is a function, as Java's `SendCallback` is an object whose method the client
/// calls: it runs inside the producer actor, and `context` carries the send time in ns since
/// `t0`.
async fn async_loop(
    addr: Addr<Producer>,
    plan: Rc<Plan>,
    stats: SharedStats,
    stop: Rc<Cell<bool>>,
    share: Option<u64>,
) -> Result<(), BenchError> {
    let t0 = Instant::now();
    let outstanding = Arc::new(AtomicU64::new(0));
    let drained = Arc::new(Notify::new());
    let callback = {
        let (stats, outstanding, drained) = (stats.clone(), outstanding.clone(), drained.clone());
        OutcomeCallback::function(move |outcome: SendOutcome| {
            let rt = t0.elapsed().saturating_sub(Duration::from_nanos(outcome.context));
            match outcome.result {
                Ok(_) => stats.lock().success(1, rt),
                Err(f) => stats.lock().failure(false, f.error.to_string()),
            }
            if outstanding.fetch_sub(1, Ordering::Relaxed) == 1 {
                drained.notify_one();
            }
        })
    };
    let mut n = 0u64;
    while !stop.get() && !plan.out_of_time() && share.map_or(true, |s| n < s) {
        n += 1;
        outstanding.fetch_add(1, Ordering::Relaxed);
        let context = t0.elapsed().as_nanos() as u64;
        if let Err(e) = addr.send(SendAsync::new(plan.record(), callback.clone()).with_context(context)).await {
            outstanding.fetch_sub(1, Ordering::Relaxed);
            stats.lock().failure(false, SendError::from(e).to_string());
        }
    }
    // Wait for the outcomes still to come (`notify_one` keeps a wake-up sent before the wait).
    while outstanding.load(Ordering::Relaxed) > 0 {
        drained.notified().await;
    }
    Ok(())
}
