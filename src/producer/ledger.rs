//! The producer's promises: every send it accepted and has not yet answered.
//!
//! The ledger owns the caller's side of each send (its reply slot or callback), so a send is
//! answered exactly once, by [`Ledger::end`], whatever happens to the work around it: a task lost
//! across a restart, a drain deadline, or the actor going away (`Drop` answers what is left).
//! It also owns the in-flight budget and the waiters of `Flush` and of a draining `Shutdown`.

use std::collections::BTreeMap;

use crate::hash::FastMap;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::accumulate::BatchCompletion;
use super::answer::Deliver;
use super::budget::InflightBudget;
use super::messages::{FlushReport, OutcomeCallback, SendFailure, SendOutcome};
use super::record::{ProducerRecord, SendResult};
use super::hook::{Hooks, SendHook, SendSummary};
use super::send::{Send, Stage};
use super::validate::check_topic;
use crate::error::SendError;

/// Identifies one accepted send; ids grow, so "accepted before" is "smaller id".
pub(super) type SendId = u64;

/// How a send ends: `Some(result)` for request-reply sends, `None` for one-way writes.
pub(crate) type Outcome = Result<Option<SendResult>, SendError>;

/// Where the outcome of a send goes.
pub(super) enum Completion {
    /// A caller awaiting the handler's future (which keeps the message to hand it back).
    Reply(oneshot::Sender<Outcome>),
    /// A `SendAsync` callback; the record travels along to be handed back on failure.
    Callback { to: OutcomeCallback, context: u64, record: ProducerRecord },
    /// An auto-batch: each gathered message's caller gets its share of the outcome.
    Batch(BatchCompletion),
    /// A caller's reply channel, answered straight from here (`answer.rs`).
    Answer(Rc<dyn Deliver>),
}

impl Completion {
    fn deliver(self, outcome: Outcome) {
        match self {
            Completion::Reply(tx) => {
                let _ = tx.send(outcome);
            }
            Completion::Callback { to, context, record } => {
                let result = outcome.and_then(super::send::expect_reply).map_err(|error| SendFailure { error, returned: record });
                to.deliver(SendOutcome { context, result });
            }
            Completion::Batch(batch) => batch.deliver(outcome),
            Completion::Answer(slot) => slot.deliver(outcome),
        }
    }
}

/// A callback send taken back out of the ledger ([`Ledger::take_back`]), still holding room for
/// its message in the budget.
pub(super) struct TakenBack {
    pub send: Send,
    pub to: OutcomeCallback,
    pub context: u64,
    pub record: ProducerRecord,
}

struct Entry {
    send: Send,
    completion: Completion,
    /// The room it holds in the budget (messages, bytes), once admitted.
    room: Option<(usize, usize)>,
    /// Told when the send is admitted or has ended (a `SendAsync` caller waits for this).
    on_admit: Option<oneshot::Sender<()>>,
}

struct FlushWaiter {
    /// Sends with a smaller id were accepted before the flush.
    before: SendId,
    /// How many of them are still live.
    left: usize,
    report: FlushReport,
    tx: oneshot::Sender<FlushReport>,
}

/// See the module documentation.
pub(super) struct Ledger {
    /// Told how each send ended (see [`Ledger::report`]).
    hooks: Hooks,
    namespace: Option<String>,
    budget: InflightBudget,
    /// A hash map, not a B-tree: a B-tree node moves its values on every removal, and an entry
    /// is several hundred bytes (profiled: half of all copying in the send path). Nothing
    /// needs the order on the hot path; flushes count what they wait for.
    live: FastMap<SendId, Entry>,
    next_id: SendId,
    flushes: Vec<FlushWaiter>,
    on_empty: Vec<oneshot::Sender<()>>,
}

impl Ledger {
    pub(super) fn new(budget: InflightBudget) -> Self {
        Ledger {
            hooks: Hooks::default(),
            namespace: None,
            budget,
            live: FastMap::default(),
            next_id: 0,
            flushes: Vec::new(),
            on_empty: Vec::new(),
        }
    }

    /// Who hears how sends end: the producer's hooks, and its namespace for their topic names.
    /// The ledger owns the hooks because it is where every accepted send ends.
    pub(super) fn observe(&mut self, hooks: Hooks, namespace: Option<String>) {
        self.hooks = hooks;
        self.namespace = namespace;
    }

    /// The producer's hooks (the send machine calls the per-attempt ones).
    pub(super) fn hooks(&self) -> &Hooks {
        &self.hooks
    }

    /// Adds a hook (before the actor starts).
    pub(super) fn add_hook(&mut self, hook: Arc<dyn SendHook>) {
        self.hooks.add(hook);
    }

