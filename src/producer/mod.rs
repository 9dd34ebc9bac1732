//! The producer layer: the `Producer` actor, its messages, the user's message, validation,
//! batching, queue choice, fault tolerance and back-pressure.

pub mod actor;
pub mod batch;
pub mod budget;
pub mod fault;
pub mod messages;
pub mod namespace;
pub mod queue_select;
pub mod record;
pub mod selector;
mod send;
pub mod validate;

pub use actor::Producer;
pub use messages::{
    GetProducerStatus, ProducerExt, ProducerStatus, SendAsync, SendBatch, SendFailure, SendMessage, SendOneway,
    SendOutcome, Shutdown, Start, TrySendMessage,
};
pub use queue_select::{MessageQueueSelector, SelectByHash, SelectRandom, Target};
pub use record::{Delay, ProducerRecord, SendResult, SendStatus};
