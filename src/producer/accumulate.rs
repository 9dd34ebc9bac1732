//! Auto-batching (`ProducerConfig::auto_batch`, the Java 5.x client's `autoBatch` with its
//! `ProduceAccumulator`): single sync and async sends are gathered per topic (or per queue,
//! for a send to a given queue) and go out as one SEND_BATCH_MESSAGE; every caller still gets its
//! own [`SendResult`] (its own msgId, queue and offset) or its own error with its message back.
//!
//! A gathering batch is sent once the bodies of its messages pass `batch_max_bytes` (Java counts
//! bodies only, so a batch of 1 KiB messages under the 32 KiB default holds 33), or
//! `batch_max_delay` after its first message. Each message is encoded into the batch body as it arrives (its
//! UNIQ_KEY is fixed then), so a message that cannot be encoded fails alone, at once. A gathered
//! message holds its room in the in-flight budget from the moment it is gathered until its batch
//! ends, and the bytes held are bounded by `total_batch_max_bytes`. Beyond that bound a message
//! goes alone (Java: `tryAddMessage` fails and the message is sent directly). Without room, a
//! message waits for room like any single send, and the batch gathering for its key is sent at
//! once: it holds room without flying, and its answer is what gives room back. A `SendAsync`
//! message that waited is gathered once it has room, opening the next batch
//! (`Producer::regather`); a sync caller's message that waited goes alone.
//!
//! Not gathered (they go alone, as in Java's `canBatch`): one-way sends, sends with a queue
//! selector, delayed and timer messages, retry and dead-letter topics, bodies that would be
//! compressed (batches never are) and messages bigger than `batch_max_bytes` on their own.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use bytes::BytesMut;
use tokio::sync::oneshot;

use super::actor::Producer;
use super::batch::{estimated_size, IdAt};
use super::ledger::{Completion, SendId, TakenBack};
use super::messages::{OutcomeCallback, SendFailure, SendOutcome};
use super::queue_select::Target;
use super::record::{ProducerRecord, SendResult};
use crate::name::TopicName;
use super::send::Clock;
use crate::config::ProducerConfig;
use crate::error::{Delivery, SendError, ServiceState};
use crate::hash::FastMap;
use crate::protocol::route::MessageQueue;

/// Where one gathered message's outcome goes.
pub(crate) enum MemberReply {
    /// A `SendMessage` caller awaiting its result.
    Sync(oneshot::Sender<Result<SendResult, SendFailure>>),
    /// A `SendAsync` callback.
    Async { to: OutcomeCallback, context: u64 },
}

/// One gathered message: its caller, its id, and the message to hand back on failure.
pub(crate) struct Member {
    pub reply: MemberReply,
    /// Where the UNIQ_KEY it carries is in its batch's joined ids.
    pub id: IdAt,
    pub record: ProducerRecord,
}

impl Member {
    /// Answers this message's caller.
    pub(crate) fn answer(self, result: Result<SendResult, SendError>) {
        let Member { reply, record, .. } = self;
        let result = result.map_err(|error| SendFailure { error, returned: record });
        match reply {
            MemberReply::Sync(tx) => {
                let _ = tx.send(result);
            }
            MemberReply::Async { to, context } => to.deliver(SendOutcome { context, result }),
        }
    }
}

/// The result of message `index` of a stored batch: its own id, its offset id (`offset_msg_id`,
/// the reply's `index`-th), and its offset (the batch's messages are contiguous in the queue).
pub(crate) fn member_result(batch: &SendResult, index: usize, msg_id: String, offset_msg_id: &str) -> SendResult {
    let offset_msg_id = offset_msg_id.to_string();
    SendResult {
        status: batch.status,
        msg_id,
        offset_msg_id,
        message_queue: batch.message_queue.clone(),
        queue_offset: batch.queue_offset + index as i64,
        transaction_id: None,
        region_id: batch.region_id.clone(),
        trace_on: batch.trace_on,
    }
}