    /// Tells the hooks of a send refused before the producer accepted it: it never gets an
    /// entry, so [`Ledger::end`] never reports it. A topic that breaks the topic rules is
    /// reported as `-`: metrics label by topic, and refused input must not create a series per
    /// typo.
    pub(super) fn refused(&self, topic: &str, oneway: bool, error: &SendError) {
        if self.hooks.is_empty() {
            return;
        }
        let topic = match check_topic(topic) {
            Ok(()) => crate::namespace::wrap(self.namespace.as_deref(), topic),
            Err(_) => "-".to_string(),
        };
        self.hooks.ended(&SendSummary {
            topic: &topic,
            msg_id: "",
            messages: 0,
            body_len: 0,
            attempts: 0,
            elapsed: Duration::ZERO,
            oneway,
            broker: None,
            outcome: Err(error),
            namespace: self.namespace.as_deref(),
        });
    }

    /// Records an accepted send; from here on only [`Ledger::end`] answers it.
    pub(super) fn accept(&mut self, send: Send, completion: Completion) -> SendId {
        self.next_id += 1;
        let id = self.next_id;
        self.live.insert(id, Entry { send, completion, room: None, on_admit: None });
        id
    }

    /// Records a send that already holds `room` in the budget (an auto-batch, whose messages
    /// took it as they were gathered).
    pub(super) fn accept_admitted(&mut self, send: Send, completion: Completion, room: (usize, usize)) -> SendId {
        self.next_id += 1;
        let id = self.next_id;
        self.live.insert(id, Entry { send, completion, room: Some(room), on_admit: None });
        id
    }

    /// A receiver that resolves once `id` is admitted or ends; `None` if that happened already
    /// (most sends are admitted on the spot: no channel for them).
    pub(super) fn when_admitted(&mut self, id: SendId) -> Option<oneshot::Receiver<()>> {
        let entry = self.live.get_mut(&id).filter(|e| e.room.is_none())?;
        let (tx, rx) = oneshot::channel();
        entry.on_admit = Some(tx);
        Some(rx)
    }

    pub(super) fn get(&self, id: SendId) -> Option<&Send> {
        self.live.get(&id).map(|e| &e.send)
    }

    pub(super) fn get_mut(&mut self, id: SendId) -> Option<&mut Send> {
        self.live.get_mut(&id).map(|e| &mut e.send)
    }

    /// Takes room for `id` if there is some now.
    pub(super) fn try_admit(&mut self, id: SendId) -> bool {
        let Some(entry) = self.live.get_mut(&id) else { return false };
        if entry.room.is_some() {
            return true;
        }
        let room = (entry.send.msg.messages, entry.send.msg.body.len());
        if !self.budget.try_acquire_n(room.0, room.1) {
            return false;
        }
        Self::mark_admitted(entry, room);
        true
    }

    /// `room` was granted to `id` by a waiter; returns false if the send already ended (the
    /// room is then to be given back).
    pub(super) fn granted(&mut self, id: SendId, room: (usize, usize)) -> bool {
        match self.live.get_mut(&id) {
            Some(entry) => {
                Self::mark_admitted(entry, room);
                true
            }
            None => false,
        }
    }

    /// Takes `id` back out, unanswered and unreported, if it is a callback send that was admitted
    /// with room for its one message and `wanted` accepts its message: the producer then gathers
    /// it into an auto-batch, which takes over the room (`accumulate.rs`, `Producer::regather`).
    /// Never while a flush or a drain waits: they count the live sends, and this one would leave
    /// their count without an outcome.
    pub(super) fn take_back(&mut self, id: SendId, wanted: impl FnOnce(&ProducerRecord) -> bool) -> Option<TakenBack> {
        if !self.flushes.is_empty() || !self.on_empty.is_empty() {
            return None;
        }
        let entry = self.live.get(&id)?;
        let Completion::Callback { record, .. } = &entry.completion else { return None };
        if entry.room != Some((1, record.body().len())) || entry.send.tries.attempts > 0 || !wanted(record) {
            return None;
        }
        let entry = self.live.remove(&id)?;
        let Completion::Callback { to, context, record } = entry.completion else { return None };
        Some(TakenBack { send: entry.send, to, context, record })
    }

    /// Gives back room granted to a send that had already ended.
    pub(super) fn return_room(&mut self, count: usize, size: usize) {
        self.budget.release_n(count, size);
    }

    fn mark_admitted(entry: &mut Entry, room: (usize, usize)) {
        entry.room = Some(room);
        if let Some(tx) = entry.on_admit.take() {
            let _ = tx.send(());
        }
    }

    pub(super) fn budget(&mut self) -> &mut InflightBudget {
        &mut self.budget
    }

    pub(super) fn budget_ref(&self) -> &InflightBudget {
        &self.budget
    }

