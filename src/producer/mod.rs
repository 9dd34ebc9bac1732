//! The producer layer: the `Producer` actor, its messages, the user's message, validation,
//! batching, queue choice, fault tolerance and back-pressure.

pub mod accumulate;
pub mod actor;
mod answer;
pub mod batch;
pub mod budget;
pub mod fault;
pub mod hook;
pub mod messages;
pub mod metrics;
/// Namespaces live below the producer (the config needs them too); re-exported for old paths.
pub use crate::namespace;
pub mod queue_select;
pub mod record;
pub mod request;
pub mod selector;
mod ledger;
mod links;
mod membership;
mod parked;
mod routing;
mod send;
pub mod status;
pub mod trace;
pub mod transaction;
pub mod validate;

pub use actor::{Producer, TraceContext, TRACEPARENT};
pub use answer::SendReply;
pub use messages::{
    Flush, FlushReport, OutcomeCallback, ProducerExt, Restart, SendAsync, SendBatch, SendFailure, SendMessage, SendOneway, SendOutcome,
    Shutdown, Start, TrySendMessage,
};
pub use status::{
    ConnectionStatus, GetInstanceStatus, GetProducerStatus, Isolation, ProducerEvent, ProducerStatus, Subscribe, TopicRoute,
};
pub use queue_select::{MessageQueueSelector, SelectByHash, SelectRandom, Target};
pub use crate::name::TopicName;
pub use record::{Delay, ProducerRecord, SendResult, SendStatus};
pub use hook::{AttemptOutcome, EndTransactionInfo, MessageKind, SendAttempt, SendHook, SendSummary};
pub use request::{ReplyTo, Request, RequestError, RequestFailure};
pub use crate::protocol::reply::ReplyMessage;
pub use transaction::{CheckLocalTransaction, ExecuteLocalTransaction, SendTransactional, TransactionSendResult};
pub use crate::client::peer::LocalTransactionState;
