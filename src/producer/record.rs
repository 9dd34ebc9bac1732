//! The user's message, and the send result.

use std::fmt;

use bytes::Bytes;

use crate::protocol::properties::{names, PropertySink, PropertyWriter};
use crate::name::{SharedName, TopicName};
use crate::protocol::route::MessageQueue;

/// When the broker should deliver a message (4.x delay levels and 5.x timer delivery).
///
/// ```
/// use actix_rocketmq::{ProducerRecord, producer::Delay};
/// let rec = ProducerRecord::new("t", "x").with_delay(Delay::Millis(1500));
/// assert_eq!(rec.delay(), Some(Delay::Millis(1500)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delay {
    /// A broker delay level (`DELAY`, 1..=18 with the default broker table).
    Level(i32),
    /// 5.x timer: deliver after this many seconds (`TIMER_DELAY_SEC`).
    Seconds(i64),
    /// 5.x timer: deliver after this many milliseconds (`TIMER_DELAY_MS`).
    Millis(i64),
    /// 5.x timer: deliver at this wall-clock time, ms since the epoch (`TIMER_DELIVER_MS`).
    DeliverAt(i64),
}

/// The longest name a [`Delay`] travels under (see [`Delay::property`]).
const DELAY_NAME_MAX: usize = {
    let lens = [names::DELAY.len(), names::TIMER_DELAY_SEC.len(), names::TIMER_DELAY_MS.len(), names::TIMER_DELIVER_MS.len()];
    let (mut i, mut max) = (0, 0);
    while i < lens.len() {
        if lens[i] > max {
            max = lens[i];
        }
        i += 1;
    }
    max
};

impl Delay {
    /// The property carrying this delay, and its value.
    pub fn property(&self) -> (&'static str, String) {
        match *self {
            Delay::Level(l) => (names::DELAY, l.to_string()),
            Delay::Seconds(s) => (names::TIMER_DELAY_SEC, s.to_string()),
            Delay::Millis(ms) => (names::TIMER_DELAY_MS, ms.to_string()),
            Delay::DeliverAt(at) => (names::TIMER_DELIVER_MS, at.to_string()),
        }
    }

    /// Whether this is a 5.x timer delay (`Seconds`, `Millis`, `DeliverAt`), which a 4.x broker
    /// ignores; the producer refuses to send one to such a broker
    /// ([`SendError::BrokerTooOld`](crate::SendError::BrokerTooOld)).
    ///
    /// ```
    /// use actix_rocketmq::producer::Delay;
    /// assert!(Delay::Seconds(10).is_timer());
    /// assert!(!Delay::Level(3).is_timer());
    /// ```
    pub fn is_timer(&self) -> bool {
        !matches!(self, Delay::Level(_))
    }

    /// Refuses zero and negative delays (the broker would deliver at once or misbehave).
    pub fn validate(&self) -> Result<(), crate::error::ValidationError> {
        let ok = match *self {
            Delay::Level(l) => l > 0,
            Delay::Seconds(v) | Delay::Millis(v) | Delay::DeliverAt(v) => v > 0,
        };
        if ok {
            Ok(())
        } else {
            Err(crate::error::ValidationError::InvalidDelay(format!("{self:?} must be > 0")))
        }
    }
}

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
#[derive(Clone)]
pub struct ProducerRecord {
    topic: TopicName,
    body: Bytes,
    flag: i32,
    wait_store_msg_ok: bool,
    /// Tags, keys, properties and the delay, out of line and only once one is set. A record is
    /// moved several times on its way (into the message to the producer, into its batch or
    /// ledger entry, back in a failure): with these inline it was 176 bytes and every move a
    /// `memcpy` call; without, 64 (profiled on the auto-batching path: a tenth of its
    /// instructions were such moves).
    /// (The caller's span is one of them: without a subscriber there is none, and a record
    /// carries no field of its own to check and drop for it.)
    extras: Option<Box<Extras>>,
}

