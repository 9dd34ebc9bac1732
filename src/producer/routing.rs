//! What the producer knows about where to send: publish info per topic, the sends parked until
//! a topic's route arrives, queue choice, and the latency fault table with its isolations.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::fault::{select_queue, LatencyFaultTable};
use super::ledger::SendId;
use super::parked::Parked;
use super::queue_select::Target;
use super::selector::QueueSelector;
use super::send::unknown_queue;
use crate::error::SendError;
use crate::namespace::wrap;
use crate::protocol::route::{MessageQueue, TopicPublishInfo};

/// See the module documentation. A restart replaces it with a fresh one.
#[derive(Default)]
pub(super) struct Routing {
    publish: crate::hash::FastMap<String, Arc<TopicPublishInfo>>,
    parked: Parked,
    selector: QueueSelector,
    faults: LatencyFaultTable,
    fault_counter: u32,
    /// Brokers isolated by the fault table, and until when (to tell when they come back).
    isolated: HashMap<String, Instant>,
}

impl Routing {
    pub(super) fn new() -> Self {
        Routing { fault_counter: fastrand::u32(..), ..Default::default() }
    }

    /// The publish info of `topic`, if cached and usable.
    pub(super) fn publish_info(&self, topic: &str) -> Option<Arc<TopicPublishInfo>> {
        self.publish.get(topic).filter(|i| i.ok()).cloned()
    }

    /// Stores new publish info; returns whether the queues or their brokers changed.
    pub(super) fn update(&mut self, topic: String, info: Arc<TopicPublishInfo>) -> bool {
        let changed = self.publish.get(&topic).map_or(true, |old| old.queues != info.queues || old.masters != info.masters);
        self.publish.insert(topic, info);
        changed
    }

    /// Every topic with publish info.
    pub(super) fn topics(&self) -> impl Iterator<Item = (&String, &Arc<TopicPublishInfo>)> {
        self.publish.iter()
    }

    /// Parks `id` until the route of `topic` arrives; true for the first one (which fetches).
    pub(super) fn park(&mut self, topic: &str, id: SendId) -> bool {
        self.parked.park(topic, id)
    }

    pub(super) fn unpark(&mut self, topic: &str) -> Vec<SendId> {
        self.parked.unpark(topic)
    }

    pub(super) fn unpark_all(&mut self) -> Vec<SendId> {
        self.parked.unpark_all()
    }

    /// The queue of this attempt: round robin (optionally latency-aware), a given queue, or the
    /// user selector's choice.
    pub(super) fn choose(
        &mut self,
        info: &TopicPublishInfo,
        target: &Target,
        last_broker: Option<&str>,
        topic: &str,
        namespace: Option<&str>,
        latency_aware: bool,
    ) -> Result<usize, SendError> {
        let no_route = || SendError::NoRoute { topic: topic.to_string() };
        // The index of a queue handed back by reference.
        let index_of = |q: &MessageQueue| info.queues.iter().position(|other| std::ptr::eq(other, q));
        match target {
            Target::Auto => {
                let q = if latency_aware {
                    select_queue(&info.queues, &mut self.fault_counter, last_broker, &self.faults, Instant::now())
                } else {
                    self.selector.select(&info.queues, last_broker)
                };
                q.and_then(index_of).ok_or_else(no_route)
            }
            Target::Queue(mq) => {
                let wired = MessageQueue { topic: wrap(namespace, &mq.topic).into(), ..mq.clone() };
                info.queues.iter().position(|q| *q == wired).ok_or_else(|| unknown_queue(topic, mq))
            }
            Target::Selected { selector, arg } => {
                selector.select(&info.queues, arg).filter(|i| *i < info.queues.len()).ok_or(SendError::NoQueueSelected)
            }
        }
    }

    /// Feeds the fault table; returns `Some(until)` when this makes `broker` newly isolated.
    pub(super) fn record(&mut self, broker: &str, latency: Duration, isolation: bool, reachable: bool) -> Option<Instant> {
        let now = Instant::now();
        let was_available = self.faults.is_available(broker, now);
        self.faults.update(broker, latency, isolation, reachable, now);
        let until = self.faults.unavailable_until(broker).filter(|u| *u > now)?;
        let known = self.isolated.insert(broker.to_string(), until).is_some();
        (was_available && !known).then_some(until)
    }

    /// Brokers whose isolation is over, forgotten from the isolated set.
    pub(super) fn recovered(&mut self, now: Instant) -> Vec<String> {
        let back: Vec<String> = self.isolated.iter().filter(|(_, until)| **until <= now).map(|(b, _)| b.clone()).collect();
        for b in &back {
            self.isolated.remove(b);
        }
        back
    }

    /// Isolated brokers and until when.
    pub(super) fn isolations(&self) -> impl Iterator<Item = (&String, &Instant)> {
        self.isolated.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parking_tells_the_first_sender_to_fetch_and_hands_all_back() {
        let mut r = Routing::new();
        assert!(r.park("t", 1));
        assert!(!r.park("t", 2), "one fetch per topic");
        assert!(r.park("u", 3));
        assert_eq!(r.unpark("t"), [1, 2]);
        assert!(r.unpark("t").is_empty());
        assert_eq!(r.unpark_all(), [3]);
    }

    #[test]
    fn an_isolation_is_reported_once_and_its_end_once() {
        let mut r = Routing::new();
        assert_eq!(r.record("a", Duration::from_millis(5), false, true), None, "a fast success isolates nothing");
        let until = r.record("a", Duration::from_millis(5), true, true).expect("a transport error isolates");
        assert!(until > Instant::now());
        assert_eq!(r.record("a", Duration::from_millis(5), true, true), None, "already isolated: no second event");
        assert!(r.recovered(Instant::now()).is_empty());
        // The second isolation extended the first; a second later both are over.
        let later = until + Duration::from_secs(1);
        assert_eq!(r.recovered(later), ["a"]);
        assert!(r.recovered(later).is_empty(), "recovery is told once");
        assert_eq!(r.isolations().count(), 0);
    }

    #[test]
    fn a_new_route_is_a_change_and_the_same_one_is_not() {
        let mut r = Routing::new();
        let info = Arc::new(TopicPublishInfo::default());
        assert!(r.update("t".into(), info.clone()));
        assert!(!r.update("t".into(), info));
        assert!(r.publish_info("t").is_none(), "a route without queues is not usable");
    }
}
