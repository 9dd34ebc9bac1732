//! HEART_BEAT body (Java `HeartbeatData`, built by `MQClientInstance.prepareHeartbeatData`;
//! docs/PROTOCOL.md, Heartbeats) and the GET_PRODUCER_CONNECTION_LIST reply body
//! (`ProducerConnection`).

use serde::ser::SerializeSeq;
use serde::{Deserialize, Serialize, Serializer};

use super::limits::{json_error, MAX_BODY_LIST_ENTRIES};
use super::route::{bounded_vec, parse_fastjson};
use super::ProtocolError;

/// The body of a producer's HEART_BEAT request.
///
/// ```
/// use actix_rocketmq::protocol::heartbeat::HeartbeatData;
///
/// let hb = HeartbeatData { client_id: "10.0.0.1@42".into(), producer_groups: vec!["my_group".into()] };
/// assert_eq!(
///     String::from_utf8(hb.to_json()).unwrap(),
///     r#"{"clientID":"10.0.0.1@42","consumerDataSet":[],"heartbeatFingerprint":0,"producerDataSet":[{"groupName":"my_group"}],"withoutSub":false}"#
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HeartbeatData {
    /// `clientID`: this client instance's id, `ip@instanceName[@unitName]` (also what
    /// `REPLY_TO_CLIENT` carries).
    pub client_id: String,
    /// `producerDataSet`: the producer groups of the instance, each sent as `{"groupName": …}`.
    pub producer_groups: Vec<String>,
}

/// Wire form, fields in fastjson's alphabetical order. The fingerprint stays 0: any other
/// value switches 5.x brokers to the "heartbeat v2" path.
#[derive(Serialize)]
struct HeartbeatOut<'a> {
    #[serde(rename = "clientID")]
    client_id: &'a str,
    #[serde(rename = "consumerDataSet")]
    consumer_data_set: [(); 0],
    #[serde(rename = "heartbeatFingerprint")]
    heartbeat_fingerprint: i64,
    #[serde(rename = "producerDataSet")]
    producer_data_set: Groups<'a>,
    #[serde(rename = "withoutSub")]
    without_sub: bool,
}

/// Serializes `["g1","g2"]` as `[{"groupName":"g1"},{"groupName":"g2"}]` without building
/// intermediate structs.
struct Groups<'a>(&'a [String]);

#[derive(Serialize, Deserialize)]
struct GroupName<T> {
    #[serde(rename = "groupName")]
    group_name: T,
}

impl Serialize for Groups<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for g in self.0 {
            seq.serialize_element(&GroupName {
                group_name: g.as_str(),
            })?;
        }
        seq.end()
    }
}

/// Lenient read form (older clients leave fields out).
#[derive(Deserialize, Default)]
#[serde(default)]
struct HeartbeatIn {
    #[serde(rename = "clientID")]
    client_id: Option<String>,
    #[serde(rename = "producerDataSet", deserialize_with = "bounded_groups")]
    producer_data_set: Vec<GroupName<Option<String>>>,
}

const GROUPS: &str = "producer groups in a heartbeat";
const CONNECTIONS: &str = "connections in a connection list";
const GROUPS_CAP: ProtocolError = ProtocolError::TooMany { what: GROUPS, max: MAX_BODY_LIST_ENTRIES };
const CONNECTIONS_CAP: ProtocolError = ProtocolError::TooMany { what: CONNECTIONS, max: MAX_BODY_LIST_ENTRIES };

fn bounded_groups<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<GroupName<Option<String>>>, D::Error> {
    bounded_vec(d, MAX_BODY_LIST_ENTRIES, GROUPS)
}

fn bounded_connections<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Connection>, D::Error> {
    bounded_vec(d, MAX_BODY_LIST_ENTRIES, CONNECTIONS)
}

impl HeartbeatData {
    /// The JSON body: the fields of Java's `HeartbeatData` in fastjson's order, with no consumers,
    /// fingerprint 0 and without Java's internal `CLIENT_INNER_PRODUCER` group.
    pub fn to_json(&self) -> Vec<u8> {
        let out = HeartbeatOut {
            client_id: &self.client_id,
            consumer_data_set: [],
            heartbeat_fingerprint: 0,
            producer_data_set: Groups(&self.producer_groups),
            without_sub: false,
        };
        // Strings, numbers and booleans only: serialization cannot fail.
        serde_json::to_vec(&out).unwrap_or_default()
    }

    /// Reads a heartbeat body (for mock brokers and tests). Consumer data is ignored.
    pub fn from_json(body: &[u8]) -> Result<Self, ProtocolError> {
        let h: HeartbeatIn =
            parse_fastjson(body).map_err(|e| json_error(e, &[GROUPS_CAP], ProtocolError::BadBody))?;
        Ok(HeartbeatData {
            client_id: h.client_id.unwrap_or_default(),
            producer_groups: h
                .producer_data_set
                .into_iter()
                .filter_map(|g| g.group_name)
                .collect(),
        })
    }
}

/// One client connection as the broker reports it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Connection {
    /// `clientId`: the id the client sent in its heartbeat.
    pub client_id: String,
    /// `clientAddr`: the client's `ip:port` as the broker sees the connection.
    pub client_addr: String,
    /// The Java `LanguageCode` name (`"JAVA"`, `"RUST"`, …).
    pub language: String,
    /// `version`: the `MQVersion` ordinal the client sent in its heartbeat.
    pub version: i32,
}

