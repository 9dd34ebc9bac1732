//! Sends parked until something they share arrives (a topic's route, a broker connection): the
//! first one parked under a key starts the one fetch, the arrival hands them all back.

use std::collections::HashMap;

use super::ledger::SendId;

#[derive(Default)]
pub(super) struct Parked {
    waiting: HashMap<String, Vec<SendId>>,
}

impl Parked {
    /// Parks `id` under `key`; true for the first one (which starts the fetch).
    pub(super) fn park(&mut self, key: &str, id: SendId) -> bool {
        let waiting = self.waiting.entry(key.to_string()).or_default();
        waiting.push(id);
        waiting.len() == 1
    }

    /// Every send parked under `key`, in the order they came.
    pub(super) fn unpark(&mut self, key: &str) -> Vec<SendId> {
        self.waiting.remove(key).unwrap_or_default()
    }

    /// Every parked send.
    pub(super) fn unpark_all(&mut self) -> Vec<SendId> {
        self.waiting.drain().flat_map(|(_, ids)| ids).collect()
    }
}
