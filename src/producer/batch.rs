//! Batch checks, encoding and splitting (pure).

use bytes::{Bytes, BytesMut};

use super::record::ProducerRecord;
use super::validate::{check_content, check_topic};
use crate::error::ValidationError;
use crate::protocol::batch::encode_batch_message_with;
use crate::protocol::ProtocolError;
use crate::protocol::message_id::UniqIdGenerator;

/// Fixed bytes of one inner message besides body and properties (Java
/// `MessageDecoder.encodeMessage`; docs/PROTOCOL.md, Batches).
const INNER_OVERHEAD: usize = 4 + 4 + 4 + 4 + 4 + 2;
/// The longest `UNIQ_KEY` (an IPv6 client's: 56 hex characters), for size estimates.
const MAX_UNIQ_KEY_LEN: usize = 56;

/// The Java `MessageBatch.generateFromList` rules plus per-message validation.
pub fn check_batch(records: &[ProducerRecord], max_message_size: usize) -> Result<(), ValidationError> {
    let first = records.first().ok_or(ValidationError::EmptyBatch)?;
    if first.topic().starts_with("%RETRY%") {
        return Err(ValidationError::RetryTopicInBatch);
    }
    check_topic(first.topic())?;
    for r in records {
        check_content(r, max_message_size)?;
        // (shared names: the same name shared compares without reading it)
        if r.topic_name() != first.topic_name() {
            return Err(ValidationError::MixedTopics { first: first.topic().into(), other: r.topic().into() });
        }
        if r.wait_store_msg_ok() != first.wait_store_msg_ok() {
            return Err(ValidationError::MixedWait);
        }
        if r.delay().is_some() {
            return Err(ValidationError::DelayInBatch);
        }
    }
    Ok(())
}

/// A batch body and the ids of its messages.
#[derive(Debug)]
pub struct EncodedBatch {
    /// The inner messages, concatenated.
    pub body: Bytes,
    /// Every message's `UNIQ_KEY`, in order, joined by `,` (what Java's `MessageBatch` reports
    /// as the batch's msgId).
    pub msg_ids: String,
    /// How many messages it holds.
    pub count: usize,
}

/// Encodes the batch body, giving message i the next id of `ids` as its `UNIQ_KEY`.
///
/// Every id is written once into `msg_ids` and read from there into the message's properties,
/// and all ids share one clock reading: this runs for every message of every batch.
pub fn encode_batch(
    records: &[ProducerRecord],
    ids: &mut UniqIdGenerator,
    extra: &[(&str, &str)],
    max_message_size: usize,
) -> Result<EncodedBatch, ValidationError> {
    encode_batch_in(records, ids, extra, max_message_size, &mut BytesMut::new(), 0)
}

/// [`encode_batch`], writing the body into `room` and splitting it off from there: `room`
/// keeps what is left of its buffer for the next batch, and when it runs short it takes a new
/// buffer of at least `chunk` bytes (or its old one again, once every body cut from it has
/// been written and dropped). A producer's batch bodies are thus cut from a few large buffers
/// instead of each allocated and freed on its own: a W4 body (32 x 128 B, 6.7 KB) is past
/// glibc's per-thread cache, and its allocator showed up in profiles against the broker.
pub(crate) fn encode_batch_in(
    records: &[ProducerRecord],
    ids: &mut UniqIdGenerator,
    extra: &[(&str, &str)],
    max_message_size: usize,
    room: &mut BytesMut,
    chunk: usize,
) -> Result<EncodedBatch, ValidationError> {
    let bound = records.iter().map(|r| size_bound(r, extra)).sum::<usize>();
    room.clear();
    if room.capacity() < bound {
        room.reserve(bound.max(chunk));
    }
    let mut msg_ids = String::with_capacity(records.len() * (ids.prefix().len() + 13));
    let now = crate::protocol::message_id::now_millis();
    for r in records {
        if let Err(error) = append_member(r, ids, now, extra, room, &mut msg_ids) {
            room.clear();
            return Err(error);
        }
    }
    if room.len() > max_message_size {
        let size = room.len();
        room.clear();
        return Err(ValidationError::BatchTooLarge { size, max: max_message_size });
    }
    Ok(EncodedBatch { body: room.split().freeze(), msg_ids, count: records.len() })
}

/// Where a batch member's UNIQ_KEY sits in its batch's joined ids ([`append_member`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IdAt {
    pub start: u32,
    pub end: u32,
}

impl IdAt {
    /// The id, out of the batch's joined ids.
    pub(crate) fn of<'a>(&self, ids: &'a str) -> &'a str {
        ids.get(self.start as usize..self.end as usize).unwrap_or("")
    }
}

