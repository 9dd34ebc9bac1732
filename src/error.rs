//! Typed errors, one enum per concern.
//!
//! Every error is `Clone`: a connection that dies fails all of its pending requests with the same
//! error, and a route fetch shared by many sends hands the same failure to each of them.

use std::time::Duration;

use crate::protocol::acl::AuthRefusal;

pub use crate::protocol::ProtocolError;

/// Where a producer or client instance is in its life.
///
/// Mirrors the Java `ServiceState`: `CreateJust -> Running -> ShutdownAlready`, with
/// `StartFailed` when a start went wrong half way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
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

/// Why a TLS handshake failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlsFailure {
    /// We did not accept the server's certificate (unknown issuer, wrong name, expired, ...).
    #[error("server certificate not accepted: {0}")]
    Certificate(String),
    /// The server refused the handshake with an alert (e.g. it wants a client certificate we
    /// did not have, or trusts none we sent). With TLS 1.3 this can arrive after requests were
    /// written; the server still processed none of them.
    #[error("the server refused the handshake: {0}")]
    Alert(String),
    /// The server closed the connection during the handshake (e.g. its TLS is disabled).
    #[error("the server closed the connection during the handshake")]
    Closed,
    /// No handshake within the connect timeout.
    #[error("no handshake within {0:?}")]
    TimedOut(Duration),
    /// Anything else (bad server name, protocol mismatch, socket error).
    #[error("{0}")]
    Other(String),
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
    /// The TLS handshake failed: nothing was sent on this connection.
    #[error("TLS handshake with {addr} failed: {failure}")]
    Tls { addr: String, failure: TlsFailure },
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

    /// Whether this is a TLS handshake that failed on trust (a certificate we did not accept, or
    /// the server refusing ours): trying again fails again until the setup changes. A handshake
    /// cut short or timed out is not counted: that may be a broker going down.
    ///
    /// ```
    /// use actix_rocketmq::{RemotingError, TlsFailure};
    /// let untrusted = RemotingError::Tls { addr: "127.0.0.1:10911".into(), failure: TlsFailure::Certificate("UnknownIssuer".into()) };
    /// assert!(untrusted.is_tls_refusal());
    /// let cut = RemotingError::Tls { addr: "127.0.0.1:10911".into(), failure: TlsFailure::Closed };
    /// assert!(!cut.is_tls_refusal());
    /// ```
    pub fn is_tls_refusal(&self) -> bool {
        matches!(self, RemotingError::Tls { failure: TlsFailure::Certificate(_) | TlsFailure::Alert(_), .. })
    }

    /// Fills in the remote address of errors built where it was unknown (codec adapters).
    pub(crate) fn at(self, remote: &str) -> Self {
        match self {
            RemotingError::Io { addr, reason } if addr == "?" => RemotingError::Io { addr: remote.to_string(), reason },
            RemotingError::Tls { addr, failure } if addr == "?" => RemotingError::Tls { addr: remote.to_string(), failure },
            RemotingError::Protocol { addr, source } if addr == "?" => {
                RemotingError::Protocol { addr: remote.to_string(), source }
            }
            other => other,
        }
    }
}

impl From<std::io::Error> for RemotingError {
    fn from(e: std::io::Error) -> Self {
        match crate::remoting::transport::tls_failure_in(&e) {
            Some(failure) => RemotingError::Tls { addr: "?".into(), failure },
            None => RemotingError::io("?", &e),
        }
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
    /// A transactional message with a delay: brokers cannot delay a half message.
    #[error("a transactional message cannot be delayed")]
    DelayInTransaction,
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

/// Whether the broker may hold the message of a failed send.
///
/// The line is the socket: a request handed to a broker connection may have been stored even if
/// no answer ever came back (the connection died, or the reply was late), so a resend may store it
/// twice. A request refused before that point was never seen by any broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// No attempt reached a broker connection: no broker holds the message.
    NotSent,
    /// An attempt was written to a broker connection and its outcome never came back: the broker
    /// may hold the message.
    Unknown,
}

impl std::fmt::Display for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Delivery::NotSent => "not sent",
            Delivery::Unknown => "outcome unknown, the broker may hold it",
        })
    }
}

/// What a caller can do about a [`SendError`]; see [`SendError::kind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SendErrorKind {
    /// The message or the call is wrong (validation, an unknown queue, a selector that chose
    /// nothing, a broker calling the message illegal): sending it again fails again.
    InvalidInput,
    /// The cluster is not set up for this send: no route for the topic and no auto-create
    /// template, no permission, topic missing on the broker. Fix the deployment.
    Config,
    /// The producer does not take sends (not started, shut down, or stopped).
    NotRunning,
    /// Not stored, and worth another try later: full in-flight budget, a busy broker, a transport
    /// failure before the request was written, a budget that ran out before any write.
    Transient,
    /// The request reached a broker connection and its outcome is unknown: the broker may hold
    /// the message, so a resend may duplicate it.
    OutcomeUnknown,
}

