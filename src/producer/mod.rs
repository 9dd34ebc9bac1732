//! The producer layer: the `Producer` actor, the user's message, validation, queue choice.

pub mod actor;
pub mod record;
pub mod selector;
pub mod validate;

pub use actor::{GetProducerStatus, Producer, ProducerExt, ProducerStatus, SendMessage, Shutdown, Start};
pub use record::{ProducerRecord, SendResult, SendStatus};
