//! Typed custom headers and their `extFields` string-map form.
//!
//! Java turns every typed header into a `HashMap<String,String>`: numbers as decimal
//! strings, booleans as `"true"`/`"false"`, null fields left out. The types here do the same.

use super::fields::{FieldSink, FieldWriter};
use super::ExtFields;
use std::str::FromStr;

use super::ProtocolError;
use crate::name::SharedName;

/// A typed header that travels as `extFields`.
///
/// ```
/// use actix_rocketmq::protocol::ExtFields;
/// use actix_rocketmq::protocol::header::{CommandHeader, ViewMessageRequestHeader};
///
/// let mut ext = ExtFields::new();
/// ViewMessageRequestHeader { offset: 12345 }.write_ext(&mut ext);
/// assert_eq!(&ext["offset"], "12345");
/// assert_eq!(ViewMessageRequestHeader::read_ext(&ext).unwrap().offset, 12345);
/// ```
pub trait CommandHeader: Sized {
    /// Inserts this header's non-null fields (existing keys are overwritten).
    fn write_ext(&self, ext: &mut ExtFields);
    /// Reads the header; missing required fields and unparsable values are errors.
    fn read_ext(ext: &ExtFields) -> Result<Self, ProtocolError>;
}

// ---- writing helpers -------------------------------------------------------------------

fn put(ext: &mut ExtFields, key: &'static str, value: impl Into<String>) {
    ext.insert(key, value.into());
}

fn put_num(ext: &mut ExtFields, key: &'static str, value: impl ToString) {
    ext.insert(key, value.to_string());
}

fn put_bool(ext: &mut ExtFields, key: &'static str, value: bool) {
    put(ext, key, if value { "true" } else { "false" });
}

fn put_opt(ext: &mut ExtFields, key: &'static str, value: Option<&String>) {
    if let Some(v) = value {
        put(ext, key, v.as_str());
    }
}

// ---- reading helpers -------------------------------------------------------------------

fn req_str(ext: &ExtFields, key: &'static str) -> Result<String, ProtocolError> {
    ext.get(key)
        .map(str::to_string)
        .ok_or(ProtocolError::MissingField(key))
}

fn opt_str(ext: &ExtFields, key: &str) -> Option<String> {
    ext.get(key).map(str::to_string)
}

fn parse<T: FromStr>(key: &'static str, value: &str) -> Result<T, ProtocolError> {
    value.parse().map_err(|_| ProtocolError::BadField {
        field: key,
        value: value.to_owned(),
    })
}

fn req_num<T: FromStr>(
    ext: &ExtFields,
    key: &'static str,
) -> Result<T, ProtocolError> {
    parse(key, ext.get(key).ok_or(ProtocolError::MissingField(key))?)
}

pub(crate) fn opt_num<T: FromStr>(
    ext: &ExtFields,
    key: &'static str,
) -> Result<Option<T>, ProtocolError> {
    ext.get(key).map(|v| parse(key, v)).transpose()
}

/// Java's `Boolean.parseBoolean`: `"true"` in any case is true, everything else false.
fn opt_bool(ext: &ExtFields, key: &str) -> Option<bool> {
    ext.get(key).map(|v| v.eq_ignore_ascii_case("true"))
}

// ---- SEND_MESSAGE ----------------------------------------------------------------------

/// Header of SEND_MESSAGE_V2 (310), SEND_BATCH_MESSAGE (320) and SEND_REPLY_MESSAGE_V2 (325),
/// with the one-letter keys `a`…`n` (Java `SendMessageRequestHeaderV2`, which the broker maps
/// back to the long names of `SendMessageRequestHeader`; docs/PROTOCOL.md, Send header).
///
/// ```
/// use actix_rocketmq::protocol::codes::request;
/// use actix_rocketmq::protocol::header::SendMessageRequestHeaderV2;
/// use actix_rocketmq::protocol::RemotingCommand;
///
/// let header = SendMessageRequestHeaderV2 {
///     producer_group: "my_group".into(),
///     topic: "TopicTest".into(),
///     default_topic: "TBW102".into(),
///     default_topic_queue_nums: 4,
///     queue_id: 2,
///     sys_flag: 0,
///     born_timestamp: 1_700_000_000_000,
///     flag: 0,
///     properties: String::new(),
///     reconsume_times: 0,
///     unit_mode: false,
///     max_reconsume_times: None,
///     batch: false,
///     broker_name: Some("broker-a".into()),
/// };
/// let cmd = RemotingCommand::request(request::SEND_MESSAGE_V2).with_header(&header);
/// assert_eq!(cmd.ext("b"), Some("TopicTest"));
/// assert_eq!(cmd.ext("i"), None); // empty properties are left out
/// assert_eq!(cmd.decode_header::<SendMessageRequestHeaderV2>().unwrap(), header);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendMessageRequestHeaderV2 {
    /// `a` (`producerGroup`): the producer group, namespace-prefixed when a namespace is set.
    pub producer_group: String,
    /// `b` (`topic`): the target topic, namespace-prefixed when a namespace is set.
    pub topic: String,
    /// `c` (`defaultTopic`): template topic for auto-creation, normally `TBW102`.
    pub default_topic: String,
    /// `d` (`defaultTopicQueueNums`): queue count of an auto-created topic, normally 4.
    pub default_topic_queue_nums: i32,
    /// `e` (`queueId`): the target queue; a negative value lets the broker pick a queue.
    pub queue_id: i32,
    /// `f` (`sysFlag`): [`sys_flag`](super::sys_flag) bits (compression, transaction type).
    pub sys_flag: i32,
    /// `g` (`bornTimestamp`): client wall clock, ms since the epoch.
    pub born_timestamp: i64,
    /// `h` (`flag`): the user's `Message.flag`, opaque to the broker.
    pub flag: i32,
    /// `i` (`properties`): the encoded message properties (for a batch: the envelope's); left out
    /// when empty.
    pub properties: String,
    /// `j` (`reconsumeTimes`): redeliveries so far; 0 for a producer's own messages.
    pub reconsume_times: i32,
    /// `k` (`unitMode`): legacy unit mode; `false`.
    pub unit_mode: bool,
    /// `l` (`maxReconsumeTimes`): only for `%RETRY%` topics; left out when `None`.
    pub max_reconsume_times: Option<i32>,
    /// `m` (`batch`): `true` only for SEND_BATCH_MESSAGE.
    pub batch: bool,
    /// `n` (`brokerName`, `bname` in the long form): target broker name (5.x / 4.9.8; the 5.x
    /// proxy requires it).
    pub broker_name: Option<String>,
}

