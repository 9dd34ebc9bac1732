//! Message properties: names, the reserved set, and the `name 0x01 value 0x02` encoding
//! (Java `MessageConst`, `MessageDecoder.messageProperties2String` / `string2messageProperties`;
//! docs/PROTOCOL.md, Message properties).

use super::ProtocolError;

/// Separates a name from its value.
pub const NAME_VALUE_SEPARATOR: char = '\u{1}';
/// Ends every entry (the last one too).
pub const PROPERTY_SEPARATOR: char = '\u{2}';

/// Property names (`MessageConst`).
pub mod names {
    // Set by producers.
    /// `MessageConst.PROPERTY_TAGS`: the message's tag (one), what consumers filter on.
    pub const TAGS: &str = "TAGS";
    /// `MessageConst.PROPERTY_KEYS`: the message's keys (indexed by the broker for lookups),
    /// several separated by [`KEY_SEPARATOR`].
    pub const KEYS: &str = "KEYS";
    /// `MessageConst.PROPERTY_WAIT_STORE_MSG_OK`: `"true"`/`"false"`, whether the send reply waits
    /// for the flush/replication the broker is configured for. This client always writes it
    /// (default true); a broker reads a missing value as true.
    pub const WAIT: &str = "WAIT";
    /// `MessageConst.PROPERTY_DELAY_TIME_LEVEL`: a delay level as a decimal string (1..=18 with the
    /// broker's default level table).
    pub const DELAY: &str = "DELAY";
    /// `MessageConst.PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX`: the client message id (the `msgId`
    /// users see), 32 or 56 upper-case hex characters
    /// ([`UniqIdGenerator`](crate::protocol::message_id::UniqIdGenerator)).
    pub const UNIQ_KEY: &str = "UNIQ_KEY";
    /// `MessageConst.PROPERTY_TRANSACTION_PREPARED`: `"true"` on a half (transactional) message;
    /// the broker decides "half message" from this property.
    pub const TRAN_MSG: &str = "TRAN_MSG";
    /// `MessageConst.PROPERTY_PRODUCER_GROUP`: the producer group, required on half messages (the
    /// broker sends checks to that group and compares it with END_TRANSACTION's `producerGroup`).
    pub const PGROUP: &str = "PGROUP";
    /// `MessageConst.PROPERTY_MESSAGE_TYPE`: `"reply"` on a request-reply reply, which then goes as
    /// SEND_REPLY_MESSAGE_V2.
    pub const MSG_TYPE: &str = "MSG_TYPE";
    /// `MessageConst.PROPERTY_CHECK_IMMUNITY_TIME_IN_SECONDS`: seconds before the broker first
    /// checks a half message (instead of its `transactionTimeOut`). Java users set it as a user
    /// property.
    pub const CHECK_IMMUNITY_TIME_IN_SECONDS: &str = "CHECK_IMMUNITY_TIME_IN_SECONDS";
    /// `MessageConst.PROPERTY_SHARDING_KEY`: the sharding key (message group) of an ordered
    /// message; 5.x brokers count such messages as FIFO. Java users set it as a user property.
    pub const SHARDING_KEY: &str = "__SHARDINGKEY";
    /// `MessageConst.PROPERTY_INSTANCE_ID`: the namespace, added to every message when one is
    /// configured.
    pub const INSTANCE_ID: &str = "INSTANCE_ID";
    /// `MessageConst.PROPERTY_TIMER_DELIVER_MS` (5.x timer): deliver at this wall-clock time, ms
    /// since the epoch.
    pub const TIMER_DELIVER_MS: &str = "TIMER_DELIVER_MS";
    /// `MessageConst.PROPERTY_TIMER_DELAY_SEC` (5.x timer): deliver after this many seconds.
    pub const TIMER_DELAY_SEC: &str = "TIMER_DELAY_SEC";
    /// `MessageConst.PROPERTY_TIMER_DELAY_MS` (5.x timer): deliver after this many milliseconds.
    pub const TIMER_DELAY_MS: &str = "TIMER_DELAY_MS";
    /// `MessageConst.PROPERTY_CORRELATION_ID`: request-reply: ties a reply to its request (set on
    /// the request, copied into the reply).
    pub const CORRELATION_ID: &str = "CORRELATION_ID";
    /// `MessageConst.PROPERTY_MESSAGE_REPLY_TO_CLIENT`: request-reply: the requester's client id
    /// (its HEART_BEAT `clientID`), which the broker pushes the reply to.
    pub const REPLY_TO_CLIENT: &str = "REPLY_TO_CLIENT";
    /// `MessageConst.PROPERTY_MESSAGE_TTL`: request-reply: the request's timeout in ms (decimal),
    /// copied into the reply.
    pub const TTL: &str = "TTL";
    /// `MessageConst.PROPERTY_BUYER_ID`: legacy buyer id (`Message.setBuyerId`); no open-source
    /// broker reads it.
    pub const BUYER_ID: &str = "BUYER_ID";

