//! Topic routes from the name server (GET_ROUTEINFO_BY_TOPIC; Java `TopicRouteData`,
//! `QueueData`, `BrokerData`) and the publish-queue list a producer builds from them
//! (`MQClientInstance.topicRouteData2TopicPublishInfo`, `TopicPublishInfo`); docs/PROTOCOL.md,
//! Routes.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::de::DeserializeOwned;
use serde::{de, Deserialize, Deserializer, Serialize};

use super::limits::{json_error, MAX_BROKER_ADDRS, MAX_ROUTE_BROKERS, MAX_ROUTE_QUEUES, MAX_ROUTE_QUEUE_BYTES, MAX_ROUTE_QUEUE_DATAS};
use super::ProtocolError;
use crate::name::{SharedName, TopicName};

/// `PermName.PERM_PRIORITY`: priority bit of a queue group's `perm` (not used by producers).
pub const PERM_PRIORITY: i32 = 8;
/// `PermName.PERM_READ`: consumers may read the queue group.
pub const PERM_READ: i32 = 4;
/// `PermName.PERM_WRITE`: producers may write; queue groups without it get no publish queues.
pub const PERM_WRITE: i32 = 2;
/// `PermName.PERM_INHERIT`: a template topic (TBW102) whose settings new topics may inherit.
pub const PERM_INHERIT: i32 = 1;
/// Broker id of a master in `brokerAddrs`.
pub const MASTER_ID: i64 = 0;

/// `null` (which fastjson normally leaves out, but other writers may send) reads as the default.
fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A JSON array of at most `max` entries (`null` reads as empty): the count is checked while
/// reading, before a hostile body of tiny entries can multiply into large structs.
pub(crate) fn bounded_vec<'de, D, T>(d: D, max: usize, what: &'static str) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct Bounded<T> {
        max: usize,
        what: &'static str,
        item: std::marker::PhantomData<T>,
    }
    impl<'de, T: Deserialize<'de>> de::Visitor<'de> for Bounded<T> {
        type Value = Vec<T>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            write!(f, "an array of at most {} {}", self.max, self.what)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Vec<T>, E> {
            Ok(Vec::new())
        }
        fn visit_none<E: de::Error>(self) -> Result<Vec<T>, E> {
            Ok(Vec::new())
        }
        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Vec<T>, D2::Error> {
            d.deserialize_seq(self)
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            let mut out = Vec::new();
            while let Some(item) = seq.next_element()? {
                if out.len() == self.max {
                    return Err(de::Error::custom(ProtocolError::TooMany { what: self.what, max: self.max }));
                }
                out.push(item);
            }
            Ok(out)
        }
    }
    d.deserialize_option(Bounded { max, what, item: std::marker::PhantomData })
}

const QUEUE_DATAS: &str = "queueDatas entries in a route";
const BROKER_DATAS: &str = "brokerDatas entries in a route";
const BROKER_ADDRS: &str = "addresses in a brokerDatas entry";

fn bounded_queue_datas<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<QueueData>, D::Error> {
    bounded_vec(d, MAX_ROUTE_QUEUE_DATAS, QUEUE_DATAS)
}

fn bounded_broker_datas<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<BrokerData>, D::Error> {
    bounded_vec(d, MAX_ROUTE_BROKERS, BROKER_DATAS)
}

/// `brokerAddrs`, at most [`MAX_BROKER_ADDRS`] entries (`null` reads as empty).
fn bounded_addrs<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<i64, String>, D::Error> {
    struct Bounded;
    impl<'de> de::Visitor<'de> for Bounded {
        type Value = BTreeMap<i64, String>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            write!(f, "an object of at most {MAX_BROKER_ADDRS} broker addresses")
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(BTreeMap::new())
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(BTreeMap::new())
        }
        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            d.deserialize_map(self)
        }
        fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some((id, addr)) = map.next_entry::<i64, Option<String>>()? {
                if out.len() == MAX_BROKER_ADDRS {
                    let err = ProtocolError::TooMany { what: BROKER_ADDRS, max: MAX_BROKER_ADDRS };
                    return Err(de::Error::custom(err));
                }
                if let Some(addr) = addr {
                    out.insert(id, addr);
                }
            }
            Ok(out)
        }
    }
    d.deserialize_option(Bounded)
}

