//! Typed errors, one enum per concern.
//!
//! Every error is `Clone`: a connection that dies fails all of its pending requests with the same
//! error, and a route fetch shared by many sends hands the same failure to each of them.

use std::time::Duration;

pub use crate::protocol::ProtocolError;

/// Where a producer or client instance is in its life.
///
/// Mirrors the Java `ServiceState`: `CreateJust -> Running -> ShutdownAlready`, with
/// `StartFailed` when a start went wrong half way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceState {
    /// Built, never started (or a start was refused and rolled back).
    CreateJust,
    /// Started and serving.
    Running,
    /// Shut down; it cannot be started again.
    ShutdownAlready,
    /// A start failed after it had begun to change shared state.
    StartFailed,
}

impl std::fmt::Display for ServiceState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = match self {
            ServiceState::CreateJust => "CREATE_JUST",
            ServiceState::Running => "RUNNING",
            ServiceState::ShutdownAlready => "SHUTDOWN_ALREADY",
            ServiceState::StartFailed => "START_FAILED",
        };
        f.write_str(s)
    }
}

/// A configuration value that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("producer group is blank")]
    BlankGroup,
    #[error("producer group is {len} characters long, the limit is {max}")]
    GroupTooLong { len: usize, max: usize },
    #[error("producer group {0:?} has characters outside [%|a-zA-Z0-9_-]")]
    GroupIllegalChars(String),
    #[error("producer group {0:?} is reserved by RocketMQ")]
    ReservedGroup(String),
    #[error("no name server: set ClientConfig::namesrv_addr, NAMESRV_ADDR, or an address endpoint")]
    NoNameServer,
    #[error("bad name server address {0:?}: expected host:port[;host:port...]")]
    BadNameServerAddr(String),
    #[error("bad name server address endpoint {0:?}: expected http://host[:port]/path")]
    BadEndpoint(String),
    #[error("invalid setting {name}: {reason}")]
    Invalid { name: &'static str, reason: String },
}

/// A failure below the RocketMQ semantics: addresses, sockets, frames, time.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RemotingError {
    #[error("cannot resolve {addr}: {reason}")]
    Resolve { addr: String, reason: String },
    #[error("cannot connect to {addr}: {reason}")]
    Connect { addr: String, reason: String },
    #[error("connection to {addr} closed")]
    ConnectionClosed { addr: String },
    #[error("no reply from {addr} within {after:?}")]
    Timeout { addr: String, after: Duration },
    #[error("i/o error on {addr}: {reason}")]
    Io { addr: String, reason: String },
    #[error("protocol error from {addr}: {source}")]
    Protocol { addr: String, source: ProtocolError },
    #[error("no name server address known")]
    NoNameServer,
    #[error("name server address endpoint {url}: {reason}")]
    Endpoint { url: String, reason: String },
    #[error("{actor} is gone")]
    ActorGone { actor: &'static str },
}

impl RemotingError {
    /// Codec adapters must be able to build an error out of a bare `io::Error`; the connection
    /// replaces the placeholder address with its own when it reports the error.
    pub(crate) fn io(addr: &str, e: &std::io::Error) -> Self {
        RemotingError::Io { addr: addr.to_string(), reason: e.to_string() }
    }

    /// Fills in the remote address of errors built where it was unknown (codec adapters).
    pub(crate) fn at(self, remote: &str) -> Self {
        match self {
            RemotingError::Io { addr, reason } if addr == "?" => RemotingError::Io { addr: remote.to_string(), reason },
            RemotingError::Protocol { addr, source } if addr == "?" => {
                RemotingError::Protocol { addr: remote.to_string(), source }
            }
            other => other,
        }
    }
}

impl From<std::io::Error> for RemotingError {
    fn from(e: std::io::Error) -> Self {
        RemotingError::io("?", &e)
    }
}

impl From<ProtocolError> for RemotingError {
    fn from(source: ProtocolError) -> Self {
        RemotingError::Protocol { addr: "?".into(), source }
    }
}