/// The parts of a record most records leave unset (see [`ProducerRecord`]'s `extras`).
#[derive(Debug, Clone, Default, PartialEq)]
struct Extras {
    tags: Option<String>,
    keys: Vec<String>,
    properties: Vec<(String, String)>,
    delay: Option<Delay>,
    /// Properties only this crate sets (a reply's routing properties, see
    /// [`ReplyTo::record`](crate::producer::ReplyTo::record)); never user input.
    system: Vec<(&'static str, String)>,
    /// The span current where the record was made: the parent of the send's span.
    parent: CallerSpan,
}

/// What a record without [`Extras`] reads as.
static NO_EXTRAS: Extras =
    Extras { tags: None, keys: Vec::new(), properties: Vec::new(), delay: None, system: Vec::new(), parent: CallerSpan(None) };

impl PartialEq for ProducerRecord {
    /// Equal when every part is; a record whose extras were set to their empty values equals
    /// one that never had any.
    fn eq(&self, other: &Self) -> bool {
        self.topic == other.topic
            && self.body == other.body
            && self.flag == other.flag
            && self.wait_store_msg_ok == other.wait_store_msg_ok
            && self.extras() == other.extras()
    }
}

impl fmt::Debug for ProducerRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let x = self.extras();
        f.debug_struct("ProducerRecord")
            .field("topic", &self.topic)
            .field("body", &self.body)
            .field("tags", &x.tags)
            .field("keys", &x.keys)
            .field("properties", &x.properties)
            .field("flag", &self.flag)
            .field("wait_store_msg_ok", &self.wait_store_msg_ok)
            .field("delay", &x.delay)
            .field("system", &x.system)
            .field("parent", &x.parent)
            .finish()
    }
}

/// The caller's `tracing` span, carried along so a send's span joins the caller's trace (the
/// send runs later, in the producer actor, outside the caller's context). Not part of what a
/// record *is*: two records differing only here are equal. Kept with the [`Extras`], and only
/// when there is a span: a record made outside any span (or with no subscriber) has none.
#[derive(Clone, Debug, Default)]
struct CallerSpan(Option<tracing::Span>);

impl CallerSpan {
    /// `span`, unless it is the disabled span.
    fn of(span: tracing::Span) -> Option<tracing::Span> {
        (!span.is_none()).then_some(span)
    }

    /// The current span, if any. With no subscriber interested in any level (the max level
    /// filter is OFF) there can be no current span, and a relaxed load says so faster than the
    /// thread-local lookup of `Span::current` (a batch of 32 makes 32 records).
    fn current() -> Option<tracing::Span> {
        if tracing::level_filters::LevelFilter::current() == tracing::level_filters::LevelFilter::OFF {
            return None;
        }
        Self::of(tracing::Span::current())
    }
}

impl PartialEq for CallerSpan {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl ProducerRecord {
    /// A message for `topic` with `body`.
    pub fn new(topic: impl Into<TopicName>, body: impl Into<Bytes>) -> Self {
        ProducerRecord {
            topic: topic.into(),
            body: body.into(),
            flag: 0,
            wait_store_msg_ok: true,
            extras: CallerSpan::current().map(|span| Box::new(Extras { parent: CallerSpan(Some(span)), ..Extras::default() })),
        }
    }

    /// Makes `span` the parent of this send's `rocketmq.send` span, instead of the span that
    /// was current when the record was made.
    ///
    /// ```
    /// use actix_rocketmq::ProducerRecord;
    /// let request = tracing::info_span!("http_request", path = "/orders");
    /// let rec = ProducerRecord::new("orders", "o-1").with_parent_span(request);
    /// ```
    pub fn with_parent_span(mut self, span: tracing::Span) -> Self {
        let span = CallerSpan::of(span);
        // (no span on a record without extras needs no box to say so)
        if span.is_some() || !self.is_plain() {
            self.extras_mut().parent = CallerSpan(span);
        }
        self
    }

    /// The parent of this send's span.
    pub(crate) fn parent_span(&self) -> Option<&tracing::Span> {
        self.extras().parent.0.as_ref()
    }

