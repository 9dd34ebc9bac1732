//! Typed errors, one enum per concern.
//!
//! Every error is `Clone`: a connection that dies fails all of its pending requests with the same
//! error, and a route fetch shared by many sends hands the same failure to each of them.

use std::time::Duration;

use crate::protocol::acl::AuthRefusal;
use crate::protocol::version::BrokerVersion;

pub use crate::protocol::ProtocolError;

/// Where a producer or client instance is in its life.
///
/// Mirrors the Java `ServiceState`: `CreateJust -> Running -> ShutdownAlready`, with
/// `StartFailed` when a start went wrong half way. Only a `Running` producer takes sends; in any
/// other state a send is refused with [`SendError::NotRunning`] before anything is sent, and a
/// [`Start`](crate::Start) is accepted only in `CreateJust` (else [`StartError::WrongState`]).
///
/// ```
/// use actix::prelude::*;
/// use actix_rocketmq::{Producer, ProducerConfig, ProducerRecord, SendError, SendMessage, ServiceState};
///
/// fn advice(state: ServiceState) -> &'static str {
///     match state {
///         ServiceState::CreateJust => "send it Start (or build it with Producer::spawn)",
///         ServiceState::Running => "it takes sends",
///         ServiceState::StartFailed => "its start failed: build a new Producer",
///         ServiceState::ShutdownAlready => "it was shut down: build a new Producer",
///     }
/// }
///
/// #[actix::main]
/// async fn main() {
///     // Started as an actor but never sent `Start`: no network involved.
///     let producer = Producer::new(ProducerConfig::new("g", "127.0.0.1:9876")).start();
///     let failure = producer.send(SendMessage::new(ProducerRecord::new("t", "x"))).await.unwrap().unwrap_err();
///     let SendError::NotRunning(state) = failure.error else { panic!("{failure}") };
///     assert_eq!(state, ServiceState::CreateJust);
///     assert_eq!(advice(state), "send it Start (or build it with Producer::spawn)");
///     assert_eq!(state.to_string(), "CREATE_JUST");
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ServiceState {
    /// Built, never started (or a start was refused with [`StartError::DuplicateGroup`] and
    /// rolled back). Sends get [`SendError::NotRunning`]; send [`Start`](crate::Start) first.
    CreateJust,
    /// Started and serving: the only state that takes sends.
    Running,
    /// [`Shutdown`](crate::Shutdown) was asked (sends admitted before it may still be
    /// finishing). It cannot be started again: new sends get [`SendError::NotRunning`] for good;
    /// build a new producer.
    ShutdownAlready,
    /// A start failed after it had begun to change shared state (a configuration refused at
    /// start, a client instance that could not be joined or started), or a supervised restart
    /// could not join its client instance again. Neither sends nor another `Start` are taken:
    /// build a new producer.
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
///
/// Found without any network work: when a configuration is loaded, by
/// [`ProducerConfig::validate`](crate::ProducerConfig::validate) and
/// [`ClientConfig::validate`](crate::ClientConfig::validate), and by a [`Start`](crate::Start),
/// which reports it as [`StartError::Config`] and leaves the producer `START_FAILED`. Never worth
/// a retry: the same settings fail the same way. Fix the setting and build a new producer.
///
/// ```
/// use actix_rocketmq::{ConfigError, ProducerConfig};
///
/// /// The setting to fix.
/// fn setting(e: &ConfigError) -> &str {
///     match e {
///         ConfigError::BlankGroup
///         | ConfigError::GroupTooLong { .. }
///         | ConfigError::GroupIllegalChars(_)
///         | ConfigError::ReservedGroup(_) => "group (or namespace)",
///         ConfigError::NoNameServer | ConfigError::BadNameServerAddr(_) => "client.namesrv_addr",
///         ConfigError::BadEndpoint(_) => "client.namesrv_endpoint",
///         ConfigError::Invalid { name, .. } => name,
///         _ => "see the message",
///     }
/// }
///
/// let err = ProducerConfig::new("order producers", "127.0.0.1:9876").validate().unwrap_err();
/// assert_eq!(err, ConfigError::GroupIllegalChars("order producers".into()));
/// assert_eq!(setting(&err), "group (or namespace)");
///
/// let mut cfg = ProducerConfig::new("orders", "127.0.0.1:9876");
/// cfg.compress_level = 12;
/// assert_eq!(setting(&cfg.validate().unwrap_err()), "compress_level");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The producer group is empty or only whitespace.
    #[error("producer group is blank")]
    BlankGroup,
    /// The producer group is longer than 120 characters; the namespaced group
    /// (`namespace%group`) is checked too, so a long namespace can cause it.
    #[error("producer group is {len} characters long, the limit is {max}")]
    GroupTooLong {
        /// Length of the group as checked, in characters.
        len: usize,
        /// The limit (`config::MAX_GROUP_LEN`).
        max: usize,
    },
    /// The producer group (or the namespace before it) has a character outside
    /// `[%|a-zA-Z0-9_-]`, such as a space or a dot.
    #[error("producer group {0:?} has characters outside [%|a-zA-Z0-9_-]")]
    GroupIllegalChars(String),
    /// The producer group is one RocketMQ uses itself (`DEFAULT_PRODUCER`,
    /// `CLIENT_INNER_PRODUCER`).
    #[error("producer group {0:?} is reserved by RocketMQ")]
    ReservedGroup(String),
    /// Neither a name server list (`ClientConfig::namesrv_addr`, default from `NAMESRV_ADDR`)
    /// nor an address endpoint (`ClientConfig::namesrv_endpoint`) is set.
    #[error("no name server: set ClientConfig::namesrv_addr, NAMESRV_ADDR, or an address endpoint")]
    NoNameServer,
    /// The name server list is not `host:port[;host:port...]` (a part without a host, or a
    /// port that is not a number up to 65535).
    #[error("bad name server address {0:?}: expected host:port[;host:port...]")]
    BadNameServerAddr(String),
    /// The name server address endpoint is not an `http://host[:port]/path` URL (`https` is not
    /// supported).
    #[error("bad name server address endpoint {0:?}: expected http://host[:port]/path")]
    BadEndpoint(String),
    /// Any other setting that cannot work, named by `name`: a zero timeout or interval, a zero
    /// in-flight budget or message size, `compress_level` above 9, blank credentials, or TLS
    /// files or names that cannot be used (`name` is `"tls"`; they are loaded at start, not at
    /// the first connection).
    #[error("invalid setting {name}: {reason}")]
    Invalid {
        /// The setting (a field name of the configuration, or a group of them).
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A key of a configuration file or an environment override is unknown or holds a value of
    /// the wrong type or form (`key` is the dotted path, e.g. `client.request_timeout`, plus the
    /// environment variable when the value came from one). Fix the configuration; never retry.
    #[error("setting {key}: {reason}")]
    Key {
        /// The dotted path of the key (and the environment variable it came from, if any).
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A configuration file could not be read or is not valid TOML. Never retry.
    #[error("configuration file {path}: {reason}")]
    File {
        /// The file (`(text)` for configuration given as a string).
        path: String,
        /// Why it could not be read or parsed.
        reason: String,
    },
    /// A topic listed in [`ProducerConfig::topics`](crate::ProducerConfig::topics) breaks the
    /// topic rules: found at start instead of failing every send. Never retry.
    #[error("configured topic {topic:?}: {source}")]
    BadTopic {
        /// The topic as listed.
        topic: String,
        /// The rule it breaks.
        source: ValidationError,
    },
    /// Another producer already runs the shared client instance `client_id` with a different
    /// value of an instance-wide `setting` (the header serialization, the name servers,
    /// credentials or TLS): this producer's value would be silently ignored, so it is refused.
    /// Give it another `instance_name`, or the same value. Never retry.
    #[error("client instance {client_id} already runs with another {setting}; use the same value or another instance_name")]
    InstanceConflict {
        /// The shared client instance.
        client_id: String,
        /// The instance-wide setting that differs.
        setting: &'static str,
    },
}

/// Why a TLS handshake failed (inside [`RemotingError::Tls`]).
///
/// `Certificate` and `Alert` are refusals: the two sides do not trust each other, and every
/// retry fails the same way until certificates or settings change
/// ([`RemotingError::is_tls_refusal`]; a send failing so is [`SendErrorKind::Config`] and is not
/// retried by the producer). The others may pass (a broker going down, a slow network).
///
/// ```
/// use actix_rocketmq::TlsFailure;
///
/// fn worth_retrying(f: &TlsFailure) -> bool {
///     match f {
///         // Trust: fix the CA file, the client certificate or the server name first.
///         TlsFailure::Certificate(_) | TlsFailure::Alert(_) => false,
///         // The broker may be restarting; if `Closed` persists, check that it speaks TLS.
///         TlsFailure::Closed | TlsFailure::TimedOut(_) => true,
///         TlsFailure::Other(_) => true,
///     }
/// }
/// assert!(!worth_retrying(&TlsFailure::Certificate("UnknownIssuer".into())));
/// assert!(worth_retrying(&TlsFailure::Closed));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlsFailure {
    /// We did not accept the server's certificate (unknown issuer, wrong name, expired, ...).
    /// Nothing was sent. Not worth a retry until the trust settings
    /// ([`TlsConfig`](crate::TlsConfig)) or the server's certificate change.
    #[error("server certificate not accepted: {0}")]
    Certificate(String),
    /// The server refused the handshake with an alert (e.g. it wants a client certificate we
    /// did not have, or trusts none we sent). With TLS 1.3 this can arrive after requests were
    /// written; the server still processed none of them. Not worth a retry until the client
    /// certificate or the server's trust change.
    #[error("the server refused the handshake: {0}")]
    Alert(String),
    /// The server closed the connection during the handshake: a broker going down, or one whose
    /// TLS is disabled. Nothing was sent. A retry may work; if it keeps happening, check that the
    /// server speaks TLS.
    #[error("the server closed the connection during the handshake")]
    Closed,
    /// No handshake within the connect timeout (`ClientConfig::connect_timeout`). Nothing was
    /// sent; a retry may work.
    #[error("no handshake within {0:?}")]
    TimedOut(Duration),
    /// Anything else (bad server name, protocol mismatch, socket error). Also any TLS error in
    /// the middle of a session, after the handshake: requests written on the connection before
    /// it may have been processed.
    #[error("{0}")]
    Other(String),
}

/// A failure below the RocketMQ semantics: addresses, sockets, frames, time.
///
/// Sends report it inside [`SendError::Remoting`], whose `delivery` says whether the request had
/// been written to the connection: the same variant can come before the write (nothing sent) or
/// after it (the peer may have acted on it). Route lookups report it inside
/// [`RouteError::Remoting`], starts inside [`StartError::Remoting`], and
/// [`ProducerEvent::ConnectionClosed`](crate::ProducerEvent::ConnectionClosed) carries its text.
/// Mostly passing trouble (a broker restarting, a network hiccup): worth another try, on another
/// broker if there is one, which the producer does by itself within a send's budget. The
/// exceptions: a TLS trust failure ([`RemotingError::is_tls_refusal`]) and a request that cannot
/// be encoded fail again.
///
/// ```
/// use actix_rocketmq::RemotingError;
///
/// fn describe(e: &RemotingError) -> String {
///     match e {
///         RemotingError::Resolve { addr, .. } | RemotingError::Connect { addr, .. } => {
///             format!("{addr} unreachable: nothing was sent to it")
///         }
///         RemotingError::Tls { addr, .. } if e.is_tls_refusal() => format!("{addr}: fix the TLS trust settings"),
///         RemotingError::Tls { addr, failure } => format!("TLS with {addr}: {failure}"),
///         RemotingError::ConnectionClosed { addr } | RemotingError::Io { addr, .. } | RemotingError::Protocol { addr, .. } => {
///             format!("connection to {addr} lost")
///         }
///         RemotingError::Timeout { addr, after } => format!("{addr} did not answer within {after:?}"),
///         RemotingError::NoNameServer | RemotingError::Endpoint { .. } => "no name server to ask".to_string(),
///         RemotingError::ActorGone { actor } => format!("the {actor} stopped: the client is shutting down"),
///     }
/// }
///
/// let e = RemotingError::Connect { addr: "10.0.0.7:10911".into(), reason: "Connection refused".into() };
/// assert_eq!(describe(&e), "10.0.0.7:10911 unreachable: nothing was sent to it");
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RemotingError {
    /// The host of `addr` could not be resolved (DNS). The connection never opened: nothing was
    /// sent. Worth a retry once name resolution works again.
    #[error("cannot resolve {addr}: {reason}")]
    Resolve {
        /// The remote address, `host:port`.
        addr: String,
        /// What the resolver said.
        reason: String,
    },
    /// The TCP connection could not be opened: refused (nobody listens: a broker down or
    /// restarting), unreachable, or not within `ClientConfig::connect_timeout`. Nothing was
    /// sent. Worth a retry (the producer tries another broker at once).
    #[error("cannot connect to {addr}: {reason}")]
    Connect {
        /// The remote address, `host:port`.
        addr: String,
        /// What the operating system said, or the timeout.
        reason: String,
    },
    /// The connection ended: the peer closed it (e.g. a broker shutting down), it was closed on
    /// purpose (shutdown, a reconnect after `GO_AWAY`), or its actor had already stopped. A request
    /// not yet written gets it before the write (nothing sent); requests written and awaiting
    /// replies all fail with it after the write, so the peer may have acted on them. Worth a
    /// retry: the next request opens a fresh connection.
    #[error("connection to {addr} closed")]
    ConnectionClosed {
        /// The remote address, `host:port`.
        addr: String,
    },
    /// No reply within `after`: the request was written (or still queued to be), so the peer may
    /// have acted on it. A send reports it as [`SendError::Timeout`]. Worth a retry, knowing the
    /// first request may have been processed.
    #[error("no reply from {addr} within {after:?}")]
    Timeout {
        /// The remote address, `host:port`.
        addr: String,
        /// The request's timeout.
        after: Duration,
    },
    /// Reading or writing the socket failed (reset, broken pipe, ...). The connection closes and
    /// every request pending on it fails with this error: written requests may have been
    /// processed. Worth a retry on a fresh connection.
    #[error("i/o error on {addr}: {reason}")]
    Io {
        /// The remote address, `host:port`.
        addr: String,
        /// What the operating system said.
        reason: String,
    },
    /// A frame could not be encoded (the request is refused before the write: nothing sent, and
    /// a retry fails again), or an inbound frame could not be decoded (too large, garbled): the
    /// connection then closes, as Java's does, and every request pending on it fails with this
    /// error after its write. Worth a retry only in the second case.
    #[error("protocol error from {addr}: {source}")]
    Protocol {
        /// The remote address, `host:port`.
        addr: String,
        /// What was wrong with the frame.
        source: ProtocolError,
    },
    /// The TLS handshake failed: nothing on this connection was processed. A trust failure
    /// ([`RemotingError::is_tls_refusal`]) fails again on every broker until the setup changes;
    /// the others may pass. A TLS error later in a session comes as [`TlsFailure::Other`], and
    /// requests written before it may have been processed.
    #[error("TLS handshake with {addr} failed: {failure}")]
    Tls {
        /// The remote address, `host:port`.
        addr: String,
        /// How the handshake failed.
        failure: TlsFailure,
    },
    /// No name server address is known: the configured list is empty and the address endpoint
    /// (`ClientConfig::namesrv_endpoint`) has not given one yet. Nothing was sent. Worth a retry
    /// once the endpoint answers.
    #[error("no name server address known")]
    NoNameServer,
    /// The name server address endpoint could not be fetched, did not answer `200` in time, or
    /// answered something that is not a `host:port;...` list. At start this fails the
    /// [`Start`](crate::Start) ([`StartError::Remoting`]); later polls keep the last good list.
    /// Worth a retry once the endpoint works.
    #[error("name server address endpoint {url}: {reason}")]
    Endpoint {
        /// The endpoint's URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// An actor of the client this request needed has stopped (`"remoting client"`,
    /// `"client instance"`): the client instance was shut down, its last producer having left,
    /// or it failed. Nothing was sent. Not worth a retry on the same producer: build a new one (a
    /// supervised producer restarts by itself when a route lookup finds its instance gone).
    #[error("{actor} is gone")]
    ActorGone {
        /// Which actor.
        actor: &'static str,
    },
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
///
/// Every variant comes as [`SendError::Invalid`] (kind [`SendErrorKind::InvalidInput`]): no
/// broker saw the message, nothing is stored, and sending the same message again fails the same
/// way. Fix the message (or the call) instead. The checks are Java's `Validators.checkMessage`
/// and `MessageBatch` rules; [`check_record`](crate::producer::validate::check_record) and
/// [`check_batch`](crate::producer::batch::check_batch) run them without a producer.
///
/// ```
/// use actix_rocketmq::producer::validate::check_record;
/// use actix_rocketmq::{ProducerRecord, ValidationError};
///
/// fn fix(e: &ValidationError) -> &'static str {
///     match e {
///         ValidationError::BodyTooLarge { .. } => "store the payload elsewhere and send a reference",
///         ValidationError::BatchTooLarge { .. } => "split it with producer::batch::split_batch",
///         ValidationError::ReservedProperty(_) => "rename the property",
///         ValidationError::UnknownQueue { .. } => "pick a queue from the topic's current route",
///         _ => "fix the message",
///     }
/// }
///
/// let too_big = ProducerRecord::new("orders", vec![0u8; 5 * 1024 * 1024]);
/// let e = check_record(&too_big, 4 * 1024 * 1024).unwrap_err();
/// assert!(matches!(e, ValidationError::BodyTooLarge { size: 5242880, max: 4194304 }));
/// assert_eq!(fix(&e), "store the payload elsewhere and send a reference");
///
/// let tagged = ProducerRecord::new("orders", "x").with_property("TAGS", "a");
/// assert_eq!(check_record(&tagged, 1024), Err(ValidationError::ReservedProperty("TAGS".into())));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    /// The topic is empty or only whitespace.
    #[error("topic is blank")]
    BlankTopic,
    /// The topic is longer than 127 bytes; with a namespace the namespaced topic
    /// (`namespace%topic`) is checked too.
    #[error("topic is {len} characters long, the limit is {max}")]
    TopicTooLong {
        /// Length of the topic as checked.
        len: usize,
        /// The limit (`producer::validate::MAX_TOPIC_LEN`).
        max: usize,
    },
    /// The topic has a character outside `[%|a-zA-Z0-9_-]`, such as a space or a dot.
    #[error("topic {0:?} has characters outside [%|a-zA-Z0-9_-]")]
    TopicIllegalChars(String),
    /// The topic is one of the broker's own (`SCHEDULE_TOPIC_XXXX`, `RMQ_SYS_TRANS_HALF_TOPIC`,
    /// ...; see `producer::validate::NOT_ALLOWED_SEND_TOPICS`): the broker would answer
    /// `NO_PERMISSION`.
    #[error("topic {0:?} is a system topic that producers may not send to")]
    TopicNotAllowed(String),
    /// The body is empty (a batch: one of its messages has an empty body).
    #[error("message body is empty")]
    EmptyBody,
    /// The body is larger than `ProducerConfig::max_message_size` (checked before compression;
    /// in a batch, per message).
    #[error("message body is {size} bytes, the limit is {max}")]
    BodyTooLarge {
        /// The body's length in bytes.
        size: usize,
        /// `ProducerConfig::max_message_size`.
        max: usize,
    },
    /// A user property has a name RocketMQ uses itself (`TAGS`, `KEYS`, `UNIQ_KEY`, `DELAY`,
    /// ...; see `protocol::properties::is_reserved_property`): set tags, keys and delays with
    /// the [`ProducerRecord`](crate::ProducerRecord) builders instead.
    #[error("property {0:?} is reserved by RocketMQ and cannot be set as a user property")]
    ReservedProperty(String),
    /// A property name or value (tags and keys included) is empty or holds a 0x01/0x02
    /// separator, or a key holds a space (keys travel space-separated).
    #[error("property {name:?} is invalid: {reason}")]
    BadProperty {
        /// The property (`TAGS` and `KEYS` for tags and keys).
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The encoded properties (user properties, tags, keys and the ones the producer adds) are
    /// longer than the broker's 32767-byte limit.
    #[error("encoded properties are {size} bytes, the limit is {max}")]
    PropertiesTooLarge {
        /// Length of the encoded properties in bytes.
        size: usize,
        /// The limit (`producer::validate::MAX_PROPERTIES_LEN`).
        max: usize,
    },
    /// A [`Delay`](crate::Delay) of zero or less.
    #[error("invalid delay: {0}")]
    InvalidDelay(String),
    /// A [`SendBatch`](crate::SendBatch) without a message.
    #[error("a batch needs at least one message")]
    EmptyBatch,
    /// The messages of a batch name more than one topic.
    #[error("a batch must have one topic; found {first:?} and {other:?}")]
    MixedTopics {
        /// The first message's topic.
        first: String,
        /// The first topic that differs from it.
        other: String,
    },
    /// The messages of a batch do not all have the same
    /// [`with_wait_store_msg_ok`](crate::ProducerRecord::with_wait_store_msg_ok) value.
    #[error("a batch must have one WAIT value for all messages")]
    MixedWait,
    /// A message of a batch has a delay: send delayed messages one by one.
    #[error("messages in a batch cannot be delayed")]
    DelayInBatch,
    /// A transactional message with a delay: brokers cannot delay a half message.
    #[error("a transactional message cannot be delayed")]
    DelayInTransaction,
    /// The batch's topic is a retry topic (`%RETRY%...`).
    #[error("retry topics cannot be sent in a batch")]
    RetryTopicInBatch,
    /// The encoded batch is larger than `ProducerConfig::max_message_size`: split it with
    /// [`split_batch`](crate::producer::batch::split_batch) (which refuses with this error a
    /// single message larger than its bound).
    #[error("the encoded batch is {size} bytes, the limit is {max}; split it (producer::batch::split_batch)")]
    BatchTooLarge {
        /// Length of the encoded batch (or of the one message) in bytes.
        size: usize,
        /// The limit it was checked against.
        max: usize,
    },
    /// [`SendMessage::to_queue`](crate::SendMessage::to_queue) (or
    /// [`SendBatch::to_queue`](crate::SendBatch::to_queue)) named a queue the topic's route does
    /// not list as writable. Found once the route is known, still before anything is sent; a
    /// given queue gets one attempt, so a send is not moved to another queue.
    #[error("queue {queue} is not a writable queue of topic {topic:?}")]
    UnknownQueue {
        /// The topic of the send.
        topic: String,
        /// The queue asked for, as `topic:broker:queue_id`.
        queue: String,
    },
}

/// Why a topic route could not be had from the name servers.
///
/// A send reports it as [`SendError::Route`] (kind [`SendErrorKind::Transient`], unless it is a
/// TLS trust failure): nothing went to any broker, so nothing is stored. The producer does not
/// ask again within the same send (every send waiting for that topic's route gets the same
/// error), so resend later. A topic the name servers do not know is not a `RouteError`: the
/// producer then uses the auto-create template (`create_topic_key`), and a send ends with
/// [`SendError::NoRoute`] when that has no writable queue either.
///
/// ```
/// use actix_rocketmq::{RemotingError, RouteError, SendError};
///
/// fn explain(e: &SendError) -> Option<String> {
///     let SendError::Route { topic, source } = e else { return None };
///     Some(match source {
///         RouteError::Remoting(RemotingError::NoNameServer) => format!("{topic}: no name server address known yet"),
///         RouteError::Remoting(e) => format!("{topic}: no name server answered ({e})"),
///         RouteError::NameServer { code, name, .. } => format!("{topic}: the name server answered {code} ({name})"),
///         RouteError::BadRoute(e) => format!("{topic}: unreadable route ({e})"),
///     })
/// }
///
/// let e = SendError::Route { topic: "orders".into(), source: RouteError::Remoting(RemotingError::NoNameServer) };
/// assert_eq!(explain(&e).as_deref(), Some("orders: no name server address known yet"));
/// assert!(e.is_retryable() && !e.may_have_been_stored());
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RouteError {
    /// No name server answered: each known one was tried once, moving to the next on a
    /// transport error, within `ClientConfig::request_timeout` (or what was left of the send's
    /// budget); or none is known ([`RemotingError::NoNameServer`]). Worth a retry later (a TLS
    /// trust failure excepted).
    #[error(transparent)]
    Remoting(#[from] RemotingError),
    /// A name server answered with an error code other than `TOPIC_NOT_EXIST` (e.g.
    /// `SYSTEM_ERROR`). Worth a retry later.
    #[error("name server answered {code} ({name}): {remark}")]
    NameServer {
        /// The response code.
        code: i32,
        /// Its name in RocketMQ's `ResponseCode` (`UNKNOWN` for a code this crate does not know).
        name: &'static str,
        /// The name server's remark, as sent.
        remark: String,
    },
    /// The name server's route data could not be read. Counted as passing
    /// ([`SendErrorKind::Transient`]), but a retry only helps once the name server's answer
    /// changes.
    #[error("unreadable route: {0}")]
    BadRoute(#[from] ProtocolError),
}

/// Why a producer (or its client instance) could not start or stop.
///
/// The answer of [`Start`](crate::Start), [`Producer::spawn`](crate::Producer::spawn) and
/// [`Producer::supervised`](crate::Producer::supervised). A start talks to no broker and no
/// name server (only to the address endpoint, if one is configured): a cluster that is down
/// shows up at the first send, not here. Except after `DuplicateGroup`, a producer whose start
/// failed stays `START_FAILED` and cannot be started again: build a new one.
///
/// ```
/// use actix_rocketmq::{ConfigError, Producer, ProducerConfig, StartError};
///
/// fn advice(e: &StartError) -> &'static str {
///     match e {
///         StartError::Config(_) => "fix the configuration, then build a new producer",
///         StartError::WrongState(_) => "this producer was started before: keep it, or build a new one",
///         StartError::DuplicateGroup { .. } => "this group already runs here: reuse that producer",
///         StartError::InstanceShutDown(_) => "the client instance was closing: build a new producer",
///         StartError::Remoting(_) => "the address endpoint failed: build a new producer later",
///     }
/// }
///
/// #[actix::main]
/// async fn main() {
///     // Refused by the configuration check, before any network work.
///     let err = Producer::spawn(ProducerConfig::new("", "127.0.0.1:9876")).await.unwrap_err();
///     assert_eq!(err, StartError::Config(ConfigError::BlankGroup));
///     assert_eq!(advice(&err), "fix the configuration, then build a new producer");
/// }
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StartError {
    /// [`Start`](crate::Start) reached a producer that is not in `CREATE_JUST`: it runs already,
    /// its start failed before (`START_FAILED`), or it was shut down. A producer starts once: not
    /// worth a retry (a running producer is fine as it is; otherwise build a new one).
    #[error("the producer is {0}, it can only be started from CREATE_JUST")]
    WrongState(ServiceState),
    /// The configuration cannot work (see [`ConfigError`]); the producer is left `START_FAILED`.
    /// Not worth a retry: fix the configuration and build a new producer.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Another live producer of this process already registered `group` in the same client
    /// instance (same client id), as Java refuses a second producer of one group. Nothing was
    /// changed and the producer is back in `CREATE_JUST`: `Start` may be sent again once the
    /// other producer has shut down. Otherwise reuse that producer, or give this one another
    /// group or `instance_name`.
    #[error("producer group {group:?} is already registered in client instance {client_id}")]
    DuplicateGroup {
        /// The group, as brokers see it (namespace included).
        group: String,
        /// The client instance it is registered in.
        client_id: String,
    },
    /// The client instance was shutting down (its last producer had just left) and a few quick
    /// tries did not get a fresh one. The producer is left `START_FAILED`; a new producer started
    /// a moment later gets a fresh instance.
    #[error("client instance {0} has shut down")]
    InstanceShutDown(String),
    /// The name server address endpoint (`ClientConfig::namesrv_endpoint`) could not be fetched
    /// at start ([`RemotingError::Endpoint`]), or an actor the start needed was gone
    /// ([`RemotingError::ActorGone`]). The producer is left `START_FAILED`; build a new one once
    /// the endpoint answers.
    #[error(transparent)]
    Remoting(#[from] RemotingError),
}

/// Whether the broker may hold the message of a failed send.
///
/// The line is the socket: a request handed to a broker connection may have been stored even if
/// no answer ever came back (the connection died, or the reply was late), so a resend may store it
/// twice. A request refused before that point was never seen by any broker.
///
/// [`SendError::Remoting`], [`SendError::Timeout`] and [`SendError::Stopped`] carry it;
/// [`SendError::delivery`] gives it for every error. It covers every attempt of the send: when
/// one attempt went unanswered, a failed send reports `Unknown` whatever later attempts came to. Like
/// Java's, the producer itself retries after an unanswered attempt (within
/// `retry_times_when_send_failed` and the send's budget), so even a send that ends in a
/// [`SendResult`](crate::SendResult) may have left a second copy behind; consumers that must not
/// see one twice deduplicate by key or message id.
///
/// ```
/// use std::time::Duration;
/// use actix_rocketmq::{Delivery, SendError};
///
/// fn after_failure(e: &SendError) -> &'static str {
///     match e.delivery() {
///         Delivery::NotSent if e.is_retryable() => "no broker holds it: resend",
///         Delivery::NotSent => "no broker holds it, and resending fails again: fix it",
///         Delivery::Unknown => "a broker may hold it: resend only if consumers deduplicate",
///     }
/// }
///
/// let waited = SendError::Timeout { budget: Duration::from_secs(3), attempts: 0, delivery: Delivery::NotSent };
/// assert_eq!(after_failure(&waited), "no broker holds it: resend");
/// let unanswered = SendError::Timeout { budget: Duration::from_secs(3), attempts: 1, delivery: Delivery::Unknown };
/// assert_eq!(after_failure(&unanswered), "a broker may hold it: resend only if consumers deduplicate");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// No attempt reached a broker connection: no broker holds the message, and a resend cannot
    /// store it twice.
    NotSent,
    /// An attempt was written to a broker connection and its outcome never came back: the broker
    /// may hold the message, and a resend may store it twice.
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
///
/// Only `OutcomeUnknown` may have been stored; [`SendError::is_retryable`] is true for
/// `Transient` and `OutcomeUnknown`.
///
/// ```
/// use actix_rocketmq::{SendError, SendErrorKind};
///
/// let full = SendError::Full { messages: 1024, bytes: 1 << 20 };
/// let resend = match full.kind() {
///     // Not stored: back off a little, then resend.
///     SendErrorKind::Transient => true,
///     // Maybe stored: resend only if consumers deduplicate.
///     SendErrorKind::OutcomeUnknown => false,
///     // Resending as is fails again.
///     SendErrorKind::InvalidInput | SendErrorKind::Config | SendErrorKind::NotRunning => false,
/// };
/// assert!(resend);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SendErrorKind {
    /// The message or the call is wrong (validation, an unknown queue, a selector that chose
    /// nothing, a broker calling the message illegal): sending it again fails again. Not
    /// stored; do not retry, fix the message.
    InvalidInput,
    /// The cluster is not set up for this send: no route for the topic and no auto-create
    /// template, refused credentials or permissions, topic missing on the broker, a TLS trust
    /// failure. Not stored; fix the deployment before resending.
    Config,
    /// The producer does not take sends (not started, shut down, or stopped). Not stored; do not
    /// resend to this producer (start it, or hand the message to another one).
    NotRunning,
    /// Not stored, and worth another try later: full in-flight budget, a busy broker, a transport
    /// failure before the request was written, a budget that ran out before any write.
    Transient,
    /// The request reached a broker connection and its outcome is unknown: the broker may hold
    /// the message, so a resend may duplicate it. Resend only if consumers deduplicate (by key or
    /// message id), or check first whether the message arrived.
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
///
/// The variants carry the details, for logs and metrics:
///
/// ```
/// use actix_rocketmq::{Delivery, RemotingError, SendError};
///
/// fn log_line(err: &SendError) -> String {
///     match err {
///         SendError::Broker { broker, code, name, .. } => format!("{broker} refused it with {code} ({name})"),
///         SendError::Auth { broker, refusal, .. } => format!("{broker} refused our credentials: {refusal}"),
///         SendError::Remoting { attempts, source, delivery } => format!("{attempts} attempt(s), {delivery}: {source}"),
///         SendError::Timeout { budget, delivery, .. } => format!("no outcome within {budget:?}, {delivery}"),
///         other => other.to_string(),
///     }
/// }
///
/// let lost = SendError::Remoting {
///     attempts: 1,
///     source: RemotingError::ConnectionClosed { addr: "10.0.0.7:10911".into() },
///     delivery: Delivery::Unknown,
/// };
/// assert_eq!(log_line(&lost), "1 attempt(s), outcome unknown, the broker may hold it: connection to 10.0.0.7:10911 closed");
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SendError {
    /// The message was refused before anything was sent (see [`ValidationError`]): a check of the
    /// message or batch failed, a transactional message had a delay, or a given queue is not in
    /// the topic's route. Not stored; do not retry, fix the message (kind `InvalidInput`).
    #[error("invalid message: {0}")]
    Invalid(#[from] ValidationError),
    /// The producer was not running when the send arrived (`CREATE_JUST` before
    /// [`Start`](crate::Start), `SHUTDOWN_ALREADY` once [`Shutdown`](crate::Shutdown) was asked,
    /// `START_FAILED`), or lost its client instance before it could make an attempt (a supervised
    /// restart that could not rejoin, the end of a shutdown). Nothing of this send was written
    /// (had an earlier attempt gone unanswered, that attempt's error is reported instead). Do not
    /// resend to this producer: start it, or hand the message to another one (kind
    /// `NotRunning`).
    #[error("the producer is {0}, not RUNNING")]
    NotRunning(ServiceState),
    /// The name servers know no writable queue for the topic on a broker with a master, and the
    /// auto-create template (`create_topic_key`, `TBW102`) has none either: the topic does not
    /// exist and the brokers do not create topics (`autoCreateTopicEnable=false`), or it is not
    /// writable. Also when the queue chosen lives on a broker whose master is not in the route
    /// (master down). Nothing sent; the producer does not retry it. Create the topic, or fix its
    /// permissions, then resend (kind `Config`).
    #[error("no route info for topic {topic:?}: neither the topic nor the auto-create template has writable queues")]
    NoRoute {
        /// The topic as the user named it.
        topic: String,
    },
    /// The name servers could not be asked for the topic's route (see [`RouteError`]). Nothing
    /// sent to any broker; every send waiting for that route ends with it, without a retry.
    /// Resend later (kind `Transient`; `Config` for a TLS trust failure).
    #[error("route lookup for topic {topic:?} failed: {source}")]
    Route {
        /// The topic as the user named it.
        topic: String,
        /// Why the lookup failed.
        source: RouteError,
    },
    /// The broker refused the request's credentials or their permissions (code 16 from its
    /// authentication or authorization chain): not stored, and not retried (every broker asks
    /// the same users and policies). Fix the credentials or the ACL before resending (kind
    /// `Config`).
    #[error("broker {broker} refused the credentials: {refusal} ({remark})")]
    Auth {
        /// The broker's name.
        broker: String,
        /// What was refused, read from the remark.
        refusal: AuthRefusal,
        /// The broker's remark, as sent.
        remark: String,
    },
    /// The broker answered with an error code: it did not store the message. Codes in
    /// `ProducerConfig::retry_response_codes` were already retried on other brokers while
    /// attempts and budget lasted; `GO_AWAY` was also resent once on a fresh connection first.
    /// What is left to do depends on the code ([`SendError::kind`]): `MESSAGE_ILLEGAL` is
    /// `InvalidInput`; `NO_PERMISSION` (a topic not writable), `TOPIC_NOT_EXIST`,
    /// `NOT_IN_CURRENT_UNIT` and `NO_BUYER_ID` are `Config`; any other (`SYSTEM_BUSY`,
    /// `SERVICE_NOT_AVAILABLE`, `SYSTEM_ERROR`, `GO_AWAY`, ...) is `Transient`: resend later.
    #[error("broker {broker} answered {code} ({name}): {remark}")]
    Broker {
        /// The broker's name.
        broker: String,
        /// The response code.
        code: i32,
        /// Its name in RocketMQ's `ResponseCode` (`UNKNOWN` for a code this crate does not know).
        name: &'static str,
        /// The broker's remark, as sent.
        remark: String,
    },
    /// The transport failed (see [`RemotingError`]): the broker could not be reached, the
    /// connection broke, or an internal actor was gone. The producer already retried on other
    /// brokers while attempts and budget lasted (a TLS trust failure excepted). With
    /// `delivery: NotSent` nothing was stored: resend (kind `Transient`). With `Unknown` a
    /// request was written and never answered, so the broker may hold the message (kind
    /// `OutcomeUnknown`).
    #[error("send failed after {attempts} attempt(s), {delivery}: {source}")]
    Remoting {
        /// Attempts written to a broker connection (0: none got that far).
        attempts: u32,
        /// The transport failure reported: that of an unanswered attempt if there was one,
        /// else the last.
        source: RemotingError,
        /// Whether the broker may hold the message.
        delivery: Delivery,
    },
    /// The send's budget (`send_msg_timeout`, or its own timeout) ran out: waiting for room in
    /// the in-flight budget, waiting for a broker's reply, or between attempts; or the drain
    /// deadline of a [`Shutdown`](crate::Shutdown) passed first. With `delivery: NotSent` no
    /// attempt was left unanswered: resend (kind `Transient`). With `Unknown` the broker may hold
    /// the message (kind `OutcomeUnknown`).
    #[error("send did not finish within {budget:?} ({attempts} attempt(s), {delivery})")]
    Timeout {
        /// The send's total budget, retries included.
        budget: Duration,
        /// Attempts written to a broker connection.
        attempts: u32,
        /// Whether the broker may hold the message.
        delivery: Delivery,
    },
    /// The broker answered success but its reply could not be read: it holds the message. The
    /// producer does not retry it; a resend stores it twice (kind `OutcomeUnknown`).
    #[error("broker reply could not be read: {0}")]
    BadReply(ProtocolError),
    /// The producer's actor stopped for good before the send ended: it was stopped without a
    /// supervisor ([`Restart`](crate::Restart), or a fatal error such as its client instance
    /// dying), its last address was dropped, or the actix `System` went down. (Under a
    /// supervisor a restart ends no send: they go on after it.) `delivery` says whether an
    /// attempt was on the wire: with `NotSent`, resend through another producer (kind
    /// `Transient`); with `Unknown` the broker may hold the message (kind `OutcomeUnknown`).
    #[error("the producer stopped before the send ended ({delivery})")]
    Stopped {
        /// Whether the broker may hold the message.
        delivery: Delivery,
    },
    /// An actix mailbox failure talking to the producer (the `?` on `addr.send(..)`, or a
    /// [`ProducerExt`](crate::ProducerExt) helper): its actor is gone, or a `.timeout(..)` set on
    /// the request ran out. Whether the producer had accepted the send cannot be told, so it may
    /// have been stored (kind `OutcomeUnknown`).
    #[error("the producer actor is unreachable ({0})")]
    Mailbox(String),
    /// The in-flight budget is full (only [`TrySendMessage`](crate::TrySendMessage) gets this):
    /// `max_inflight_messages` or `max_inflight_bytes` reached. Nothing sent; resend once some
    /// sends have ended, or use [`SendMessage`](crate::SendMessage), which waits for room (kind
    /// `Transient`).
    #[error("the producer's in-flight budget is full ({messages} messages, {bytes} bytes in flight)")]
    Full {
        /// Sends holding room in the budget.
        messages: usize,
        /// Body bytes they hold.
        bytes: usize,
    },
    /// The chosen broker's release cannot carry out what the message asks, so it was not sent:
    /// a timer delay ([`Delay::Seconds`](crate::producer::Delay::Seconds), `Millis`,
    /// `DeliverAt`) needs a 5.0 or later broker; a 4.x broker answers `SEND_OK` and delivers the
    /// message at once. The producer learns a broker's release from its heartbeat answer (asking
    /// before the first timer message to it) and tried its other brokers while attempts and
    /// budget lasted. Use a delay level, or a topic on 5.x brokers (kind `Config`).
    #[error("broker {broker} ({addr}) runs RocketMQ {version}: {needs}; not sent")]
    BrokerTooOld {
        /// The broker's name.
        broker: String,
        /// The address it was reached at.
        addr: String,
        /// The release it reported.
        version: BrokerVersion,
        /// What the message needs, in words.
        needs: &'static str,
    },
    /// The user's [`MessageQueueSelector`](crate::producer::MessageQueueSelector) chose no queue
    /// (`None`, or an index past the topic's queues). Nothing sent, not retried: a selector
    /// chooses once (kind `InvalidInput`).
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
            SendError::NoRoute { .. } | SendError::Auth { .. } | SendError::BrokerTooOld { .. } => SendErrorKind::Config,
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