    // Set by the broker or used internally.
    /// `MessageConst.PROPERTY_MAX_OFFSET`: set by a consumer on pulled messages: the queue's max
    /// offset at pull time.
    pub const MAX_OFFSET: &str = "MAX_OFFSET";
    /// `MessageConst.PROPERTY_MIN_OFFSET`: set by a consumer on pulled messages: the queue's min
    /// offset at pull time.
    pub const MIN_OFFSET: &str = "MIN_OFFSET";
    /// `MessageConst.PROPERTY_REAL_TOPIC`: the message's real topic while the broker holds it in a
    /// system topic (half messages, delayed messages).
    pub const REAL_TOPIC: &str = "REAL_TOPIC";
    /// `MessageConst.PROPERTY_REAL_QUEUE_ID`: the message's real queue id, alongside
    /// [`REAL_TOPIC`].
    pub const REAL_QID: &str = "REAL_QID";
    /// `MessageConst.PROPERTY_RETRY_TOPIC`: the original topic of a message sent back for
    /// redelivery to a `%RETRY%` topic.
    pub const RETRY_TOPIC: &str = "RETRY_TOPIC";
    /// `MessageConst.PROPERTY_RECONSUME_TIME`: how often a retried message was consumed (consumer
    /// send-back).
    pub const RECONSUME_TIME: &str = "RECONSUME_TIME";
    /// `MessageConst.PROPERTY_MAX_RECONSUME_TIMES`: redeliveries allowed before the message goes to
    /// the dead-letter queue.
    pub const MAX_RECONSUME_TIMES: &str = "MAX_RECONSUME_TIMES";
    /// `MessageConst.PROPERTY_ORIGIN_MESSAGE_ID`: the msgId of the original message, on its retry
    /// copies.
    pub const ORIGIN_MESSAGE_ID: &str = "ORIGIN_MESSAGE_ID";
    /// `MessageConst.PROPERTY_TRANSFER_FLAG`: unit-mode transfer marker (`MessageAccessor`);
    /// legacy.
    pub const TRANSFER_FLAG: &str = "TRANSFER_FLAG";
    /// `MessageConst.PROPERTY_CORRECTION_FLAG`: unit-mode correction marker (`MessageAccessor`);
    /// legacy.
    pub const CORRECTION_FLAG: &str = "CORRECTION_FLAG";
    /// `MessageConst.PROPERTY_MQ2_FLAG`: legacy marker (`MessageAccessor`).
    pub const MQ2_FLAG: &str = "MQ2_FLAG";
    /// `MessageConst.PROPERTY_MSG_REGION`: the broker's `regionId`; brokers return it as a
    /// send-reply ext field (default `DefaultRegion`), which trace records carry.
    pub const MSG_REGION: &str = "MSG_REGION";
    /// `MessageConst.PROPERTY_TRACE_SWITCH`: the broker's `traceOn` (`"true"`/`"false"`), returned
    /// as a send-reply ext field; Java writes no trace record when it is `"false"`.
    pub const TRACE_ON: &str = "TRACE_ON";
    /// `MessageConst.PROPERTY_EXTEND_UNIQ_INFO`: reserved; no current open-source code sets it.
    pub const EXTEND_UNIQ_INFO: &str = "EXTEND_UNIQ_INFO";
    /// `MessageConst.PROPERTY_CONSUME_START_TIMESTAMP`: set by a consumer when it starts consuming
    /// the message.
    pub const CONSUME_START_TIME: &str = "CONSUME_START_TIME";
    /// `MessageConst.PROPERTY_INNER_NUM`: inner-batch topics: how many messages one stored entry
    /// holds.
    pub const INNER_NUM: &str = "INNER_NUM";
    /// `MessageConst.PROPERTY_INNER_BASE`: inner-batch topics: the queue offset of the entry's
    /// first message.
    pub const INNER_BASE: &str = "INNER_BASE";
    /// `MessageConst.DUP_INFO`: broker-internal, checked by the commit-log dispatcher when
    /// duplication checking is on.
    pub const DUP_INFO: &str = "DUP_INFO";
    /// `MessageConst.PROPERTY_TRANSACTION_PREPARED_QUEUE_OFFSET`: the half-queue offset of the
    /// original half message, kept on the copies the broker re-appends while a half message with
    /// [`CHECK_IMMUNITY_TIME_IN_SECONDS`] is not yet due for a check.
    pub const TRAN_PREPARED_QUEUE_OFFSET: &str = "TRAN_PREPARED_QUEUE_OFFSET";
    /// `MessageConst.PROPERTY_TRANSACTION_CHECK_TIMES`: how many times the broker has checked a
    /// half message (1, 2, …), on the copy a check carries.
    pub const TRANSACTION_CHECK_TIMES: &str = "TRANSACTION_CHECK_TIMES";
    /// `MessageConst.PROPERTY_TRANSACTION_ID`: the transaction id (the half message's `UNIQ_KEY`),
    /// added by the broker when it stores a half message (`TransactionalMessageBridge`).
    pub const TRANSACTION_ID: &str = "__transactionId__";
    /// `MessageConst.PROPERTY_CLUSTER`: the name of the cluster whose broker stored the message
    /// (added by 4.6+ brokers); a responder builds the reply topic from it.
    pub const CLUSTER: &str = "CLUSTER";
    /// `MessageConst.PROPERTY_REPLY_MESSAGE_ARRIVE_TIME`: set by the Java requester on a reply when
    /// it arrives (ms).
    pub const ARRIVE_TIME: &str = "ARRIVE_TIME";
    /// `MessageConst.PROPERTY_PUSH_REPLY_TIME`: added by the broker to a reply it pushes (ms).
    pub const PUSH_REPLY_TIME: &str = "PUSH_REPLY_TIME";
    /// `MessageConst.PROPERTY_POP_CK`: POP consumption: the checkpoint handle of a popped message.
    pub const POP_CK: &str = "POP_CK";
    /// `MessageConst.PROPERTY_POP_CK_OFFSET`: POP consumption: the checkpoint's offset.
    pub const POP_CK_OFFSET: &str = "POP_CK_OFFSET";
    /// `MessageConst.PROPERTY_FIRST_POP_TIME`: POP consumption: when the message was first popped.
    pub const FIRST_POP_TIME: &str = "1ST_POP_TIME";
    /// `MessageConst.PROPERTY_FORWARD_QUEUE_ID`: reserved; no current open-source code sets it.
    pub const FORWARD_QUEUE_ID: &str = "PROPERTY_FORWARD_QUEUE_ID";
    /// `MessageConst.PROPERTY_REDIRECT`: reserved; no current open-source code sets it.
    pub const REDIRECT: &str = "REDIRECT";
    /// `MessageConst.PROPERTY_INNER_MULTI_DISPATCH`: light message queues: the extra queues the
    /// broker dispatches the message to.
    pub const INNER_MULTI_DISPATCH: &str = "INNER_MULTI_DISPATCH";
    /// `MessageConst.PROPERTY_INNER_MULTI_QUEUE_OFFSET`: light message queues: the message's offset
    /// in each of those queues.
    pub const INNER_MULTI_QUEUE_OFFSET: &str = "INNER_MULTI_QUEUE_OFFSET";
    /// `MessageConst.PROPERTY_TRACE_CONTEXT`: an OpenTelemetry trace context, set by the 5.x gRPC
    /// proxy.
    pub const TRACE_CONTEXT: &str = "TRACE_CONTEXT";
    /// `MessageConst.PROPERTY_TIMER_ENQUEUE_MS`: timer internals: when the message entered the
    /// timer.
    pub const TIMER_ENQUEUE_MS: &str = "TIMER_ENQUEUE_MS";
    /// `MessageConst.PROPERTY_TIMER_DEQUEUE_MS`: timer internals: when the message left the timer.
    pub const TIMER_DEQUEUE_MS: &str = "TIMER_DEQUEUE_MS";
    /// `MessageConst.PROPERTY_TIMER_ROLL_TIMES`: timer internals: how often the message was rolled
    /// over to a later round.
    pub const TIMER_ROLL_TIMES: &str = "TIMER_ROLL_TIMES";
    /// `MessageConst.PROPERTY_TIMER_OUT_MS`: timer internals: the delivery time the timer computed.
    pub const TIMER_OUT_MS: &str = "TIMER_OUT_MS";
    /// `MessageConst.PROPERTY_TIMER_DEL_UNIQKEY`: timer internals: marks the deletion of a timer
    /// message (by its key).
    pub const TIMER_DEL_UNIQKEY: &str = "TIMER_DEL_UNIQKEY";
    /// `MessageConst.PROPERTY_TIMER_DELAY_LEVEL`: timer internals: a delay level converted to a
    /// timer message.
    pub const TIMER_DELAY_LEVEL: &str = "TIMER_DELAY_LEVEL";
    /// `MessageConst.PROPERTY_BORN_HOST`: the sender's address, set by the 5.x gRPC proxy.
    pub const BORN_HOST: &str = "__BORNHOST";
    /// `MessageConst.PROPERTY_BORN_TIMESTAMP`: the send time, set by the 5.x gRPC proxy and on
    /// recall messages.
    pub const BORN_TIMESTAMP: &str = "BORN_TIMESTAMP";
    /// `MessageConst.PROPERTY_CRC32`: the body CRC32 a broker may append to stored properties (a
    /// reserved slot when CRC appending is on).
    pub const CRC32: &str = "__CRC32#";
    /// `MessageConst.PROPERTY_DLQ_ORIGIN_TOPIC`: the topic a dead-lettered message came from.
    pub const DLQ_ORIGIN_TOPIC: &str = "DLQ_ORIGIN_TOPIC";
    /// `MessageConst.PROPERTY_DLQ_ORIGIN_MESSAGE_ID`: the msgId a dead-lettered message had.
    pub const DLQ_ORIGIN_MESSAGE_ID: &str = "DLQ_ORIGIN_MESSAGE_ID";

