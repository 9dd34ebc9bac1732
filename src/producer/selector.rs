//! Queue choice for one send attempt (pure): round robin, avoiding the last failed broker.

use crate::protocol::route::MessageQueue;

/// Java's round robin step: pre-increment, keep the value positive, modulo the queue count.
pub(super) fn next_index(counter: &mut u32, len: usize) -> usize {
    *counter = counter.wrapping_add(1);
    (*counter & 0x7FFF_FFFF) as usize % len
}

/// Java's `sendWhichQueue` without the thread-local: one counter per producer, random start.
///
/// ```
/// use actix_rocketmq::producer::selector::QueueSelector;
/// use actix_rocketmq::protocol::route::MessageQueue;
/// let qs: Vec<MessageQueue> = (0..2).map(|i| MessageQueue { topic: "t".into(), broker_name: format!("b{i}").into(), queue_id: 0 }).collect();
/// let mut sel = QueueSelector::with_start(0);
/// let first = sel.select(&qs, None).unwrap().broker_name.clone();
/// // A retry never goes back to the broker that just failed, while another one exists.
/// assert_ne!(sel.select(&qs, Some(&first)).unwrap().broker_name, first);
/// ```
#[derive(Debug, Clone)]
pub struct QueueSelector {
    counter: u32,
}

impl Default for QueueSelector {
    fn default() -> Self {
        Self::with_start(fastrand::u32(..))
    }
}

impl QueueSelector {
    /// A selector whose counter starts at `start` (tests); use `default()` for a random start.
    pub fn with_start(start: u32) -> Self {
        QueueSelector { counter: start }
    }

    fn next_index(&mut self, len: usize) -> usize {
        next_index(&mut self.counter, len)
    }

    /// The next queue; on a retry (`last_broker` set) the first one in round-robin order on
    /// another broker, or plain round robin when every queue lives on that broker.
    pub fn select<'a>(&mut self, queues: &'a [MessageQueue], last_broker: Option<&str>) -> Option<&'a MessageQueue> {
        if queues.is_empty() {
            return None;
        }
        if let Some(last) = last_broker {
            for _ in 0..queues.len() {
                let q = &queues[self.next_index(queues.len())];
                if q.broker_name != last {
                    return Some(q);
                }
            }
        }
        Some(&queues[self.next_index(queues.len())])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queues(spec: &[(&str, i32)]) -> Vec<MessageQueue> {
        spec.iter()
            .flat_map(|(b, n)| (0..*n).map(move |i| MessageQueue { topic: "t".into(), broker_name: (*b).into(), queue_id: i }))
            .collect()
    }

    #[test]
    fn round_robin_covers_every_queue() {
        let qs = queues(&[("a", 4)]);
        let mut sel = QueueSelector::with_start(u32::MAX - 1);
        let mut seen: Vec<i32> = (0..4).map(|_| sel.select(&qs, None).unwrap().queue_id).collect();
        seen.sort();
        assert_eq!(seen, vec![0, 1, 2, 3]);
    }

    #[test]
    fn retry_avoids_last_broker() {
        let qs = queues(&[("a", 3), ("b", 1)]);
        for start in 0..20 {
            let mut sel = QueueSelector::with_start(start);
            assert_eq!(sel.select(&qs, Some("a")).unwrap().broker_name, "b");
        }
        let only_a = queues(&[("a", 2)]);
        assert_eq!(QueueSelector::with_start(0).select(&only_a, Some("a")).unwrap().broker_name, "a");
        assert!(QueueSelector::default().select(&[], None).is_none());
    }
}