impl SendMessageRequestHeaderV2 {
    /// The same fields by reference.
    pub fn as_ref(&self) -> SendHeaderRef<'_> {
        SendHeaderRef {
            producer_group: &self.producer_group,
            topic: &self.topic,
            default_topic: &self.default_topic,
            default_topic_queue_nums: self.default_topic_queue_nums,
            queue_id: self.queue_id,
            sys_flag: self.sys_flag,
            born_timestamp: self.born_timestamp,
            flag: self.flag,
            properties: &self.properties,
            reconsume_times: self.reconsume_times,
            unit_mode: self.unit_mode,
            max_reconsume_times: self.max_reconsume_times,
            batch: self.batch,
            broker_name: self.broker_name.as_deref(),
        }
    }
}

/// The fields of a [`SendMessageRequestHeaderV2`] by reference: the send path writes them
/// straight into the request's bytes ([`FieldWriter`]) from the
/// message it holds, with no owned copies and no string map. One list of fields serves both.
///
/// ```
/// use actix_rocketmq::protocol::fields::FieldSink;
/// use actix_rocketmq::protocol::header::{CommandHeader, SendHeaderRef, SendMessageRequestHeaderV2};
/// use actix_rocketmq::protocol::ExtFields;
///
/// let fields = SendHeaderRef {
///     producer_group: "g", topic: "T", default_topic: "TBW102", default_topic_queue_nums: 4,
///     queue_id: 1, sys_flag: 0, born_timestamp: 1, flag: 0, properties: "", reconsume_times: 0,
///     unit_mode: false, max_reconsume_times: None, batch: false, broker_name: Some("b"),
/// };
/// let mut ext = ExtFields::new();
/// fields.write(&mut ext);
/// assert_eq!(SendMessageRequestHeaderV2::read_ext(&ext).unwrap().as_ref(), fields);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)] // the fields of `SendMessageRequestHeaderV2`, documented there
pub struct SendHeaderRef<'a> {
    pub producer_group: &'a str,
    pub topic: &'a str,
    pub default_topic: &'a str,
    pub default_topic_queue_nums: i32,
    pub queue_id: i32,
    pub sys_flag: i32,
    pub born_timestamp: i64,
    pub flag: i32,
    pub properties: &'a str,
    pub reconsume_times: i32,
    pub unit_mode: bool,
    pub max_reconsume_times: Option<i32>,
    pub batch: bool,
    pub broker_name: Option<&'a str>,
}

impl SendHeaderRef<'_> {
    /// Writes the fields: first the ones a producer repeats in every send (`a c d j k`, see
    /// [`SendHeaderCommon`]), then the message's own (`b e f g h i l m n`); empty properties
    /// and absent options left out. The broker reads the fields into a map, so their order
    /// carries nothing.
    pub fn write(&self, w: &mut impl FieldSink) {
        write_common(w, self.producer_group, self.default_topic, self.default_topic_queue_nums, self.reconsume_times, self.unit_mode);
        self.write_own(w);
    }

    /// Writes the fields into an encoded request whose common fields come from `common`,
    /// encoded once for the producer. The result is the bytes [`write`](Self::write) would
    /// give, provided `common` was made from this header's common fields (the producer makes
    /// both from its config; reconsume times 0 and unit mode off in every send).
    pub fn write_with(&self, common: &SendHeaderCommon, w: &mut FieldWriter<'_>) {
        debug_assert!(common.matches(self), "send header common fields differ from the header's");
        w.put_encoded(&common.encoded);
        self.write_own(w);
    }

    fn write_own(&self, w: &mut impl FieldSink) {
        w.put_str("b", self.topic);
        w.put_int("e", self.queue_id.into());
        w.put_int("f", self.sys_flag.into());
        w.put_int("g", self.born_timestamp);
        w.put_int("h", self.flag.into());
        if !self.properties.is_empty() {
            w.put_str("i", self.properties);
        }
        if let Some(max) = self.max_reconsume_times {
            w.put_int("l", max.into());
        }
        w.put_bool("m", self.batch);
        if let Some(name) = self.broker_name {
            w.put_str("n", name);
        }
    }
}

fn write_common(w: &mut impl FieldSink, producer_group: &str, default_topic: &str, default_topic_queue_nums: i32, reconsume_times: i32, unit_mode: bool) {
    w.put_str("a", producer_group);
    w.put_str("c", default_topic);
    w.put_int("d", default_topic_queue_nums.into());
    w.put_int("j", reconsume_times.into());
    w.put_bool("k", unit_mode);
}