    /// `MessageConst.PROPERTY_TRANSIENT_PREFIX`: properties with this prefix are not persisted by
    /// the broker.
    pub const TRANSIENT_PREFIX: &str = "__RMQ.TRANSIENT.";
    /// `MessageConst.KEY_SEPARATOR`: separates several keys inside [`KEYS`].
    pub const KEY_SEPARATOR: &str = " ";
}

/// `true` if a user must not set `name` as a user property, because the client or the broker
/// owns it.
///
/// This is Java's `MessageConst.STRING_HASH_SET` plus the broker-internal `MessageConst` names
/// that Java does not list there (INNER_NUM, `__transactionId__`, …; docs/PROTOCOL.md, Message
/// properties). `CHECK_IMMUNITY_TIME_IN_SECONDS` and `__SHARDINGKEY` stay allowed: Java users set
/// them as user properties.
///
/// ```
/// use actix_rocketmq::protocol::properties::is_reserved_property;
///
/// assert!(is_reserved_property("UNIQ_KEY"));
/// assert!(is_reserved_property("TAGS"));
/// assert!(!is_reserved_property("orderId"));
/// assert!(!is_reserved_property("CHECK_IMMUNITY_TIME_IN_SECONDS"));
/// ```
pub fn is_reserved_property(name: &str) -> bool {
    // A match compiles to length + byte comparisons: no hashing, no allocation.
    matches!(
        name,
        "TRACE_ON"
            | "MSG_REGION"
            | "KEYS"
            | "TAGS"
            | "WAIT"
            | "DELAY"
            | "RETRY_TOPIC"
            | "REAL_TOPIC"
            | "REAL_QID"
            | "TRAN_MSG"
            | "PGROUP"
            | "MIN_OFFSET"
            | "MAX_OFFSET"
            | "BUYER_ID"
            | "ORIGIN_MESSAGE_ID"
            | "TRANSFER_FLAG"
            | "CORRECTION_FLAG"
            | "MQ2_FLAG"
            | "RECONSUME_TIME"
            | "UNIQ_KEY"
            | "MAX_RECONSUME_TIMES"
            | "CONSUME_START_TIME"
            | "POP_CK"
            | "POP_CK_OFFSET"
            | "1ST_POP_TIME"
            | "TRAN_PREPARED_QUEUE_OFFSET"
            | "DUP_INFO"
            | "EXTEND_UNIQ_INFO"
            | "INSTANCE_ID"
            | "CORRELATION_ID"
            | "REPLY_TO_CLIENT"
            | "TTL"
            | "ARRIVE_TIME"
            | "PUSH_REPLY_TIME"
            | "CLUSTER"
            | "MSG_TYPE"
            | "INNER_MULTI_QUEUE_OFFSET"
            | "TIMER_DELAY_MS"
            | "TIMER_DELAY_SEC"
            | "TIMER_DELIVER_MS"
            | "TIMER_ENQUEUE_MS"
            | "TIMER_DEQUEUE_MS"
            | "TIMER_ROLL_TIMES"
            | "TIMER_OUT_MS"
            | "TIMER_DEL_UNIQKEY"
            | "TIMER_DEL_MS"
            | "TIMER_DELAY_LEVEL"
            | "__BORNHOST"
            | "BORN_TIMESTAMP"
            | "DLQ_ORIGIN_TOPIC"
            | "DLQ_ORIGIN_MESSAGE_ID"
            | "__CRC32#"
            // Broker-internal, not in Java's set.
            | "INNER_NUM"
            | "INNER_BASE"
            | "TRANSACTION_CHECK_TIMES"
            | "__transactionId__"
            | "PROPERTY_FORWARD_QUEUE_ID"
            | "REDIRECT"
            | "INNER_MULTI_DISPATCH"
            | "TRACE_CONTEXT"
    )
}