    /// Sets the tag (RocketMQ has one tag per message).
    pub fn with_tags(mut self, tags: impl Into<String>) -> Self {
        self.extras_mut().tags = Some(tags.into());
        self
    }

    /// Adds one key (keys are indexed by the broker for lookups).
    pub fn with_key(mut self, key: impl Into<String>) -> Self {
        self.extras_mut().keys.push(key.into());
        self
    }

    /// Adds several keys.
    pub fn with_keys<I, S>(mut self, keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut keys = keys.into_iter().peekable();
        if keys.peek().is_some() {
            self.extras_mut().keys.extend(keys.map(Into::into));
        }
        self
    }

    /// Sets a user property (replacing a previous value). Reserved names are refused at send.
    pub fn with_property(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let name = name.into();
        let value = value.into();
        let properties = &mut self.extras_mut().properties;
        match properties.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => properties.push((name, value)),
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

    /// Delivers the message later (delay level or 5.x timer).
    pub fn with_delay(mut self, delay: Delay) -> Self {
        self.extras_mut().delay = Some(delay);
        self
    }

    /// Replaces the topic (used for namespaces and retries to another topic).
    pub fn with_topic(mut self, topic: impl Into<TopicName>) -> Self {
        self.topic = topic.into();
        self
    }

    /// Adds a property the user may not set (crate-internal builders only).
    pub(crate) fn with_system_property(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.extras_mut().system.push((name, value.into()));
        self
    }

    /// The properties set with [`ProducerRecord::with_system_property`].
    pub(crate) fn system_properties(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.extras().system.iter().map(|(n, v)| (*n, v.as_str()))
    }

    /// Whether this is a reply built by [`ReplyTo::record`](crate::producer::ReplyTo::record).
    pub fn is_reply(&self) -> bool {
        self.extras().system.iter().any(|(n, _)| *n == names::MSG_TYPE)
    }

    /// The delay, if any.
    pub fn delay(&self) -> Option<Delay> {
        self.extras().delay
    }

    /// Encodes the wire properties: user properties, then TAGS, KEYS, WAIT, the delay, the
    /// `UNIQ_KEY` and `extra` (e.g. `INSTANCE_ID`), into a string or a batch body.
    pub fn encode_properties<D: PropertySink>(&self, uniq_key: &str, extra: &[(&str, &str)], dst: &mut D) {
        // Written field by field (no joined keys, no iterator chain): this runs for every
        // message, 32 times per request in a batch of 32. WAIT and the UNIQ_KEY's name are
        // appended with their separators in one piece each.
        let mut w = PropertyWriter::new(dst);
        if self.is_plain() && !uniq_key.is_empty() {
            // Most messages: WAIT and the UNIQ_KEY's name go as one piece, then the id and
            // whatever the producer adds (the same bytes as the general path below).
            // (one call per literal: each then copies a length known when compiled, in a few
            // moves instead of a call to memcpy)
            if self.wait_store_msg_ok {
                w.put_after("WAIT\u{1}true\u{2}UNIQ_KEY\u{1}", uniq_key);
            } else {
                w.put_after("WAIT\u{1}false\u{2}UNIQ_KEY\u{1}", uniq_key);
            }
            for (n, v) in extra {
                w.put(n, v);
            }
            return;
        }
        let x = self.extras();
        for (n, v) in &x.properties {
            w.put(n, v);
        }
        if let Some(tags) = &x.tags {
            w.put(names::TAGS, tags);
        }
        if !x.keys.is_empty() {
            w.put_joined(names::KEYS, &x.keys, ' ');
        }
        w.put_entry(if self.wait_store_msg_ok { "WAIT\u{1}true\u{2}" } else { "WAIT\u{1}false\u{2}" });
        if let Some((name, value)) = x.delay.map(|d| d.property()) {
            w.put(name, &value);
        }
        w.put_after("UNIQ_KEY\u{1}", uniq_key);
        for (n, v) in extra {
            w.put(n, v);
        }
    }

    /// An upper bound of the length of [`encode_properties`](Self::encode_properties)' output
    /// with a `UNIQ_KEY` of at most `uniq_key_len` bytes, computed without encoding.
    pub(crate) fn properties_len_bound(&self, uniq_key_len: usize, extra: &[(&str, &str)]) -> usize {
        // Each entry adds its two separators.
        let entry = |n: usize, v: usize| n + v + 2;
        let extra: usize = extra.iter().map(|(n, v)| entry(n.len(), v.len())).sum();
        if self.is_plain() {
            // WAIT (at most "false") and the UNIQ_KEY: a batch bounds each of its messages.
            return entry(names::WAIT.len(), 5) + entry(names::UNIQ_KEY.len(), uniq_key_len) + extra;
        }
        let x = self.extras();
        let user: usize = x.properties.iter().map(|(n, v)| entry(n.len(), v.len())).sum();
        let keys: usize = x.keys.iter().map(|k| k.len() + 1).sum();
        // A delay's value is an i32 or i64: at most 20 characters.
        let delay = x.delay.map_or(0, |_| entry(DELAY_NAME_MAX, 20));
        user + entry(names::TAGS.len(), x.tags.as_ref().map_or(0, String::len))
            + entry(names::KEYS.len(), keys)
            + entry(names::WAIT.len(), 5)
            + delay
            + entry(names::UNIQ_KEY.len(), uniq_key_len)
            + extra
    }

    /// Target topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Target topic, shared.
    pub fn topic_name(&self) -> &TopicName {
        &self.topic
    }
    /// Body as given (uncompressed).
    pub fn body(&self) -> &Bytes {
        &self.body
    }
    /// The tag, if any.
    pub fn tags(&self) -> Option<&str> {
        self.extras().tags.as_deref()
    }
    /// The keys.
    pub fn keys(&self) -> &[String] {
        &self.extras().keys
    }
    /// A user property.
    pub fn property(&self, name: &str) -> Option<&str> {
        self.extras().properties.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
    /// All user properties, in insertion order.
    pub fn properties(&self) -> &[(String, String)] {
        &self.extras().properties
    }
    /// The user flag.
    pub fn flag(&self) -> i32 {
        self.flag
    }
    /// The `WAIT` value.
    pub fn wait_store_msg_ok(&self) -> bool {
        self.wait_store_msg_ok
    }

    /// True when it has none of the rare parts (tags, keys, properties, a delay, system
    /// properties, a caller's span): there is nothing in it to check but the body.
    pub(crate) fn is_plain(&self) -> bool {
        self.extras.is_none()
    }

    fn extras(&self) -> &Extras {
        self.extras.as_deref().unwrap_or(&NO_EXTRAS)
    }

    fn extras_mut(&mut self) -> &mut Extras {
        self.extras.get_or_insert_with(Box::default)
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
/// For a batch, `msg_id` and `offset_msg_id` list every message, comma-separated, in order
/// (see [`SendResult::msg_ids`]).
///
/// `msg_id` is the client id (`UNIQ_KEY`) users search by; `offset_msg_id` encodes the broker's
/// store address and commit-log offset.
///
/// A result means a broker stored the message; `status` says whether it also flushed or
/// replicated it as it is set up to wait for.
///
/// ```no_run
/// use actix_rocketmq::{Producer, ProducerExt, ProducerRecord, SendStatus};
/// # async fn demo(producer: actix::Addr<Producer>) -> Result<(), actix_rocketmq::SendError> {
/// let result = producer.send_message(ProducerRecord::new("orders", "order 42 paid")).await?;
/// println!("{} in {} at offset {}", result.msg_id, result.message_queue, result.queue_offset);
/// if result.status != SendStatus::SendOk {
///     // Stored, but the broker's synchronous flush or replication did not finish in time.
///     eprintln!("stored, but {}", result.status);
/// }
/// # Ok(()) }
/// ```
///
/// A batch's result names every message:
///
/// ```
/// use actix_rocketmq::{MessageQueue, SendResult, SendStatus};
/// let result = SendResult {
///     status: SendStatus::SendOk,
///     msg_id: "AC1100020001,AC1100020002".into(),
///     offset_msg_id: "7F00000100002A9F0000000000000001,7F00000100002A9F0000000000000002".into(),
///     message_queue: MessageQueue { topic: "orders".into(), broker_name: "broker-a".into(), queue_id: 3 },
///     queue_offset: 17,
///     transaction_id: None,
///     region_id: "DefaultRegion".into(),
///     trace_on: true,
/// };
/// assert_eq!(result.msg_ids(), ["AC1100020001", "AC1100020002"]);
/// assert_eq!(result.offset_msg_ids().len(), 2);
/// assert!(result.to_string().starts_with("SendResult [sendStatus=SEND_OK, msgId=AC1100020001,AC1100020002,"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SendResult {
    /// How the broker stored it: anything but `SendOk` means stored, but not flushed or
    /// replicated in time (with `retry_another_broker_when_not_store_ok`, only after another
    /// broker did no better).
    pub status: SendStatus,
    /// The client message id (`UNIQ_KEY`) the producer gave the message; for a batch every id,
    /// joined by `,`.
    pub msg_id: String,
    /// The broker's message id: its store address and the commit-log offset; for a batch every
    /// id, joined by `,`.
    pub offset_msg_id: String,
    /// The queue that stored it (its topic without namespace).
    pub message_queue: MessageQueue,
    /// The message's offset in that queue (a batch: the first message's).
    pub queue_offset: i64,
    /// The broker's transaction id, when it sent one (transactional half messages).
    pub transaction_id: Option<String>,
    /// The broker's region (`MSG_REGION`); `DefaultRegion` when it sent none.
    pub region_id: SharedName,
    /// Whether the broker has message trace on (`TRACE_ON`).
    pub trace_on: bool,
}

impl SendResult {
    /// Every client message id (one for a single send, one per message for a batch).
    pub fn msg_ids(&self) -> Vec<&str> {
        self.msg_id.split(',').collect()
    }

    /// Every offset message id, in the same order as [`SendResult::msg_ids`].
    pub fn offset_msg_ids(&self) -> Vec<&str> {
        self.offset_msg_id.split(',').collect()
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_made_in_a_span_carries_it() {
        use tracing_subscriber::layer::SubscriberExt;
        let subscriber = tracing_subscriber::registry().with(tracing_subscriber::filter::LevelFilter::INFO);
        tracing::subscriber::with_default(subscriber, || {
            let outside = ProducerRecord::new("t", "x");
            assert!(outside.parent_span().is_none());
            let span = tracing::info_span!("caller");
            let inside = span.in_scope(|| ProducerRecord::new("t", "x"));
            assert_eq!(inside.parent_span().and_then(|s| s.id()), span.id());
        });
    }

    #[test]
    fn send_result_displays_like_java() {
        let r = SendResult {
            status: SendStatus::SendOk,
            msg_id: "AC1100020001".into(),
            offset_msg_id: "7F00000100002A9F0000000000000001".into(),
            message_queue: MessageQueue { topic: "T".into(), broker_name: "broker-a".into(), queue_id: 3 },
            queue_offset: 17,
            transaction_id: None,
            region_id: "DefaultRegion".into(),
            trace_on: true,
        };
        assert_eq!(
            r.to_string(),
            "SendResult [sendStatus=SEND_OK, msgId=AC1100020001, offsetMsgId=7F00000100002A9F0000000000000001, \
             messageQueue=MessageQueue [topic=T, brokerName=broker-a, queueId=3], queueOffset=17, recallHandle=null]"
        );
    }

    #[test]
    fn a_plain_record_writes_wait_and_its_key_as_any_property() {
        for wait in [true, false] {
            let rec = ProducerRecord::new("t", "b").with_wait_store_msg_ok(wait);
            let (mut fast, mut plain) = (String::new(), String::new());
            rec.encode_properties("UK", &[], &mut fast);
            let wait = wait.to_string();
            crate::protocol::properties::encode_properties([(names::WAIT, wait.as_str()), (names::UNIQ_KEY, "UK")], &mut plain);
            assert_eq!(fast, plain);
            let mut body = bytes::BytesMut::new();
            rec.encode_properties("UK", &[], &mut body);
            assert_eq!(&body[..], plain.as_bytes(), "a batch body gets the same bytes");
        }
        // The shortcut for records without extras writes what the general path writes (taken
        // by a record whose extras are there but empty), and stays within the size bound.
        let extra = [("INSTANCE_ID", "ns")];
        for (wait, key) in [(true, "UK"), (false, "UK"), (true, "")] {
            let rec = ProducerRecord::new("t", "b").with_wait_store_msg_ok(wait);
            let mut general = rec.clone();
            general.extras = Some(Box::default());
            let (mut fast, mut slow) = (String::new(), String::new());
            rec.encode_properties(key, &extra, &mut fast);
            general.encode_properties(key, &extra, &mut slow);
            assert_eq!(fast, slow);
            assert!(fast.ends_with("INSTANCE_ID\u{1}ns\u{2}") && fast.contains("WAIT\u{1}"), "{fast:?}");
            assert!(fast.len() <= rec.properties_len_bound(key.len(), &extra));
            assert!(rec.properties_len_bound(key.len(), &extra) <= general.properties_len_bound(key.len(), &extra));
        }
    }

    #[test]
    fn a_record_keeps_what_most_records_leave_unset_out_of_line() {
        // Moved several times per send: kept within 64 bytes (it was 176 with the extras inline).
        assert!(std::mem::size_of::<ProducerRecord>() <= 64, "{} bytes", std::mem::size_of::<ProducerRecord>());
        let plain = ProducerRecord::new("t", "x");
        assert!(plain.extras.is_none());
        // Setting nothing, or extras back at their empty values, leaves an equal record.
        assert_eq!(ProducerRecord::new("t", "x").with_keys(Vec::<String>::new()), plain);
        assert!(ProducerRecord::new("t", "x").with_keys(Vec::<String>::new()).extras.is_none());
        let full = ProducerRecord::new("t", "x").with_tags("a").with_key("k").with_property("p", "v").with_delay(Delay::Level(2));
        assert_ne!(full, plain);
        assert_eq!((full.tags(), full.keys(), full.property("p"), full.delay()), (Some("a"), &["k".to_string()][..], Some("v"), Some(Delay::Level(2))));
        let shown = format!("{full:?}");
        assert!(shown.contains("tags: Some(\"a\")") && shown.contains("keys: [\"k\"]"), "{shown}");
    }

    #[test]
    fn properties_carry_every_field_once() {
        let rec = ProducerRecord::new("t", "b")
            .with_tags("A")
            .with_keys(["k1", "k2"])
            .with_property("p", "v")
            .with_property("p", "w")
            .with_delay(Delay::Seconds(5))
            .with_wait_store_msg_ok(false);
        let mut s = String::new();
        rec.encode_properties("UK", &[("INSTANCE_ID", "ns")], &mut s);
        let props = crate::protocol::properties::decode_properties(&s);
        let get = |n: &str| props.iter().filter(|(k, _)| k == n).map(|(_, v)| v.as_str()).collect::<Vec<_>>();
        assert_eq!(get("TAGS"), ["A"]);
        assert_eq!(get("KEYS"), ["k1 k2"]);
        assert_eq!(get("p"), ["w"]);
        assert_eq!(get("WAIT"), ["false"]);
        assert_eq!(get("TIMER_DELAY_SEC"), ["5"]);
        assert_eq!(get("UNIQ_KEY"), ["UK"]);
        assert_eq!(get("INSTANCE_ID"), ["ns"]);
        assert!(Delay::Level(0).validate().is_err());
        assert!(Delay::Millis(-1).validate().is_err());
        assert!(Delay::DeliverAt(1).validate().is_ok());
    }
}