/// The send header fields that every send of one producer repeats: its group (`a`), the
/// default topic (`c`) and its queue count (`d`), reconsume times 0 (`j`) and unit mode off
/// (`k`), encoded once in the producer's serialization. Each request copies the block instead
/// of encoding five fields again.
///
/// ```
/// use actix_rocketmq::protocol::frame::encode_request;
/// use actix_rocketmq::protocol::header::{SendHeaderCommon, SendHeaderRef};
/// use actix_rocketmq::protocol::{encode_frame, EncodedRequest, RemotingCommand, SerializeType};
/// use bytes::BytesMut;
///
/// let common = SendHeaderCommon::new(SerializeType::RocketMq, "g", "TBW102", 4);
/// let fields = SendHeaderRef {
///     producer_group: "g", topic: "T", default_topic: "TBW102", default_topic_queue_nums: 4,
///     queue_id: 1, sys_flag: 0, born_timestamp: 1, flag: 0, properties: "", reconsume_times: 0,
///     unit_mode: false, max_reconsume_times: None, batch: false, broker_name: Some("b"),
/// };
/// let mut req = EncodedRequest::new(310, SerializeType::RocketMq);
/// fields.write_with(&common, &mut req.fields());
/// let mut fast = BytesMut::new();
/// encode_request(&req, 7, 0, &mut fast).unwrap();
///
/// // The same frame as a command holding every field.
/// let mut cmd = RemotingCommand::request(310).with_opaque(7);
/// fields.write(&mut cmd.ext_fields);
/// let mut slow = BytesMut::new();
/// encode_frame(&cmd, SerializeType::RocketMq, &mut slow).unwrap();
/// assert_eq!(fast, slow);
/// ```
#[derive(Debug, Clone)]
pub struct SendHeaderCommon {
    ser: super::SerializeType,
    encoded: bytes::Bytes,
}

impl SendHeaderCommon {
    /// The common fields of a producer's sends, in serialization `ser`.
    pub fn new(ser: super::SerializeType, producer_group: &str, default_topic: &str, default_topic_queue_nums: i32) -> Self {
        SendHeaderCommon { ser, encoded: encode_common(ser, producer_group, default_topic, default_topic_queue_nums, 0, false) }
    }

    /// The serialization the block is encoded in.
    pub fn serialize_type(&self) -> super::SerializeType {
        self.ser
    }

    /// Whether `header`'s common fields encode to this block (a debug check).
    fn matches(&self, h: &SendHeaderRef<'_>) -> bool {
        encode_common(self.ser, h.producer_group, h.default_topic, h.default_topic_queue_nums, h.reconsume_times, h.unit_mode) == self.encoded
    }
}

fn encode_common(ser: super::SerializeType, producer_group: &str, default_topic: &str, default_topic_queue_nums: i32, reconsume_times: i32, unit_mode: bool) -> bytes::Bytes {
    let mut buf = bytes::BytesMut::new();
    write_common(&mut FieldWriter::new(ser, &mut buf), producer_group, default_topic, default_topic_queue_nums, reconsume_times, unit_mode);
    buf.freeze()
}

impl CommandHeader for SendMessageRequestHeaderV2 {
    fn write_ext(&self, ext: &mut ExtFields) {
        ext.reserve(14);
        self.as_ref().write(ext);
    }

    fn read_ext(ext: &ExtFields) -> Result<Self, ProtocolError> {
        Ok(SendMessageRequestHeaderV2 {
            producer_group: req_str(ext, "a")?,
            topic: req_str(ext, "b")?,
            default_topic: req_str(ext, "c")?,
            default_topic_queue_nums: req_num(ext, "d")?,
            queue_id: req_num(ext, "e")?,
            sys_flag: req_num(ext, "f")?,
            born_timestamp: req_num(ext, "g")?,
            flag: req_num(ext, "h")?,
            properties: opt_str(ext, "i").unwrap_or_default(),
            reconsume_times: opt_num(ext, "j")?.unwrap_or(0),
            unit_mode: opt_bool(ext, "k").unwrap_or(false),
            max_reconsume_times: opt_num(ext, "l")?,
            batch: opt_bool(ext, "m").unwrap_or(false),
            broker_name: opt_str(ext, "n"),
        })
    }
}

/// Header of a SEND_MESSAGE reply (Java `SendMessageResponseHeader`, read by
/// `MQClientAPIImpl.processSendResponse`; docs/PROTOCOL.md, Send reply).
///
/// ```
/// use actix_rocketmq::protocol::ExtFields;
/// use actix_rocketmq::protocol::header::{CommandHeader, SendMessageResponseHeader};
///
/// let ext: ExtFields = [
///     ("msgId", "0A00000500002A9F0000000000012345"),
///     ("queueId", "2"),
///     ("queueOffset", "77"),
///     ("MSG_REGION", "DefaultRegion"),
///     ("TRACE_ON", "true"),
/// ]
/// .into_iter()
/// .map(|(k, v)| (k.to_string(), v.to_string()))
/// .collect();
/// let h = SendMessageResponseHeader::read_ext(&ext).unwrap();
/// assert_eq!((h.queue_id, h.queue_offset, h.trace_on), (2, 77, true));
/// assert_eq!(h.transaction_id, None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendMessageResponseHeader {
    /// `msgId`: the offsetMsgId (store host + commit-log offset); `,`-joined for batches.
    pub msg_id: String,
    /// `queueId`: the queue the message (or batch) was written to.
    pub queue_id: i32,
    /// `queueOffset`: offset of the (first) message in its queue; for a half message, in the
    /// half queue.
    pub queue_offset: i64,
    /// `transactionId`: the stored message's UNIQ_KEY.
    pub transaction_id: Option<String>,
    /// `batchUniqId` (5.1+, inner-batch topics only): the batch's own UNIQ_KEY.
    pub batch_uniq_id: Option<String>,
    /// Ext field `MSG_REGION` (the default region shared, not copied per reply).
    pub region_id: Option<SharedName>,
    /// Ext field `TRACE_ON`: true unless it is exactly `"false"`.
    pub trace_on: bool,
}