/// Appends `props` to `dst` as `name 0x01 value 0x02` entries.
///
/// Entries with an empty name or value are skipped, because the Java decoder drops them anyway.
/// Names and values are not checked for separators here; do that once with
/// [`validate_property`] when the user sets them.
///
/// ```
/// use actix_rocketmq::protocol::properties::{decode_properties, encode_properties};
///
/// let mut s = String::new();
/// encode_properties([("TAGS", "TagA"), ("KEYS", "k1 k2"), ("EMPTY", "")], &mut s);
/// assert_eq!(s, "TAGS\u{1}TagA\u{2}KEYS\u{1}k1 k2\u{2}");
/// assert_eq!(decode_properties(&s)[1], ("KEYS".to_string(), "k1 k2".to_string()));
/// ```
pub fn encode_properties<'a, I: IntoIterator<Item = (&'a str, &'a str)>>(
    props: I,
    dst: &mut String,
) {
    let mut w = PropertyWriter::new(dst);
    for (name, value) in props {
        w.put(name, value);
    }
}

/// Where encoded properties are appended: a `String` (a request header's `properties` field)
/// or the bytes of a batch body, where each inner message's properties are written in place.
///
/// ```
/// use actix_rocketmq::protocol::properties::PropertySink;
///
/// let mut body = bytes::BytesMut::new();
/// body.push_text("TAGS\u{1}A\u{2}");
/// assert_eq!(&body[..], b"TAGS\x01A\x02");
/// ```
pub trait PropertySink {
    /// Appends `text`.
    fn push_text(&mut self, text: &str);
}