/// The members of a batch on its way, as the ledger holds them; answered together when the
/// batch ends. Gives its bytes back to the accumulator's count then.
pub(crate) struct BatchCompletion {
    /// Each knows where its id is in the batch's ids: the batch's msgId, the comma-joined ids
    /// the stored batch's result carries.
    pub members: Vec<Member>,
    held: Arc<AtomicUsize>,
    bytes: usize,
}

impl BatchCompletion {
    /// Answers every member: its share of the batch's result, or the batch's error.
    pub(crate) fn deliver(self, outcome: Result<Option<SendResult>, SendError>) {
        self.held.fetch_sub(self.bytes, Ordering::Relaxed);
        match outcome.and_then(super::send::expect_reply) {
            Ok(batch) => {
                let mut offset_ids = OffsetIds::new(&batch.offset_msg_id, self.members.len());
                for (i, m) in self.members.into_iter().enumerate() {
                    let offset_id = offset_ids.next().unwrap_or(&batch.offset_msg_id);
                    let result = member_result(&batch, i, m.id.of(&batch.msg_id).to_string(), offset_id);
                    m.answer(Ok(result));
                }
            }
            Err(error) => {
                for m in self.members {
                    m.answer(Err(error.clone()));
                }
            }
        }
    }
}

/// The offset ids of a batch reply, in order: the reply joins them with `,`.
///
/// The ids a broker writes all have one width (32 hex characters for an IPv4 store host, 56
/// for IPv6), so when the list has exactly one comma between each two ids, each at its place
/// for that width, the ids are cut out at those places: a split searched for each comma, a
/// third of what answering a gathered message cost. Any other list is split at its commas.
enum OffsetIds<'a> {
    Even { ids: &'a str, width: usize, next: usize },
    Split(std::str::Split<'a, char>),
}

impl<'a> OffsetIds<'a> {
    fn new(ids: &'a str, count: usize) -> Self {
        let bytes = ids.as_bytes();
        let stride = (ids.len() + 1) / count.max(1);
        let even = count > 0
            && stride > 1
            && stride * count == ids.len() + 1
            && (1..count).all(|i| bytes[i * stride - 1] == b',')
            && commas(bytes) == count - 1;
        if even {
            OffsetIds::Even { ids, width: stride - 1, next: 0 }
        } else {
            OffsetIds::Split(ids.split(','))
        }
    }
}

/// How many commas `bytes` holds. Counted in byte-sized sums of up to 255 bytes, which the
/// compiler turns into vector compares (a count per byte into a `usize` it did not vectorize,
/// and cost more than the split it replaces).
fn commas(bytes: &[u8]) -> usize {
    bytes.chunks(255).map(|chunk| usize::from(chunk.iter().fold(0u8, |n, &b| n + u8::from(b == b',')))).sum()
}

impl<'a> Iterator for OffsetIds<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        match self {
            OffsetIds::Even { ids, width, next } => {
                // (the commas are where `new` found them: these are character boundaries)
                let id = ids.get(*next..*next + *width)?;
                *next += *width + 1;
                Some(id)
            }
            OffsetIds::Split(split) => split.next(),
        }
    }
}

/// What identifies a gathering batch: messages in one batch share topic, target queue and the
/// `WAIT` flag (the broker takes one for the whole batch).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct BatchKey {
    /// The topic as the user gave it (shared with the records: no copy per message).
    pub topic: TopicName,
    pub queue: Option<MessageQueue>,
    pub wait: bool,
}

impl BatchKey {
    /// The batch `record` sent to `target` belongs to (batches are gathered per given queue).
    fn of(record: &ProducerRecord, target: &Target) -> Self {
        let queue = match target {
            Target::Queue(mq) => Some(mq.clone()),
            _ => None,
        };
        BatchKey { topic: record.topic_name().clone(), queue, wait: record.wait_store_msg_ok() }
    }
}

