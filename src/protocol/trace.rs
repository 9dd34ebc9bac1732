//! Message trace records in the Java client's text format (`TraceDataEncoder`), so the
//! RocketMQ dashboard and `mqadmin queryMsgTraceById` read ours as theirs (docs/PROTOCOL.md,
//! Trace records).
//!
//! Fields are separated by `\x01`; each record ends with `\x02`; records of one trace message
//! are concatenated. A missing value is written as `null`. The trace message is found by its
//! `KEYS`: every traced message's id and keys (`TraceDataEncoder#encoderFromContextBean`).

use std::fmt::Write;

/// Between fields (`TraceConstants.CONTENT_SPLITOR`).
pub const CONTENT_SPLITOR: char = '\u{1}';
/// After each record (`TraceConstants.FIELD_SPLITOR`).
pub const FIELD_SPLITOR: char = '\u{2}';
/// The default trace topic (`TopicValidator.RMQ_SYS_TRACE_TOPIC`).
pub const DEFAULT_TRACE_TOPIC: &str = "RMQ_SYS_TRACE_TOPIC";
/// The region written when a broker did not name one (`MixAll.DEFAULT_TRACE_REGION_ID`).
pub const DEFAULT_REGION: &str = "DefaultRegion";
/// A trace message body is cut before it reaches this many bytes (Java's 128,000 limit).
pub const MAX_TRACE_BODY: usize = 128_000;

/// One send, as a `Pub` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PubRecord {
    /// When the attempt started, ms since the epoch.
    pub timestamp: i64,
    /// The storing broker's region (`MSG_REGION` of the send reply, else `DefaultRegion`).
    pub region_id: String,
    /// Without namespace.
    pub group: String,
    /// Without namespace.
    pub topic: String,
    /// The client message id (`UNIQ_KEY`).
    pub msg_id: String,
    /// The message's tag; written as `null` when absent.
    pub tags: Option<String>,
    /// Space-separated, as the message carries them.
    pub keys: Option<String>,
    /// The broker's address.
    pub store_host: String,
    /// The body's length in bytes (`bodyLength`).
    pub body_len: usize,
    /// How long the send took, ms (`costTime`).
    pub cost_ms: i64,
    /// Java `MessageType` ordinal (0 normal, 1 transaction half, 3 delay).
    pub msg_type: u8,
    /// The broker-side id (`offsetMsgId`) from the send reply.
    pub offset_msg_id: String,
    /// Whether the send was stored with status SEND_OK.
    pub success: bool,
}

/// One transaction decision, as an `EndTransaction` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndTransactionRecord {
    /// When the decision was sent, ms since the epoch.
    pub timestamp: i64,
    /// Always `DefaultRegion` here: END_TRANSACTION is one-way, so no reply names a region.
    pub region_id: String,
    /// The producer group, without namespace.
    pub group: String,
    /// The message's topic, without namespace.
    pub topic: String,
    /// The client message id (`UNIQ_KEY`).
    pub msg_id: String,
    /// The message's tag; written as `null` when absent.
    pub tags: Option<String>,
    /// The message's keys, space-separated; written as `null` when absent.
    pub keys: Option<String>,
    /// The address of the broker that got the decision.
    pub store_host: String,
    /// Always 2 (`Trans_msg_Commit`) in the Java hook, whatever the decision.
    pub msg_type: u8,
    /// The transaction id: the send reply's `transactionId`, or the check header's.
    pub transaction_id: String,
    /// `COMMIT_MESSAGE`, `ROLLBACK_MESSAGE` or `UNKNOW`.
    pub transaction_state: String,
    /// Whether the decision answers a broker check.
    pub from_transaction_check: bool,
}

/// A trace record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TraceRecord {
    /// A `Pub` record (Java `TraceType.Pub`): one send.
    Pub(PubRecord),
    /// An `EndTransaction` record (Java `TraceType.EndTransaction`): one transaction decision.
    EndTransaction(EndTransactionRecord),
}

fn field(out: &mut String, value: impl std::fmt::Display) {
    let _ = write!(out, "{value}{CONTENT_SPLITOR}");
}

fn opt(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or("null")
}