/// Route data of one topic. Unknown fields (`filterServerTable`, `topicQueueMappingByBroker`, …)
/// are ignored; missing ones are empty.
///
/// ```
/// use actix_rocketmq::protocol::route::parse_route;
///
/// // Legacy name servers write bare integer keys; both forms parse.
/// let body = br#"{"brokerDatas":[{"brokerAddrs":{0:"10.0.0.5:10911"},"brokerName":"broker-a","cluster":"c"}],
///                 "queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"writeQueueNums":4,"topicSynFlag":0}]}"#;
/// let route = parse_route(body).unwrap();
/// assert_eq!(route.broker_datas[0].master_addr(), Some("10.0.0.5:10911"));
/// assert_eq!(route.queue_datas[0].write_queue_nums, 4);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicRouteData {
    /// `queueDatas`: the topic's queue counts and permission on each broker group.
    #[serde(deserialize_with = "bounded_queue_datas")]
    pub queue_datas: Vec<QueueData>,
    /// `brokerDatas`: the broker groups hosting the topic and their addresses.
    #[serde(deserialize_with = "bounded_broker_datas")]
    pub broker_datas: Vec<BrokerData>,
    /// `orderTopicConf`: `broker:N;broker:N` for topics the name server keeps ordered
    /// configuration for; when present it alone defines the publish queues.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_topic_conf: Option<String>,
}

/// Queue counts and permission of a topic on one broker.
///
/// ```
/// use actix_rocketmq::protocol::route::{QueueData, PERM_WRITE};
///
/// let qd: QueueData = serde_json::from_str(r#"{"brokerName":"b","perm":6,"readQueueNums":4,"writeQueueNums":4,"topicSynFlag":0}"#).unwrap();
/// assert!(qd.perm & PERM_WRITE != 0);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", from = "QueueDataWire")]
pub struct QueueData {
    /// `brokerName`: the broker group these queues live on.
    pub broker_name: String,
    /// `readQueueNums`: queues consumers read.
    pub read_queue_nums: i32,
    /// `writeQueueNums`: queues producers write (ids `0..writeQueueNums`).
    pub write_queue_nums: i32,
    /// [`PERM_READ`] / [`PERM_WRITE`] / [`PERM_INHERIT`] bits.
    pub perm: i32,
    /// Written as `topicSysFlag` (4.9.0+); `topicSynFlag` (≤ 4.8) is accepted too.
    pub topic_sys_flag: i32,
}

/// Reads both spellings of the flag without serde's duplicate-field error when both appear.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[derive(Default)]
struct QueueDataWire {
    #[serde(deserialize_with = "null_default")]
    broker_name: String,
    #[serde(deserialize_with = "null_default")]
    read_queue_nums: i32,
    #[serde(deserialize_with = "null_default")]
    write_queue_nums: i32,
    #[serde(deserialize_with = "null_default")]
    perm: i32,
    topic_sys_flag: Option<i32>,
    topic_syn_flag: Option<i32>,
}

impl From<QueueDataWire> for QueueData {
    fn from(w: QueueDataWire) -> Self {
        QueueData {
            broker_name: w.broker_name,
            read_queue_nums: w.read_queue_nums,
            write_queue_nums: w.write_queue_nums,
            perm: w.perm,
            topic_sys_flag: w.topic_sys_flag.or(w.topic_syn_flag).unwrap_or(0),
        }
    }
}

/// One broker group: its name and the addresses of its master (id 0) and slaves.
///
/// ```
/// use actix_rocketmq::protocol::route::BrokerData;
///
/// let bd: BrokerData = serde_json::from_str(r#"{"brokerAddrs":{"1":"10.0.0.6:10911"},"brokerName":"b","cluster":"c"}"#).unwrap();
/// assert_eq!(bd.master_addr(), None); // only a slave is known
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BrokerData {
    /// `cluster`: the cluster the broker group belongs to.
    #[serde(deserialize_with = "null_default")]
    pub cluster: String,
    /// `brokerName`: the broker group's name, shared by its master and slaves.
    #[serde(deserialize_with = "null_default")]
    pub broker_name: String,
    /// Broker id → `host:port` (keys are numeric strings on the wire).
    #[serde(deserialize_with = "bounded_addrs")]
    pub broker_addrs: BTreeMap<i64, String>,
}

