//! The in-flight budget of one producer: a count and a byte bound (pure bookkeeping).

use std::collections::VecDeque;

use tokio::sync::oneshot;

pub use crate::config::{DEFAULT_MAX_INFLIGHT_BYTES, DEFAULT_MAX_INFLIGHT_MESSAGES};

/// Counts messages and bytes in flight and queues the sends waiting for room, first come first
/// served. A batch takes room for each of its messages. A send bigger than either bound still
/// goes when nothing else is in flight, so no valid send can wait forever.
///
/// ```
/// use actix_rocketmq::producer::budget::InflightBudget;
/// let mut b = InflightBudget::new(2, 100);
/// assert!(b.try_acquire(60));
/// assert!(!b.try_acquire(60)); // 120 bytes > 100
/// assert!(b.try_acquire(40));
/// assert!(!b.try_acquire(1)); // 2 messages already
/// b.release(60);
/// assert!(b.try_acquire(1));
///
/// // A batch of 3 messages in a budget of 2 goes, but only alone.
/// let mut b = InflightBudget::new(2, 100);
/// assert!(b.try_acquire_n(3, 30));
/// assert!(!b.try_acquire(1));
/// b.release_n(3, 30);
/// assert_eq!(b.messages(), 0);
/// ```
#[derive(Debug)]
pub struct InflightBudget {
    max_messages: usize,
    max_bytes: usize,
    messages: usize,
    bytes: usize,
    /// (messages, bytes, who waits)
    waiters: VecDeque<(usize, usize, oneshot::Sender<()>)>,
}

impl InflightBudget {
    /// A budget of `max_messages` and `max_bytes` (each at least 1).
    pub fn new(max_messages: usize, max_bytes: usize) -> Self {
        InflightBudget { max_messages: max_messages.max(1), max_bytes: max_bytes.max(1), messages: 0, bytes: 0, waiters: VecDeque::new() }
    }

    fn fits(&self, count: usize, size: usize) -> bool {
        self.messages == 0 || (self.messages + count <= self.max_messages && self.bytes + size <= self.max_bytes)
    }

    /// Takes room for one message of `size` bytes if there is some and nobody waits before us.
    pub fn try_acquire(&mut self, size: usize) -> bool {
        self.try_acquire_n(1, size)
    }

    /// Takes room for `count` messages of `size` bytes in all (a batch) if there is some and
    /// nobody waits before us.
    pub fn try_acquire_n(&mut self, count: usize, size: usize) -> bool {
        if self.waiters.is_empty() && self.fits(count, size) {
            self.messages += count;
            self.bytes += size;
            true
        } else {
            false
        }
    }

    /// Queues a waiter for one message; the receiver fires once room was taken on its behalf.
    pub fn wait(&mut self, size: usize) -> oneshot::Receiver<()> {
        self.wait_n(1, size)
    }

    /// Queues a waiter for `count` messages of `size` bytes in all.
    pub fn wait_n(&mut self, count: usize, size: usize) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        self.waiters.push_back((count, size, tx));
        rx
    }

    /// Gives back the room of one message.
    pub fn release(&mut self, size: usize) {
        self.release_n(1, size)
    }

    /// Gives back the room of `count` messages of `size` bytes and hands it to waiters in order.
    /// A waiter that gave up (timed out) is skipped and its room returned at once.
    pub fn release_n(&mut self, count: usize, size: usize) {
        self.messages = self.messages.saturating_sub(count);
        self.bytes = self.bytes.saturating_sub(size);
        while let Some(&(n, want, _)) = self.waiters.front() {
            if !self.fits(n, want) {
                break;
            }
            let Some((_, _, tx)) = self.waiters.pop_front() else { break };
            if tx.is_closed() {
                continue;
            }
            self.messages += n;
            self.bytes += want;
            if tx.send(()).is_err() {
                self.messages -= n;
                self.bytes -= want;
            }
        }
    }

    /// Drops waiters that gave up, so they neither count nor linger until the next release.
    pub fn forget_abandoned(&mut self) {
        self.waiters.retain(|(_, _, tx)| !tx.is_closed());
    }

    /// Messages in flight.
    pub fn messages(&self) -> usize {
        self.messages
    }
    /// Bytes in flight.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
    /// Sends waiting for room.
    pub fn waiting(&self) -> usize {
        self.waiters.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiters_are_served_in_order_and_quitters_skipped() {
        let mut b = InflightBudget::new(1, 1000);
        assert!(b.try_acquire(10));
        let mut first = b.wait(10);
        let quitter = b.wait(10);
        let mut third = b.wait(10);
        // Nobody may jump the queue while others wait.
        assert!(!b.try_acquire(1));
        drop(quitter);
        b.release(10);
        assert!(first.try_recv().is_ok());
        assert_eq!(b.messages(), 1);
        b.release(10);
        // The quitter is skipped; the third gets the room.
        assert!(third.try_recv().is_ok());
        assert_eq!((b.messages(), b.bytes(), b.waiting()), (1, 10, 0));
        b.release(10);
        assert_eq!((b.messages(), b.bytes()), (0, 0));
    }

    #[test]
    fn an_oversized_message_goes_alone() {
        let mut b = InflightBudget::new(10, 100);
        assert!(b.try_acquire(1000));
        assert!(!b.try_acquire(1));
        b.release(1000);
        assert!(b.try_acquire(1));
    }
}
