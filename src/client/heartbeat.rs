//! Periodic heartbeats to every known master (and offline-broker clean-up, via the instance).

use std::time::Duration;

use actix::prelude::*;
use bytes::Bytes;
use tracing::{debug, warn};

use super::instance::{BrokerVersionSeen, ClientInstance, PrepareHeartbeat};
use super::Stop;
use crate::protocol::acl::AuthRefusal;
use crate::protocol::codes::{request, response};
use crate::protocol::RemotingCommand;
use crate::error::RemotingError;
use crate::remoting::{invoke, RemotingClient};

/// Java sends the first periodic heartbeat 1 s after start.
const FIRST_BEAT: Duration = Duration::from_secs(1);

/// Send a round of heartbeats now (at start, and when a new master appears).
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct HeartbeatNow;

/// Every `heartbeat_broker_interval`, asks the instance for the heartbeat body and the masters
/// (the instance cleans offline brokers while preparing it), sends HEART_BEAT to each master and
/// reports the broker versions back. The heartbeats also keep connections under the brokers'
/// 120 s idle limit and register our groups for transaction checks.
pub struct HeartbeatScheduler {
    instance: Addr<ClientInstance>,
    interval: Duration,
    timeout: Duration,
    rounds: u64,
}

impl HeartbeatScheduler {
    /// A scheduler beating every `interval`, each request bounded by `timeout`.
    pub fn new(instance: Addr<ClientInstance>, interval: Duration, timeout: Duration) -> Self {
        HeartbeatScheduler { instance, interval, timeout, rounds: 0 }
    }

    fn beat(&mut self, ctx: &mut Context<Self>) {
        self.rounds += 1;
        let instance = self.instance.clone();
        let timeout = self.timeout;
        ctx.spawn(
            async move {
                let Ok(Some(plan)) = instance.send(PrepareHeartbeat).await else { return };
                let body = Bytes::from(plan.data.to_json());
                let sends = plan.masters.into_iter().map(|addr| {
                    let remoting = plan.remoting.clone();
                    let instance = instance.clone();
                    let body = body.clone();
                    async move {
                        let reply = heartbeat_to(&remoting, &addr, body, timeout).await;
                        // Every answer carries the broker's release, a refusal's too.
                        if let Ok(reply) = &reply {
                            instance.do_send(BrokerVersionSeen { addr: addr.clone(), version: reply.version });
                        }
                        match reply {
                            Ok(reply) if reply.code == response::SUCCESS => {}
                            Ok(reply) => {
                                // Name a credential refusal: it is the one a user must act on.
                                let refusal = reply.remark.as_deref().and_then(AuthRefusal::from_remark);
                                match refusal {
                                    Some(r) => warn!(broker = %addr, refusal = %r, "heartbeat refused: credentials"),
                                    None => warn!(broker = %addr, code = reply.code, remark = ?reply.remark, "heartbeat refused"),
                                }
                            }
                            Err(e) => debug!(broker = %addr, error = %e, "heartbeat failed"),
                        }
                    }
                });
                futures::future::join_all(sends).await;
            }
            .into_actor(self),
        );
    }
}

/// One HEART_BEAT to the broker at `addr` (`body`: the instance's heartbeat data as JSON). The
/// answer's `version` is the broker's release (see [`crate::protocol::version`]).
pub(crate) async fn heartbeat_to(remoting: &Addr<RemotingClient>, addr: &str, body: Bytes, timeout: Duration) -> Result<RemotingCommand, RemotingError> {
    let cmd = RemotingCommand::request(request::HEART_BEAT).with_body(body);
    invoke(remoting, addr, cmd, timeout).await
}

impl Actor for HeartbeatScheduler {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_later(FIRST_BEAT, |act, ctx| {
            act.beat(ctx);
            ctx.run_interval(act.interval, |act, ctx| act.beat(ctx));
        });
    }
}

impl Handler<HeartbeatNow> for HeartbeatScheduler {
    type Result = ();

    fn handle(&mut self, _: HeartbeatNow, ctx: &mut Context<Self>) {
        self.beat(ctx);
    }
}

impl Handler<Stop> for HeartbeatScheduler {
    type Result = ();

    fn handle(&mut self, _: Stop, ctx: &mut Context<Self>) {
        debug!(rounds = self.rounds, "heartbeat scheduler stopping");
        ctx.stop();
    }
}