/// The most members a new batch reserves room for at once.
const MEMBERS_HINT_MAX: usize = 256;

/// A batch being gathered.
pub(crate) struct Gathering {
    /// Tells its delay timer apart from a later batch under the same key.
    pub generation: u64,
    pub body: BytesMut,
    /// Its members' UNIQ_KEYs joined by commas: the batch's msgId as hooks and traces see it.
    pub ids: String,
    pub members: Vec<Member>,
    /// Body bytes of its messages (counted as held).
    pub held: usize,
    /// The earliest deadline among its members: the batch's own budget ends there.
    pub deadline: Instant,
    /// Whether a sync caller waits (the batch then gets the sync retries).
    pub has_sync: bool,
}

/// The gathering batches and the bytes held.
#[derive(Default)]
pub(crate) struct Accumulator {
    open: FastMap<BatchKey, Gathering>,
    held: Arc<AtomicUsize>,
    generations: u64,
}

impl Accumulator {
    /// Whether `record` (to `target`) may be gathered, by the rules in the module doc and the
    /// room left under `total_batch_max_bytes`.
    pub(crate) fn takes(&self, config: &ProducerConfig, record: &ProducerRecord, target: &Target) -> bool {
        let size = record.body().len();
        config.auto_batch
            && matches!(target, Target::Auto | Target::Queue(_))
            && record.delay().is_none()
            && !record.topic().starts_with("%RETRY%")
            && !record.topic().starts_with("%DLQ%")
            && size < config.compress_msg_body_over_howmuch
            && size <= config.batch_max_bytes
            && self.held.load(Ordering::Relaxed) + size <= config.total_batch_max_bytes
    }

    /// The batch gathering under `key`, opened if there is none; `true` with it when it was just
    /// opened (its delay timer is to be started).
    /// `room`, asked only when a batch opens: the body bytes a full batch takes, and how many
    /// messages it may hold.
    pub(crate) fn open(&mut self, key: BatchKey, deadline: Instant, room: impl FnOnce() -> (usize, usize)) -> (&mut Gathering, bool) {
        let mut opened = false;
        let generations = &mut self.generations;
        let gathering = self.open.entry(key).or_insert_with(|| {
            opened = true;
            *generations += 1;
            let (capacity, members) = room();
            // Room for a full batch at once: grown message by message, the body was copied
            // about five times on its way to 32 KiB.
            // The same for the members (a member is about 250 bytes, moved at every growth).
            let body = BytesMut::with_capacity(capacity);
            // (an IPv4 client's ids are 32 characters; each but the first follows a comma)
            let ids = String::with_capacity(members * 33);
            let members = Vec::with_capacity(members);
            Gathering { generation: *generations, body, ids, members, held: 0, deadline, has_sync: false }
        });
        (gathering, opened)
    }