/// Appends `r` to a batch `body` with the next UNIQ_KEY of `ids` (for the time `now`), which
/// also goes to `msg_ids`, the batch's ids joined by commas; returns where it sits there. On
/// error nothing is appended to either. Both a whole batch ([`encode_batch`]) and an
/// auto-batch, member by member (`Encoder::batch_member`), are built this way. (Inlined: it
/// runs for every message of a batch, and as a call it cost a W4 message 45 instructions more.)
#[inline(always)]
pub(crate) fn append_member(
    r: &ProducerRecord,
    ids: &mut UniqIdGenerator,
    now: i64,
    extra: &[(&str, &str)],
    body: &mut BytesMut,
    msg_ids: &mut String,
) -> Result<IdAt, ValidationError> {
    let mark = msg_ids.len();
    if mark > 0 {
        msg_ids.push(',');
    }
    let start = msg_ids.len();
    ids.push_next_id_at(now, msg_ids);
    let id = &msg_ids[start..];
    // The properties go straight into the body, after the message's own body.
    let written = encode_batch_message_with(r.flag(), r.body(), body, |dst| r.encode_properties(id, extra, dst));
    if let Err(error) = written {
        msg_ids.truncate(mark);
        return Err(properties_too_large(error));
    }
    // (a batch's ids are bounded by its body, itself within max_message_size: u32 holds them)
    Ok(IdAt { start: start as u32, end: msg_ids.len() as u32 })
}

/// What an inner message refused for its length was: its properties over `i16::MAX` (its body
/// is bounded long before `i32::MAX` by the message size checks).
fn properties_too_large(error: ProtocolError) -> ValidationError {
    let size = match error {
        ProtocolError::TooLong { len, .. } => len,
        _ => 0,
    };
    ValidationError::PropertiesTooLarge { size, max: i16::MAX as usize }
}

/// An upper bound of a message's encoded size inside a batch body (with no producer-set
/// properties), computed without encoding it.
pub fn estimated_size(r: &ProducerRecord) -> usize {
    size_bound(r, &[])
}

fn size_bound(r: &ProducerRecord, extra: &[(&str, &str)]) -> usize {
    INNER_OVERHEAD + r.body().len() + r.properties_len_bound(MAX_UNIQ_KEY_LEN, extra)
}

