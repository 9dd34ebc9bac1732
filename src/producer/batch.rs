//! Batch checks, encoding and splitting (pure).

use bytes::{Bytes, BytesMut};

use super::record::ProducerRecord;
use super::validate::check_record;
use crate::error::ValidationError;
use crate::protocol::batch::encode_batch_message;

/// Fixed bytes of one inner message besides body and properties (Java
/// `MessageDecoder.encodeMessage`; docs/PROTOCOL.md, Batches).
const INNER_OVERHEAD: usize = 4 + 4 + 4 + 4 + 4 + 2;
/// Room for `UNIQ_KEY` (IPv6 ids are 56 hex characters) in a size estimate.
const UNIQ_KEY_ALLOWANCE: usize = "UNIQ_KEY".len() + 56 + 2;

/// The Java `MessageBatch.generateFromList` rules plus per-message validation.
pub fn check_batch(records: &[ProducerRecord], max_message_size: usize) -> Result<(), ValidationError> {
    let first = records.first().ok_or(ValidationError::EmptyBatch)?;
    if first.topic().starts_with("%RETRY%") {
        return Err(ValidationError::RetryTopicInBatch);
    }
    for r in records {
        check_record(r, max_message_size)?;
        if r.topic() != first.topic() {
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

/// Encodes the batch body; `uniq_keys[i]` becomes message i's `UNIQ_KEY`.
pub fn encode_batch(
    records: &[ProducerRecord],
    uniq_keys: &[String],
    extra: &[(&str, &str)],
    max_message_size: usize,
) -> Result<Bytes, ValidationError> {
    let mut body = BytesMut::with_capacity(records.iter().map(estimated_size).sum());
    let mut props = String::new();
    for (r, key) in records.iter().zip(uniq_keys) {
        props.clear();
        r.encode_properties(key, extra, &mut props);
        encode_batch_message(r.flag(), r.body(), &props, &mut body).map_err(|_| {
            ValidationError::PropertiesTooLarge { size: props.len(), max: i16::MAX as usize }
        })?;
    }
    if body.len() > max_message_size {
        return Err(ValidationError::BatchTooLarge { size: body.len(), max: max_message_size });
    }
    Ok(body.freeze())
}

/// An upper bound of a message's encoded size inside a batch body.
pub fn estimated_size(r: &ProducerRecord) -> usize {
    let mut props = String::new();
    r.encode_properties("", &[], &mut props);
    INNER_OVERHEAD + r.body().len() + props.len() + UNIQ_KEY_ALLOWANCE
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

    #[test]
    fn encoded_size_is_bounded_by_the_estimate() {
        let recs: Vec<_> = (0..5).map(|i| ProducerRecord::new("t", vec![i as u8; 10 * i + 1]).with_key(format!("k{i}"))).collect();
        let keys: Vec<String> = (0..5).map(|i| format!("{:032X}", i)).collect();
        let body = encode_batch(&recs, &keys, &[], 1 << 20).unwrap();
        assert!(body.len() <= recs.iter().map(estimated_size).sum::<usize>());
        assert!(matches!(encode_batch(&recs, &keys, &[], 10), Err(ValidationError::BatchTooLarge { .. })));
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
