//! The process-wide `clientId -> ClientInstance` registry.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use actix::prelude::*;

use super::instance::ClientInstance;
use crate::config::ClientConfig;
use crate::error::ConfigError;
use crate::protocol::SerializeType;
use crate::remoting::signing::Credentials;
use crate::remoting::transport::TlsConfig;
use crate::remoting::transport::Transport;

/// The instance for `config.client_id()`, created on first use.
#[derive(Message, Debug)]
#[rtype(result = "Result<Addr<ClientInstance>, ConfigError>")]
pub struct GetOrCreateInstance {
    /// The settings of the instance (its clientId is the registry key).
    pub config: ClientConfig,
}

/// An instance shut down: forget it (only if it is still the registered one).
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct RemoveInstance {
    /// The registry key.
    pub client_id: String,
    /// The instance that shut down (a newer one under the same key is kept).
    pub instance: Addr<ClientInstance>,
}

/// How many instances are registered (for tests and diagnostics).
#[derive(Message, Debug)]
#[rtype(result = "Vec<String>")]
pub struct ListInstances;

/// One per actix `System`: the same clientId always gives the same [`ClientInstance`], so every
/// producer with that id shares its connections, routes and heartbeats; another instance or unit
/// name gives another instance (how one process reaches two clusters).
///
/// ```no_run
/// use actix::prelude::*;
/// use actix_rocketmq::client::{ClientRegistry, ListInstances};
/// # async fn f() {
/// let ids = ClientRegistry::from_registry().send(ListInstances).await.unwrap();
/// # }
/// ```
#[derive(Default)]
pub struct ClientRegistry {
    instances: HashMap<String, Registered>,
}

struct Registered {
    instance: Addr<ClientInstance>,
    /// The instance-wide settings it runs with (see [`Shared`]).
    shared: Shared,
    /// Its intervals, timeouts and threads: another producer's differing values are logged.
    timing: Timing,
}

/// The settings that only time the instance's work: polling, heartbeats and timeouts, and its
/// extra I/O threads.
type Timing = ([Duration; 5], usize);

fn timing(config: &ClientConfig) -> Timing {
    (
        [
            config.poll_name_server_interval,
            config.heartbeat_broker_interval,
            config.namesrv_endpoint_interval,
            config.request_timeout,
            config.connect_timeout,
        ],
        config.io_threads,
    )
}

/// Settings that belong to a client instance, not to a producer: its connections, name server
/// polling and heartbeats are shared, so a producer asking for other values cannot join it.
/// Java silently keeps the first producer's values; we refuse instead, naming the setting.
#[derive(PartialEq)]
struct Shared {
    serialize_type: SerializeType,
    name_servers: (Option<BTreeSet<String>>, Option<String>),
    credentials: Option<Credentials>,
    tls: Option<TlsConfig>,
}

impl Shared {
    fn of(config: &ClientConfig) -> Self {
        // A set: the order means nothing (the remoting client starts at a random one).
        let list = config.namesrv_list().ok().map(|l| l.into_iter().collect::<BTreeSet<_>>()).filter(|l| !l.is_empty());
        Shared {
            serialize_type: config.serialize_type,
            name_servers: (list, config.endpoint_in_use().map(str::to_string)),
            credentials: config.credentials.clone(),
            tls: config.tls.clone(),
        }
    }

    /// The first setting that differs.
    fn conflict(&self, other: &Shared) -> Option<&'static str> {
        if self.serialize_type != other.serialize_type {
            Some("serialize_type")
        } else if self.name_servers != other.name_servers {
            Some("namesrv_addr/namesrv_endpoint")
        } else if self.credentials != other.credentials {
            Some("credentials")
        } else if self.tls != other.tls {
            Some("tls")
        } else {
            None
        }
    }
}

impl Actor for ClientRegistry {
    type Context = Context<Self>;
}

impl Supervised for ClientRegistry {}
impl SystemService for ClientRegistry {}

impl Handler<GetOrCreateInstance> for ClientRegistry {
    type Result = Result<Addr<ClientInstance>, ConfigError>;

    fn handle(&mut self, msg: GetOrCreateInstance, ctx: &mut Context<Self>) -> Self::Result {
        msg.config.validate()?;
        let client_id = msg.config.client_id();
        let shared = Shared::of(&msg.config);
        if let Some(existing) = self.instances.get(&client_id) {
            if existing.instance.connected() {
                if let Some(setting) = existing.shared.conflict(&shared) {
                    return Err(ConfigError::InstanceConflict { client_id, setting });
                }
                if existing.timing != timing(&msg.config) {
                    // Timing differences change no wire behaviour: joined, but said aloud.
                    tracing::warn!(
                        %client_id,
                        "producer joins a client instance that runs with other intervals/timeouts/io_threads; \
                         the instance keeps its own (set the same values, or another instance_name)"
                    );
                }
                return Ok(existing.instance.clone());
            }
        }
        let transport = Transport::new(msg.config.tls.as_ref())?;
        let timing = timing(&msg.config);
        let instance = ClientInstance::new(client_id.clone(), msg.config, transport, ctx.address()).start();
        self.instances.insert(client_id, Registered { instance: instance.clone(), shared, timing });
        Ok(instance)
    }
}

impl Handler<RemoveInstance> for ClientRegistry {
    type Result = ();

    fn handle(&mut self, msg: RemoveInstance, _: &mut Context<Self>) {
        if self.instances.get(&msg.client_id).map(|r| &r.instance) == Some(&msg.instance) {
            self.instances.remove(&msg.client_id);
        }
    }
}

impl Handler<ListInstances> for ClientRegistry {
    type Result = Vec<String>;

    fn handle(&mut self, _: ListInstances, _: &mut Context<Self>) -> Vec<String> {
        self.instances.iter().filter(|(_, r)| r.instance.connected()).map(|(id, _)| id.clone()).collect()
    }
}