    /// Counts `bytes` more as held.
    pub(crate) fn hold(&self, bytes: usize) {
        self.held.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Gives back held bytes (tests).
    #[cfg(test)]
    pub(crate) fn release(&self, bytes: usize) {
        self.held.fetch_sub(bytes, Ordering::Relaxed);
    }

    /// Takes the batch under `key` out to send (if `generation` matches, when given).
    pub(crate) fn take(&mut self, key: &BatchKey, generation: Option<u64>) -> Option<Gathering> {
        if generation.is_some_and(|g| self.open.get(key).map_or(true, |b| b.generation != g)) {
            return None;
        }
        self.open.remove(key)
    }

    /// Every gathering batch's key.
    pub(crate) fn keys(&self) -> Vec<BatchKey> {
        self.open.keys().cloned().collect()
    }

    /// The ledger's side of a batch taken out: its members, answered when it ends.
    pub(crate) fn completion(&self, members: Vec<Member>, bytes: usize) -> BatchCompletion {
        BatchCompletion { members, held: self.held.clone(), bytes }
    }

    /// The batch under `key`, if one is gathering.
    pub(crate) fn get(&self, key: &BatchKey) -> Option<&Gathering> {
        self.open.get(key)
    }
}

impl Drop for Accumulator {
    /// The producer is gone for good: nothing was sent of what is still gathering.
    fn drop(&mut self) {
        for (_, batch) in self.open.drain() {
            for m in batch.members {
                m.answer(Err(SendError::Stopped { delivery: Delivery::NotSent }));
            }
        }
    }
}

/// Internal: a gathering batch's delay is over.
#[derive(Message)]
#[rtype(result = "()")]
pub(super) struct BatchDue {
    key: BatchKey,
    generation: u64,
}

impl Producer {
    /// Whether this send is to be gathered: the producer runs, the rules of the module doc
    /// allow it, and the in-flight budget has room for it now, which it then holds (gathering
    /// and on its way, until its batch ends). Without room the send goes alone and waits for
    /// room like any other, which holds its caller back: what is gathered stays within the
    /// budget; and the batch gathering for its key goes now rather than after its delay.
    pub(super) fn gathers(&mut self, record: &ProducerRecord, target: &Target, ctx: &mut Context<Self>) -> bool {
        if self.state != ServiceState::Running || !self.accumulator.takes(&self.config, record, target) {
            return false;
        }
        if self.ledger.budget().try_acquire_n(1, record.body().len()) {
            return true;
        }
        // The budget is spent: a batch still gathering holds room without flying. Send it now,
        // so its room comes back with its answer instead of after its delay.
        let key = BatchKey::of(record, target);
        if self.accumulator.get(&key).is_some() {
            self.send_gathered(&key, None, ctx);
        }
        false
    }

    /// A callback send that went alone only because the budget was spent, and has just been
    /// given room: gathered now instead, holding that room (true), rather than sent alone.
    ///
    /// Without this, a sender that keeps the budget full (an async loop awaiting admission)
    /// sends one message of every batch's worth as a request of its own: the one that found
    /// the budget spent. Measured against the broker: a fifth of all requests, each costing
    /// the broker as much as a whole batch. Left alone (false) when the producer is not
    /// running, the message may no longer be gathered, or a flush or drain counts the live
    /// sends (see `Ledger::take_back`).
    pub(super) fn regather(&mut self, id: SendId, ctx: &mut Context<Self>) -> bool {
        if self.state != ServiceState::Running || !self.config.auto_batch {
            return false;
        }
        let Some(send) = self.ledger.get(id) else { return false };
        let (target, left) = (send.plan.target.clone(), send.clock.left());
        if left.is_zero() {
            return false;
        }
        let (config, accumulator) = (&self.config, &self.accumulator);
        let Some(taken) = self.ledger.take_back(id, |record| accumulator.takes(config, record, &target)) else { return false };
        let TakenBack { send, to, context, record } = taken;
        send.span.record("outcome", "gathered");
        self.gather(record, MemberReply::Async { to, context }, Some(left), target, ctx);
        true
    }

