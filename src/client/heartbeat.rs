//! Periodic heartbeats to every known master (and offline-broker clean-up, via the instance).

use std::time::Duration;

use actix::prelude::*;
use tracing::{debug, warn};

use super::instance::{BrokerVersionSeen, ClientInstance, PrepareHeartbeat};
use super::Stop;
use crate::protocol::acl::AuthRefusal;
use crate::protocol::codes::{request, response};
use crate::protocol::RemotingCommand;
use crate::remoting::invoke;

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
                let body = bytes::Bytes::from(plan.data.to_json());
                let sends = plan.masters.into_iter().map(|addr| {
                    let cmd = RemotingCommand::request(request::HEART_BEAT).with_body(body.clone());
                    let remoting = plan.remoting.clone();
                    let instance = instance.clone();
                    async move {
                        match invoke(&remoting, &addr, cmd, timeout).await {
                            Ok(reply) if reply.code == response::SUCCESS => {
                                instance.do_send(BrokerVersionSeen { addr, version: reply.version })
                            }
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
