//! The user's message, and the send result.

use std::fmt;

use bytes::Bytes;

use crate::protocol::route::MessageQueue;

/// A message to publish: topic, body, tags, keys and user properties.
///
/// Named `ProducerRecord` so it never shadows `actix::Message`.
///
/// ```
/// use actix_rocketmq::ProducerRecord;
/// let rec = ProducerRecord::new("orders", "hello")
///     .with_tags("created")
///     .with_keys(["order-1", "customer-7"])
///     .with_property("region", "eu");
/// assert_eq!(rec.keys(), ["order-1", "customer-7"]);
/// assert_eq!(rec.property("region"), Some("eu"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ProducerRecord {
    topic: String,
    body: Bytes,
    tags: Option<String>,
    keys: Vec<String>,
    properties: Vec<(String, String)>,
    flag: i32,
    wait_store_msg_ok: bool,
}

impl ProducerRecord {
    /// A message for `topic` with `body`.
    pub fn new(topic: impl Into<String>, body: impl Into<Bytes>) -> Self {
        ProducerRecord {
            topic: topic.into(),
            body: body.into(),
            tags: None,
            keys: Vec::new(),
            properties: Vec::new(),
            flag: 0,
            wait_store_msg_ok: true,
        }
    }

    /// Sets the tag (RocketMQ has one tag per message).
    pub fn with_tags(mut self, tags: impl Into<String>) -> Self {
        self.tags = Some(tags.into());
        self
    }

    /// Adds one key (keys are indexed by the broker for lookups).
    pub fn with_key(mut self, key: impl Into<String>) -> Self {
        self.keys.push(key.into());
        self
    }

    /// Adds several keys.
    pub fn with_keys<I, S>(mut self, keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.keys.extend(keys.into_iter().map(Into::into));
        self
    }

    /// Sets a user property (replacing a previous value). Reserved names are refused at send.
    pub fn with_property(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let name = name.into();
        let value = value.into();
        match self.properties.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => self.properties.push((name, value)),
        }
        self
    }

    /// Sets the opaque integer `flag` the broker stores untouched.
    pub fn with_flag(mut self, flag: i32) -> Self {
        self.flag = flag;
        self
    }

    /// Whether the broker should answer only after storing (the `WAIT` property, default true).
    pub fn with_wait_store_msg_ok(mut self, wait: bool) -> Self {
        self.wait_store_msg_ok = wait;
        self
    }

    /// Target topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }
    /// Body as given (uncompressed).
    pub fn body(&self) -> &Bytes {
        &self.body
    }
    /// The tag, if any.
    pub fn tags(&self) -> Option<&str> {
        self.tags.as_deref()
    }
    /// The keys.
    pub fn keys(&self) -> &[String] {
        &self.keys
    }
    /// A user property.
    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
    /// All user properties, in insertion order.
    pub fn properties(&self) -> &[(String, String)] {
        &self.properties
    }
    /// The user flag.
    pub fn flag(&self) -> i32 {
        self.flag
    }
    /// The `WAIT` value.
    pub fn wait_store_msg_ok(&self) -> bool {
        self.wait_store_msg_ok
    }
}

/// How the broker stored a message (Java `SendStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendStatus {
    /// Stored (and flushed/replicated as the broker is configured to wait for).
    SendOk,
    /// Stored, but the synchronous disk flush timed out.
    FlushDiskTimeout,
    /// Stored, but the synchronous replication to the slave timed out.
    FlushSlaveTimeout,
    /// Stored, but no slave is available for synchronous replication.
    SlaveNotAvailable,
}

impl fmt::Display for SendStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SendStatus::SendOk => "SEND_OK",
            SendStatus::FlushDiskTimeout => "FLUSH_DISK_TIMEOUT",
            SendStatus::FlushSlaveTimeout => "FLUSH_SLAVE_TIMEOUT",
            SendStatus::SlaveNotAvailable => "SLAVE_NOT_AVAILABLE",
        })
    }
}

/// What a successful send returns.
///
/// `msg_id` is the client id (`UNIQ_KEY`) users search by; `offset_msg_id` encodes the broker's
/// store address and commit-log offset.
#[derive(Debug, Clone, PartialEq)]
pub struct SendResult {
    pub status: SendStatus,
    pub msg_id: String,
    pub offset_msg_id: String,
    pub message_queue: MessageQueue,
    pub queue_offset: i64,
    pub transaction_id: Option<String>,
    pub region_id: String,
    pub trace_on: bool,
}

impl fmt::Display for SendResult {
    /// The layout of Java's `SendResult.toString()`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SendResult [sendStatus={}, msgId={}, offsetMsgId={}, messageQueue=MessageQueue [topic={}, brokerName={}, queueId={}], queueOffset={}, recallHandle=null]",
            self.status,
            self.msg_id,
            self.offset_msg_id,
            self.message_queue.topic,
            self.message_queue.broker_name,
            self.message_queue.queue_id,
            self.queue_offset
        )
    }
}