/// The body of a GET_PRODUCER_CONNECTION_LIST reply: the connections registered for a group.
///
/// ```
/// use actix_rocketmq::protocol::heartbeat::ProducerConnection;
///
/// let body = br#"{"connectionSet":[{"clientAddr":"10.0.0.1:5000","clientId":"10.0.0.1@42","language":"RUST","version":479}]}"#;
/// let pc = ProducerConnection::from_json(body).unwrap();
/// assert_eq!(pc.connection_set[0].client_id, "10.0.0.1@42");
/// assert_eq!(pc.connection_set[0].version, 479);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProducerConnection {
    /// `connectionSet`: one entry per registered connection (at most
    /// [`MAX_BODY_LIST_ENTRIES`] are read).
    #[serde(deserialize_with = "bounded_connections")]
    pub connection_set: Vec<Connection>,
}

impl ProducerConnection {
    /// Parses the reply body; missing fields are empty, unknown ones ignored.
    pub fn from_json(body: &[u8]) -> Result<Self, ProtocolError> {
        parse_fastjson(body).map_err(|e| json_error(e, &[CONNECTIONS_CAP], ProtocolError::BadBody))
    }

    /// Serializes the body (for mock brokers and tests).
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_heartbeat_body() {
        let hb = HeartbeatData {
            client_id: "192.168.1.20@12345#81726354817263".into(),
            producer_groups: vec!["my_group".into(), "CLIENT_INNER_PRODUCER".into()],
        };
        let expected = concat!(
            r#"{"clientID":"192.168.1.20@12345#81726354817263","consumerDataSet":[],"heartbeatFingerprint":0,"#,
            r#""producerDataSet":[{"groupName":"my_group"},{"groupName":"CLIENT_INNER_PRODUCER"}],"withoutSub":false}"#
        );
        assert_eq!(String::from_utf8(hb.to_json()).unwrap(), expected);
        assert_eq!(HeartbeatData::from_json(expected.as_bytes()).unwrap(), hb);
    }

    #[test]
    fn heartbeat_edge_cases() {
        let hb = HeartbeatData {
            client_id: "a\"b".into(),
            producer_groups: vec![],
        };
        let json = hb.to_json();
        assert!(std::str::from_utf8(&json)
            .unwrap()
            .contains(r#""producerDataSet":[]"#));
        assert_eq!(HeartbeatData::from_json(&json).unwrap(), hb);
        // Older senders leave fields out.
        assert_eq!(
            HeartbeatData::from_json(br#"{"clientID":"x"}"#)
                .unwrap()
                .producer_groups
                .len(),
            0
        );
        assert!(matches!(
            HeartbeatData::from_json(b"nope"),
            Err(ProtocolError::BadBody(_))
        ));
    }

    #[test]
    fn body_lists_are_capped() {
        use crate::protocol::limits::MAX_BODY_LIST_ENTRIES;
        let entries = |n: usize| vec!["{}"; n].join(",");
        let ok = format!(r#"{{"connectionSet":[{}]}}"#, entries(MAX_BODY_LIST_ENTRIES));
        assert_eq!(ProducerConnection::from_json(ok.as_bytes()).unwrap().connection_set.len(), MAX_BODY_LIST_ENTRIES);
        let too_many = format!(r#"{{"connectionSet":[{}]}}"#, entries(MAX_BODY_LIST_ENTRIES + 1));
        assert_eq!(ProducerConnection::from_json(too_many.as_bytes()), Err(CONNECTIONS_CAP));
        let groups = format!(r#"{{"clientID":"x","producerDataSet":[{}]}}"#, entries(MAX_BODY_LIST_ENTRIES + 1));
        assert_eq!(HeartbeatData::from_json(groups.as_bytes()), Err(GROUPS_CAP));
        assert!(ProducerConnection::from_json(br#"{"connectionSet":null}"#).unwrap().connection_set.is_empty());
    }

    #[test]
    fn producer_connection_list() {
        let body = br#"{"connectionSet":[
            {"clientAddr":"10.0.0.1:5000","clientId":"10.0.0.1@42","language":"RUST","version":479},
            {"clientAddr":"10.0.0.2:5000","clientId":"10.0.0.2@43","language":"JAVA","version":479,"extra":1},
            {"clientId":"partial"}
        ]}"#;
        let pc = ProducerConnection::from_json(body).unwrap();
        assert_eq!(pc.connection_set.len(), 3);
        assert_eq!(pc.connection_set[1].language, "JAVA");
        assert_eq!(
            pc.connection_set[2],
            Connection {
                client_id: "partial".into(),
                ..Connection::default()
            }
        );
        assert_eq!(ProducerConnection::from_json(&pc.to_json()).unwrap(), pc);
        assert_eq!(
            ProducerConnection::from_json(b"{}").unwrap(),
            ProducerConnection::default()
        );
        for bad in [
            &b""[..],
            b"[",
            br#"{"connectionSet":{}}"#,
            br#"{"connectionSet":[{"version":"x"}]}"#,
        ] {
            assert!(matches!(
                ProducerConnection::from_json(bad),
                Err(ProtocolError::BadBody(_))
            ));
        }
    }
}
