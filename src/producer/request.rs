//! Request-reply (Java `DefaultMQProducer#request` and `MessageUtil#createReplyMessage`).
//!
//! A [`Request`] is an ordinary send carrying `CORRELATION_ID`, `REPLY_TO_CLIENT` (this
//! producer's client id) and `TTL`. Before it is sent, the client instance is told to route the
//! reply with that correlation id to the caller ([`AwaitReply`]); the broker pushes the reply
//! on the connection this client's heartbeat registered, and the instance hands it over. A
//! reply that comes after its request timed out finds nobody and is dropped; the table entry
//! is removed when the request ends either way (and swept every second in case a caller
//! vanished).
//!
//! The client id is what the broker routes replies by: give each process that sends requests
//! its own `ClientConfig::instance_name` if several processes on one host share a pid-based
//! default (containers), or the broker pushes one's replies to another.

use std::fmt;
use std::time::{Duration, Instant};

use actix::prelude::*;
use bytes::Bytes;
use tokio::sync::oneshot;

use super::actor::Producer;
use super::queue_select::Target;
use super::record::ProducerRecord;
use super::send::expect_reply;
use crate::client::peer::{AwaitReply, ForgetReply};
use crate::error::{SendError, ServiceState};
use crate::protocol::properties::names;
use crate::protocol::reply::{ReplyAddress, ReplyMessage};
use crate::protocol::ProtocolError;

/// Send `record` as a request and wait for its reply, at most `timeout` in all (the send and
/// the wait; the broker also gets it as the request's `TTL`).
///
/// ```no_run
/// use std::time::Duration;
/// use actix_rocketmq::{Producer, ProducerConfig, ProducerRecord};
/// use actix_rocketmq::producer::Request;
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let producer = Producer::spawn(ProducerConfig::new("rpc_clients", "127.0.0.1:9876")).await?;
/// let reply = producer.send(Request::new(ProducerRecord::new("prices", "BTC"), Duration::from_secs(3))).await??;
/// println!("{}", String::from_utf8_lossy(&reply.body));
/// # Ok(()) }
/// ```
#[derive(Message, Debug, Clone)]
#[rtype(result = "Result<ReplyMessage, RequestFailure>")]
pub struct Request {
    /// The request message.
    pub record: ProducerRecord,
    /// Budget of the send and the wait for the reply together; also the request's `TTL`.
    pub timeout: Duration,
    /// Where it goes (round robin by default).
    pub target: Target,
}

impl Request {
    /// A request of `record` that waits at most `timeout` for its reply.
    pub fn new(record: ProducerRecord, timeout: Duration) -> Self {
        Request { record, timeout, target: Target::Auto }
    }

    /// Every request with this key goes to the same queue (as [`crate::SendMessage::ordered_by_key`]).
    pub fn ordered_by_key(mut self, key: impl Into<String>) -> Self {
        self.target = Target::Selected { selector: std::sync::Arc::new(super::queue_select::SelectByHash), arg: key.into() };
        self
    }
}

/// Why a [`Request`] got no reply.
///
/// ```
/// use std::time::Duration;
/// use actix_rocketmq::producer::RequestError;
///
/// fn may_ask_again(e: &RequestError) -> bool {
///     match e {
///         // Not sent, or maybe stored: the same rules as for any send.
///         RequestError::Send(e) => e.is_retryable() && !e.may_have_been_stored(),
///         // The request was stored and may still be served: asking again may do the work twice.
///         RequestError::NoReply { .. } => false,
///     }
/// }
/// let late = RequestError::NoReply { correlation_id: "9f1c".into(), after: Duration::from_secs(3) };
/// assert!(!may_ask_again(&late));
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RequestError {
    /// The request itself could not be sent (its `delivery` says whether the broker may hold it).
    #[error("request not sent: {0}")]
    Send(#[from] SendError),
    /// The request was stored, but no reply came within the timeout (Java's
    /// `RequestTimeoutException`, code 10006). A reply arriving later is dropped.
    #[error("no reply to request {correlation_id} within {after:?}")]
    NoReply {
        /// The request's `CORRELATION_ID`.
        correlation_id: String,
        /// The request's timeout.
        after: Duration,
    },
}

/// A failed [`Request`], with the message handed back.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestFailure {
    /// Why it failed.
    pub error: RequestError,
    /// The request message as the caller gave it.
    pub returned: ProducerRecord,
}

impl fmt::Display for RequestFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for RequestFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// Where a reply to a request goes, read from the request as any consumer received it; build
/// the reply with [`ReplyTo::record`] and send it with any send of this crate's producer.
///
/// ```
/// use actix_rocketmq::producer::ReplyTo;
/// // The properties of a request as a consumer got it (the broker added CLUSTER).
/// let request = [("CLUSTER", "DefaultCluster"), ("REPLY_TO_CLIENT", "10.0.0.5@4711"),
///                ("CORRELATION_ID", "9f1c"), ("TTL", "3000"), ("TAGS", "price")];
/// let to = ReplyTo::from_properties(request.iter().copied()).unwrap();
/// let reply = to.record("42.0");
/// assert_eq!(reply.topic(), "DefaultCluster_REPLY_TOPIC");
/// assert!(reply.is_reply());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyTo(ReplyAddress);