/// Why a send did not end in a [`SendResult`](crate::SendResult).
///
/// Every variant says whether the message may have been stored ([`SendError::may_have_been_stored`]):
/// the producer never lets a later attempt's error hide an earlier one whose outcome was unknown.
///
/// ```
/// use std::time::Duration;
/// use actix_rocketmq::{Delivery, SendError, SendErrorKind, ServiceState};
///
/// fn handle(err: &SendError) -> &'static str {
///     match err.kind() {
///         SendErrorKind::InvalidInput => "drop it and log: resending fails again",
///         SendErrorKind::Config => "alert: the topic or permissions are missing",
///         SendErrorKind::NotRunning => "the producer is shut down: hand the message to another one",
///         SendErrorKind::Transient => "resend: nothing was stored",
///         SendErrorKind::OutcomeUnknown => "resend only if consumers deduplicate (by key or msgId)",
///     }
/// }
/// let lost = SendError::Timeout { budget: Duration::from_secs(3), attempts: 1, delivery: Delivery::Unknown };
/// assert!(lost.may_have_been_stored() && lost.is_retryable());
/// assert_eq!(handle(&lost), "resend only if consumers deduplicate (by key or msgId)");
/// let stopped = SendError::NotRunning(ServiceState::ShutdownAlready);
/// assert!(!stopped.may_have_been_stored() && !stopped.is_retryable());
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SendError {
    /// The message was refused before anything was sent.
    #[error("invalid message: {0}")]
    Invalid(#[from] ValidationError),
    /// The producer was not running when the send arrived (or could no longer send).
    #[error("the producer is {0}, not RUNNING")]
    NotRunning(ServiceState),
    /// Neither the topic nor the auto-create template has writable queues.
    #[error("no route info for topic {topic:?}: neither the topic nor the auto-create template has writable queues")]
    NoRoute { topic: String },
    /// The name servers could not be asked for the topic's route.
    #[error("route lookup for topic {topic:?} failed: {source}")]
    Route { topic: String, source: RouteError },
    /// The broker refused the request's credentials or their permissions (code 16 from its
    /// authentication or authorization chain): not stored, and not retried.
    #[error("broker {broker} refused the credentials: {refusal} ({remark})")]
    Auth { broker: String, refusal: AuthRefusal, remark: String },
    /// The broker answered with an error code: it did not store the message.
    #[error("broker {broker} answered {code} ({name}): {remark}")]
    Broker { broker: String, code: i32, name: &'static str, remark: String },
    /// The transport failed; `delivery` says whether the request had been written.
    #[error("send failed after {attempts} attempt(s), {delivery}: {source}")]
    Remoting { attempts: u32, source: RemotingError, delivery: Delivery },
    /// The send's budget ran out; `delivery` says whether an attempt was left unanswered.
    #[error("send did not finish within {budget:?} ({attempts} attempt(s), {delivery})")]
    Timeout { budget: Duration, attempts: u32, delivery: Delivery },
    /// The broker answered success but its reply could not be read: it holds the message.
    #[error("broker reply could not be read: {0}")]
    BadReply(ProtocolError),
    /// The producer's actor stopped before the send ended (a restart under a supervisor ends
    /// only sends it cannot finish; an unsupervised stop ends all of them).
    #[error("the producer stopped before the send ended ({delivery})")]
    Stopped { delivery: Delivery },
    /// An actix mailbox failure talking to the producer (its actor is gone or its mailbox full).
    #[error("the producer actor is unreachable ({0})")]
    Mailbox(String),
    /// The in-flight budget is full (only [`TrySendMessage`](crate::TrySendMessage) gets this).
    #[error("the producer's in-flight budget is full ({messages} messages, {bytes} bytes in flight)")]
    Full { messages: usize, bytes: usize },
    /// The user's [`MessageQueueSelector`](crate::producer::MessageQueueSelector) chose no queue.
    #[error("the queue selector chose no valid queue")]
    NoQueueSelected,
}

impl SendError {
    /// What the caller can do about it.
    pub fn kind(&self) -> SendErrorKind {
        use crate::protocol::codes::response as r;
        match self {
            SendError::Invalid(_) | SendError::NoQueueSelected => SendErrorKind::InvalidInput,
            SendError::NotRunning(_) => SendErrorKind::NotRunning,
            SendError::NoRoute { .. } | SendError::Auth { .. } => SendErrorKind::Config,
            SendError::Route { source: RouteError::Remoting(e), .. } if e.is_tls_refusal() => SendErrorKind::Config,
            SendError::Remoting { source, .. } if source.is_tls_refusal() => SendErrorKind::Config,
            SendError::Route { .. } | SendError::Full { .. } => SendErrorKind::Transient,
            SendError::Broker { code, .. } => match *code {
                r::MESSAGE_ILLEGAL => SendErrorKind::InvalidInput,
                r::NO_PERMISSION | r::TOPIC_NOT_EXIST | r::NOT_IN_CURRENT_UNIT | r::NO_BUYER_ID => SendErrorKind::Config,
                _ => SendErrorKind::Transient,
            },
            SendError::Remoting { delivery, .. } | SendError::Timeout { delivery, .. } | SendError::Stopped { delivery } => {
                match delivery {
                    Delivery::NotSent => SendErrorKind::Transient,
                    Delivery::Unknown => SendErrorKind::OutcomeUnknown,
                }
            }
            SendError::BadReply(_) | SendError::Mailbox(_) => SendErrorKind::OutcomeUnknown,
        }
    }

    /// Whether the broker may hold the message: a resend may store it twice.
    pub fn may_have_been_stored(&self) -> bool {
        self.kind() == SendErrorKind::OutcomeUnknown
    }

    /// Whether sending the same message again may succeed (check
    /// [`may_have_been_stored`](Self::may_have_been_stored) before resending).
    pub fn is_retryable(&self) -> bool {
        matches!(self.kind(), SendErrorKind::Transient | SendErrorKind::OutcomeUnknown)
    }

    /// Whether the message or the call itself is wrong.
    pub fn is_invalid_input(&self) -> bool {
        self.kind() == SendErrorKind::InvalidInput
    }

    /// Whether the cluster's setup (topic, permissions) refused it.
    pub fn is_config(&self) -> bool {
        self.kind() == SendErrorKind::Config
    }

    /// Whether the request of this failure had been written to a broker connection.
    pub fn delivery(&self) -> Delivery {
        if self.may_have_been_stored() {
            Delivery::Unknown
        } else {
            Delivery::NotSent
        }
    }
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