impl TraceRecord {
    /// The traced topic (trace messages group records by it).
    pub fn topic(&self) -> &str {
        match self {
            TraceRecord::Pub(p) => &p.topic,
            TraceRecord::EndTransaction(e) => &e.topic,
        }
    }

    /// What the trace message's `KEYS` carry for this record: its msgId and its keys.
    pub fn index_keys(&self) -> impl Iterator<Item = &str> {
        let (id, keys) = match self {
            TraceRecord::Pub(p) => (&p.msg_id, &p.keys),
            TraceRecord::EndTransaction(e) => (&e.msg_id, &e.keys),
        };
        std::iter::once(id.as_str()).chain(keys.as_deref().unwrap_or("").split(' ').filter(|k| !k.is_empty()))
    }

    /// Appends the record in the Java text format.
    ///
    /// ```
    /// use actix_rocketmq::protocol::trace::{decode_records, PubRecord, TraceRecord};
    /// let rec = TraceRecord::Pub(PubRecord {
    ///     timestamp: 1700000000000, region_id: "DefaultRegion".into(), group: "g".into(), topic: "T".into(),
    ///     msg_id: "ID1".into(), tags: None, keys: Some("k1 k2".into()), store_host: "127.0.0.1:10911".into(),
    ///     body_len: 5, cost_ms: 3, msg_type: 0, offset_msg_id: "OFF".into(), success: true,
    /// });
    /// let mut body = String::new();
    /// rec.encode(&mut body);
    /// assert_eq!(decode_records(&body), vec![vec!["Pub", "1700000000000", "DefaultRegion", "g", "T", "ID1", "null",
    ///     "k1 k2", "127.0.0.1:10911", "5", "3", "0", "OFF", "true"]]);
    /// ```
    pub fn encode(&self, out: &mut String) {
        match self {
            TraceRecord::Pub(p) => {
                field(out, "Pub");
                field(out, p.timestamp);
                field(out, &p.region_id);
                field(out, &p.group);
                field(out, &p.topic);
                field(out, &p.msg_id);
                field(out, opt(&p.tags));
                field(out, opt(&p.keys));
                field(out, &p.store_host);
                field(out, p.body_len);
                field(out, p.cost_ms);
                field(out, p.msg_type);
                field(out, &p.offset_msg_id);
                let _ = write!(out, "{}{FIELD_SPLITOR}", p.success);
            }
            TraceRecord::EndTransaction(e) => {
                field(out, "EndTransaction");
                field(out, e.timestamp);
                field(out, &e.region_id);
                field(out, &e.group);
                field(out, &e.topic);
                field(out, &e.msg_id);
                field(out, opt(&e.tags));
                field(out, opt(&e.keys));
                field(out, &e.store_host);
                field(out, e.msg_type);
                field(out, &e.transaction_id);
                field(out, &e.transaction_state);
                let _ = write!(out, "{}{FIELD_SPLITOR}", e.from_transaction_check);
            }
        }
    }
}

/// Splits a trace message body into records and their fields (for readers and tests).
pub fn decode_records(body: &str) -> Vec<Vec<&str>> {
    body.split(FIELD_SPLITOR).filter(|r| !r.is_empty()).map(|r| r.split(CONTENT_SPLITOR).collect()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_transaction_records_follow_the_java_field_order() {
        let rec = TraceRecord::EndTransaction(EndTransactionRecord {
            timestamp: 1,
            region_id: DEFAULT_REGION.into(),
            group: "g".into(),
            topic: "T".into(),
            msg_id: "ID".into(),
            tags: Some("A".into()),
            keys: None,
            store_host: "127.0.0.1:10911".into(),
            msg_type: 2,
            transaction_id: "ID".into(),
            transaction_state: "COMMIT_MESSAGE".into(),
            from_transaction_check: true,
        });
        let mut body = String::new();
        rec.encode(&mut body);
        rec.encode(&mut body);
        let records = decode_records(&body);
        assert_eq!(records.len(), 2);
        assert_eq!(
            records[0],
            ["EndTransaction", "1", "DefaultRegion", "g", "T", "ID", "A", "null", "127.0.0.1:10911", "2", "ID", "COMMIT_MESSAGE", "true"]
        );
        assert_eq!(rec.index_keys().collect::<Vec<_>>(), ["ID"]);
    }
}
