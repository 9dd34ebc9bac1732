//! The producer's cache of broker connections, and the sends parked until one is handed out.
//! The `RemotingClient` owns the connections; this is only the hot path's shortcut to them.

use std::collections::HashMap;

use actix::prelude::*;

use super::ledger::SendId;
use super::parked::Parked;
use crate::remoting::Connection;

#[derive(Default)]
pub(super) struct Links {
    conns: HashMap<String, Addr<Connection>>,
    parked: Parked,
}

impl Links {
    /// A live cached connection to `addr`.
    pub(super) fn get(&self, addr: &str) -> Option<Addr<Connection>> {
        self.conns.get(addr).filter(|c| c.connected()).cloned()
    }

    pub(super) fn insert(&mut self, addr: String, conn: Addr<Connection>) {
        self.conns.insert(addr, conn);
    }

    /// Forgets the cached connection to `addr` if its actor has stopped.
    pub(super) fn forget_if_dead(&mut self, addr: &str) {
        if self.conns.get(addr).is_some_and(|c| !c.connected()) {
            self.conns.remove(addr);
        }
    }

    pub(super) fn forget(&mut self, addr: &str) {
        self.conns.remove(addr);
    }

    /// Parks `id` until a connection to `addr` is handed out; true for the first one (which asks).
    pub(super) fn park(&mut self, addr: &str, id: SendId) -> bool {
        self.parked.park(addr, id)
    }

    pub(super) fn unpark(&mut self, addr: &str) -> Vec<SendId> {
        self.parked.unpark(addr)
    }

    pub(super) fn unpark_all(&mut self) -> Vec<SendId> {
        self.parked.unpark_all()
    }

    /// Cached connections (for the status).
    pub(super) fn all(&self) -> impl Iterator<Item = (&String, &Addr<Connection>)> {
        self.conns.iter()
    }

    pub(super) fn clear(&mut self) {
        self.conns.clear();
    }
}