impl BrokerData {
    /// The master's address (broker id 0), if the group has a master.
    pub fn master_addr(&self) -> Option<&str> {
        self.broker_addrs.get(&MASTER_ID).map(String::as_str)
    }
}

impl TopicRouteData {
    /// The broker groups a producer gets queues on and how many, in publish order, like Java's
    /// `topicRouteData2TopicPublishInfo`: from `orderTopicConf` (`broker:N;broker:N`, no perm or
    /// master check; malformed items skipped) if it is present, otherwise from the writable
    /// `queueDatas` of brokers that have a master, sorted by broker name. Static-topic mappings
    /// are not supported and fall through to the second rule.
    fn publish_groups(&self) -> Vec<(&str, i32)> {
        match self.order_topic_conf.as_deref() {
            Some(conf) if !conf.is_empty() => conf
                .split(';')
                .filter_map(|item| {
                    let (broker, nums) = item.split_once(':')?;
                    Some((broker.trim(), nums.trim().parse::<i32>().ok()?))
                })
                .collect(),
            _ => {
                let mut datas: Vec<&QueueData> = self.queue_datas.iter().collect();
                datas.sort_by(|a, b| a.broker_name.cmp(&b.broker_name));
                let masters: std::collections::HashSet<&str> = self
                    .broker_datas
                    .iter()
                    .filter(|b| b.broker_addrs.contains_key(&MASTER_ID))
                    .map(|b| b.broker_name.as_str())
                    .collect();
                datas
                    .into_iter()
                    .filter(|qd| qd.perm & PERM_WRITE != 0 && masters.contains(qd.broker_name.as_str()))
                    .map(|qd| (qd.broker_name.as_str(), qd.write_queue_nums))
                    .collect()
            }
        }
    }

    /// Refuses a route whose publish queues would pass [`MAX_ROUTE_QUEUES`] or
    /// [`MAX_ROUTE_QUEUE_BYTES`] (counted before anything is built).
    fn check_publish_size(&self) -> Result<(), ProtocolError> {
        let (mut queues, mut bytes) = (0usize, 0usize);
        for (broker, nums) in self.publish_groups() {
            let n = usize::try_from(nums).unwrap_or(0);
            queues = queues.saturating_add(n);
            // Each queue holds its broker name; the topic (≤ 127 bytes, ours) is left out.
            bytes = bytes.saturating_add(n.saturating_mul(std::mem::size_of::<MessageQueue>() + broker.len()));
            if queues > MAX_ROUTE_QUEUES {
                return Err(ProtocolError::TooMany { what: "publish queues in a route", max: MAX_ROUTE_QUEUES });
            }
            if bytes > MAX_ROUTE_QUEUE_BYTES {
                return Err(ProtocolError::TooLong { what: "publish queue list of a route", len: bytes, max: MAX_ROUTE_QUEUE_BYTES });
            }
        }
        Ok(())
    }

    /// The TBW102 fallback (Java `DefaultMQProducerImpl.tryToFindTopicPublishInfo` via
    /// `MQClientInstance.updateTopicRouteInfoFromNameServer`; docs/PROTOCOL.md, Routes): read =
    /// write = min(n, readQueueNums).
    pub fn clamp_queue_nums(&mut self, n: i32) {
        for qd in &mut self.queue_datas {
            let nums = n.min(qd.read_queue_nums);
            qd.read_queue_nums = nums;
            qd.write_queue_nums = nums;
        }
    }