    /// Gathers `record` into its batch; its caller is answered when the batch ends (or at once,
    /// if the message cannot be encoded).
    pub(super) fn gather(&mut self, record: ProducerRecord, reply: MemberReply, timeout: Option<Duration>, target: Target, ctx: &mut Context<Self>) {
        let size = record.body().len();
        let deadline = Instant::now() + timeout.unwrap_or(self.config.send_msg_timeout);
        let key = BatchKey::of(&record, &target);
        let limit = self.config.max_message_size;
        let estimate = estimated_size(&record);
        let sync = matches!(reply, MemberReply::Sync(_));
        // A batch goes once its bodies pass `batch_max_bytes`: as many messages of this size as
        // fit in it, and one more. Room for that many members and their encoded size at once
        // (bounded: a tiny first message must not reserve room for thousands).
        let batch_max_bytes = self.config.batch_max_bytes;
        let room = || {
            let members = (batch_max_bytes / size.max(1)).saturating_add(1).clamp(1, MEMBERS_HINT_MAX);
            (estimate.saturating_mul(members).min(limit), members)
        };
        let mut open = self.accumulator.open(key.clone(), deadline, room);
        // A batch this message would push past the broker's size limit goes first, and the
        // message opens the next. (One lookup for the common case: the key is hashed once.)
        if !open.1 && open.0.body.len() + estimate > limit {
            self.send_gathered(&key, None, ctx);
            open = self.accumulator.open(key.clone(), deadline, room);
        }
        let (batch, opened) = open;
        match self.encoder.batch_member(&record, &mut batch.body, &mut batch.ids) {
            Ok(id) => {
                batch.members.push(Member { reply, id, record });
                batch.held += size;
                batch.deadline = batch.deadline.min(deadline);
                batch.has_sync |= sync;
            }
            Err(error) => {
                let empty = batch.members.is_empty();
                self.ledger.return_room(1, size);
                self.ledger.refused(record.topic(), false, &error);
                Member { reply, id: IdAt { start: 0, end: 0 }, record }.answer(Err(error));
                if empty {
                    self.accumulator.take(&key, None);
                }
                return;
            }
        }
        // Java's rule (`MessageAccumulation.readyToSend`): the bodies held, not the encoded
        // batch, and only once they pass the bound.
        let (full, generation, deadline) = (batch.held > self.config.batch_max_bytes, batch.generation, batch.deadline);
        self.accumulator.hold(size);
        if full {
            return self.send_gathered(&key, None, ctx);
        }
        if opened {
            let wait = self.config.batch_max_delay.min(deadline.saturating_duration_since(Instant::now()));
            let me = ctx.address();
            actix_rt::spawn(async move {
                tokio::time::sleep(wait).await;
                me.do_send(BatchDue { key, generation });
            });
        }
    }

    /// Sends the batch gathered under `key` (only the one of `generation`, when given): one
    /// SEND_BATCH_MESSAGE through the send machine, as any batch, within the earliest deadline
    /// of its messages.
    pub(super) fn send_gathered(&mut self, key: &BatchKey, generation: Option<u64>, ctx: &mut Context<Self>) {
        let Some(batch) = self.accumulator.take(key, generation) else { return };
        let Gathering { body, ids, members, held, deadline, has_sync, .. } = batch;
        // The room its messages took in the budget as they were gathered.
        let room = (members.len(), held);
        let parent = members.first().and_then(|m| m.record.parent_span().cloned());
        let count = members.len();
        let completion = self.accumulator.completion(members, held);
        let left = deadline.saturating_duration_since(Instant::now());
        let prepared = self.encoder.batch_envelope(&key.topic, key.wait, body.freeze(), ids, count, parent);
        let msg = match prepared {
            Ok(msg) if !left.is_zero() => msg,
            // (with no time left: the batch was due after its earliest deadline)
            unsent => {
                let error = unsent.err().unwrap_or(SendError::Timeout { budget: Duration::ZERO, attempts: 0, delivery: Delivery::NotSent });
                self.ledger.return_room(room.0, room.1);
                return completion.deliver(Err(error));
            }
        };
        let target = key.queue.clone().map_or(Target::Auto, Target::Queue);
        let plan = if has_sync { self.sync_plan(target) } else { self.async_plan(target) };
        let send = self.new_send(msg, plan, Clock::new(left));
        let id = self.ledger.accept_admitted(send, Completion::Batch(completion), room);
        self.route(id, ctx);
    }

