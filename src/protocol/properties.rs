//! Message properties: names, the reserved set, and the `name 0x01 value 0x02` encoding
//! (REMOTING.md 4.1, 4.2).

use super::ProtocolError;

/// Separates a name from its value.
pub const NAME_VALUE_SEPARATOR: char = '\u{1}';
/// Ends every entry (the last one too).
pub const PROPERTY_SEPARATOR: char = '\u{2}';

/// Property names (`MessageConst`).
pub mod names {
    // Set by producers.
    pub const TAGS: &str = "TAGS";
    /// Several keys separated by [`KEY_SEPARATOR`].
    pub const KEYS: &str = "KEYS";
    pub const WAIT: &str = "WAIT";
    pub const DELAY: &str = "DELAY";
    pub const UNIQ_KEY: &str = "UNIQ_KEY";
    pub const TRAN_MSG: &str = "TRAN_MSG";
    pub const PGROUP: &str = "PGROUP";
    pub const MSG_TYPE: &str = "MSG_TYPE";
    pub const CHECK_IMMUNITY_TIME_IN_SECONDS: &str = "CHECK_IMMUNITY_TIME_IN_SECONDS";
    pub const SHARDING_KEY: &str = "__SHARDINGKEY";
    pub const INSTANCE_ID: &str = "INSTANCE_ID";
    pub const TIMER_DELIVER_MS: &str = "TIMER_DELIVER_MS";
    pub const TIMER_DELAY_SEC: &str = "TIMER_DELAY_SEC";
    pub const TIMER_DELAY_MS: &str = "TIMER_DELAY_MS";
    pub const CORRELATION_ID: &str = "CORRELATION_ID";
    pub const REPLY_TO_CLIENT: &str = "REPLY_TO_CLIENT";
    pub const TTL: &str = "TTL";
    pub const BUYER_ID: &str = "BUYER_ID";

    // Set by the broker or used internally.
    pub const MAX_OFFSET: &str = "MAX_OFFSET";
    pub const MIN_OFFSET: &str = "MIN_OFFSET";
    pub const REAL_TOPIC: &str = "REAL_TOPIC";
    pub const REAL_QID: &str = "REAL_QID";
    pub const RETRY_TOPIC: &str = "RETRY_TOPIC";
    pub const RECONSUME_TIME: &str = "RECONSUME_TIME";
    pub const MAX_RECONSUME_TIMES: &str = "MAX_RECONSUME_TIMES";
    pub const ORIGIN_MESSAGE_ID: &str = "ORIGIN_MESSAGE_ID";
    pub const TRANSFER_FLAG: &str = "TRANSFER_FLAG";
    pub const CORRECTION_FLAG: &str = "CORRECTION_FLAG";
    pub const MQ2_FLAG: &str = "MQ2_FLAG";
    pub const MSG_REGION: &str = "MSG_REGION";
    pub const TRACE_ON: &str = "TRACE_ON";
    pub const EXTEND_UNIQ_INFO: &str = "EXTEND_UNIQ_INFO";
    pub const CONSUME_START_TIME: &str = "CONSUME_START_TIME";
    pub const INNER_NUM: &str = "INNER_NUM";
    pub const INNER_BASE: &str = "INNER_BASE";
    pub const DUP_INFO: &str = "DUP_INFO";
    pub const TRAN_PREPARED_QUEUE_OFFSET: &str = "TRAN_PREPARED_QUEUE_OFFSET";
    pub const TRANSACTION_CHECK_TIMES: &str = "TRANSACTION_CHECK_TIMES";
    pub const TRANSACTION_ID: &str = "__transactionId__";
    pub const CLUSTER: &str = "CLUSTER";
    pub const ARRIVE_TIME: &str = "ARRIVE_TIME";
    pub const PUSH_REPLY_TIME: &str = "PUSH_REPLY_TIME";
    pub const POP_CK: &str = "POP_CK";
    pub const POP_CK_OFFSET: &str = "POP_CK_OFFSET";
    pub const FIRST_POP_TIME: &str = "1ST_POP_TIME";
    pub const FORWARD_QUEUE_ID: &str = "PROPERTY_FORWARD_QUEUE_ID";
    pub const REDIRECT: &str = "REDIRECT";
    pub const INNER_MULTI_DISPATCH: &str = "INNER_MULTI_DISPATCH";
    pub const INNER_MULTI_QUEUE_OFFSET: &str = "INNER_MULTI_QUEUE_OFFSET";
    pub const TRACE_CONTEXT: &str = "TRACE_CONTEXT";
    pub const TIMER_ENQUEUE_MS: &str = "TIMER_ENQUEUE_MS";
    pub const TIMER_DEQUEUE_MS: &str = "TIMER_DEQUEUE_MS";
    pub const TIMER_ROLL_TIMES: &str = "TIMER_ROLL_TIMES";
    pub const TIMER_OUT_MS: &str = "TIMER_OUT_MS";
    pub const TIMER_DEL_UNIQKEY: &str = "TIMER_DEL_UNIQKEY";
    pub const TIMER_DELAY_LEVEL: &str = "TIMER_DELAY_LEVEL";
    pub const BORN_HOST: &str = "__BORNHOST";
    pub const BORN_TIMESTAMP: &str = "BORN_TIMESTAMP";
    pub const CRC32: &str = "__CRC32#";
    pub const DLQ_ORIGIN_TOPIC: &str = "DLQ_ORIGIN_TOPIC";
    pub const DLQ_ORIGIN_MESSAGE_ID: &str = "DLQ_ORIGIN_MESSAGE_ID";

    /// Properties with this prefix are not persisted by the broker.
    pub const TRANSIENT_PREFIX: &str = "__RMQ.TRANSIENT.";
    /// Separates several keys inside [`KEYS`].
    pub const KEY_SEPARATOR: &str = " ";
}

/// `true` if a user must not set `name` as a user property, because the client or the broker
/// owns it.
///
/// This is Java's `MessageConst.STRING_HASH_SET` plus the broker-internal names of REMOTING.md 4.2
/// that Java forgot to list (INNER_NUM, `__transactionId__`, …). `CHECK_IMMUNITY_TIME_IN_SECONDS`
/// and `__SHARDINGKEY` stay allowed: Java users set them as user properties.
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
    for (name, value) in props {
        if name.is_empty() || value.is_empty() {
            continue;
        }
        dst.reserve(name.len() + value.len() + 2);
        dst.push_str(name);
        dst.push(NAME_VALUE_SEPARATOR);
        dst.push_str(value);
        dst.push(PROPERTY_SEPARATOR);
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
