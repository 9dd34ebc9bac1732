//! The process-wide `clientId -> ClientInstance` registry.

use std::collections::HashMap;

use actix::prelude::*;

use super::instance::ClientInstance;
use crate::config::ClientConfig;
use crate::error::ConfigError;
use crate::remoting::signing::Credentials;
use crate::remoting::transport::TlsConfig;
use crate::remoting::transport::Transport;

/// The instance for `config.client_id()`, created on first use.
#[derive(Message, Debug)]
#[rtype(result = "Result<Addr<ClientInstance>, ConfigError>")]
pub struct GetOrCreateInstance {
    pub config: ClientConfig,
}

/// An instance shut down: forget it (only if it is still the registered one).
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct RemoveInstance {
    pub client_id: String,
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
    /// The security settings the instance runs with: its connections are shared, so a producer
    /// asking for other credentials or TLS settings cannot join it.
    security: (Option<Credentials>, Option<TlsConfig>),
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
        let security = (msg.config.credentials.clone(), msg.config.tls.clone());
        if let Some(existing) = self.instances.get(&client_id) {
            if existing.instance.connected() {
                if existing.security != security {
                    return Err(ConfigError::Invalid {
                        name: "credentials/tls",
                        reason: format!(
                            "client instance {client_id} already runs with other credentials or TLS settings; \
                             give this producer another instance_name"
                        ),
                    });
                }
                return Ok(existing.instance.clone());
            }
        }
        let transport = Transport::new(msg.config.tls.as_ref())?;
        let instance = ClientInstance::new(client_id.clone(), msg.config, transport, ctx.address()).start();
        self.instances.insert(client_id, Registered { instance: instance.clone(), security });
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