    /// Sends every gathering batch now (`Flush`, `Shutdown`).
    pub(super) fn send_all_gathered(&mut self, ctx: &mut Context<Self>) {
        for key in self.accumulator.keys() {
            self.send_gathered(&key, None, ctx);
        }
    }
}

impl Handler<BatchDue> for Producer {
    type Result = ();
    fn handle(&mut self, msg: BatchDue, ctx: &mut Context<Self>) {
        self.send_gathered(&msg.key, Some(msg.generation), ctx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::producer::record::SendStatus;

    fn batch_result() -> SendResult {
        SendResult {
            status: SendStatus::SendOk,
            msg_id: "A,BB,C".into(),
            offset_msg_id: "O1,O2,O3".into(),
            message_queue: MessageQueue { topic: "t".into(), broker_name: "b".into(), queue_id: 2 },
            queue_offset: 40,
            transaction_id: None,
            region_id: "DefaultRegion".into(),
            trace_on: true,
        }
    }

    #[test]
    fn each_member_gets_its_own_ids_and_offset() {
        let mut replies = Vec::new();
        // The joined ids as the encoder writes them: "A,BB,C".
        let members = [("A", 0, 1), ("BB", 2, 4), ("C", 5, 6)]
            .into_iter()
            .map(|(id, start, end)| {
                let (tx, rx) = oneshot::channel();
                replies.push(rx);
                Member { reply: MemberReply::Sync(tx), id: IdAt { start, end }, record: ProducerRecord::new("t", id) }
            })
            .collect();
        let held = Arc::new(AtomicUsize::new(10));
        BatchCompletion { members, held: held.clone(), bytes: 10 }.deliver(Ok(Some(batch_result())));
        assert_eq!(held.load(Ordering::Relaxed), 0, "the batch's bytes are given back");
        let results: Vec<SendResult> = replies.into_iter().map(|mut rx| rx.try_recv().unwrap().unwrap()).collect();
        let ids: Vec<_> = results.iter().map(|r| (r.msg_id.as_str(), r.offset_msg_id.as_str(), r.queue_offset)).collect();
        assert_eq!(ids, [("A", "O1", 40), ("BB", "O2", 41), ("C", "O3", 42)]);
        assert!(results.iter().all(|r| r.message_queue.queue_id == 2));
    }

    #[test]
    fn offset_ids_are_read_as_a_split_would() {
        let cases: [(&str, usize); 12] = [
            ("AB,CD,EF", 3),
            ("AB,CD,EF", 2),
            ("AB,CD,EF", 4),
            ("ABC,D,EF", 3),
            ("AB,,CD,EF,", 3),
            ("AB,CD,,E", 3),
            ("ABCD", 1),
            ("", 1),
            ("", 0),
            (",", 2),
            ("A,B", 2),
            ("\u{e9}\u{e9},AB,CD", 3),
        ];
        for (ids, n) in cases {
            let fast: Vec<_> = OffsetIds::new(ids, n).take(n).collect();
            let split: Vec<_> = ids.split(',').take(n).collect();
            assert_eq!(fast, split, "{ids:?} for {n}");
        }
        assert!(matches!(OffsetIds::new("AB,CD,EF", 3), OffsetIds::Even { width: 2, .. }));
    }

    #[test]
    fn what_is_gathered_and_what_goes_alone() {
        let config = ProducerConfig { auto_batch: true, ..ProducerConfig::default() };
        let acc = Accumulator::default();
        let plain = ProducerRecord::new("t", vec![0u8; 100]);
        assert!(acc.takes(&config, &plain, &Target::Auto));
        assert!(!acc.takes(&ProducerConfig::default(), &plain, &Target::Auto), "off by default");
        let delayed = ProducerRecord::new("t", "x").with_delay(crate::Delay::Level(3));
        assert!(!acc.takes(&config, &delayed, &Target::Auto));
        assert!(!acc.takes(&config, &ProducerRecord::new("%RETRY%g", "x"), &Target::Auto));
        let big = ProducerRecord::new("t", vec![0u8; config.compress_msg_body_over_howmuch]);
        assert!(!acc.takes(&config, &big, &Target::Auto), "would be compressed");
        acc.hold(config.total_batch_max_bytes);
        assert!(!acc.takes(&config, &plain, &Target::Auto), "over the total");
        acc.release(config.total_batch_max_bytes);
        assert!(acc.takes(&config, &plain, &Target::Auto));
    }
}