    /// Standard JSON, as ≥ 4.9.4 name servers send it (for mock name servers and tests).
    pub fn to_json(&self) -> Vec<u8> {
        // Serializing plain strings, integers and string-keyed maps cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// Rewrites bare integer object keys (`{0:"a",1:"b"}`, fastjson's output for maps with numeric
/// keys) into quoted ones. An integer counts as a key when it directly follows `{` or `,`
/// outside a string (whitespace allowed) and is followed by optional whitespace and `:`.
/// Returns `None` when there was nothing to rewrite.
///
/// ```
/// use actix_rocketmq::protocol::route::quote_bare_integer_keys;
///
/// let fixed = quote_bare_integer_keys(br#"{0:"a:1", 1 :"b",",2:":[3,4]}"#).unwrap();
/// assert_eq!(fixed, br#"{"0":"a:1", "1" :"b",",2:":[3,4]}"#);
/// assert_eq!(quote_bare_integer_keys(br#"{"0":"a"}"#), None);
/// ```
pub fn quote_bare_integer_keys(json: &[u8]) -> Option<Vec<u8>> {
    fn is_ws(c: Option<&u8>) -> bool {
        matches!(c, Some(b' ' | b'\t' | b'\n' | b'\r'))
    }
    let mut out = Vec::with_capacity(json.len() + 32);
    let mut changed = false;
    let mut in_string = false;
    let mut escaped = false;
    let mut i = 0;
    while let Some(&c) = json.get(i) {
        out.push(c);
        i += 1;
        if in_string {
            if escaped {
                escaped = false;
            } else if c == b'\\' {
                escaped = true;
            } else if c == b'"' {
                in_string = false;
            }
            continue;
        }
        match c {
            b'"' => in_string = true,
            b'{' | b',' => {
                let mut j = i;
                while is_ws(json.get(j)) {
                    j += 1;
                }
                let num_start = j;
                if json.get(j) == Some(&b'-') {
                    j += 1;
                }
                let digits_start = j;
                while matches!(json.get(j), Some(b'0'..=b'9')) {
                    j += 1;
                }
                let num_end = j;
                while is_ws(json.get(j)) {
                    j += 1;
                }
                if num_end > digits_start && json.get(j) == Some(&b':') {
                    out.extend_from_slice(json.get(i..num_start).unwrap_or_default());
                    out.push(b'"');
                    out.extend_from_slice(json.get(num_start..num_end).unwrap_or_default());
                    out.push(b'"');
                    i = num_end;
                    changed = true;
                }
            }
            _ => {}
        }
    }
    changed.then_some(out)
}

/// Parses a JSON body written by fastjson: strict first, then once more with bare integer keys
/// quoted (fastjson writes `Map<Long, _>` keys bare; docs/PROTOCOL.md, Routes). Also used for
/// other bodies with numeric map keys.
pub fn parse_fastjson<T: DeserializeOwned>(body: &[u8]) -> Result<T, serde_json::Error> {
    match serde_json::from_slice(body) {
        Ok(v) => Ok(v),
        Err(strict) => match quote_bare_integer_keys(body) {
            Some(fixed) => serde_json::from_slice(&fixed),
            None => Err(strict),
        },
    }
}

/// Parses the body of a successful GET_ROUTEINFO_BY_TOPIC reply, standard or legacy JSON.
///
/// A route past the caps of [`limits`](super::limits) (entries, addresses, publish queues) is
/// refused with [`ProtocolError::TooMany`] or [`ProtocolError::TooLong`]; time and memory stay
/// proportional to `body`.
///
/// ```
/// use actix_rocketmq::protocol::{route::parse_route, ProtocolError};
///
/// // 920 bytes that would otherwise build 6.5 million queues
/// let conf = (0..100).map(|i| format!("b{i}:65536")).collect::<Vec<_>>().join(";");
/// let body = format!(r#"{{"brokerDatas":[],"queueDatas":[],"orderTopicConf":"{conf}"}}"#);
/// assert!(matches!(parse_route(body.as_bytes()), Err(ProtocolError::TooMany { .. })));
/// ```
pub fn parse_route(body: &[u8]) -> Result<TopicRouteData, ProtocolError> {
    let caps = [
        ProtocolError::TooMany { what: QUEUE_DATAS, max: MAX_ROUTE_QUEUE_DATAS },
        ProtocolError::TooMany { what: BROKER_DATAS, max: MAX_ROUTE_BROKERS },
        ProtocolError::TooMany { what: BROKER_ADDRS, max: MAX_BROKER_ADDRS },
    ];
    let route: TopicRouteData = parse_fastjson(body).map_err(|e| json_error(e, &caps, ProtocolError::Route))?;
    route.check_publish_size()?;
    Ok(route)
}

/// One queue of a topic on one broker.
///
/// ```
/// use actix_rocketmq::protocol::route::MessageQueue;
///
/// let mq = MessageQueue { topic: "TopicTest".into(), broker_name: "broker-a".into(), queue_id: 2 };
/// assert_eq!(mq.to_string(), "TopicTest@broker-a#2");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageQueue {
    /// The topic the queue belongs to.
    pub topic: TopicName,
    /// The broker group holding the queue.
    pub broker_name: SharedName,
    /// The queue id within that broker group.
    pub queue_id: i32,
}

impl fmt::Display for MessageQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}#{}", self.topic, self.broker_name, self.queue_id)
    }
}

