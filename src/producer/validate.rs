//! Local message checks (Java `Validators.checkMessage`): nothing invalid reaches the wire.

use crate::config::is_name_char;
use crate::error::ValidationError;
use crate::protocol::properties::is_reserved_property;
use crate::producer::record::ProducerRecord;

/// Longest topic name (client rule, same in 4.9.x and 5.x).
pub const MAX_TOPIC_LEN: usize = 127;
/// Largest encoded properties block the broker accepts (an i16 length).
pub const MAX_PROPERTIES_LEN: usize = i16::MAX as usize;

/// Topics nobody may send to: the broker answers NO_PERMISSION, so we refuse them up front.
pub const NOT_ALLOWED_SEND_TOPICS: [&str; 6] = [
    "SCHEDULE_TOPIC_XXXX",
    "RMQ_SYS_TRANS_HALF_TOPIC",
    "RMQ_SYS_TRANS_OP_HALF_TOPIC",
    "TRANS_CHECK_MAX_TIME_TOPIC",
    "SELF_TEST_TOPIC",
    "OFFSET_MOVED_EVENT",
];

/// Topic name rules.
///
/// ```
/// use actix_rocketmq::producer::validate::check_topic;
/// assert!(check_topic("orders-EU_1").is_ok());
/// assert!(check_topic("no spaces").is_err());
/// assert!(check_topic("SCHEDULE_TOPIC_XXXX").is_err());
/// ```
pub fn check_topic(topic: &str) -> Result<(), ValidationError> {
    if topic.trim().is_empty() {
        return Err(ValidationError::BlankTopic);
    }
    if topic.len() > MAX_TOPIC_LEN {
        return Err(ValidationError::TopicTooLong { len: topic.len(), max: MAX_TOPIC_LEN });
    }
    // Bytes suffice: every allowed character is ASCII, and no byte of a multi-byte character is.
    if !topic.bytes().all(|b| is_name_char(char::from(b))) {
        return Err(ValidationError::TopicIllegalChars(topic.to_string()));
    }
    if NOT_ALLOWED_SEND_TOPICS.contains(&topic) {
        return Err(ValidationError::TopicNotAllowed(topic.to_string()));
    }
    Ok(())
}

/// Checks a property name or value: no separators 0x01/0x02 and nothing empty (the broker's
/// decoder silently drops empty names and values).
fn check_text(name: &str, what: &str, value: &str) -> Result<(), ValidationError> {
    if value.is_empty() {
        return Err(ValidationError::BadProperty { name: name.to_string(), reason: format!("empty {what}") });
    }
    if value.contains(['\u{1}', '\u{2}']) {
        return Err(ValidationError::BadProperty {
            name: name.to_string(),
            reason: format!("{what} contains a 0x01/0x02 separator"),
        });
    }
    Ok(())
}

/// Every check of one message, before any network work.
pub fn check_record(rec: &ProducerRecord, max_message_size: usize) -> Result<(), ValidationError> {
    check_topic(rec.topic())?;
    check_content(rec, max_message_size)
}

/// The checks of [`check_record`] besides the topic's: a batch checks its topic once and then
/// only that every message has the same one.
pub(crate) fn check_content(rec: &ProducerRecord, max_message_size: usize) -> Result<(), ValidationError> {
    let size = rec.body().len();
    if size == 0 {
        return Err(ValidationError::EmptyBody);
    }
    if size > max_message_size {
        return Err(ValidationError::BodyTooLarge { size, max: max_message_size });
    }
    if rec.is_plain() {
        // (the common message: a batch of 32 checks 32 of them)
        return Ok(());
    }
    if let Some(tags) = rec.tags() {
        check_text("TAGS", "value", tags)?;
    }
    for key in rec.keys() {
        check_text("KEYS", "value", key)?;
        if key.contains(' ') {
            // Keys travel space-separated in one property: a space would split the key.
            return Err(ValidationError::BadProperty { name: "KEYS".into(), reason: format!("key {key:?} contains a space") });
        }
    }
    if let Some(delay) = rec.delay() {
        delay.validate()?;
    }
    for (name, value) in rec.properties() {
        if is_reserved_property(name) {
            return Err(ValidationError::ReservedProperty(name.clone()));
        }
        check_text(name, "name", name)?;
        check_text(name, "value", value)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(topic: &str) -> ProducerRecord {
        ProducerRecord::new(topic, "x")
    }

    #[test]
    fn topics() {
        assert_eq!(check_topic(""), Err(ValidationError::BlankTopic));
        assert!(matches!(check_topic(&"t".repeat(128)), Err(ValidationError::TopicTooLong { .. })));
        assert!(check_topic(&"t".repeat(127)).is_ok());
        assert!(matches!(check_topic("a/b"), Err(ValidationError::TopicIllegalChars(_))));
        assert!(matches!(check_topic("ünï"), Err(ValidationError::TopicIllegalChars(_))));
        for t in NOT_ALLOWED_SEND_TOPICS {
            assert_eq!(check_topic(t), Err(ValidationError::TopicNotAllowed(t.into())));
        }
    }

    #[test]
    fn bodies_and_properties() {
        assert_eq!(check_record(&ProducerRecord::new("t", ""), 10), Err(ValidationError::EmptyBody));
        assert_eq!(
            check_record(&ProducerRecord::new("t", vec![0u8; 11]), 10),
            Err(ValidationError::BodyTooLarge { size: 11, max: 10 })
        );
        assert!(check_record(&ProducerRecord::new("t", vec![0u8; 10]), 10).is_ok());
        assert_eq!(
            check_record(&rec("t").with_property("UNIQ_KEY", "x"), 10),
            Err(ValidationError::ReservedProperty("UNIQ_KEY".into()))
        );
        assert!(matches!(check_record(&rec("t").with_property("a", "b\u{1}"), 10), Err(ValidationError::BadProperty { .. })));
        assert!(matches!(check_record(&rec("t").with_property("a", ""), 10), Err(ValidationError::BadProperty { .. })));
        assert!(matches!(check_record(&rec("t").with_key("a b"), 10), Err(ValidationError::BadProperty { .. })));
        assert!(check_record(&rec("t").with_property("città", "naïve ✓").with_tags("A").with_key("k"), 10).is_ok());
    }
}