impl PropertySink for String {
    #[inline]
    fn push_text(&mut self, text: &str) {
        self.push_str(text);
    }
}

impl PropertySink for bytes::BytesMut {
    #[inline]
    fn push_text(&mut self, text: &str) {
        self.extend_from_slice(text.as_bytes());
    }
}

/// Appends property entries one by one, with [`encode_properties`]'s rules (an entry with an
/// empty name or value is skipped), to a string or a batch body ([`PropertySink`]). For callers
/// that have their properties in several places (a record's fields, its keys, the producer's
/// own), so they need neither an iterator chain nor a joined string per message.
///
/// ```
/// use actix_rocketmq::protocol::properties::PropertyWriter;
///
/// let mut s = String::new();
/// let mut w = PropertyWriter::new(&mut s);
/// w.put("TAGS", "TagA");
/// w.put_joined("KEYS", &["k1".to_string(), "k2".to_string()], ' ');
/// w.put("EMPTY", "");
/// assert_eq!(s, "TAGS\u{1}TagA\u{2}KEYS\u{1}k1 k2\u{2}");
/// ```
pub struct PropertyWriter<'a, D: PropertySink = String> {
    dst: &'a mut D,
}

/// The separators as text, to append with the rest (the same as the two `char`s above).
const NAME_VALUE: &str = "\u{1}";
const END: &str = "\u{2}";
const _: () = assert!(NAME_VALUE.len() == 1 && NAME_VALUE.as_bytes()[0] == NAME_VALUE_SEPARATOR as u8);
const _: () = assert!(END.len() == 1 && END.as_bytes()[0] == PROPERTY_SEPARATOR as u8);

