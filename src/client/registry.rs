//! The process-wide `clientId -> ClientInstance` registry.

use std::collections::HashMap;

use actix::prelude::*;

use super::instance::ClientInstance;
use crate::config::ClientConfig;
use crate::error::ConfigError;

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
    instances: HashMap<String, Addr<ClientInstance>>,
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
        if let Some(existing) = self.instances.get(&client_id) {
            if existing.connected() {
                return Ok(existing.clone());
            }
        }
        let instance = ClientInstance::new(client_id.clone(), msg.config, ctx.address()).start();
        self.instances.insert(client_id, instance.clone());
        Ok(instance)
    }
}

impl Handler<RemoveInstance> for ClientRegistry {
    type Result = ();

    fn handle(&mut self, msg: RemoveInstance, _: &mut Context<Self>) {
        if self.instances.get(&msg.client_id) == Some(&msg.instance) {
            self.instances.remove(&msg.client_id);
        }
    }
}

impl Handler<ListInstances> for ClientRegistry {
    type Result = Vec<String>;

    fn handle(&mut self, _: ListInstances, _: &mut Context<Self>) -> Vec<String> {
        self.instances.iter().filter(|(_, a)| a.connected()).map(|(id, _)| id.clone()).collect()
    }
}
