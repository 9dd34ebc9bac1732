//! Turning the user's message (or batch) into what goes on the wire: validation, namespace,
//! properties with a fresh `UNIQ_KEY`, the batch body. Nothing is sent if this fails.

use bytes::{Bytes, BytesMut};

use crate::config::ProducerConfig;
use crate::error::{SendError, ValidationError};
use crate::namespace::wrap;
use crate::producer::batch::{append_member, check_batch, encode_batch_in, IdAt};
use crate::name::TopicName;
use crate::producer::record::ProducerRecord;
use crate::producer::validate::{check_content, check_topic, MAX_PROPERTIES_LEN, MAX_TOPIC_LEN};
#[cfg(doc)]
use crate::producer::validate::check_record;
use crate::protocol::codes::request;
use crate::protocol::message_id::{now_millis, UniqIdGenerator};
use crate::protocol::properties::{encode_properties, names};
use crate::protocol::reply::REPLY_MESSAGE_TYPE;

/// A message (or batch) ready for the wire.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub code: i32,
    /// Namespace-prefixed topic.
    pub topic: TopicName,
    pub body: Bytes,
    pub sys_flag: i32,
    pub flag: i32,
    pub properties: String,
    /// What the user sees as msgId: the UNIQ_KEY, or the inner ones joined by `,` for a batch.
    pub msg_id: String,
    pub batch: bool,
    /// How many messages it carries (a batch: one per id).
    pub messages: usize,
    /// Still to be compressed.
    pub compress: bool,
    /// Carries a 5.x timer delay: only for brokers that have a timer store.
    pub timer: bool,
    /// The caller's span, parent of the send's span (`None`: the send's span is a root).
    pub parent: Option<tracing::Span>,
}

#[cfg(test)]
impl Prepared {
    pub(crate) fn sample() -> Self {
        Prepared {
            code: request::SEND_MESSAGE_V2,
            topic: "t".into(),
            body: Bytes::from_static(b"12345678"),
            sys_flag: 0,
            flag: 0,
            properties: String::new(),
            msg_id: "ID".into(),
            batch: false,
            messages: 1,
            compress: false,
            timer: false,
            parent: None,
        }
    }
}

/// The properties the producer adds to every message: the namespace's `INSTANCE_ID`.
fn extra_properties(namespace: Option<&str>) -> Vec<(&'static str, &str)> {
    match namespace {
        Some(ns) => vec![(names::INSTANCE_ID, ns)],
        None => Vec::new(),
    }
}

/// Owns the message-id generator and the settings preparation needs.
pub(crate) struct Encoder {
    ids: UniqIdGenerator,
    namespace: Option<String>,
    max_message_size: usize,
    compress_over: usize,
    /// The last topic that passed the topic rules: a producer mostly sends to a few topics,
    /// and the rules looked at every character of the name for every message.
    checked_topic: Option<TopicName>,
    /// Where batch bodies are cut from (`encode_batch_in`).
    bodies: BytesMut,
}

/// The least a new buffer for batch bodies takes: room for several bodies of W4's size
/// (32 x 128 B), and under glibc's threshold for serving an allocation with its own mmap.
const BODIES_CHUNK: usize = 64 * 1024;

impl Encoder {
    pub(crate) fn new(config: &ProducerConfig) -> Self {
        Encoder {
            ids: UniqIdGenerator::new(config.client.effective_client_ip(), std::process::id()),
            namespace: config.namespace.clone().filter(|n| !n.is_empty()),
            max_message_size: config.max_message_size,
            compress_over: config.compress_msg_body_over_howmuch,
            checked_topic: None,
            bodies: BytesMut::new(),
        }
    }

    /// The topic as the broker knows it: the record's own name, shared, without a namespace.
    fn wire_topic(&self, topic: &TopicName) -> Result<TopicName, SendError> {
        let wired = match self.namespace.as_deref() {
            None => topic.clone(),
            Some(ns) => TopicName::from(wrap(Some(ns), topic)),
        };
        if wired.len() > MAX_TOPIC_LEN {
            return Err(ValidationError::TopicTooLong { len: wired.len(), max: MAX_TOPIC_LEN }.into());
        }
        Ok(wired)
    }