    /// Answers `id` once: gives its room back and delivers the outcome. A second call (e.g. a
    /// reply arriving after a drain deadline ended the send) finds nothing and does nothing.
    pub(super) fn end(&mut self, id: SendId, outcome: Outcome) -> bool {
        self.finish(id, outcome, None)
    }

    /// [`end`](Self::end) for a caller that has read the clock already (`now`).
    pub(super) fn end_at(&mut self, id: SendId, outcome: Outcome, now: Instant) -> bool {
        self.finish(id, outcome, Some(now))
    }

    fn finish(&mut self, id: SendId, outcome: Outcome, now: Option<Instant>) -> bool {
        let Some(mut entry) = self.live.remove(&id) else { return false };
        self.report(&entry.send, &outcome, now);
        if let Some((messages, bytes)) = entry.room {
            self.budget.release_n(messages, bytes);
        }
        if let Some(tx) = entry.on_admit.take() {
            let _ = tx.send(());
        }
        let ok = outcome.is_ok();
        // An auto-batch counts each of its callers' sends.
        let sends = match &entry.completion {
            Completion::Batch(batch) => batch.members.len() as u64,
            _ => 1,
        };
        for f in self.flushes.iter_mut().filter(|f| id < f.before) {
            f.left = f.left.saturating_sub(1);
            if ok {
                f.report.succeeded += sends;
            } else {
                f.report.failed += sends;
            }
        }
        entry.completion.deliver(outcome);
        self.settle_waiters();
        true
    }

    /// Closes the send's span with its attempts and outcome, and tells the hooks. Here, because
    /// every send ends through [`Ledger::end`] exactly once, whatever ended it.
    fn report(&self, send: &Send, outcome: &Outcome, now: Option<Instant>) {
        let span = &send.span;
        if !span.is_disabled() {
            span.record("attempts", send.tries.attempts);
            match outcome {
                Ok(Some(r)) => {
                    span.record("outcome", "stored");
                    // The queue of the attempt that stored it (a retry may have moved it).
                    span.record("broker", r.message_queue.broker_name.as_str());
                    span.record("queue", r.message_queue.queue_id);
                }
                Ok(None) => {
                    span.record("outcome", "written");
                }
                Err(e) => {
                    span.record("outcome", "failed");
                    span.record("error", tracing::field::display(e));
                }
            }
        }
        if self.hooks.is_empty() {
            return;
        }
        let broker = match (outcome, &send.stage) {
            (Ok(Some(r)), _) => Some(r.message_queue.broker_name.as_str()),
            (_, Stage::OnWire(hop) | Stage::Connection(hop)) => Some(hop.mq().broker_name.as_str()),
            _ => send.tries.last_broker.as_deref(),
        };
        let msg = &send.msg;
        self.hooks.ended(&SendSummary {
            topic: &msg.topic,
            // A stored send's id has moved into its result (`Producer::on_reply`).
            msg_id: match outcome {
                Ok(Some(r)) => &r.msg_id,
                _ => &msg.msg_id,
            },
            messages: msg.messages,
            body_len: msg.body.len(),
            attempts: send.tries.attempts,
            elapsed: now.map_or_else(|| send.clock.started.elapsed(), |now| now.saturating_duration_since(send.clock.started)),
            oneway: send.plan.oneway,
            broker,
            outcome: match outcome {
                Ok(r) => Ok(r.as_ref()),
                Err(e) => Err(e),
            },
            namespace: self.namespace.as_deref(),
        });
    }

    fn settle_waiters(&mut self) {
        if self.flushes.iter().any(|f| f.left == 0) {
            let (done, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.flushes).into_iter().partition(|f| f.left == 0);
            self.flushes = waiting;
            for f in done {
                let _ = f.tx.send(f.report);
            }
        }
        if self.live.is_empty() {
            for tx in self.on_empty.drain(..) {
                let _ = tx.send(());
            }
        }
    }

    /// Resolves when every send accepted so far has ended, with how they ended.
    pub(super) fn flush(&mut self) -> oneshot::Receiver<FlushReport> {
        let (tx, rx) = oneshot::channel();
        // Every live send was accepted before this flush.
        self.flushes.push(FlushWaiter { before: self.next_id + 1, left: self.live.len(), report: FlushReport::default(), tx });
        self.settle_waiters();
        rx
    }