impl<'a, D: PropertySink> PropertyWriter<'a, D> {
    /// A writer appending to `dst`.
    pub fn new(dst: &'a mut D) -> Self {
        PropertyWriter { dst }
    }

    /// Appends `name 0x01 value 0x02`, unless either is empty.
    pub fn put(&mut self, name: &str, value: &str) {
        if name.is_empty() || value.is_empty() {
            return;
        }
        self.dst.push_text(name);
        self.dst.push_text(NAME_VALUE);
        self.put_value(value);
    }

    /// Appends a whole entry written beforehand, separators included (`"WAIT\u{1}true\u{2}"`):
    /// for the entries every message carries, one append instead of four.
    pub(crate) fn put_entry(&mut self, entry: &'static str) {
        debug_assert!(entry.ends_with(END) && entry.matches(NAME_VALUE).count() >= 1);
        self.dst.push_text(entry);
    }

    /// Appends `value 0x02` after a name written with its separator (`"UNIQ_KEY\u{1}"`), unless
    /// `value` is empty.
    #[inline(always)]
    pub(crate) fn put_after(&mut self, name_and_separator: &'static str, value: &str) {
        debug_assert!(name_and_separator.len() > 1 && name_and_separator.ends_with(NAME_VALUE));
        if !value.is_empty() {
            self.dst.push_text(name_and_separator);
            self.put_value(value);
        }
    }

    fn put_value(&mut self, value: &str) {
        self.dst.push_text(value);
        self.dst.push_text(END);
    }

    /// Appends one entry whose value is `parts` joined by `sep` (Java's `KEYS`: keys joined by
    /// a space), unless the name or the joined value is empty.
    pub fn put_joined(&mut self, name: &str, parts: &[String], sep: char) {
        let len: usize = parts.iter().map(String::len).sum::<usize>() + parts.len().saturating_sub(1) * sep.len_utf8();
        if name.is_empty() || len == 0 {
            return;
        }
        let mut sep_text = [0u8; 4];
        let sep_text: &str = sep.encode_utf8(&mut sep_text);
        self.dst.push_text(name);
        self.dst.push_text(NAME_VALUE);
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                self.dst.push_text(sep_text);
            }
            self.dst.push_text(part);
        }
        self.dst.push_text(END);
    }
}

