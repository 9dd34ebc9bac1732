//! `ExtFields`: the "custom header" string map of a remoting command.

use std::borrow::Cow;

use serde::ser::{Serialize, SerializeMap, Serializer};

/// The custom header of a command: a small map of strings, as Java's `HashMap<String,String>`.
///
/// Headers hold about a dozen entries, where a linear scan beats hashing, and keys known at
/// compile time (every typed header's) need no allocation. Profiles of the send path showed
/// hashing and key allocation as a fifth of all client instructions with a `HashMap`.
/// Inserting an existing key replaces its value (Java: the last duplicate wins). The values of
/// a received header share one string (one allocation per header instead of one per value:
/// every send reply is decoded into this map).
///
/// ```
/// use actix_rocketmq::protocol::ExtFields;
/// let mut ext = ExtFields::new();
/// ext.insert("topic", "TopicTest");
/// ext.insert("topic", "Other");
/// assert_eq!(ext.get("topic"), Some("Other"));
/// assert_eq!(ext.len(), 1);
/// ```
#[derive(Clone, Default)]
pub struct ExtFields {
    entries: Vec<(Cow<'static, str>, Value)>,
    /// The text of received values ([`Value::Shared`] ranges point into it).
    text: String,
}

/// One value: its own string, or a range of the map's shared text.
#[derive(Clone)]
pub(crate) enum Value {
    Owned(String),
    Shared(u32, u32),
}

impl ExtFields {
    fn value<'a>(&'a self, v: &'a Value) -> &'a str {
        match v {
            Value::Owned(s) => s,
            Value::Shared(start, end) => self.text.get(*start as usize..*end as usize).unwrap_or_default(),
        }
    }

    fn owned(&self, v: Value) -> String {
        match v {
            Value::Owned(s) => s,
            shared => self.value(&shared).to_string(),
        }
    }
}

impl ExtFields {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty map with room for `n` entries.
    pub fn with_capacity(n: usize) -> Self {
        ExtFields { entries: Vec::with_capacity(n), text: String::new() }
    }

    /// Makes room for `n` more entries.
    pub fn reserve(&mut self, n: usize) {
        self.entries.reserve(n);
    }

    /// The fields of a received header, in the order read. When a key repeats, its last value
    /// wins (as with Java's `HashMap.put`) and keeps the place of that last occurrence.
    /// Duplicates are found with a hash set, not with [`insert`](Self::insert)'s linear scan:
    /// decoding stays linear in the header's size even when a hostile peer repeats keys.
    /// `text` holds the values that `entries` refer to by range.
    pub(crate) fn from_received(mut entries: Vec<(Cow<'static, str>, Value)>, text: String) -> Self {
        // A handful of entries (every real header): compare directly.
        let unique = if entries.len() <= 16 {
            entries.iter().enumerate().all(|(i, (k, _))| entries[i + 1..].iter().all(|(other, _)| other != k))
        } else {
            let mut seen = std::collections::HashSet::with_capacity(entries.len());
            entries.iter().all(|(k, _)| seen.insert(k.as_ref()))
        };
        if !unique {
            // From the back, so the last occurrence of each key is the one kept.
            let keep: Vec<bool> = {
                let mut seen = std::collections::HashSet::with_capacity(entries.len());
                entries.iter().rev().map(|(k, _)| seen.insert(k.as_ref())).collect()
            };
            let mut keep = keep.into_iter().rev();
            entries.retain(|_| keep.next().unwrap_or(false));
        }
        ExtFields { entries, text }
    }

    /// Sets `key` to `value`, returning the previous value.
    pub fn insert(&mut self, key: impl Into<Cow<'static, str>>, value: impl Into<String>) -> Option<String> {
        let key = key.into();
        let value = Value::Owned(value.into());
        match self.entries.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => {
                let old = std::mem::replace(v, value);
                Some(self.owned(old))
            }
            None => {
                self.entries.push((key, value));
                None
            }
        }
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| self.value(v))
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let i = self.entries.iter().position(|(k, _)| k == key)?;
        let v = self.entries.swap_remove(i).1;
        Some(self.owned(v))
    }

    /// The value of `key`, taking the map apart. A received value is cut out of the text the
    /// map holds instead of copied, so the longest value of a reply costs neither an allocation
    /// nor a copy: a batch's `msgId`, its messages' offset ids joined (about a kilobyte for 32),
    /// was the largest allocation of reading a send's reply. The string keeps that text's
    /// capacity (the size of the header the value came in).
    ///
    /// ```
    /// use actix_rocketmq::protocol::ExtFields;
    /// let mut ext = ExtFields::new();
    /// ext.insert("msgId", "AB,CD");
    /// ext.insert("queueId", "3");
    /// assert_eq!(ext.clone().into_value("msgId").as_deref(), Some("AB,CD"));
    /// assert_eq!(ext.into_value("nope"), None);
    /// ```
    pub fn into_value(self, key: &str) -> Option<String> {
        let ExtFields { entries, mut text } = self;
        match entries.into_iter().find(|(k, _)| k == key)?.1 {
            Value::Owned(s) => Some(s),
            Value::Shared(start, end) => {
                let (start, end) = (start as usize, end as usize);
                // (the range was checked against the text: cutting there cannot fail)
                text.get(start..end)?;
                text.truncate(end);
                text.replace_range(..start, "");
                Some(text)
            }
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// No entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries in insertion order.
    pub fn iter(&self) -> Iter<'_> {
        self.into_iter()
    }
}

/// Shows the map with the value of `SecurityToken` masked: a session token is a credential, and
/// commands end up in logs.
impl std::fmt::Debug for ExtFields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut map = f.debug_map();
        for (k, v) in self.iter() {
            if k == super::acl::SECURITY_TOKEN {
                map.entry(&k, &"***");
            } else {
                map.entry(&k, &v);
            }
        }
        map.finish()
    }
}

