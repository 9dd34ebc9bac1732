//! The actor that owns the name server list and one connection per remote address.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use actix::prelude::*;
use tracing::{debug, info, warn};

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

/// The name server to ask and its connection: the one in use, unless it is demoted or among
/// `tried` (the name servers this request already asked), in which case the next one that is
/// neither (or, failing that, the next one not tried, then any).
#[derive(Message, Debug, Default)]
#[rtype(result = "Result<(String, Addr<Connection>), RemotingError>")]
pub struct GetNameServer {
    /// Name servers that already failed this request.
    pub tried: Vec<String>,
}

/// The name server in use failed a request: move on to the next one (and demote it once it
/// has failed [`DEMOTE_AFTER`] times in a row).
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct NameServerFailed(pub String);

/// A name server answered: its failure count starts over.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct NameServerAnswered(pub String);

/// Consecutive failures after which a name server is demoted (skipped while another is not).
pub const DEMOTE_AFTER: u32 = 2;
/// How long a first demotion lasts; each further failure in a row doubles it, up to
/// [`MAX_DEMOTION`].
pub const DEMOTION: Duration = Duration::from_secs(30);
/// The longest demotion.
pub const MAX_DEMOTION: Duration = Duration::from_secs(300);

/// A name server's recent record: failures in a row, and until when it is demoted.
#[derive(Debug, Default, Clone, Copy)]
struct Health {
    failures: u32,
    demoted_until: Option<Instant>,
}

impl Health {
    fn demoted(&self, now: Instant) -> bool {
        self.demoted_until.is_some_and(|until| until > now)
    }
}

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
/// failure; so does this actor. Unlike Java, a name server that keeps failing is demoted: after
/// [`DEMOTE_AFTER`] failures in a row it is skipped for [`DEMOTION`] (doubling while it goes on
/// failing, up to [`MAX_DEMOTION`]) as long as another one is not demoted, so a frozen name
/// server does not cost every lookup a share of its budget.
pub struct RemotingClient {
    settings: ConnectionSettings,
    namesrv: Vec<String>,
    namesrv_index: usize,
    /// Failures and demotions by name server address (only addresses that failed).
    health: HashMap<String, Health>,
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
        RemotingClient {
            settings,
            namesrv,
            namesrv_index,
            health: HashMap::new(),
            connections: HashMap::new(),
            next_id: 0,
            watchers: Vec::new(),
            io_arbiters,
        }
    }

    /// The name server requests go to now.
    fn current_namesrv(&self) -> Option<&String> {
        self.namesrv.get(self.namesrv_index % self.namesrv.len().max(1))
    }

    /// Moves the choice to the first name server, from the one in use on, that is neither
    /// demoted nor in `tried`; failing that, the first one not in `tried` whose demotion ends
    /// soonest; failing that (all tried), it stays.
    fn choose_namesrv(&mut self, tried: &[String]) {
        let n = self.namesrv.len();
        let now = Instant::now();
        let candidates: Vec<(usize, Option<Instant>)> = (0..n)
            .map(|off| (self.namesrv_index + off) % n)
            .filter(|&i| !tried.contains(&self.namesrv[i]))
            .map(|i| (i, self.health.get(&self.namesrv[i]).filter(|h| h.demoted(now)).and_then(|h| h.demoted_until)))
            .collect();
        let pick = candidates
            .iter()
            .find(|(_, demoted)| demoted.is_none())
            .or_else(|| candidates.iter().min_by_key(|(_, until)| *until));
        if let Some((i, _)) = pick {
            self.namesrv_index = *i;
        }
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
        self.health.retain(|addr, _| msg.0.contains(addr));
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

    fn handle(&mut self, msg: GetNameServer, ctx: &mut Context<Self>) -> Self::Result {
        if !self.namesrv.is_empty() {
            self.choose_namesrv(&msg.tried);
        }
        let addr = self.current_namesrv().cloned().ok_or(RemotingError::NoNameServer)?;
        let conn = self.connection(&addr, ctx);
        Ok((addr, conn))
    }
}

impl Handler<NameServerFailed> for RemotingClient {
    type Result = ();

    fn handle(&mut self, msg: NameServerFailed, _: &mut Context<Self>) {
        if !self.namesrv.contains(&msg.0) {
            return; // no longer in the list
        }
        let health = self.health.entry(msg.0.clone()).or_default();
        health.failures = health.failures.saturating_add(1);
        if health.failures >= DEMOTE_AFTER {
            let doublings = (health.failures - DEMOTE_AFTER).min(8);
            let period = DEMOTION.saturating_mul(1 << doublings).min(MAX_DEMOTION);
            health.demoted_until = Some(Instant::now() + period);
            warn!(namesrv = %msg.0, failures = health.failures, ?period, "name server demoted");
        }
        if self.current_namesrv() == Some(&msg.0) {
            self.namesrv_index = self.namesrv_index.wrapping_add(1);
            debug!(failed = %msg.0, "moving to the next name server");
        }
    }
}

impl Handler<NameServerAnswered> for RemotingClient {
    type Result = ();