/// Iterates over the entries of an encoded property string without allocating, with Java's
/// rules (`MessageDecoder.string2messageProperties`): split on 0x02; keep an item only if its
/// first 0x01 is neither its first nor its last character. The value may contain further 0x01.
pub fn iter_properties(s: &str) -> impl Iterator<Item = (&str, &str)> {
    s.split(PROPERTY_SEPARATOR).filter_map(|item| {
        let (name, value) = item.split_once(NAME_VALUE_SEPARATOR)?;
        (!name.is_empty() && !value.is_empty()).then_some((name, value))
    })
}

/// Decodes an encoded property string (see [`iter_properties`] for the rules). A missing trailing
/// 0x02 is tolerated. Entries keep their order; if a name repeats, the last one is what Java would
/// keep.
pub fn decode_properties(s: &str) -> Vec<(String, String)> {
    iter_properties(s)
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// [`decode_properties`] for a property string that came from the network: more than
/// [`MAX_PROPERTIES`](super::limits::MAX_PROPERTIES) entries is an error, so that a string of
/// tiny entries cannot multiply into a large vector of owned strings.
///
/// ```
/// use actix_rocketmq::protocol::properties::decode_received_properties;
///
/// assert_eq!(decode_received_properties("a\u{1}1\u{2}").unwrap().len(), 1);
/// assert!(decode_received_properties(&"a\u{1}1\u{2}".repeat(2000)).is_err());
/// ```
pub fn decode_received_properties(s: &str) -> Result<Vec<(String, String)>, super::ProtocolError> {
    use super::limits::MAX_PROPERTIES;
    let mut out = Vec::new();
    for (k, v) in iter_properties(s) {
        if out.len() == MAX_PROPERTIES {
            return Err(super::ProtocolError::TooMany { what: "properties in a message", max: MAX_PROPERTIES });
        }
        out.push((k.to_owned(), v.to_owned()));
    }
    Ok(out)
}

/// The value of `name` in an encoded property string (the last one, like Java's map).
pub fn find_property<'a>(s: &'a str, name: &str) -> Option<&'a str> {
    iter_properties(s)
        .filter(|(k, _)| *k == name)
        .last()
        .map(|(_, v)| v)
}

