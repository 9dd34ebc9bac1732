//! The client instance layer: registry, instance, name server poller, heartbeat scheduler.

pub mod heartbeat;
pub mod instance;
pub mod peer;
pub mod poller;
pub mod registry;
pub mod routes;

pub use heartbeat::{HeartbeatNow, HeartbeatScheduler};
pub use instance::{ClientInstance, GetStatus, InstanceStatus};
pub use peer::{LocalTransactionState, TransactionCheck};
pub use poller::NameServerPoller;
pub use registry::{ClientRegistry, GetOrCreateInstance, ListInstances};

/// Stop a periodic actor (an actor with `run_interval` never stops on its own).
#[derive(actix::Message, Debug)]
#[rtype(result = "()")]
pub struct Stop;