    fn handle(&mut self, msg: NameServerAnswered, _: &mut Context<Self>) {
        if self.health.remove(&msg.0).is_some_and(|h| h.failures >= DEMOTE_AFTER) {
            info!(namesrv = %msg.0, "name server answers again");
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

/// The share of `left` one name server gets when `servers_left` (this one included) may still
/// be tried: all of it for the last, otherwise at most a third of it (and no more than an even
/// split), so that a frozen name server (accepting, never answering) costs a fraction of the
/// budget before the next one is asked.
pub fn namesrv_attempt_budget(left: Duration, servers_left: usize) -> Duration {
    match servers_left {
        0 | 1 => left,
        n => left / u32::try_from(n.max(3)).unwrap_or(u32::MAX),
    }
}

/// Sends `cmd` to a name server, moving to the next one on transport errors, within `timeout`
/// (split between the name servers, see [`namesrv_attempt_budget`]).
pub async fn invoke_namesrv(
    client: &Addr<RemotingClient>,
    cmd: RemotingCommand,
    timeout: Duration,
) -> Result<RemotingCommand, RemotingError> {
    let started = Instant::now();
    let gone = |_| RemotingError::ActorGone { actor: "remoting client" };
    let count = client.send(NameServerCount).await.map_err(gone)?.max(1);
    let mut last = RemotingError::NoNameServer;
    let mut tried = Vec::new();
    while tried.len() < count {
        let left = timeout.saturating_sub(started.elapsed());
        if left.is_zero() {
            if tried.is_empty() {
                // The caller's budget was used up before any name server could be asked.
                last = RemotingError::Timeout { addr: "the name servers".into(), after: timeout };
            }
            break;
        }
        let (addr, conn) = client.send(GetNameServer { tried: tried.clone() }).await.map_err(gone)??;
        let budget = namesrv_attempt_budget(left, count - tried.len());
        match connection::request(&conn, &addr, cmd.clone(), budget).await {
            Ok(reply) => {
                client.do_send(NameServerAnswered(addr));
                return Ok(reply);
            }
            Err(e) => {
                debug!(namesrv = %addr, error = %e, ?budget, "name server request failed");
                client.do_send(NameServerFailed(addr.clone()));
                tried.push(addr);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn client(list: &[&str]) -> RemotingClient {
        let mut c = RemotingClient::new(ConnectionSettings::default(), list.iter().map(|s| s.to_string()).collect());
        c.namesrv_index = 0;
        c
    }

    fn fail(c: &mut RemotingClient, addr: &str) {
        <RemotingClient as Handler<NameServerFailed>>::handle(c, NameServerFailed(addr.into()), &mut Context::new());
    }

    fn choose(c: &mut RemotingClient, tried: &[&str]) -> String {
        c.choose_namesrv(&tried.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        c.current_namesrv().cloned().unwrap_or_default()
    }

    #[test]
    fn a_frozen_name_server_gets_a_third_of_the_budget_at_most() {
        let b = Duration::from_secs(3);
        assert_eq!(namesrv_attempt_budget(b, 1), b, "the last one gets all that is left");
        assert_eq!(namesrv_attempt_budget(b, 2), Duration::from_secs(1));
        assert_eq!(namesrv_attempt_budget(b, 3), Duration::from_secs(1));
        assert_eq!(namesrv_attempt_budget(b, 6), Duration::from_millis(500));
        assert_eq!(namesrv_attempt_budget(b, 0), b);
    }

    #[actix_rt::test]
    async fn a_name_server_that_keeps_failing_is_demoted_while_another_is_not() {
        let (a, b, c) = ("127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3");
        let mut rc = client(&[a, b, c]);
        assert_eq!(choose(&mut rc, &[]), a);
        fail(&mut rc, a);
        assert_eq!(choose(&mut rc, &[]), b, "a failure moves on, as in Java");
        assert_eq!(choose(&mut rc, &[b]), c, "skips what this request already tried");
        // Back on a (b and c failed once each): a failed once, not demoted yet.
        fail(&mut rc, b);
        fail(&mut rc, c);
        assert_eq!(choose(&mut rc, &[]), a);
        fail(&mut rc, a);
        assert!(rc.health[a].demoted(Instant::now()), "second failure in a row demotes");
        assert_eq!(choose(&mut rc, &[]), b);
        // Every one demoted: the one whose demotion ends first, unless this request tried it.
        fail(&mut rc, b);
        fail(&mut rc, c);
        assert_eq!(choose(&mut rc, &[]), a, "demoted first, free first");
        assert_eq!(choose(&mut rc, &[a]), b);
        // An answer clears the record; a demotion doubles while failures go on.
        <RemotingClient as Handler<NameServerAnswered>>::handle(&mut rc, NameServerAnswered(b.into()), &mut Context::new());
        assert!(!rc.health.contains_key(b));
        fail(&mut rc, a);
        let until = rc.health[a].demoted_until.unwrap();
        assert!(until > Instant::now() + DEMOTION + Duration::from_secs(25), "third failure: 60 s");
        // A new list forgets the records of addresses it no longer has.
        <RemotingClient as Handler<UpdateNameServers>>::handle(&mut rc, UpdateNameServers(vec![b.into(), c.into()]), &mut Context::new());
        assert!(!rc.health.contains_key(a));
    }
}
