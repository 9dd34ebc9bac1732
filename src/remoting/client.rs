//! The actor that owns the name server list and one connection per remote address.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use actix::prelude::*;
use tracing::{debug, info};

use actix::WeakRecipient;

use super::connection::{self, Close, Connection, ConnectionEvent, ConnectionSettings, PeerRequest};
use crate::error::RemotingError;
use crate::protocol::RemotingCommand;

/// Replace the name server list (from the config or the address endpoint).
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct UpdateNameServers(pub Vec<String>);

/// The connection to `addr`, created (and connecting) if there is none alive.
#[derive(Message, Debug)]
#[rtype(result = "Addr<Connection>")]
pub struct GetConnection(pub String);

/// Close and forget the connection to an address (e.g. after GO_AWAY), so the next
/// [`GetConnection`] opens a fresh one.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct CloseConnection(pub String);

/// The name server in use and its connection.
#[derive(Message, Debug)]
#[rtype(result = "Result<(String, Addr<Connection>), RemotingError>")]
pub struct GetNameServer;

/// The name server in use failed a request: move on to the next one.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct NameServerFailed(pub String);

/// How many name servers are known (for retry loops).
#[derive(Message, Debug)]
#[rtype(result = "usize")]
pub struct NameServerCount;

/// The name server in use (`None` while none is known).
#[derive(Message, Debug)]
#[rtype(result = "Option<String>")]
pub struct NameServerInUse;

/// Tell `0` about every connection that opens or closes from now on (held weakly, so a watcher
/// that goes away is simply dropped).
#[derive(Message)]
#[rtype(result = "()")]
pub struct WatchConnections(pub WeakRecipient<ConnectionEvent>);

/// Pass the requests peers start on their own (transaction checks, reply pushes) on every
/// connection opened from now on to `0` (the client instance sends this once, when it starts,
/// before any connection exists).
#[derive(Message)]
#[rtype(result = "()")]
pub struct ServePeerRequests(pub Recipient<PeerRequest>);

/// Close every connection and stop.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct CloseAll;

/// Owns `remote address -> Addr<Connection>` and the name server choice.
///
/// Java picks a random name server first, keeps it while it works and moves round-robin on
/// failure; so does this actor.
pub struct RemotingClient {
    settings: ConnectionSettings,
    namesrv: Vec<String>,
    namesrv_index: usize,
    connections: HashMap<String, (u64, Addr<Connection>)>,
    next_id: u64,
    watchers: Vec<WeakRecipient<ConnectionEvent>>,
    /// Arbiters (threads) the connections run on; none: the caller's arbiter.
    io_arbiters: Vec<actix::Arbiter>,
}

impl RemotingClient {
    /// A client with the given initial name server list (may be empty until an endpoint answers).
    pub fn new(settings: ConnectionSettings, namesrv: Vec<String>) -> Self {
        let namesrv_index = if namesrv.is_empty() { 0 } else { fastrand::usize(..namesrv.len()) };
        let io_arbiters = (0..settings.io_threads).map(|_| actix::Arbiter::new()).collect();
        RemotingClient { settings, namesrv, namesrv_index, connections: HashMap::new(), next_id: 0, watchers: Vec::new(), io_arbiters }
    }

    /// The name server requests go to now.
    fn current_namesrv(&self) -> Option<&String> {
        self.namesrv.get(self.namesrv_index % self.namesrv.len().max(1))
    }

    fn connection(&mut self, addr: &str, ctx: &mut Context<Self>) -> Addr<Connection> {
        if let Some((_, conn)) = self.connections.get(addr) {
            if conn.connected() {
                return conn.clone();
            }
        }
        self.next_id += 1;
        let id = self.next_id;
        let owner = Some(ctx.address().recipient());
        let conn = match self.io_arbiters.get(id as usize % self.io_arbiters.len().max(1)) {
            Some(arbiter) => {
                let (addr, settings) = (addr.to_string(), self.settings.clone());
                Connection::start_in_arbiter(&arbiter.handle(), move |_| Connection::new(addr, id, settings, owner))
            }
            None => Connection::new(addr, id, self.settings.clone(), owner).start(),
        };
        self.connections.insert(addr.to_string(), (id, conn.clone()));
        conn
    }
}

impl Actor for RemotingClient {
    type Context = Context<Self>;

    fn stopping(&mut self, _: &mut Context<Self>) -> Running {
        for (_, (_, conn)) in self.connections.drain() {
            conn.do_send(Close);
        }
        for arbiter in &self.io_arbiters {
            arbiter.stop();
        }
        Running::Stop
    }
}

impl Handler<ServePeerRequests> for RemotingClient {
    type Result = ();

    fn handle(&mut self, msg: ServePeerRequests, _: &mut Context<Self>) {
        self.settings.peer = Some(msg.0);
    }
}

