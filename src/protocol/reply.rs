//! Request-reply on the wire: the reply topic, the properties a reply copies from its request,
//! and the reply a broker pushes to the requester (PUSH_REPLY_MESSAGE_TO_CLIENT, 326);
//! docs/PROTOCOL.md, Request-reply.
//!
//! A request is an ordinary send carrying `CORRELATION_ID`, `REPLY_TO_CLIENT` (the requester's
//! client id) and `TTL`; the broker adds `CLUSTER` when it stores it. The responder sends its
//! reply with SEND_REPLY_MESSAGE_V2 (325) to `<CLUSTER>_REPLY_TOPIC`, copying those properties
//! and adding `MSG_TYPE=reply` (Java `MessageUtil#createReplyMessage`). The broker then pushes
//! the reply on the connection the requester's heartbeat registered
//! (`ReplyMessageProcessor#pushReplyMessage`), and the requester answers SUCCESS.

use bytes::Bytes;

use super::compression::{decompress, CompressionType};
use super::header::opt_num;
use super::properties::{decode_received_properties, names};
use super::stored::MAX_DECOMPRESSED_BODY;
use super::sys_flag::COMPRESSED_FLAG;
use super::{ProtocolError, RemotingCommand};

/// `MSG_TYPE` value of a reply.
pub const REPLY_MESSAGE_TYPE: &str = "reply";

/// The reply topic of a cluster (Java `MixAll#getReplyTopic`): every broker creates it at start.
///
/// ```
/// assert_eq!(actix_rocketmq::protocol::reply::reply_topic("DefaultCluster"), "DefaultCluster_REPLY_TOPIC");
/// ```
pub fn reply_topic(cluster: &str) -> String {
    format!("{cluster}_REPLY_TOPIC")
}

/// A reply the broker pushed to this client (the fields of `ReplyMessageRequestHeader` and the
/// body, inflated when the responder compressed it).
///
/// ```
/// use actix_rocketmq::protocol::reply::decode_reply_push;
/// use actix_rocketmq::protocol::RemotingCommand;
///
/// let mut cmd = RemotingCommand::request(326).with_body(bytes::Bytes::from_static(b"pong"));
/// for (k, v) in [("producerGroup", "responders"), ("topic", "DefaultCluster_REPLY_TOPIC"),
///                ("properties", "CORRELATION_ID\u{1}c-1\u{2}MSG_TYPE\u{1}reply\u{2}"),
///                ("sysFlag", "0"), ("flag", "0"), ("queueId", "0"), ("bornTimestamp", "1"),
///                ("storeTimestamp", "2"), ("bornHost", "127.0.0.1:5000"), ("storeHost", "127.0.0.1:10911")] {
///     cmd.ext_fields.insert(k, v);
/// }
/// let reply = decode_reply_push(&cmd).unwrap();
/// assert_eq!(reply.correlation_id(), Some("c-1"));
/// assert_eq!(&reply.body[..], b"pong");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyMessage {
    /// The reply topic (`<cluster>_REPLY_TOPIC`).
    pub topic: String,
    /// Inflated if the responder compressed it.
    pub body: Bytes,
    /// The reply's properties (`CORRELATION_ID`, `MSG_TYPE=reply`, the responder's own, and
    /// the broker's `PUSH_REPLY_TIME`), in wire order.
    pub properties: Vec<(String, String)>,
    /// The responder's producer group.
    pub responder_group: String,
    /// `flag`: the reply's `Message.flag`.
    pub flag: i32,
    /// As sent, with the compression bit cleared once the body is inflated.
    pub sys_flag: i32,
    /// `bornTimestamp`: when the responder sent the reply (ms since the epoch).
    pub born_timestamp: i64,
    /// The responder's address (`ip:port`).
    pub born_host: String,
    /// `storeTimestamp`: when the broker pushed it (ms since the epoch).
    pub store_timestamp: i64,
    /// The broker's address (`ip:port`).
    pub store_host: String,
}

impl ReplyMessage {
    /// A property of the reply (the last one if the name repeats).
    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The request's `CORRELATION_ID`, echoed by the responder.
    pub fn correlation_id(&self) -> Option<&str> {
        self.property(names::CORRELATION_ID)
    }
}

/// An optional numeric ext field, 0 when absent (a bad value is an error naming the field).
fn num<T: std::str::FromStr + Default>(cmd: &RemotingCommand, key: &'static str) -> Result<T, ProtocolError> {
    Ok(opt_num(&cmd.ext_fields, key)?.unwrap_or_default())
}

/// Reads a PUSH_REPLY_MESSAGE_TO_CLIENT request. The body is inflated (bounded by
/// [`MAX_DECOMPRESSED_BODY`]) when `sysFlag` has the compression bit, as the Java requester
/// does (`ClientRemotingProcessor#receiveReplyMessage`).
pub fn decode_reply_push(cmd: &RemotingCommand) -> Result<ReplyMessage, ProtocolError> {
    let text = |key: &'static str| cmd.ext(key).unwrap_or_default().to_string();
    let mut reply = ReplyMessage {
        topic: cmd.ext("topic").ok_or(ProtocolError::MissingField("topic"))?.to_string(),
        body: cmd.body.clone(),
        properties: decode_received_properties(cmd.ext("properties").unwrap_or_default())?,
        responder_group: text("producerGroup"),
        flag: num(cmd, "flag")?,
        sys_flag: num(cmd, "sysFlag")?,
        born_timestamp: num(cmd, "bornTimestamp")?,
        born_host: text("bornHost"),
        store_timestamp: num(cmd, "storeTimestamp")?,
        store_host: text("storeHost"),
    };
    // Inflated last: a malformed push costs no decompression.
    if reply.sys_flag & COMPRESSED_FLAG != 0 {
        let kind = CompressionType::from_sys_flag(reply.sys_flag)?;
        reply.body = Bytes::from(decompress(kind, &reply.body, MAX_DECOMPRESSED_BODY)?);
        reply.sys_flag &= !COMPRESSED_FLAG;
    }
    Ok(reply)
}

