//! Names that many values carry at once: a topic, a broker group, a region. Each is an
//! `Arc<str>`, so that every record made for one topic, every queue of one broker and every
//! result from one broker shares one string instead of copying it (a send result used to copy
//! its topic and broker name once per message).

use std::borrow::Borrow;
use std::fmt;
use std::sync::Arc;

use crate::protocol::trace::DEFAULT_REGION;

/// Defines a shared, immutable name type: `Arc<str>` inside, compared, hashed and ordered as
/// its text, and equal to plain strings so that tests and callers can write
/// `assert_eq!(mq.broker_name, "broker-a")`.
macro_rules! shared_name {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Eq, PartialOrd, Ord)]
        pub struct $name(Arc<str>);

        /// Equal when shared without reading the text (std's `Arc` takes that shortcut only
        /// for sized values, not for `str`); otherwise compared as text.
        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                Arc::ptr_eq(&self.0, &other.0) || *self.0 == *other.0
            }
        }

        /// Hashed as its text, as equality compares it.
        impl std::hash::Hash for $name {
            fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
                self.0.hash(state);
            }
        }

        impl $name {
            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&*self.0, f)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $name(Arc::from(s))
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                $name(Arc::from(s))
            }
        }

        impl From<&String> for $name {
            fn from(s: &String) -> Self {
                $name(Arc::from(s.as_str()))
            }
        }

        impl From<Arc<str>> for $name {
            fn from(s: Arc<str>) -> Self {
                $name(s)
            }
        }

        impl From<&$name> for $name {
            fn from(t: &$name) -> Self {
                t.clone()
            }
        }

        impl From<$name> for String {
            fn from(n: $name) -> String {
                n.0.to_string()
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                *self.0 == *other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                *self.0 == **other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                *self.0 == **other
            }
        }

        impl PartialEq<$name> for str {
            fn eq(&self, other: &$name) -> bool {
                *self == *other.0
            }
        }

        impl PartialEq<$name> for &str {
            fn eq(&self, other: &$name) -> bool {
                **self == *other.0
            }
        }

        impl PartialEq<$name> for String {
            fn eq(&self, other: &$name) -> bool {
                **self == *other.0
            }
        }
    };
}

shared_name! {
    /// A topic name as records, queues and results hold it: shared, so that records made from
    /// one `TopicName` (or clones of one record) do not copy the string. Anything string-like
    /// converts into it, so [`ProducerRecord::new`](crate::ProducerRecord::new) takes
    /// `"orders"`, a `String`, a `&String` or a `TopicName`.
    ///
    /// ```
    /// use actix_rocketmq::{ProducerRecord, TopicName};
    ///
    /// let topic = TopicName::from("orders");
    /// let records: Vec<_> = (0..3).map(|i| ProducerRecord::new(topic.clone(), format!("order {i}"))).collect();
    /// assert!(records.iter().all(|r| r.topic() == "orders"));
    /// assert_eq!(topic, "orders");
    /// ```
    TopicName
}

shared_name! {
    /// Any other name many values share: a broker group's name in every
    /// [`MessageQueue`](crate::MessageQueue) of it and every result it stored, a region in
    /// every result from that region.
    ///
    /// ```
    /// use actix_rocketmq::{MessageQueue, SharedName};
    ///
    /// let broker = SharedName::from("broker-a");
    /// let queues: Vec<_> = (0..4).map(|i| MessageQueue { topic: "orders".into(), broker_name: broker.clone(), queue_id: i }).collect();
    /// assert!(queues.iter().all(|q| q.broker_name == "broker-a"));
    /// assert_eq!(queues[3].to_string(), "orders@broker-a#3");
    /// ```
    SharedName
}

/// The region a broker reports when none is configured (`MixAll.DEFAULT_REGION`, which a 5.x
/// broker sends in `MSG_REGION`), shared by every result that carries it.
pub(crate) fn default_region() -> SharedName {
    static DEFAULT: std::sync::OnceLock<SharedName> = std::sync::OnceLock::new();
    DEFAULT.get_or_init(|| SharedName::from(DEFAULT_REGION)).clone()
}

/// A region name as a reply carries it: the shared default when it is that one (every
/// message's reply from a broker with no region set), otherwise a new name.
pub(crate) fn region(text: &str) -> SharedName {
    if text == DEFAULT_REGION {
        default_region()
    } else {
        SharedName::from(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_equal_when_shared_or_when_their_text_is() {
        let a = TopicName::from("orders");
        let (same_text, other) = (TopicName::from(String::from("orders")), TopicName::from("order"));
        assert!(a == a.clone());
        assert!(a == same_text, "another allocation, the same text");
        assert!(a != other);
        let (e1, e2) = (SharedName::from(""), SharedName::from(""));
        assert!(e1 == e2);
    }
}