    /// Resolves when no send is live.
    pub(super) fn drained(&mut self) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        self.on_empty.push(tx);
        self.settle_waiters();
        rx
    }

    /// Ends every live send with the error `error_for` builds from it.
    pub(super) fn end_all(&mut self, error_for: impl Fn(&Send) -> SendError) {
        let mut ids: Vec<SendId> = self.live.keys().copied().collect();
        // In the order they were accepted.
        ids.sort_unstable();
        for id in ids {
            if let Some(err) = self.live.get(&id).map(|e| error_for(&e.send)) {
                self.end(id, Err(err));
            }
        }
    }

    /// Sends whose budget ran out more than `grace` ago: their work was lost somewhere (it
    /// normally ends them itself, on time), so the sweep ends them.
    pub(super) fn overdue(&self, now: Instant, grace: Duration) -> Vec<SendId> {
        let mut ids: Vec<SendId> = self.live.iter().filter(|(_, e)| e.send.clock.deadline() + grace <= now).map(|(id, _)| *id).collect();
        ids.sort_unstable();
        ids
    }

    /// Live sends.
    pub(super) fn len(&self) -> usize {
        self.live.len()
    }

    /// Live sends per stage name (diagnostics).
    pub(super) fn stages(&self) -> BTreeMap<&'static str, usize> {
        let mut counts = BTreeMap::new();
        for e in self.live.values() {
            *counts.entry(e.send.stage.name()).or_insert(0) += 1;
        }
        counts
    }
}

impl Drop for Ledger {
    /// The actor is gone for good: nothing will end these sends, so they end here.
    fn drop(&mut self) {
        self.end_all(|send| SendError::Stopped { delivery: send.delivery() });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Delivery;
    use crate::producer::send::tests::sample_send;

    fn ledger(max: usize) -> Ledger {
        Ledger::new(InflightBudget::new(max, 1 << 20))
    }

    fn reply() -> (Completion, oneshot::Receiver<Outcome>) {
        let (tx, rx) = oneshot::channel();
        (Completion::Reply(tx), rx)
    }

    #[test]
    fn a_send_is_answered_once_and_gives_its_room_back() {
        let mut l = ledger(1);
        let (c, mut rx) = reply();
        let id = l.accept(sample_send(), c);
        assert!(l.try_admit(id));
        assert_eq!(l.budget_ref().messages(), 1);
        assert!(l.end(id, Ok(None)));
        assert!(!l.end(id, Err(SendError::NoQueueSelected)), "a second end finds nothing");
        assert!(matches!(rx.try_recv(), Ok(Ok(None))));
        assert_eq!(l.budget_ref().messages(), 0);
    }

    #[test]
    fn flush_counts_only_sends_accepted_before_it() {
        let mut l = ledger(10);
        let (c1, _r1) = reply();
        let (c2, _r2) = reply();
        let a = l.accept(sample_send(), c1);
        let b = l.accept(sample_send(), c2);
        let mut flushed = l.flush();
        let (c3, _r3) = reply();
        let later = l.accept(sample_send(), c3);
        l.end(a, Ok(None));
        assert!(flushed.try_recv().is_err(), "b is still live");
        l.end(later, Err(SendError::NoQueueSelected));
        l.end(b, Err(SendError::NoQueueSelected));
        let report = flushed.try_recv().expect("flush resolved");
        assert_eq!((report.succeeded, report.failed), (1, 1));
    }

    #[test]
    fn flush_and_drain_resolve_at_once_when_nothing_is_live() {
        let mut l = ledger(1);
        assert_eq!(l.flush().try_recv().map(|r| (r.succeeded, r.failed)), Ok((0, 0)));
        assert!(l.drained().try_recv().is_ok());
    }

    #[test]
    fn a_waiting_callback_send_is_taken_back_only_while_nothing_counts_the_live_sends() {
        let answered = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let callback = || {
            let answered = answered.clone();
            let to = OutcomeCallback::function(move |_| {
                answered.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            });
            Completion::Callback { to, context: 7, record: ProducerRecord::new("t", "12345678") }
        };
        let mut l = ledger(1);
        let first = l.accept(sample_send(), callback());
        assert!(l.take_back(first, |_| true).is_none(), "not admitted: it holds no room to take over");
        assert!(l.try_admit(first));
        assert!(l.take_back(first, |_| false).is_none(), "its message may not be gathered");
        let mut flushed = l.flush();
        assert!(l.take_back(first, |_| true).is_none(), "a flush counts it");
        l.end(first, Ok(None));
        assert_eq!(flushed.try_recv().map(|r| r.succeeded), Ok(1));
        let second = l.accept(sample_send(), callback());
        assert!(l.try_admit(second));
        let taken = l.take_back(second, |r| r.body().len() == 8).expect("taken back");
        assert_eq!((taken.context, l.len(), l.budget_ref().messages()), (7, 0, 1), "gone from the ledger, its room still held");
        drop(taken);
        drop(l);
        assert_eq!(answered.load(std::sync::atomic::Ordering::Relaxed), 1, "only the first was answered, by its end");
    }

    #[test]
    fn dropping_the_ledger_answers_every_live_send() {
        let mut l = ledger(1);
        let (c, mut rx) = reply();
        l.accept(sample_send(), c);
        drop(l);
        assert!(matches!(rx.try_recv(), Ok(Err(SendError::Stopped { delivery: Delivery::NotSent }))));
    }
}
