//! The producer's cache of broker connections and broker releases, and the sends parked until
//! one is handed out. The `RemotingClient` owns the connections and the `ClientInstance` the
//! releases; this is only the hot path's shortcut to them.


use actix::prelude::*;

use super::ledger::SendId;
use super::parked::Parked;
use crate::hash::FastMap;
use crate::protocol::version::BrokerVersion;
use crate::remoting::Connection;

#[derive(Default)]
pub(super) struct Links {
    conns: FastMap<String, Addr<Connection>>,
    parked: Parked,
    /// Releases learned (asked only by timer messages), dropped with the connection: a broker
    /// restarted on the same address may run another release.
    versions: FastMap<String, BrokerVersion>,
    /// Timer messages waiting for their broker's release.
    awaiting_version: Parked,
}

impl Links {
    /// A live cached connection to `addr`.
    pub(super) fn get(&self, addr: &str) -> Option<&Addr<Connection>> {
        self.conns.get(addr).filter(|c| c.connected())
    }

    pub(super) fn insert(&mut self, addr: String, conn: Addr<Connection>) {
        self.conns.insert(addr, conn);
    }

    /// Forgets the cached connection to `addr` (and the release seen there) if its actor has
    /// stopped.
    pub(super) fn forget_if_dead(&mut self, addr: &str) {
        if self.conns.get(addr).is_some_and(|c| !c.connected()) {
            self.forget(addr);
        }
    }

    pub(super) fn forget(&mut self, addr: &str) {
        self.conns.remove(addr);
        self.versions.remove(addr);
    }

    /// The release of the broker at `addr`, if learned.
    pub(super) fn version(&self, addr: &str) -> Option<BrokerVersion> {
        self.versions.get(addr).copied()
    }

    pub(super) fn set_version(&mut self, addr: String, version: BrokerVersion) {
        self.versions.insert(addr, version);
    }

    /// Parks `id` until the release of `addr` is known; true for the first one (which asks).
    pub(super) fn park_for_version(&mut self, addr: &str, id: SendId) -> bool {
        self.awaiting_version.park(addr, id)
    }

    pub(super) fn unpark_for_version(&mut self, addr: &str) -> Vec<SendId> {
        self.awaiting_version.unpark(addr)
    }

    /// Parks `id` until a connection to `addr` is handed out; true for the first one (which asks).
    pub(super) fn park(&mut self, addr: &str, id: SendId) -> bool {
        self.parked.park(addr, id)
    }

    pub(super) fn unpark(&mut self, addr: &str) -> Vec<SendId> {
        self.parked.unpark(addr)
    }

    pub(super) fn unpark_all(&mut self) -> Vec<SendId> {
        let mut ids = self.parked.unpark_all();
        ids.extend(self.awaiting_version.unpark_all());
        ids
    }

    /// Cached connections (for the status).
    pub(super) fn all(&self) -> impl Iterator<Item = (&String, &Addr<Connection>)> {
        self.conns.iter()
    }

    pub(super) fn clear(&mut self) {
        self.conns.clear();
        self.versions.clear();
    }
}