    /// [`check_record`]'s checks, the topic's skipped when it is the last one that passed
    /// (the same name: shared, or equal).
    fn check_record(&mut self, record: &ProducerRecord) -> Result<(), ValidationError> {
        if self.checked_topic.as_ref() != Some(record.topic_name()) {
            check_topic(record.topic())?;
            self.checked_topic = Some(record.topic_name().clone());
        }
        check_content(record, self.max_message_size)
    }

    /// Validates and encodes one message.
    pub(crate) fn single(&mut self, record: &ProducerRecord) -> Result<Prepared, SendError> {
        self.single_with(record, &[], 0)
    }

    /// Validates and encodes one message with properties the producer sets itself (names the
    /// user may not set: a transaction's `TRAN_MSG`/`PGROUP`, a request's `CORRELATION_ID`...)
    /// and extra `sys_flag` bits. A reply (`MSG_TYPE=reply`) goes as SEND_REPLY_MESSAGE_V2, as
    /// the Java client sends it (`MQClientAPIImpl#sendMessage`).
    pub(crate) fn single_with(&mut self, record: &ProducerRecord, system: &[(&'static str, &str)], sys_flag: i32) -> Result<Prepared, SendError> {
        self.check_record(record)?;
        let topic = self.wire_topic(record.topic_name())?;
        let uniq_key = self.ids.next_id();
        let mut properties = String::with_capacity(96);
        let mut extra = extra_properties(self.namespace.as_deref());
        extra.extend(record.system_properties());
        extra.extend_from_slice(system);
        let reply = extra.iter().any(|(n, v)| *n == names::MSG_TYPE && *v == REPLY_MESSAGE_TYPE);
        record.encode_properties(&uniq_key, &extra, &mut properties);
        if properties.len() > MAX_PROPERTIES_LEN {
            return Err(ValidationError::PropertiesTooLarge { size: properties.len(), max: MAX_PROPERTIES_LEN }.into());
        }
        Ok(Prepared {
            code: if reply { request::SEND_REPLY_MESSAGE_V2 } else { request::SEND_MESSAGE_V2 },
            topic,
            body: record.body().clone(),
            sys_flag,
            flag: record.flag(),
            properties,
            msg_id: uniq_key,
            batch: false,
            messages: 1,
            compress: record.body().len() >= self.compress_over,
            timer: record.delay().is_some_and(|d| d.is_timer()),
            parent: record.parent_span().cloned(),
        })
    }

    /// Validates and encodes a batch: every message gets its own UNIQ_KEY.
    pub(crate) fn batch(&mut self, records: &[ProducerRecord]) -> Result<Prepared, SendError> {
        check_batch(records, self.max_message_size)?;
        let first = records.first().ok_or(ValidationError::EmptyBatch)?;
        let extra = extra_properties(self.namespace.as_deref());
        let batch = encode_batch_in(records, &mut self.ids, &extra, self.max_message_size, &mut self.bodies, BODIES_CHUNK)?;
        let parent = first.parent_span().cloned();
        self.batch_envelope(first.topic_name(), first.wait_store_msg_ok(), batch.body, batch.msg_ids, batch.count, parent)
    }

    /// Validates one message of an auto-batch and appends it to the batch body with a fresh
    /// UNIQ_KEY, which it also appends to `ids` (the batch's ids joined by commas) and returns
    /// its place there. On error nothing is appended to either. (The batch's topic is
    /// checked with its first message: the others find it as the topic that last passed.)
    ///
    /// The id is written into the batch's one id string rather than a string of its own: the
    /// member's result gets its own copy when the batch is answered, right before the caller
    /// drops it, which the allocator serves from its per-thread cache; an id allocated when
    /// gathered and freed a batch's round trip later took its slower paths.
    pub(crate) fn batch_member(&mut self, record: &ProducerRecord, body: &mut BytesMut, ids: &mut String) -> Result<IdAt, SendError> {
        self.check_record(record)?;
        let extra = extra_properties(self.namespace.as_deref());
        Ok(append_member(record, &mut self.ids, now_millis(), &extra, body, ids)?)
    }

    /// The SEND_BATCH_MESSAGE around an encoded batch body of messages to `topic`.
    pub(crate) fn batch_envelope(
        &self,
        topic: &TopicName,
        wait: bool,
        body: Bytes,
        msg_ids: String,
        messages: usize,
        parent: Option<tracing::Span>,
    ) -> Result<Prepared, SendError> {
        let topic = self.wire_topic(topic)?;
        if body.len() > self.max_message_size {
            return Err(ValidationError::BatchTooLarge { size: body.len(), max: self.max_message_size }.into());
        }
        // No UNIQ_KEY on the envelope, unlike Java: a 5.3.3 broker appends the envelope's
        // properties to every inner message, and a later duplicate key wins when read, so an
        // envelope id would replace each message's own id (seen against the real broker).
        let wait = if wait { "true" } else { "false" };
        // (room for WAIT and a namespace's INSTANCE_ID at once: it grew twice per batch)
        let mut properties = String::with_capacity(64);
        let envelope = [(names::WAIT, wait)];
        encode_properties(envelope.into_iter().chain(extra_properties(self.namespace.as_deref())), &mut properties);
        Ok(Prepared {
            code: request::SEND_BATCH_MESSAGE,
            topic,
            body,
            sys_flag: 0,
            flag: 0,
            properties,
            msg_id: msg_ids,
            batch: true,
            messages,
            // Java never compresses batches; brokers store inner messages uncompressed.
            compress: false,
            // (a batch carries no delay: check_batch refuses one, auto-batching gathers none)
            timer: false,
            parent,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_topic_is_checked_until_it_has_passed_and_the_content_always() {
        let mut enc = Encoder::new(&ProducerConfig::default());
        let invalid = |r: Result<Prepared, SendError>| match r {
            Err(SendError::Invalid(e)) => e,
            other => panic!("expected a validation error, got {:?}", other.map(|p| p.msg_id)),
        };
        assert!(enc.single(&ProducerRecord::new("good", "x")).is_ok());
        assert!(enc.single(&ProducerRecord::new(String::from("good"), "y")).is_ok(), "an equal name, not shared");
        assert!(matches!(invalid(enc.single(&ProducerRecord::new("bad topic", "x"))), ValidationError::TopicIllegalChars(_)));
        assert!(matches!(invalid(enc.single(&ProducerRecord::new("good", ""))), ValidationError::EmptyBody), "the content is still checked");
        assert!(matches!(invalid(enc.single(&ProducerRecord::new("SCHEDULE_TOPIC_XXXX", "x"))), ValidationError::TopicNotAllowed(_)));
        assert!(matches!(invalid(enc.single(&ProducerRecord::new("bad topic", "x"))), ValidationError::TopicIllegalChars(_)), "a refused name is never taken as checked");
    }

    #[test]
    fn batch_members_join_their_ids_and_a_refused_one_leaves_nothing() {
        let mut enc = Encoder::new(&ProducerConfig::default());
        let (mut body, mut ids) = (BytesMut::new(), String::new());
        let first = enc.batch_member(&ProducerRecord::new("t", "one"), &mut body, &mut ids).unwrap();
        let second = enc.batch_member(&ProducerRecord::new("t", "two"), &mut body, &mut ids).unwrap();
        let (len, joined) = (body.len(), ids.clone());
        let huge = ProducerRecord::new("t", "x").with_property("p", "v".repeat(40_000));
        assert!(enc.batch_member(&huge, &mut body, &mut ids).is_err());
        assert_eq!((body.len(), ids.as_str()), (len, joined.as_str()), "nothing of the refused one stays");
        let third = enc.batch_member(&ProducerRecord::new("t", "three"), &mut body, &mut ids).unwrap();
        let got: Vec<&str> = [first, second, third].iter().map(|at| at.of(&ids)).collect();
        assert_eq!(ids.split(',').collect::<Vec<_>>(), got, "the ids, joined by commas in order");
        for id in &got {
            assert_eq!(id.len(), 32);
            let entry = format!("UNIQ_KEY\u{1}{id}\u{2}");
            assert!(body.windows(entry.len()).any(|w| w == entry.as_bytes()), "{id} is the UNIQ_KEY its message carries");
        }
    }
}