/// `ext["key"]`, panicking when absent: for tests and known-present keys only.
impl std::ops::Index<&str> for ExtFields {
    type Output = str;
    fn index(&self, key: &str) -> &str {
        match self.get(key) {
            Some(v) => v,
            None => panic!("no ext field {key:?}"),
        }
    }
}

/// Equal when the same keys map to the same values, whatever the order.
impl PartialEq for ExtFields {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(k, v)| other.get(k) == Some(v))
    }
}

impl<'a> IntoIterator for &'a ExtFields {
    type Item = (&'a str, &'a str);
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        Iter { ext: self, next: 0 }
    }
}

/// The entries of an [`ExtFields`] in order, as `(key, value)`.
pub struct Iter<'a> {
    ext: &'a ExtFields,
    next: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        let (k, v) = self.ext.entries.get(self.next)?;
        self.next += 1;
        Some((k.as_ref(), self.ext.value(v)))
    }
}

impl<K: Into<Cow<'static, str>>, V: Into<String>> FromIterator<(K, V)> for ExtFields {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut ext = ExtFields::new();
        for (k, v) in iter {
            ext.insert(k, v);
        }
        ext
    }
}

impl Serialize for ExtFields {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.len()))?;
        for (k, v) in self.iter() {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_semantics() {
        let mut a = ExtFields::new();
        assert!(a.is_empty());
        a.insert("x", "1");
        a.insert(String::from("y"), "2");
        assert_eq!(a.insert("x", "3"), Some("1".to_string()));
        let b: ExtFields = [("y", "2"), ("x", "3")].into_iter().collect();
        assert_eq!(a, b, "order does not matter");
        assert_eq!(a.remove("x"), Some("3".to_string()));
        assert!(!a.contains_key("x"));
        assert_ne!(a, b);
        assert_eq!(serde_json::to_string(&b).unwrap(), r#"{"y":"2","x":"3"}"#);
        let secret: ExtFields = [("SecurityToken", "tok-1"), ("AccessKey", "alice")].into_iter().collect();
        let shown = format!("{secret:?}");
        assert!(shown.contains("alice") && !shown.contains("tok-1"), "{shown}");
    }

    #[test]
    fn a_value_taken_is_cut_out_of_the_shared_text() {
        let received = || {
            let entries = vec![("a".into(), Value::Shared(0, 2)), ("id".into(), Value::Shared(2, 8)), ("z".into(), Value::Shared(8, 11))];
            ExtFields::from_received(entries, "xy\u{e9}b,cdzzz".into())
        };
        assert_eq!(received().into_value("id").as_deref(), Some("\u{e9}b,cd"));
        assert_eq!(received().into_value("a").as_deref(), Some("xy"));
        assert_eq!(received().into_value("z").as_deref(), Some("zzz"));
        assert_eq!(received().into_value("q"), None);
        // An owned value is handed over as it is.
        let mut ext = received();
        ext.insert("id", "new");
        assert_eq!(ext.into_value("id").as_deref(), Some("new"));
        // A range that is not the text's (never made by the decoder) gives nothing, not a panic.
        let bad = ExtFields::from_received(vec![("a".into(), Value::Shared(1, 3)), ("b".into(), Value::Shared(2, 9))], "\u{e9}x".into());
        assert_eq!(bad.clone().into_value("a"), None);
        assert_eq!(bad.into_value("b"), None);
    }

    #[test]
    fn received_duplicates_keep_the_last_value() {
        let pairs = |v: &[(&str, &str)]| v.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>();
        let received = |pairs: Vec<(String, String)>| {
            let entries = pairs.into_iter().map(|(k, v)| (k.into(), Value::Owned(v))).collect();
            ExtFields::from_received(entries, String::new())
        };
        let ext = received(pairs(&[("a", "1"), ("b", "2"), ("a", "3")]));
        assert_eq!(ext.iter().collect::<Vec<_>>(), [("b", "2"), ("a", "3")]);
        // Past the small-header path too.
        let mut many: Vec<(String, String)> = (0..40).map(|i| (format!("k{}", i % 20), i.to_string())).collect();
        many.push(("k3".into(), "last".into()));
        let ext = received(many);
        assert_eq!(ext.len(), 20);
        assert_eq!(&ext["k3"], "last");
        assert_eq!(&ext["k19"], "39");
        // Values in the shared text, one replaced by an owned one.
        let mut ext = ExtFields::from_received(vec![("a".into(), Value::Shared(0, 2)), ("b".into(), Value::Shared(2, 5))], "xyabc".into());
        assert_eq!(ext.iter().collect::<Vec<_>>(), [("a", "xy"), ("b", "abc")]);
        assert_eq!(ext.insert("a", "new"), Some("xy".to_string()));
        assert_eq!(ext.remove("b"), Some("abc".to_string()));
        assert_eq!(ext.get("a"), Some("new"));
    }
}