/// What a producer needs to send to a topic: the writable queues and each broker's master.
///
/// ```
/// use actix_rocketmq::protocol::route::{parse_route, TopicPublishInfo};
///
/// let route = parse_route(br#"{"brokerDatas":[{"brokerAddrs":{"0":"10.0.0.5:10911"},"brokerName":"broker-a","cluster":"c"}],
///     "queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":2,"writeQueueNums":2,"topicSysFlag":0}]}"#).unwrap();
/// let info = TopicPublishInfo::from_route("TopicTest", &route);
/// assert!(info.ok());
/// assert_eq!(info.queues.len(), 2);
/// assert_eq!(info.masters["broker-a"], "10.0.0.5:10911");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TopicPublishInfo {
    /// The route had an `orderTopicConf`.
    pub order_topic: bool,
    /// The queues a send may choose from; round robin walks them in this order.
    pub queues: Vec<MessageQueue>,
    /// brokerName → master address, for every broker group of the route that has a master.
    pub masters: HashMap<String, String>,
    /// The route this was built from.
    pub route: TopicRouteData,
    /// The master address of each queue's broker, in `queues`' order (see
    /// [`master_of`](Self::master_of)).
    queue_masters: Vec<Option<String>>,
}

impl TopicPublishInfo {
    /// The master address of the broker of `queues[index]` (`None`: no such queue, or its
    /// broker has no master). One index lookup: the send path asks for every message.
    pub fn master_of(&self, index: usize) -> Option<&str> {
        self.queue_masters.get(index)?.as_deref()
    }

    /// Builds the queue list like Java's `topicRouteData2TopicPublishInfo`: from `orderTopicConf`
    /// (`broker:N;broker:N`, no perm/master check) if present, otherwise from the writable
    /// `queueDatas` of brokers that have a master, sorted by broker name. Static-topic mappings
    /// are not supported and fall through to the second rule. Malformed order-conf items are
    /// skipped.
    pub fn from_route(topic: &str, route: &TopicRouteData) -> Self {
        let masters: HashMap<String, String> = route
            .broker_datas
            .iter()
            .filter_map(|b| {
                b.master_addr()
                    .map(|addr| (b.broker_name.clone(), addr.to_owned()))
            })
            .collect();
        let mut queues = Vec::new();
        // `parse_route` refuses routes past the caps; this keeps a route built some other way
        // bounded too.
        let mut room = MAX_ROUTE_QUEUES;
        // Every queue shares one topic name and its broker's one name.
        let topic = TopicName::from(topic);
        for (broker, nums) in route.publish_groups() {
            let n = usize::try_from(nums).unwrap_or(0).min(room);
            room -= n;
            let broker = SharedName::from(broker);
            queues.extend((0..n).map(|queue_id| MessageQueue {
                topic: topic.clone(),
                broker_name: broker.clone(),
                // n ≤ MAX_ROUTE_QUEUES, far below i32::MAX
                queue_id: queue_id as i32,
            }));
        }
        let queue_masters = queues.iter().map(|q| masters.get(q.broker_name.as_str()).cloned()).collect();
        TopicPublishInfo {
            order_topic: route.order_topic_conf.as_deref().is_some_and(|c| !c.is_empty()),
            queues,
            masters,
            route: route.clone(),
            queue_masters,
        }
    }

    /// `true` if there is at least one queue to send to.
    pub fn ok(&self) -> bool {
        !self.queues.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STANDARD: &str = r#"{
      "brokerDatas": [
        {"brokerAddrs": {"0": "192.168.1.10:10911", "1": "192.168.1.11:10911"},
         "brokerName": "broker-b", "cluster": "DefaultCluster", "enableActingMaster": false, "zoneName": "z"},
        {"brokerAddrs": {"0": "192.168.1.20:10911"}, "brokerName": "broker-a", "cluster": "DefaultCluster"},
        {"brokerAddrs": {"1": "192.168.1.31:10911"}, "brokerName": "broker-c", "cluster": "DefaultCluster"}
      ],
      "filterServerTable": {},
      "queueDatas": [
        {"brokerName": "broker-b", "perm": 6, "readQueueNums": 4, "topicSysFlag": 0, "writeQueueNums": 2},
        {"brokerName": "broker-a", "perm": 7, "readQueueNums": 8, "topicSysFlag": 0, "writeQueueNums": 3},
        {"brokerName": "broker-c", "perm": 6, "readQueueNums": 4, "topicSysFlag": 0, "writeQueueNums": 4},
        {"brokerName": "broker-d", "perm": 6, "readQueueNums": 4, "topicSysFlag": 0, "writeQueueNums": 4}
      ],
      "topicQueueMappingByBroker": {"x": {"currIdMap": {"0": 1}}}
    }"#;