impl CommandHeader for SendMessageResponseHeader {
    fn write_ext(&self, ext: &mut ExtFields) {
        put(ext, "msgId", self.msg_id.as_str());
        put_num(ext, "queueId", self.queue_id);
        put_num(ext, "queueOffset", self.queue_offset);
        put_opt(ext, "transactionId", self.transaction_id.as_ref());
        put_opt(ext, "batchUniqId", self.batch_uniq_id.as_ref());
        if let Some(region) = &self.region_id {
            put(ext, "MSG_REGION", region.as_str());
        }
        put_bool(ext, "TRACE_ON", self.trace_on);
    }

    fn read_ext(ext: &ExtFields) -> Result<Self, ProtocolError> {
        let (mut h, msg_id) = Self::fields(ext)?;
        h.msg_id = msg_id.to_owned();
        Ok(h)
    }
}

impl SendMessageResponseHeader {
    /// Reads the header out of a reply's fields, taking them: the `msgId` (for a batch, its
    /// messages' offset ids joined, about a kilobyte for 32) is moved out of the fields' text
    /// instead of copied ([`ExtFields::into_value`]). Every send's reply is read here.
    ///
    /// ```
    /// use actix_rocketmq::protocol::ExtFields;
    /// use actix_rocketmq::protocol::header::SendMessageResponseHeader;
    /// let ext: ExtFields = [("msgId", "AB"), ("queueId", "3"), ("queueOffset", "7")].into_iter().collect();
    /// let h = SendMessageResponseHeader::from_ext(ext).unwrap();
    /// assert_eq!((h.msg_id.as_str(), h.queue_id, h.queue_offset), ("AB", 3, 7));
    /// ```
    pub fn from_ext(ext: ExtFields) -> Result<Self, ProtocolError> {
        let (h, _) = Self::fields(&ext)?;
        let msg_id = ext.into_value("msgId").ok_or(ProtocolError::MissingField("msgId"))?;
        Ok(SendMessageResponseHeader { msg_id, ..h })
    }

    /// Every field but `msgId`, which is handed back as found. One pass over the fields: each
    /// is matched once, where a lookup per header field scanned the list seven times.
    fn fields(ext: &ExtFields) -> Result<(Self, &str), ProtocolError> {
        let (mut msg_id, mut queue_id, mut queue_offset) = (None, None, None);
        let mut h = SendMessageResponseHeader {
            msg_id: String::new(),
            queue_id: 0,
            queue_offset: 0,
            transaction_id: None,
            batch_uniq_id: None,
            region_id: None,
            trace_on: true,
        };
        for (key, value) in ext {
            match key {
                "msgId" => msg_id = Some(value),
                "queueId" => queue_id = Some(value),
                "queueOffset" => queue_offset = Some(value),
                "transactionId" => h.transaction_id = Some(value.to_owned()),
                "batchUniqId" => h.batch_uniq_id = Some(value.to_owned()),
                "MSG_REGION" => h.region_id = Some(crate::name::region(value)),
                // Java: `!"false".equals(traceOn)`.
                "TRACE_ON" => h.trace_on = value != "false",
                _ => {}
            }
        }
        let msg_id = msg_id.ok_or(ProtocolError::MissingField("msgId"))?;
        h.queue_id = parse("queueId", queue_id.ok_or(ProtocolError::MissingField("queueId"))?)?;
        h.queue_offset = parse("queueOffset", queue_offset.ok_or(ProtocolError::MissingField("queueOffset"))?)?;
        Ok((h, msg_id))
    }
}

// ---- name server -----------------------------------------------------------------------

/// Header of GET_ROUTEINFO_BY_TOPIC (105).
///
/// ```
/// use actix_rocketmq::protocol::ExtFields;
/// use actix_rocketmq::protocol::header::{CommandHeader, GetRouteInfoRequestHeader};
///
/// let mut ext = ExtFields::new();
/// GetRouteInfoRequestHeader { topic: "T".into(), accept_standard_json_only: true }.write_ext(&mut ext);
/// assert_eq!(&ext["acceptStandardJsonOnly"], "true");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetRouteInfoRequestHeader {
    /// `topic`: the topic whose route is asked for (namespace-prefixed when a namespace is set).
    pub topic: String,
    /// `acceptStandardJsonOnly`: asks ≥ 4.9.4 name servers for standard JSON (quoted map keys).
    /// Left out when false.
    pub accept_standard_json_only: bool,
}

impl CommandHeader for GetRouteInfoRequestHeader {
    fn write_ext(&self, ext: &mut ExtFields) {
        put(ext, "topic", self.topic.as_str());
        if self.accept_standard_json_only {
            put_bool(ext, "acceptStandardJsonOnly", true);
        }
    }