/// Splits `records` into consecutive batches whose encoded bodies stay within `max_bytes`
/// (Java's `ListSplitter` example, with exact sizes). A single message too large on its own is
/// an error: no split can send it.
///
/// ```
/// use actix_rocketmq::producer::batch::split_batch;
/// use actix_rocketmq::ProducerRecord;
/// let recs: Vec<_> = (0..10).map(|i| ProducerRecord::new("t", vec![0u8; 100])).collect();
/// let parts = split_batch(recs, 500).unwrap();
/// assert!(parts.len() >= 3);
/// assert_eq!(parts.iter().map(Vec::len).sum::<usize>(), 10);
/// ```
pub fn split_batch(records: Vec<ProducerRecord>, max_bytes: usize) -> Result<Vec<Vec<ProducerRecord>>, ValidationError> {
    let mut out = Vec::new();
    let mut current = Vec::new();
    let mut size = 0;
    for r in records {
        let s = estimated_size(&r);
        if s > max_bytes {
            return Err(ValidationError::BatchTooLarge { size: s, max: max_bytes });
        }
        if size + s > max_bytes && !current.is_empty() {
            out.push(std::mem::take(&mut current));
            size = 0;
        }
        size += s;
        current.push(r);
    }
    if !current.is_empty() {
        out.push(current);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::producer::record::Delay;

    #[test]
    fn batch_rules() {
        let a = ProducerRecord::new("a", "x");
        assert_eq!(check_batch(&[], 100), Err(ValidationError::EmptyBatch));
        assert!(matches!(check_batch(&[a.clone(), ProducerRecord::new("b", "x")], 100), Err(ValidationError::MixedTopics { .. })));
        assert_eq!(check_batch(&[a.clone(), a.clone().with_delay(Delay::Level(1))], 100), Err(ValidationError::DelayInBatch));
        assert_eq!(check_batch(&[a.clone(), a.clone().with_wait_store_msg_ok(false)], 100), Err(ValidationError::MixedWait));
        assert_eq!(check_batch(&[ProducerRecord::new("%RETRY%g", "x")], 100), Err(ValidationError::RetryTopicInBatch));
        assert_eq!(
            check_batch(&[a.clone().with_property("UNIQ_KEY", "k")], 100),
            Err(ValidationError::ReservedProperty("UNIQ_KEY".into()))
        );
        assert!(check_batch(&[a.clone(), a], 100).is_ok());
    }

    /// Bodies cut from one buffer are each what `encode_batch` writes, stay as they were while
    /// later ones are cut, and a batch that fails leaves nothing behind for the next.
    #[test]
    fn bodies_cut_from_one_buffer() {
        use crate::protocol::message_id::UniqIdGenerator;
        let ip = std::net::IpAddr::from([127, 0, 0, 1]);
        let (mut ids, mut twin) = (UniqIdGenerator::with_seed(ip, 1, 7, 0), UniqIdGenerator::with_seed(ip, 1, 7, 0));
        let batch = |n: u8| (0..3).map(|i| ProducerRecord::new("t", vec![n + i; 40 + usize::from(i)])).collect::<Vec<_>>();
        let mut room = BytesMut::new();
        let mut kept = Vec::new();
        for n in 0..20u8 {
            let body = encode_batch_in(&batch(n), &mut ids, &[], 1 << 20, &mut room, 512).unwrap().body;
            let alone = encode_batch(&batch(n), &mut twin, &[], 1 << 20).unwrap().body;
            // (the same ids, but each batch reads the clock for its own)
            assert_eq!(body.len(), alone.len());
            assert_eq!(body[..20 + 40], alone[..20 + 40], "batch {n}");
            kept.push((n, body));
        }
        for (n, body) in &kept {
            assert_eq!(&body[20..60], &vec![*n; 40][..], "batch {n} unchanged by the later ones");
        }
        // Too large: an error, and the next batch starts from an empty buffer.
        assert!(matches!(encode_batch_in(&batch(1), &mut ids, &[], 100, &mut room, 512), Err(ValidationError::BatchTooLarge { .. })));
        assert!(room.is_empty());
        let next = encode_batch_in(&batch(2), &mut ids, &[], 1 << 20, &mut room, 512).unwrap();
        assert_eq!(next.body.len(), kept[2].1.len());
        assert_eq!(next.body[20..60], kept[2].1[20..60]);
    }

    #[test]
    fn encoded_size_is_bounded_by_the_estimate() {
        let recs: Vec<_> = (0..5)
            .map(|i| {
                ProducerRecord::new("t", vec![i as u8; 10 * i + 1])
                    .with_key(format!("k{i}"))
                    .with_key("second")
                    .with_tags("T")
                    .with_property("p", "v")
            })
            .chain([ProducerRecord::new("t", "x").with_delay(Delay::Millis(i64::MIN))])
            .collect();
        let ip = std::net::IpAddr::V6(std::net::Ipv6Addr::LOCALHOST);
        let mut ids = UniqIdGenerator::with_seed(ip, 1, 2, 3);
        let batch = encode_batch(&recs, &mut ids, &[], 1 << 20).unwrap();
        assert!(batch.body.len() <= recs.iter().map(estimated_size).sum::<usize>());
        for r in &recs {
            let mut props = String::new();
            r.encode_properties(&"F".repeat(MAX_UNIQ_KEY_LEN), &[("INSTANCE_ID", "ns")], &mut props);
            assert!(INNER_OVERHEAD + r.body().len() + props.len() <= size_bound(r, &[("INSTANCE_ID", "ns")]));
        }
        assert!(matches!(encode_batch(&recs, &mut ids, &[], 10), Err(ValidationError::BatchTooLarge { .. })));
    }

    #[test]
    fn batch_ids_are_the_inner_messages_keys() {
        let recs: Vec<_> = (0..3).map(|i| ProducerRecord::new("t", format!("m{i}"))).collect();
        let ip = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
        let mut ids = UniqIdGenerator::with_seed(ip, 1, 2, 3);
        let batch = encode_batch(&recs, &mut ids, &[], 1 << 20).unwrap();
        assert_eq!(batch.count, 3);
        let keys: Vec<&str> = batch.msg_ids.split(',').collect();
        assert_eq!(keys.len(), 3);
        // Inner messages: total, magic, CRC, flag, body length, body, properties length, properties.
        let mut inner = Vec::new();
        let mut rest = &batch.body[..];
        while !rest.is_empty() {
            let total = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
            let body_len = u32::from_be_bytes(rest[16..20].try_into().unwrap()) as usize;
            let body = &rest[20..20 + body_len];
            let props = std::str::from_utf8(&rest[22 + body_len..total]).unwrap().to_string();
            inner.push((props, body));
            rest = &rest[total..];
        }
        assert_eq!(inner.len(), 3);
        for ((props, body), (key, i)) in inner.iter().zip(keys.iter().zip(0..)) {
            assert_eq!(*body, format!("m{i}").as_bytes());
            assert!(props.contains(&format!("UNIQ_KEY\u{1}{key}\u{2}")), "{props:?}");
        }
    }

    #[test]
    fn splitting_keeps_order_and_bounds() {
        let recs: Vec<_> = (0..50).map(|i| ProducerRecord::new("t", format!("{i:0>200}"))).collect();
        let parts = split_batch(recs.clone(), 2000).unwrap();
        let flat: Vec<_> = parts.iter().flatten().cloned().collect();
        assert_eq!(flat, recs);
        for p in &parts {
            assert!(p.iter().map(estimated_size).sum::<usize>() <= 2000);
        }
        assert!(split_batch(vec![ProducerRecord::new("t", vec![0u8; 3000])], 2000).is_err());
    }
}