    const LEGACY: &str = r#"{"brokerDatas":[{"brokerAddrs":{0:"192.168.1.10:10911",1:"192.168.1.11:10911"},"brokerName":"broker-a","cluster":"DefaultCluster"}],"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSynFlag":1,"writeQueueNums":4}]}"#;

    #[test]
    fn parses_standard_json() {
        let route = parse_route(STANDARD.as_bytes()).unwrap();
        assert_eq!(route.broker_datas.len(), 3);
        let b = &route.broker_datas[0];
        assert_eq!(b.broker_name, "broker-b");
        assert_eq!(b.cluster, "DefaultCluster");
        assert_eq!(b.master_addr(), Some("192.168.1.10:10911"));
        assert_eq!(
            b.broker_addrs.get(&1).map(String::as_str),
            Some("192.168.1.11:10911")
        );
        assert_eq!(route.broker_datas[2].master_addr(), None);
        assert_eq!(
            route.queue_datas[1],
            QueueData {
                broker_name: "broker-a".into(),
                read_queue_nums: 8,
                write_queue_nums: 3,
                perm: 7,
                topic_sys_flag: 0
            }
        );
        assert_eq!(route.order_topic_conf, None);
    }

    #[test]
    fn parses_legacy_bare_keys() {
        let route = parse_route(LEGACY.as_bytes()).unwrap();
        assert_eq!(
            route.broker_datas[0].master_addr(),
            Some("192.168.1.10:10911")
        );
        assert_eq!(route.broker_datas[0].broker_addrs.len(), 2);
        assert_eq!(route.queue_datas[0].topic_sys_flag, 1);
        // Strict parsing alone fails on it.
        assert!(serde_json::from_str::<TopicRouteData>(LEGACY).is_err());
    }