    fn read_ext(ext: &ExtFields) -> Result<Self, ProtocolError> {
        Ok(GetRouteInfoRequestHeader {
            topic: req_str(ext, "topic")?,
            accept_standard_json_only: opt_bool(ext, "acceptStandardJsonOnly").unwrap_or(false),
        })
    }
}

// ---- client management -----------------------------------------------------------------

/// Header of UNREGISTER_CLIENT (35).
///
/// ```
/// use actix_rocketmq::protocol::ExtFields;
/// use actix_rocketmq::protocol::header::{CommandHeader, UnregisterClientRequestHeader};
///
/// let mut ext = ExtFields::new();
/// UnregisterClientRequestHeader {
///     client_id: "10.0.0.1@123".into(),
///     producer_group: Some("g".into()),
///     consumer_group: None,
/// }
/// .write_ext(&mut ext);
/// assert_eq!(&ext["clientID"], "10.0.0.1@123");
/// assert!(!ext.contains_key("consumerGroup"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnregisterClientRequestHeader {
    /// Key `clientID` (capital ID).
    pub client_id: String,
    /// `producerGroup`: the producer group leaving; left out when `None`.
    pub producer_group: Option<String>,
    /// `consumerGroup`: the consumer group leaving; `None` for a producer (left out).
    pub consumer_group: Option<String>,
}

impl CommandHeader for UnregisterClientRequestHeader {
    fn write_ext(&self, ext: &mut ExtFields) {
        put(ext, "clientID", self.client_id.as_str());
        put_opt(ext, "producerGroup", self.producer_group.as_ref());
        put_opt(ext, "consumerGroup", self.consumer_group.as_ref());
    }

    fn read_ext(ext: &ExtFields) -> Result<Self, ProtocolError> {
        Ok(UnregisterClientRequestHeader {
            client_id: req_str(ext, "clientID")?,
            producer_group: opt_str(ext, "producerGroup"),
            consumer_group: opt_str(ext, "consumerGroup"),
        })
    }
}

/// Header of VIEW_MESSAGE_BY_ID (33): the commit-log offset of the message.
///
/// ```
/// use actix_rocketmq::protocol::header::ViewMessageRequestHeader;
/// use actix_rocketmq::protocol::message_id::decode_offset_msg_id;
/// use actix_rocketmq::protocol::RemotingCommand;
///
/// let id = decode_offset_msg_id("0A00000500002A9F0000000000012345").unwrap();
/// let cmd = RemotingCommand::request(33).with_header(&ViewMessageRequestHeader { offset: id.commit_log_offset });
/// assert_eq!(cmd.ext("offset"), Some("74565"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewMessageRequestHeader {
    /// `offset`: the message's commit-log offset (from its offsetMsgId).
    pub offset: i64,
}

impl CommandHeader for ViewMessageRequestHeader {
    fn write_ext(&self, ext: &mut ExtFields) {
        put_num(ext, "offset", self.offset);
    }

    fn read_ext(ext: &ExtFields) -> Result<Self, ProtocolError> {
        Ok(ViewMessageRequestHeader {
            offset: req_num(ext, "offset")?,
        })
    }
}

/// Header of GET_PRODUCER_CONNECTION_LIST (204).
///
/// ```
/// use actix_rocketmq::protocol::ExtFields;
/// use actix_rocketmq::protocol::header::{CommandHeader, GetProducerConnectionListRequestHeader};
///
/// let mut ext = ExtFields::new();
/// GetProducerConnectionListRequestHeader { producer_group: "g".into() }.write_ext(&mut ext);
/// assert_eq!(&ext["producerGroup"], "g");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetProducerConnectionListRequestHeader {
    /// `producerGroup`: the group whose registered connections are listed.
    pub producer_group: String,
}

impl CommandHeader for GetProducerConnectionListRequestHeader {
    fn write_ext(&self, ext: &mut ExtFields) {
        put(ext, "producerGroup", self.producer_group.as_str());
    }

    fn read_ext(ext: &ExtFields) -> Result<Self, ProtocolError> {
        Ok(GetProducerConnectionListRequestHeader {
            producer_group: req_str(ext, "producerGroup")?,
        })
    }
}

// ---- transactions ----------------------------------------------------------------------

/// `commitOrRollback` values of END_TRANSACTION (the sysFlag transaction types).
pub mod transaction_type {
    /// Unknown: the broker ignores it and checks back later.
    pub const NOT_TYPE: i32 = 0;
    /// The half-message type: not a valid decision (a broker takes no action on it).
    pub const PREPARED_TYPE: i32 = 0x4;
    /// Commit: the broker writes the message to its real topic.
    pub const COMMIT_TYPE: i32 = 0x8;
    /// Roll back: the broker drops the half message.
    pub const ROLLBACK_TYPE: i32 = 0xC;
}