impl ReplyTo {
    /// Reads the reply's address from the request's properties: `CLUSTER` (added by the broker
    /// that stored the request), `REPLY_TO_CLIENT`, `CORRELATION_ID` and `TTL`. A missing one
    /// is named in the error: the request did not come from a requester, or its broker is
    /// older than 4.6.
    pub fn from_properties<'a>(props: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self, ProtocolError> {
        ReplyAddress::from_properties(props).map(ReplyTo)
    }

    /// The same, from a request as the broker stores it.
    pub fn from_stored(request: &crate::protocol::stored::StoredMessage) -> Result<Self, ProtocolError> {
        Self::from_properties(request.properties.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    /// The requester's correlation id.
    pub fn correlation_id(&self) -> &str {
        &self.0.correlation_id
    }

    /// The reply: `body` to the cluster's reply topic, with the properties that route it back.
    /// Add tags, keys or properties as to any record. It goes as SEND_REPLY_MESSAGE_V2.
    pub fn record(&self, body: impl Into<Bytes>) -> ProducerRecord {
        self.0
            .reply_properties()
            .into_iter()
            .fold(ProducerRecord::new(self.0.topic(), body), |r, (name, value)| r.with_system_property(name, value))
    }
}

/// A random correlation id in UUID form (Java `CorrelationIdUtil#createCorrelationId`).
fn correlation_id() -> String {
    let (a, b) = (fastrand::u64(..), fastrand::u64(..));
    format!("{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}", a >> 32, (a >> 16) & 0xffff, a & 0xfff, (b >> 48) & 0x3fff | 0x8000, b & 0xffff_ffff_ffff)
}

impl Handler<Request> for Producer {
    type Result = ResponseFuture<Result<ReplyMessage, RequestFailure>>;

    fn handle(&mut self, msg: Request, ctx: &mut Context<Self>) -> Self::Result {
        let Request { record, timeout, target } = msg;
        let Some(membership) = self.membership.as_ref().filter(|_| self.state == ServiceState::Running) else {
            let refused = SendError::NotRunning(self.state);
            self.ledger.refused(record.topic(), false, &refused);
            let error = RequestError::Send(refused);
            return Box::pin(async move { Err(RequestFailure { error, returned: record }) });
        };
        let instance = membership.instance.clone();
        let client_id = membership.handle.client_id.clone();
        let id = correlation_id();
        let deadline = Instant::now() + timeout;
        let ttl = timeout.as_millis().to_string();
        // Registered before the request is written, so even an instant reply finds its waiter
        // (the instance's mailbox takes this before any push for the request can arrive).
        let (tx, rx) = oneshot::channel();
        instance.do_send(AwaitReply { correlation_id: id.clone(), deadline, tx });
        let plan = self.sync_plan(target);
        let props = [(names::CORRELATION_ID, id.clone()), (names::REPLY_TO_CLIENT, client_id), (names::TTL, ttl)];
        let sent: ResponseFuture<_> = self.submit(
            record.clone(),
            move |enc, r| {
                let system: Vec<(&'static str, &str)> = props.iter().map(|(n, v)| (*n, v.as_str())).collect();
                enc.single_with(r, &system, 0)
            },
            plan,
            Some(timeout),
            expect_reply,
            ctx,
        );
        Box::pin(async move {
            if let Err(f) = sent.await {
                instance.do_send(ForgetReply(id));
                return Err(RequestFailure { error: RequestError::Send(f.error), returned: f.returned });
            }
            match tokio::time::timeout_at(deadline.into(), rx).await {
                Ok(Ok(reply)) => Ok(reply),
                _ => {
                    instance.do_send(ForgetReply(id.clone()));
                    Err(RequestFailure { error: RequestError::NoReply { correlation_id: id, after: timeout }, returned: record })
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn correlation_ids_look_like_uuids_and_differ() {
        let a = correlation_id();
        assert_eq!(a.len(), 36);
        assert_eq!(a.matches('-').count(), 4);
        assert_ne!(a, correlation_id());
    }

    #[test]
    fn a_reply_record_routes_back_and_cannot_be_forged_by_users() {
        let to = ReplyTo::from_properties([("CLUSTER", "C"), ("REPLY_TO_CLIENT", "ip@1"), ("CORRELATION_ID", "x")]).unwrap();
        let r = to.record("b");
        let props: Vec<_> = r.system_properties().collect();
        assert!(props.contains(&("MSG_TYPE", "reply")) && props.contains(&("CORRELATION_ID", "x")));
        assert!(!ProducerRecord::new("t", "b").with_property("MSG_TYPE", "reply").is_reply());
        assert!(ReplyTo::from_properties([("REPLY_TO_CLIENT", "ip@1"), ("CORRELATION_ID", "x")]).is_err());
    }
}
