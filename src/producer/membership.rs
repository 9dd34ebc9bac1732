//! The producer's place in its client instance: joining (the start flow a restart repeats), and
//! leaving, which a `Membership` does by itself when the producer goes away without `Shutdown`.

use std::time::Duration;

use actix::prelude::*;

use crate::client::instance::{ClientInstance, InstanceHandle, RegisterProducer, RouteUpdated, StartInstance, UnregisterProducer};
use crate::client::registry::{ClientRegistry, GetOrCreateInstance};
use crate::client::peer::TransactionCheck;
use crate::client::HeartbeatNow;
use crate::config::ClientConfig;
use crate::error::StartError;
use crate::remoting::RemotingClient;

/// A registered producer group. Dropping it unregisters the group (so a producer whose last
/// address was dropped leaves the broker's producer table); [`Membership::leave`] does the same
/// and lets the caller wait for the brokers' answers.
pub(super) struct Membership {
    pub instance: Addr<ClientInstance>,
    pub handle: InstanceHandle,
    group: String,
    token: u64,
    armed: bool,
}

impl Membership {
    pub(super) fn remoting(&self) -> &Addr<RemotingClient> {
        &self.handle.remoting
    }

    /// Unregisters the group and resolves once the brokers were told.
    pub(super) fn leave(mut self) -> impl std::future::Future<Output = ()> {
        self.armed = false;
        let unregister = self.instance.send(UnregisterProducer { group: self.group.clone(), token: self.token });
        async move {
            let _ = unregister.await;
        }
    }

    /// Forgets the registration without unregistering (it belongs to an instance that is gone,
    /// or was renewed in the same instance).
    pub(super) fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for Membership {
    fn drop(&mut self) {
        if self.armed {
            self.instance.do_send(UnregisterProducer { group: self.group.clone(), token: self.token });
        }
    }
}

/// Everything a start (or a restart) needs to join an instance.
pub(super) struct Join {
    pub client: ClientConfig,
    pub group: String,
    pub token: u64,
    pub routes: Recipient<RouteUpdated>,
    pub checks: Recipient<TransactionCheck>,
}

impl Join {
    /// The Java start flow from the registry on: the instance for the clientId, the group
    /// registered in it, the instance started, a heartbeat at once.
    pub(super) async fn run(self) -> Result<Membership, StartError> {
        let Join { client, group, token, routes, checks } = self;
        let registry = ClientRegistry::from_registry();
        // An instance shutting down refuses new groups; the registry forgets it right after,
        // so a short retry gets a fresh instance.
        let mut attempt = 0;
        let (instance, handle) = loop {
            attempt += 1;
            let instance = registry.send(GetOrCreateInstance { config: client.clone() }).await??;
            match instance.send(RegisterProducer { group: group.clone(), token, routes: routes.clone(), checks: checks.clone() }).await? {
                Ok(handle) => break (instance, handle),
                Err(StartError::InstanceShutDown(_)) if attempt < 5 => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => return Err(e),
            }
        };
        let membership = Membership { instance: instance.clone(), handle, group, token, armed: true };
        // On failure the membership's drop unregisters the group again.
        instance.send(StartInstance).await??;
        instance.do_send(HeartbeatNow);
        Ok(membership)
    }
}