/// Where a reply goes and what it must carry, read from a request's properties: the cluster
/// that stored it (`CLUSTER`, added by 4.6+ brokers), the requester (`REPLY_TO_CLIENT`), the
/// `CORRELATION_ID` and the `TTL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyAddress {
    /// `CLUSTER`: the cluster of the broker that stored the request; names the reply topic.
    pub cluster: String,
    /// `REPLY_TO_CLIENT`: the requester's client id, copied into the reply.
    pub reply_to_client: String,
    /// `CORRELATION_ID`: copied into the reply so the requester can match it.
    pub correlation_id: String,
    /// `TTL`: the request's timeout in ms as sent (decimal string), copied when present.
    pub ttl: Option<String>,
}

impl ReplyAddress {
    /// Reads the address from a request's properties; a missing one is named in the error
    /// (Java fails the same way, code 10007, for a request without `CLUSTER`).
    ///
    /// ```
    /// use actix_rocketmq::protocol::reply::ReplyAddress;
    /// let props = [("CLUSTER", "DefaultCluster"), ("REPLY_TO_CLIENT", "127.0.0.1@1"), ("CORRELATION_ID", "c-1"), ("TTL", "3000")];
    /// let to = ReplyAddress::from_properties(props.iter().map(|(k, v)| (*k, *v))).unwrap();
    /// assert_eq!(to.topic(), "DefaultCluster_REPLY_TOPIC");
    /// assert!(ReplyAddress::from_properties([("CLUSTER", "c")]).is_err());
    /// ```
    pub fn from_properties<'a>(props: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self, ProtocolError> {
        let (mut cluster, mut client, mut correlation, mut ttl) = (None, None, None, None);
        for (k, v) in props {
            match k {
                names::CLUSTER => cluster = Some(v.to_string()),
                names::REPLY_TO_CLIENT => client = Some(v.to_string()),
                names::CORRELATION_ID => correlation = Some(v.to_string()),
                names::TTL => ttl = Some(v.to_string()),
                _ => {}
            }
        }
        Ok(ReplyAddress {
            cluster: cluster.filter(|c| !c.is_empty()).ok_or(ProtocolError::MissingField("CLUSTER"))?,
            reply_to_client: client.filter(|c| !c.is_empty()).ok_or(ProtocolError::MissingField("REPLY_TO_CLIENT"))?,
            correlation_id: correlation.filter(|c| !c.is_empty()).ok_or(ProtocolError::MissingField("CORRELATION_ID"))?,
            ttl,
        })
    }

    /// The reply topic.
    pub fn topic(&self) -> String {
        reply_topic(&self.cluster)
    }

    /// The properties the reply carries (Java `MessageUtil#createReplyMessage`).
    pub fn reply_properties(&self) -> Vec<(&'static str, String)> {
        let mut props = vec![
            (names::MSG_TYPE, REPLY_MESSAGE_TYPE.to_string()),
            (names::CORRELATION_ID, self.correlation_id.clone()),
            (names::REPLY_TO_CLIENT, self.reply_to_client.clone()),
        ];
        if let Some(ttl) = &self.ttl {
            props.push((names::TTL, ttl.clone()));
        }
        props
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::compression::compress;

    fn push(body: Bytes, sys_flag: i32) -> RemotingCommand {
        let mut cmd = RemotingCommand::request(326).with_body(body);
        cmd.ext_fields.insert("topic", "C_REPLY_TOPIC");
        cmd.ext_fields.insert("sysFlag", sys_flag.to_string());
        cmd.ext_fields.insert("properties", "CORRELATION_ID\u{1}x\u{2}");
        cmd
    }

    #[test]
    fn compressed_replies_are_inflated_and_bad_fields_are_errors() {
        let z = compress(CompressionType::Zlib, 5, b"hello hello hello").unwrap();
        let reply = decode_reply_push(&push(Bytes::from(z), COMPRESSED_FLAG)).unwrap();
        assert_eq!(&reply.body[..], b"hello hello hello");
        assert_eq!(reply.sys_flag & COMPRESSED_FLAG, 0);
        assert!(decode_reply_push(&push(Bytes::from_static(b"not zlib"), COMPRESSED_FLAG)).is_err());
        let mut bad = push(Bytes::new(), 0);
        bad.ext_fields.insert("flag", "x");
        assert!(matches!(decode_reply_push(&bad), Err(ProtocolError::BadField { field: "flag", .. })));
        let mut no_topic = push(Bytes::new(), 0);
        no_topic.ext_fields = crate::protocol::ExtFields::new();
        assert!(decode_reply_push(&no_topic).is_err());
    }

    #[test]
    fn a_reply_copies_what_routes_it_back() {
        let to = ReplyAddress {
            cluster: "C".into(),
            reply_to_client: "ip@1".into(),
            correlation_id: "x".into(),
            ttl: Some("3000".into()),
        };
        let props = to.reply_properties();
        assert!(props.contains(&(names::MSG_TYPE, "reply".into())));
        assert!(props.contains(&(names::TTL, "3000".into())));
        assert_eq!(to.topic(), "C_REPLY_TOPIC");
        let missing = ReplyAddress::from_properties([("CLUSTER", "C"), ("REPLY_TO_CLIENT", "a")]);
        assert_eq!(missing, Err(ProtocolError::MissingField("CORRELATION_ID")));
    }
}