impl Handler<UpdateNameServers> for RemotingClient {
    type Result = ();

    fn handle(&mut self, msg: UpdateNameServers, _: &mut Context<Self>) {
        if msg.0.is_empty() || msg.0 == self.namesrv {
            return;
        }
        info!(namesrv = ?msg.0, "name server list updated");
        self.namesrv = msg.0;
        self.namesrv_index = fastrand::usize(..self.namesrv.len());
    }
}

impl Handler<GetConnection> for RemotingClient {
    type Result = MessageResult<GetConnection>;

    fn handle(&mut self, msg: GetConnection, ctx: &mut Context<Self>) -> Self::Result {
        MessageResult(self.connection(&msg.0, ctx))
    }
}

impl Handler<CloseConnection> for RemotingClient {
    type Result = ();

    fn handle(&mut self, msg: CloseConnection, _: &mut Context<Self>) {
        if let Some((_, conn)) = self.connections.remove(&msg.0) {
            conn.do_send(Close);
        }
    }
}

impl Handler<GetNameServer> for RemotingClient {
    type Result = Result<(String, Addr<Connection>), RemotingError>;

    fn handle(&mut self, _: GetNameServer, ctx: &mut Context<Self>) -> Self::Result {
        let addr = self.current_namesrv().cloned().ok_or(RemotingError::NoNameServer)?;
        let conn = self.connection(&addr, ctx);
        Ok((addr, conn))
    }
}

impl Handler<NameServerFailed> for RemotingClient {
    type Result = ();

    fn handle(&mut self, msg: NameServerFailed, _: &mut Context<Self>) {
        if self.current_namesrv() == Some(&msg.0) {
            self.namesrv_index = self.namesrv_index.wrapping_add(1);
            debug!(failed = %msg.0, "moving to the next name server");
        }
    }
}

impl Handler<NameServerCount> for RemotingClient {
    type Result = usize;

    fn handle(&mut self, _: NameServerCount, _: &mut Context<Self>) -> usize {
        self.namesrv.len()
    }
}

impl Handler<ConnectionEvent> for RemotingClient {
    type Result = ();

    fn handle(&mut self, msg: ConnectionEvent, _: &mut Context<Self>) {
        if let ConnectionEvent::Closed { addr, id, .. } = &msg {
            // Only forget the connection that closed, not a newer one to the same address.
            if self.connections.get(addr).map(|(known, _)| known) == Some(id) {
                self.connections.remove(addr);
            }
        }
        self.watchers.retain(|w| match w.upgrade() {
            Some(watcher) => {
                watcher.do_send(msg.clone());
                true
            }
            None => false,
        });
    }
}

impl Handler<WatchConnections> for RemotingClient {
    type Result = ();

    fn handle(&mut self, msg: WatchConnections, _: &mut Context<Self>) {
        self.watchers.push(msg.0);
    }
}

impl Handler<NameServerInUse> for RemotingClient {
    type Result = Option<String>;

    fn handle(&mut self, _: NameServerInUse, _: &mut Context<Self>) -> Option<String> {
        self.current_namesrv().cloned()
    }
}

impl Handler<CloseAll> for RemotingClient {
    type Result = ();

    fn handle(&mut self, _: CloseAll, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

/// Sends `cmd` to a name server, moving to the next one on transport errors, within `timeout`.
pub async fn invoke_namesrv(
    client: &Addr<RemotingClient>,
    cmd: RemotingCommand,
    timeout: Duration,
) -> Result<RemotingCommand, RemotingError> {
    let started = Instant::now();
    let gone = |_| RemotingError::ActorGone { actor: "remoting client" };
    let count = client.send(NameServerCount).await.map_err(gone)?.max(1);
    let mut last = RemotingError::NoNameServer;
    for _ in 0..count {
        let left = timeout.saturating_sub(started.elapsed());
        if left.is_zero() {
            break;
        }
        let (addr, conn) = client.send(GetNameServer).await.map_err(gone)??;
        match connection::request(&conn, &addr, cmd.clone(), left).await {
            Ok(reply) => return Ok(reply),
            Err(e) => {
                debug!(namesrv = %addr, error = %e, "name server request failed");
                client.do_send(NameServerFailed(addr));
                last = e;
            }
        }
    }
    Err(last)
}

/// Sends `cmd` to the remote `addr` (a broker) and waits for the reply.
pub async fn invoke(
    client: &Addr<RemotingClient>,
    addr: &str,
    cmd: RemotingCommand,
    timeout: Duration,
) -> Result<RemotingCommand, RemotingError> {
    let conn = client
        .send(GetConnection(addr.to_string()))
        .await
        .map_err(|_| RemotingError::ActorGone { actor: "remoting client" })?;
    connection::request(&conn, addr, cmd, timeout).await
}