/// Header of END_TRANSACTION (37), always sent one-way (Java `EndTransactionRequestHeader`, sent
/// by `DefaultMQProducerImpl.endTransaction` and, after a check, `checkTransactionState`;
/// docs/PROTOCOL.md, Transactions).
///
/// ```
/// use actix_rocketmq::protocol::header::{transaction_type, EndTransactionRequestHeader};
/// use actix_rocketmq::protocol::RemotingCommand;
///
/// let header = EndTransactionRequestHeader {
///     producer_group: "g".into(),
///     tran_state_table_offset: 3,
///     commit_log_offset: 0x12345,
///     commit_or_rollback: transaction_type::COMMIT_TYPE,
///     from_transaction_check: false,
///     msg_id: "C0A8010A30391B6D35860A1B2C3D0001".into(),
///     transaction_id: Some("C0A8010A30391B6D35860A1B2C3D0001".into()),
///     topic: Some("TopicTest".into()),
///     broker_name: Some("broker-a".into()),
/// };
/// let mut cmd = RemotingCommand::request(37).with_header(&header);
/// cmd.mark_oneway();
/// assert_eq!(cmd.ext("commitOrRollback"), Some("8"));
/// assert_eq!(cmd.ext("bname"), Some("broker-a"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndTransactionRequestHeader {
    /// `producerGroup`: must equal the half message's `PGROUP`, or the broker refuses.
    pub producer_group: String,
    /// `tranStateTableOffset`: send response `queueOffset`, or the check header's value.
    pub tran_state_table_offset: i64,
    /// `commitLogOffset`: from the send response's offsetMsgId, or the check header's value.
    pub commit_log_offset: i64,
    /// `commitOrRollback`: see [`transaction_type`]: 8 commit, 12 rollback, 0 unknown.
    pub commit_or_rollback: i32,
    /// `fromTransactionCheck`: `true` when this answers a CHECK_TRANSACTION_STATE.
    pub from_transaction_check: bool,
    /// `msgId`: the client message id (UNIQ_KEY).
    pub msg_id: String,
    /// `transactionId`: the send response's `transactionId`, or the check header's value.
    pub transaction_id: Option<String>,
    /// `topic` (5.x): the message's topic (the broker authorizes the request against it).
    pub topic: Option<String>,
    /// Key `bname` (5.x, 4.9.8).
    pub broker_name: Option<String>,
}

impl CommandHeader for EndTransactionRequestHeader {
    fn write_ext(&self, ext: &mut ExtFields) {
        put(ext, "producerGroup", self.producer_group.as_str());
        put_num(ext, "tranStateTableOffset", self.tran_state_table_offset);
        put_num(ext, "commitLogOffset", self.commit_log_offset);
        put_num(ext, "commitOrRollback", self.commit_or_rollback);
        put_bool(ext, "fromTransactionCheck", self.from_transaction_check);
        put(ext, "msgId", self.msg_id.as_str());
        put_opt(ext, "transactionId", self.transaction_id.as_ref());
        put_opt(ext, "topic", self.topic.as_ref());
        put_opt(ext, "bname", self.broker_name.as_ref());
    }

    fn read_ext(ext: &ExtFields) -> Result<Self, ProtocolError> {
        Ok(EndTransactionRequestHeader {
            producer_group: req_str(ext, "producerGroup")?,
            tran_state_table_offset: req_num(ext, "tranStateTableOffset")?,
            commit_log_offset: req_num(ext, "commitLogOffset")?,
            commit_or_rollback: req_num(ext, "commitOrRollback")?,
            from_transaction_check: opt_bool(ext, "fromTransactionCheck").unwrap_or(false),
            msg_id: req_str(ext, "msgId")?,
            transaction_id: opt_str(ext, "transactionId"),
            topic: opt_str(ext, "topic"),
            broker_name: opt_str(ext, "bname"),
        })
    }
}

/// Header of CHECK_TRANSACTION_STATE (39), sent one-way by the broker (Java
/// `CheckTransactionStateRequestHeader`, handled by
/// `ClientRemotingProcessor.checkTransactionState`; docs/PROTOCOL.md, Transactions).
///
/// ```
/// use actix_rocketmq::protocol::header::CheckTransactionStateRequestHeader;
/// use actix_rocketmq::protocol::RemotingCommand;
///
/// let mut cmd = RemotingCommand::request(39);
/// cmd.ext_fields.insert("tranStateTableOffset", "5");
/// cmd.ext_fields.insert("commitLogOffset", "4096");
/// cmd.ext_fields.insert("msgId", "C0A8010A30391B6D35860A1B2C3D0001");
/// let h: CheckTransactionStateRequestHeader = cmd.decode_header().unwrap();
/// assert_eq!((h.tran_state_table_offset, h.commit_log_offset), (5, 4096));
/// assert_eq!(h.broker_name, None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckTransactionStateRequestHeader {
    /// `tranStateTableOffset`: offset in the half-message queue (of the copy the broker
    /// re-appended before asking).
    pub tran_state_table_offset: i64,
    /// `commitLogOffset`: commit-log offset of that copy; an answer must echo it.
    pub commit_log_offset: i64,
    /// `msgId`: UNIQ_KEY of the half message.
    pub msg_id: Option<String>,
    /// `transactionId`: the transaction id (the same UNIQ_KEY).
    pub transaction_id: Option<String>,
    /// `offsetMsgId`: the broker-side id of the half message copy.
    pub offset_msg_id: Option<String>,
    /// `topic` (5.x): the half topic `RMQ_SYS_TRANS_HALF_TOPIC` (set before the real topic is put
    /// back).
    pub topic: Option<String>,
    /// Key `bname` (5.x).
    pub broker_name: Option<String>,
}

impl CommandHeader for CheckTransactionStateRequestHeader {
    fn write_ext(&self, ext: &mut ExtFields) {
        put_num(ext, "tranStateTableOffset", self.tran_state_table_offset);
        put_num(ext, "commitLogOffset", self.commit_log_offset);
        put_opt(ext, "msgId", self.msg_id.as_ref());
        put_opt(ext, "transactionId", self.transaction_id.as_ref());
        put_opt(ext, "offsetMsgId", self.offset_msg_id.as_ref());
        put_opt(ext, "topic", self.topic.as_ref());
        put_opt(ext, "bname", self.broker_name.as_ref());
    }