/// Checks that a property can be encoded: non-empty name and value, no 0x01/0x02 in either.
///
/// ```
/// use actix_rocketmq::protocol::properties::validate_property;
///
/// assert!(validate_property("orderId", "42").is_ok());
/// assert!(validate_property("orderId", "").is_err());
/// assert!(validate_property("bad\u{1}name", "x").is_err());
/// ```
pub fn validate_property(name: &str, value: &str) -> Result<(), ProtocolError> {
    let bad = |reason| {
        Err(ProtocolError::BadProperty {
            name: name.to_owned(),
            reason,
        })
    };
    let has_separator = |s: &str| s.contains([NAME_VALUE_SEPARATOR, PROPERTY_SEPARATOR]);
    if name.is_empty() {
        return bad("empty name");
    }
    if value.is_empty() {
        return bad("empty value");
    }
    if has_separator(name) {
        return bad("name contains a 0x01/0x02 separator");
    }
    if has_separator(value) {
        return bad("value contains a 0x01/0x02 separator");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn encodes_reference_example() {
        let mut s = String::new();
        encode_properties(
            [
                ("TAGS", "TagA"),
                ("WAIT", "true"),
                ("UNIQ_KEY", "C0A8010A30391B6D35860A1B2C3D0001"),
            ],
            &mut s,
        );
        assert_eq!(s, "TAGS\u{1}TagA\u{2}WAIT\u{1}true\u{2}UNIQ_KEY\u{1}C0A8010A30391B6D35860A1B2C3D0001\u{2}");
    }

    #[test]
    fn encode_appends_and_skips_empty() {
        let mut s = String::from("X\u{1}y\u{2}");
        encode_properties([("", "v"), ("n", ""), ("a", "b")], &mut s);
        assert_eq!(s, "X\u{1}y\u{2}a\u{1}b\u{2}");
        let mut empty = String::new();
        encode_properties(std::iter::empty(), &mut empty);
        assert!(empty.is_empty());
    }

    #[test]
    fn decode_follows_java_rules() {
        assert_eq!(decode_properties(""), vec![]);
        assert_eq!(decode_properties("a\u{1}b"), pairs(&[("a", "b")]));
        assert_eq!(
            decode_properties("a\u{1}b\u{2}c\u{1}d\u{2}"),
            pairs(&[("a", "b"), ("c", "d")])
        );
        // Dropped: no separator, separator first, separator last, empty items.
        assert_eq!(
            decode_properties("noval\u{2}\u{1}x\u{2}y\u{1}\u{2}\u{2}\u{2}ok\u{1}1\u{2}"),
            pairs(&[("ok", "1")])
        );
        // Only the first 0x01 separates; the value keeps the rest.
        assert_eq!(
            decode_properties("k\u{1}v\u{1}w"),
            pairs(&[("k", "v\u{1}w")])
        );
        // Two-character items are dropped like in Java (needs >= 3 chars).
        assert_eq!(decode_properties("k\u{1}"), vec![]);
        // Non-ASCII survives.
        assert_eq!(
            decode_properties("ключ\u{1}значение\u{2}"),
            pairs(&[("ключ", "значение")])
        );
    }

    #[test]
    fn round_trip_and_find() {
        let props = [
            ("TAGS", "TagA"),
            ("KEYS", "k1 k2"),
            ("UNIQ_KEY", "ABC"),
            ("TAGS", "TagB"),
        ];
        let mut s = String::new();
        encode_properties(props, &mut s);
        assert_eq!(decode_properties(&s), pairs(&props));
        assert_eq!(find_property(&s, "TAGS"), Some("TagB"));
        assert_eq!(find_property(&s, "UNIQ_KEY"), Some("ABC"));
        assert_eq!(find_property(&s, "nope"), None);
    }

    #[test]
    fn validation() {
        assert!(validate_property("a", "b").is_ok());
        assert!(matches!(
            validate_property("", "b"),
            Err(ProtocolError::BadProperty {
                reason: "empty name",
                ..
            })
        ));
        assert!(matches!(
            validate_property("a", ""),
            Err(ProtocolError::BadProperty {
                reason: "empty value",
                ..
            })
        ));
        assert!(validate_property("a\u{2}", "b").is_err());
        assert!(validate_property("a", "b\u{1}").is_err());
        assert!(validate_property("a", "b\u{2}c").is_err());
    }

    #[test]
    fn reserved_names() {
        for name in [
            names::TAGS,
            names::KEYS,
            names::WAIT,
            names::DELAY,
            names::UNIQ_KEY,
            names::TRAN_MSG,
            names::PGROUP,
            names::MSG_TYPE,
            names::INSTANCE_ID,
            names::TIMER_DELIVER_MS,
            names::TIMER_DELAY_SEC,
            names::TIMER_DELAY_MS,
            names::BUYER_ID,
            names::CLUSTER,
            names::CRC32,
            names::TRANSACTION_ID,
            names::INNER_NUM,
            names::REAL_TOPIC,
            names::FIRST_POP_TIME,
            names::DLQ_ORIGIN_MESSAGE_ID,
        ] {
            assert!(is_reserved_property(name), "{name}");
        }
        for name in [
            names::CHECK_IMMUNITY_TIME_IN_SECONDS,
            names::SHARDING_KEY,
            "tags",
            "myKey",
            "",
        ] {
            assert!(!is_reserved_property(name), "{name}");
        }
    }
}