    #[test]
    fn tolerates_missing_null_and_both_flag_spellings() {
        let route = parse_route(br#"{}"#).unwrap();
        assert_eq!(route, TopicRouteData::default());
        let route = parse_route(
            br#"{"queueDatas":null,"brokerDatas":[{"brokerName":"b","brokerAddrs":null,"cluster":null}],"orderTopicConf":null}"#,
        )
        .unwrap();
        assert!(route.queue_datas.is_empty());
        assert_eq!(route.broker_datas[0].broker_addrs.len(), 0);
        let route = parse_route(
            br#"{"queueDatas":[{"brokerName":"b","topicSynFlag":3,"topicSysFlag":5}]}"#,
        )
        .unwrap();
        assert_eq!(route.queue_datas[0].topic_sys_flag, 5);
    }

    #[test]
    fn garbage_is_a_route_error() {
        for bad in [
            &b""[..],
            b"null",
            b"{",
            b"\xff\xfe",
            br#"{"brokerDatas":[{"brokerAddrs":{"master":"x"}}]}"#,
            br#"{"brokerDatas":[{"brokerAddrs":{0 0:"x"}}]}"#,
            br#"{"queueDatas":[{"perm":"rw"}]}"#,
        ] {
            assert!(
                matches!(parse_route(bad), Err(ProtocolError::Route(_))),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn quoting_respects_strings_and_escapes() {
        let src = br#"{"a\":{0:":{1:"x"}, "n":[1, 2], "m":{ -3 : "y" ,
 4:"z"}}"#;
        let out = quote_bare_integer_keys(src).unwrap();
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            r#"{"a\":{0:":{"1":"x"}, "n":[1, 2], "m":{ "-3" : "y" ,
 "4":"z"}}"#
        );
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["m"]["-3"], "y");
        assert_eq!(quote_bare_integer_keys(b"[1,2,{}]"), None);
        assert_eq!(quote_bare_integer_keys(b"{-:1}"), None);
        assert_eq!(quote_bare_integer_keys(b"{12"), None);
    }

    #[test]
    fn round_trips_through_serialize() {
        let route = parse_route(STANDARD.as_bytes()).unwrap();
        let json = route.to_json();
        assert!(std::str::from_utf8(&json)
            .unwrap()
            .contains(r#""brokerAddrs":{"0":"192.168.1.10:10911""#));
        assert_eq!(parse_route(&json).unwrap(), route);
    }

    #[test]
    fn publish_info_from_queue_datas() {
        let route = parse_route(STANDARD.as_bytes()).unwrap();
        let info = TopicPublishInfo::from_route("T", &route);
        assert!(!info.order_topic && info.ok());
        // Sorted by broker name; broker-c has no master, broker-d no broker data.
        let got: Vec<(String, i32)> = info
            .queues
            .iter()
            .map(|q| (q.broker_name.to_string(), q.queue_id))
            .collect();
        let want: Vec<(String, i32)> = [
            ("broker-a", 0),
            ("broker-a", 1),
            ("broker-a", 2),
            ("broker-b", 0),
            ("broker-b", 1),
        ]
        .iter()
        .map(|(b, q)| (b.to_string(), *q))
        .collect();
        assert_eq!(got, want);
        assert!(info.queues.iter().all(|q| q.topic == "T"));
        assert_eq!(info.masters.len(), 2);
        assert_eq!(info.masters["broker-a"], "192.168.1.20:10911");
        assert_eq!(info.route, route);
    }

    #[test]
    fn publish_info_skips_unwritable() {
        let mut route = parse_route(STANDARD.as_bytes()).unwrap();
        for qd in &mut route.queue_datas {
            qd.perm = PERM_READ;
        }
        let info = TopicPublishInfo::from_route("T", &route);
        assert!(!info.ok());
        assert_eq!(info.masters.len(), 2);
        assert!(!TopicPublishInfo::from_route("T", &TopicRouteData::default()).ok());
    }

    #[test]
    fn publish_info_from_order_conf() {
        let mut route = parse_route(STANDARD.as_bytes()).unwrap();
        route.order_topic_conf =
            Some("broker-b:2;junk;broker-x:abc;broker-a:1;broker-z:-5;".into());
        let info = TopicPublishInfo::from_route("T", &route);
        assert!(info.order_topic);
        let got: Vec<String> = info.queues.iter().map(ToString::to_string).collect();
        assert_eq!(got, ["T@broker-b#0", "T@broker-b#1", "T@broker-a#0"]);
    }

    /// Heap bytes allocated while `f` runs, on this thread only (the counting allocator of the
    /// unit tests, `crate::test_alloc`).
    fn allocated_by<T>(f: impl FnOnce() -> T) -> (T, usize) {
        let before = crate::test_alloc::allocated_on_this_thread();
        let out = f();
        (out, crate::test_alloc::allocated_on_this_thread() - before)
    }

    #[test]
    fn hostile_order_conf_is_refused_before_building_queues() {
        // 100 entries of name:65536 in about 920 bytes built 6.5 million queues (517 MiB).
        let conf = (0..100).map(|i| format!("b{i}:65536")).collect::<Vec<_>>().join(";");
        let body = format!(r#"{{"brokerDatas":[],"queueDatas":[],"orderTopicConf":"{conf}"}}"#);
        assert!(body.len() < 1100, "{}", body.len());
        let (res, bytes) = allocated_by(|| parse_route(body.as_bytes()));
        assert_eq!(res, Err(ProtocolError::TooMany { what: "publish queues in a route", max: MAX_ROUTE_QUEUES }));
        assert!(bytes < 64 * 1024, "refusing it allocated {bytes} bytes");
    }

    #[test]
    fn hostile_queue_datas_are_refused_before_building_queues() {
        // 50 queueDatas of 65536 write queues in 2.6 KB built 3.3 million queues (255 MiB).
        let brokers: Vec<String> = (0..50).map(|i| format!(r#"{{"brokerAddrs":{{"0":"a:{i}"}},"brokerName":"b{i}"}}"#)).collect();
        let queues: Vec<String> =
            (0..50).map(|i| format!(r#"{{"brokerName":"b{i}","perm":6,"readQueueNums":65536,"writeQueueNums":65536}}"#)).collect();
        let body = format!(r#"{{"brokerDatas":[{}],"queueDatas":[{}]}}"#, brokers.join(","), queues.join(","));
        let (res, bytes) = allocated_by(|| parse_route(body.as_bytes()));
        assert_eq!(res, Err(ProtocolError::TooMany { what: "publish queues in a route", max: MAX_ROUTE_QUEUES }));
        assert!(bytes < 256 * 1024, "refusing it allocated {bytes} bytes");
        // One broker at i32::MAX too.
        let one = r#"{"brokerDatas":[{"brokerAddrs":{"0":"a:1"},"brokerName":"b"}],
                     "queueDatas":[{"brokerName":"b","perm":6,"readQueueNums":2147483647,"writeQueueNums":2147483647}]}"#;
        assert!(matches!(parse_route(one.as_bytes()), Err(ProtocolError::TooMany { .. })));
    }

    #[test]
    fn routes_at_the_caps_parse_and_long_broker_names_count_by_bytes() {
        let at_cap = format!(r#"{{"orderTopicConf":"a:{}"}}"#, MAX_ROUTE_QUEUES);
        let route = parse_route(at_cap.as_bytes()).unwrap();
        let (info, bytes) = allocated_by(|| TopicPublishInfo::from_route("T", &route));
        assert_eq!(info.queues.len(), MAX_ROUTE_QUEUES);
        assert!(bytes < 4 * 1024 * 1024, "{bytes}");
        // A 10 KB broker name times 1,000 queues: few queues, but 10 MB of names.
        let long = format!(r#"{{"orderTopicConf":"{}:1000"}}"#, "n".repeat(10_000));
        assert!(matches!(parse_route(long.as_bytes()), Err(ProtocolError::TooLong { .. })));
    }

    #[test]
    fn too_many_entries_are_refused_while_reading() {
        let entries = |n: usize| vec!["{}"; n].join(",");
        let body = format!(r#"{{"queueDatas":[{}]}}"#, entries(MAX_ROUTE_QUEUE_DATAS + 1));
        assert_eq!(
            parse_route(body.as_bytes()),
            Err(ProtocolError::TooMany { what: "queueDatas entries in a route", max: MAX_ROUTE_QUEUE_DATAS })
        );
        let body = format!(r#"{{"brokerDatas":[{}]}}"#, entries(MAX_ROUTE_BROKERS + 1));
        assert!(matches!(parse_route(body.as_bytes()), Err(ProtocolError::TooMany { what: "brokerDatas entries in a route", .. })));
        let addrs: Vec<String> = (0..=MAX_BROKER_ADDRS).map(|i| format!(r#""{i}":"a:{i}""#)).collect();
        let body = format!(r#"{{"brokerDatas":[{{"brokerName":"b","brokerAddrs":{{{}}}}}]}}"#, addrs.join(","));
        assert!(matches!(parse_route(body.as_bytes()), Err(ProtocolError::TooMany { what: "addresses in a brokerDatas entry", .. })));
        // Legacy bare keys go through the same caps.
        let addrs: Vec<String> = (0..=MAX_BROKER_ADDRS).map(|i| format!(r#"{i}:"a:{i}""#)).collect();
        let body = format!(r#"{{"brokerDatas":[{{"brokerName":"b","brokerAddrs":{{{}}}}}]}}"#, addrs.join(","));
        assert!(matches!(parse_route(body.as_bytes()), Err(ProtocolError::TooMany { .. })));
        // A null address is dropped, like a null queueDatas.
        let route = parse_route(br#"{"queueDatas":null,"brokerDatas":[{"brokerName":"b","brokerAddrs":{"0":"a:1","1":null}}]}"#).unwrap();
        assert_eq!(route.broker_datas[0].broker_addrs.len(), 1);
    }

    #[test]
    fn clamp_for_tbw102_fallback() {
        let mut route = parse_route(STANDARD.as_bytes()).unwrap();
        route.clamp_queue_nums(4);
        let nums: Vec<(i32, i32)> = route
            .queue_datas
            .iter()
            .map(|q| (q.read_queue_nums, q.write_queue_nums))
            .collect();
        assert_eq!(nums, [(4, 4), (4, 4), (4, 4), (4, 4)]);
        route.clamp_queue_nums(2);
        assert!(route
            .queue_datas
            .iter()
            .all(|q| q.read_queue_nums == 2 && q.write_queue_nums == 2));
    }
}