    fn read_ext(ext: &ExtFields) -> Result<Self, ProtocolError> {
        Ok(CheckTransactionStateRequestHeader {
            tran_state_table_offset: req_num(ext, "tranStateTableOffset")?,
            commit_log_offset: req_num(ext, "commitLogOffset")?,
            msg_id: opt_str(ext, "msgId"),
            transaction_id: opt_str(ext, "transactionId"),
            offset_msg_id: opt_str(ext, "offsetMsgId"),
            topic: opt_str(ext, "topic"),
            broker_name: opt_str(ext, "bname"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{
        decode_frame, encode_frame, RemotingCommand, SerializeType, DEFAULT_MAX_FRAME_LEN,
    };
    use bytes::BytesMut;

    fn ext_of(pairs: &[(&str, &str)]) -> ExtFields {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// Header -> ext -> frame (both serializations) -> ext -> header.
    fn round_trip<H: CommandHeader + PartialEq + std::fmt::Debug>(h: &H) {
        let mut ext = ExtFields::new();
        h.write_ext(&mut ext);
        assert_eq!(&H::read_ext(&ext).unwrap(), h);
        for ser in [SerializeType::Json, SerializeType::RocketMq] {
            let cmd = RemotingCommand::request(1).with_header(h);
            let mut buf = BytesMut::new();
            encode_frame(&cmd, ser, &mut buf).unwrap();
            let back = decode_frame(&mut buf, DEFAULT_MAX_FRAME_LEN)
                .unwrap()
                .unwrap();
            assert_eq!(&back.decode_header::<H>().unwrap(), h);
        }
    }

    fn send_v2() -> SendMessageRequestHeaderV2 {
        SendMessageRequestHeaderV2 {
            producer_group: "my_group".into(),
            topic: "TopicTest".into(),
            default_topic: "TBW102".into(),
            default_topic_queue_nums: 4,
            queue_id: 2,
            sys_flag: 0,
            born_timestamp: 1_700_000_000_000,
            flag: 0,
            properties: "TAGS\u{1}TagA\u{2}WAIT\u{1}true\u{2}UNIQ_KEY\u{1}C0A8010A30391B6D35860A1B2C3D0001\u{2}"
                .into(),
            reconsume_times: 0,
            unit_mode: false,
            max_reconsume_times: None,
            batch: false,
            broker_name: Some("broker-a".into()),
        }
    }

    #[test]
    fn send_v2_matches_reference_example() {
        let mut ext = ExtFields::new();
        send_v2().write_ext(&mut ext);
        let expected = ext_of(&[
            ("a", "my_group"),
            ("b", "TopicTest"),
            ("c", "TBW102"),
            ("d", "4"),
            ("e", "2"),
            ("f", "0"),
            ("g", "1700000000000"),
            ("h", "0"),
            ("i", "TAGS\u{1}TagA\u{2}WAIT\u{1}true\u{2}UNIQ_KEY\u{1}C0A8010A30391B6D35860A1B2C3D0001\u{2}"),
            ("j", "0"),
            ("k", "false"),
            ("m", "false"),
            ("n", "broker-a"),
        ]);
        assert_eq!(ext, expected);
    }

    #[test]
    fn send_v2_round_trips() {
        round_trip(&send_v2());
        let mut h = send_v2();
        h.properties.clear();
        h.max_reconsume_times = Some(16);
        h.batch = true;
        h.unit_mode = true;
        h.broker_name = None;
        h.queue_id = -1;
        h.sys_flag = 0x301;
        round_trip(&h);
        let mut ext = ExtFields::new();
        h.write_ext(&mut ext);
        assert!(!ext.contains_key("i") && !ext.contains_key("n"));
        assert_eq!(&ext["l"], "16");
        assert_eq!(&ext["m"], "true");
    }

    #[test]
    fn send_v2_defaults_and_errors() {
        let minimal = ext_of(&[
            ("a", "g"),
            ("b", "t"),
            ("c", "TBW102"),
            ("d", "4"),
            ("e", "0"),
            ("f", "0"),
            ("g", "1"),
            ("h", "0"),
        ]);
        let h = SendMessageRequestHeaderV2::read_ext(&minimal).unwrap();
        assert_eq!(h.properties, "");
        assert_eq!((h.reconsume_times, h.unit_mode, h.batch), (0, false, false));
        assert_eq!((h.max_reconsume_times, h.broker_name), (None, None));

        for key in ["a", "b", "c", "d", "e", "f", "g", "h"] {
            let mut ext = minimal.clone();
            ext.remove(key);
            assert!(matches!(
                SendMessageRequestHeaderV2::read_ext(&ext),
                Err(ProtocolError::MissingField(k)) if k == key
            ));
        }
        let mut ext = minimal.clone();
        ext.insert("g", "soon");
        assert_eq!(
            SendMessageRequestHeaderV2::read_ext(&ext),
            Err(ProtocolError::BadField {
                field: "g",
                value: "soon".into()
            })
        );
        let mut ext = minimal;
        ext.insert("d", "99999999999");
        assert!(matches!(
            SendMessageRequestHeaderV2::read_ext(&ext),
            Err(ProtocolError::BadField { field: "d", .. })
        ));
    }

    #[test]
    fn send_response_round_trips_and_defaults() {
        let h = SendMessageResponseHeader {
            msg_id: "0A00000500002A9F0000000000012345".into(),
            queue_id: 3,
            queue_offset: 1 << 40,
            transaction_id: Some("C0A8010A30391B6D35860A1B2C3D0001".into()),
            batch_uniq_id: Some("B".into()),
            region_id: Some("DefaultRegion".into()),
            trace_on: false,
        };
        round_trip(&h);
        round_trip(&SendMessageResponseHeader {
            transaction_id: None,
            batch_uniq_id: None,
            region_id: None,
            trace_on: true,
            ..h
        });

        let ext = ext_of(&[("msgId", "x"), ("queueId", "1"), ("queueOffset", "2")]);
        let h = SendMessageResponseHeader::read_ext(&ext).unwrap();
        assert!(h.trace_on);
        let ext = ext_of(&[
            ("msgId", "x"),
            ("queueId", "1"),
            ("queueOffset", "2"),
            ("TRACE_ON", "FALSE"),
        ]);
        assert!(SendMessageResponseHeader::read_ext(&ext).unwrap().trace_on);
        let ext = ext_of(&[("msgId", "x"), ("queueId", "1")]);
        assert_eq!(
            SendMessageResponseHeader::read_ext(&ext),
            Err(ProtocolError::MissingField("queueOffset"))
        );
        let ext = ext_of(&[("msgId", "x"), ("queueId", ""), ("queueOffset", "2")]);
        assert!(matches!(
            SendMessageResponseHeader::read_ext(&ext),
            Err(ProtocolError::BadField {
                field: "queueId",
                ..
            })
        ));
    }

    #[test]
    fn route_header() {
        round_trip(&GetRouteInfoRequestHeader {
            topic: "TopicTest".into(),
            accept_standard_json_only: true,
        });
        round_trip(&GetRouteInfoRequestHeader {
            topic: "TopicTest".into(),
            accept_standard_json_only: false,
        });
        let mut ext = ExtFields::new();
        GetRouteInfoRequestHeader {
            topic: "T".into(),
            accept_standard_json_only: false,
        }
        .write_ext(&mut ext);
        assert_eq!(ext, ext_of(&[("topic", "T")]));
        assert_eq!(
            GetRouteInfoRequestHeader::read_ext(&ExtFields::new()),
            Err(ProtocolError::MissingField("topic"))
        );
    }

    #[test]
    fn client_headers() {
        round_trip(&UnregisterClientRequestHeader {
            client_id: "192.168.1.20@12345#81726354817263".into(),
            producer_group: Some("g".into()),
            consumer_group: Some("c".into()),
        });
        round_trip(&UnregisterClientRequestHeader {
            client_id: "id".into(),
            producer_group: None,
            consumer_group: None,
        });
        assert_eq!(
            UnregisterClientRequestHeader::read_ext(&ext_of(&[("clientId", "x")])),
            Err(ProtocolError::MissingField("clientID"))
        );
        round_trip(&ViewMessageRequestHeader { offset: i64::MAX });
        round_trip(&ViewMessageRequestHeader { offset: 0 });
        assert!(matches!(
            ViewMessageRequestHeader::read_ext(&ext_of(&[("offset", "0x10")])),
            Err(ProtocolError::BadField {
                field: "offset",
                ..
            })
        ));
        round_trip(&GetProducerConnectionListRequestHeader {
            producer_group: "pg".into(),
        });
        assert_eq!(
            GetProducerConnectionListRequestHeader::read_ext(&ExtFields::new()),
            Err(ProtocolError::MissingField("producerGroup"))
        );
    }

    #[test]
    fn transaction_headers() {
        let end = EndTransactionRequestHeader {
            producer_group: "g".into(),
            tran_state_table_offset: 12,
            commit_log_offset: 0x12345,
            commit_or_rollback: transaction_type::ROLLBACK_TYPE,
            from_transaction_check: true,
            msg_id: "C0A8010A30391B6D35860A1B2C3D0001".into(),
            transaction_id: Some("C0A8010A30391B6D35860A1B2C3D0001".into()),
            topic: Some("TopicTest".into()),
            broker_name: Some("broker-a".into()),
        };
        round_trip(&end);
        round_trip(&EndTransactionRequestHeader {
            transaction_id: None,
            topic: None,
            broker_name: None,
            ..end.clone()
        });
        let mut ext = ExtFields::new();
        end.write_ext(&mut ext);
        assert_eq!(&ext["fromTransactionCheck"], "true");
        assert_eq!(&ext["commitOrRollback"], "12");
        ext.remove("msgId");
        assert_eq!(
            EndTransactionRequestHeader::read_ext(&ext),
            Err(ProtocolError::MissingField("msgId"))
        );

        let check = CheckTransactionStateRequestHeader {
            tran_state_table_offset: 5,
            commit_log_offset: 4096,
            msg_id: Some("m".into()),
            transaction_id: Some("t".into()),
            offset_msg_id: Some("o".into()),
            topic: Some("RMQ_SYS_TRANS_HALF_TOPIC".into()),
            broker_name: Some("broker-a".into()),
        };
        round_trip(&check);
        round_trip(&CheckTransactionStateRequestHeader {
            msg_id: None,
            transaction_id: None,
            offset_msg_id: None,
            topic: None,
            broker_name: None,
            ..check
        });
        assert_eq!(
            CheckTransactionStateRequestHeader::read_ext(&ext_of(&[("commitLogOffset", "1")])),
            Err(ProtocolError::MissingField("tranStateTableOffset"))
        );
    }
}
