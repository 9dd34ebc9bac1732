//! # actix-rocketmq
//!
//! An Apache RocketMQ producer runtime for [actix]: it speaks the classic RocketMQ *remoting*
//! TCP protocol to real name servers and brokers, as the Java `DefaultMQProducer` does, and is
//! built as a small system of actors that own their state and talk by typed messages.
//!
//! ```text
//! Addr<Producer> --SendMessage--> Producer --Request--> Connection --TCP--> broker
//!                                  |     \                (assigns the opaque, encodes the frame)
//!                 FetchPublishInfo |      \--GetConnection--> RemotingClient --owns--> Connection (one per address)
//!                                  v                              ^
//!      ClientRegistry --> ClientInstance -------------------------/
//!                           \--> NameServerPoller, HeartbeatScheduler
//!
//! RouteUpdated: instance -> producer.  ConnectionEvent: connection -> remoting client -> producer.
//! ```
//!
//! Send flow: validate -> ledger (answers the caller exactly once) -> in-flight budget ->
//! publish info (cache, name server, else the `TBW102` template) -> queue (round robin or
//! latency-aware, avoiding the last failed broker) -> SEND_MESSAGE_V2 with properties and a
//! `UNIQ_KEY` -> compression for bodies >= 4 KiB -> the broker master -> result or typed error
//! (saying whether the broker may hold the message) -> retries inside one total timeout.
//!
//! Actors need a running actix `System` (`#[actix::main]` or `actix_rt::System`).
//!
//! ```no_run
//! use actix_rocketmq::{Producer, ProducerConfig, ProducerExt, ProducerRecord};
//!
//! #[actix::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let producer = Producer::spawn(ProducerConfig::new("my_group", "127.0.0.1:9876")).await?;
//!     let result = producer
//!         .send_message(ProducerRecord::new("orders", "hello").with_tags("created").with_key("o-1"))
//!         .await?;
//!     println!("{result}");
//!     producer.shutdown().await;
//!     Ok(())
//! }
//! ```
//!
//! [actix]: https://docs.rs/actix

#![warn(missing_docs)]

pub mod client;
pub mod config;
pub mod error;
mod hash;
mod name;
pub mod namespace;
pub mod producer;
pub mod protocol;
pub mod remoting;
#[cfg(test)]
mod test_alloc;

pub use config::{ClientConfig, ProducerConfig, ProducerConfigBuilder};
pub use protocol::SerializeType;
pub use remoting::signing::Credentials;
pub use remoting::transport::{ClientCertificate, TlsConfig, TlsTrust};
pub use error::{
    ConfigError, Delivery, RemotingError, RouteError, SendError, SendErrorKind, ServiceState, StartError, TlsFailure,
    ValidationError,
};
pub use producer::{
    Delay, Flush, FlushReport, GetInstanceStatus, GetProducerStatus, OutcomeCallback, Producer, ProducerEvent, ProducerExt, ProducerRecord,
    ProducerStatus, Restart, SendAsync, SendBatch, SendFailure, SendMessage, SendOneway, SendOutcome, SendResult,
    SendStatus, Shutdown, Start, Subscribe, TopicName, TrySendMessage,
};
pub use producer::{
    CheckLocalTransaction, ExecuteLocalTransaction, LocalTransactionState, ReplyMessage, ReplyTo, Request, RequestError, RequestFailure,
    SendHook, SendTransactional, TransactionSendResult,
};
pub use protocol::acl::AuthRefusal;
pub use protocol::compression::CompressionType;
pub use protocol::route::MessageQueue;
pub use name::SharedName;

/// Compiles the README's examples as doc tests, so the API tour stays true.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