/// Why a message was refused before anything went on the wire.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    #[error("topic is blank")]
    BlankTopic,
    #[error("topic is {len} characters long, the limit is {max}")]
    TopicTooLong { len: usize, max: usize },
    #[error("topic {0:?} has characters outside [%|a-zA-Z0-9_-]")]
    TopicIllegalChars(String),
    #[error("topic {0:?} is a system topic that producers may not send to")]
    TopicNotAllowed(String),
    #[error("message body is empty")]
    EmptyBody,
    #[error("message body is {size} bytes, the limit is {max}")]
    BodyTooLarge { size: usize, max: usize },
    #[error("property {0:?} is reserved by RocketMQ and cannot be set as a user property")]
    ReservedProperty(String),
    #[error("property {name:?} is invalid: {reason}")]
    BadProperty { name: String, reason: String },
    #[error("encoded properties are {size} bytes, the limit is {max}")]
    PropertiesTooLarge { size: usize, max: usize },
    #[error("invalid delay: {0}")]
    InvalidDelay(String),
    #[error("a batch needs at least one message")]
    EmptyBatch,
    #[error("a batch must have one topic; found {first:?} and {other:?}")]
    MixedTopics { first: String, other: String },
    #[error("a batch must have one WAIT value for all messages")]
    MixedWait,
    #[error("messages in a batch cannot be delayed")]
    DelayInBatch,
    #[error("retry topics cannot be sent in a batch")]
    RetryTopicInBatch,
    #[error("the encoded batch is {size} bytes, the limit is {max}; split it (producer::batch::split_batch)")]
    BatchTooLarge { size: usize, max: usize },
    #[error("queue {queue} is not a writable queue of topic {topic:?}")]
    UnknownQueue { topic: String, queue: String },
}

/// Why a topic route could not be had from the name servers.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RouteError {
    #[error(transparent)]
    Remoting(#[from] RemotingError),
    #[error("name server answered {code} ({name}): {remark}")]
    NameServer { code: i32, name: &'static str, remark: String },
    #[error("unreadable route: {0}")]
    BadRoute(#[from] ProtocolError),
}

/// Why a producer (or its client instance) could not start or stop.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StartError {
    #[error("the producer is {0}, it can only be started from CREATE_JUST")]
    WrongState(ServiceState),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("producer group {group:?} is already registered in client instance {client_id}")]
    DuplicateGroup { group: String, client_id: String },
    #[error("client instance {0} has shut down")]
    InstanceShutDown(String),
    #[error(transparent)]
    Remoting(#[from] RemotingError),
}

/// Why a send did not end in a [`SendResult`](crate::SendResult).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SendError {
    #[error("invalid message: {0}")]
    Invalid(#[from] ValidationError),
    #[error("the producer is {0}, not RUNNING")]
    NotRunning(ServiceState),
    #[error("no route info for topic {topic:?}: neither the topic nor the auto-create template has writable queues")]
    NoRoute { topic: String },
    #[error("route lookup for topic {topic:?} failed: {source}")]
    Route { topic: String, source: RouteError },
    #[error("broker {broker} answered {code} ({name}): {remark}")]
    Broker { broker: String, code: i32, name: &'static str, remark: String },
    #[error("send failed after {attempts} attempt(s): {source}")]
    Remoting { attempts: u32, source: RemotingError },
    #[error("send did not finish within {budget:?} ({attempts} attempt(s))")]
    Timeout { budget: Duration, attempts: u32 },
    #[error("broker reply could not be read: {0}")]
    BadReply(ProtocolError),
    #[error("the producer actor is gone ({0})")]
    Mailbox(String),
    #[error("the producer's in-flight budget is full ({messages} messages, {bytes} bytes in flight)")]
    Full { messages: usize, bytes: usize },
    #[error("the queue selector chose no valid queue")]
    NoQueueSelected,
}

impl From<actix::MailboxError> for SendError {
    fn from(e: actix::MailboxError) -> Self {
        SendError::Mailbox(e.to_string())
    }
}

impl From<actix::MailboxError> for StartError {
    fn from(_: actix::MailboxError) -> Self {
        StartError::Remoting(RemotingError::ActorGone { actor: "client instance" })
    }
}
