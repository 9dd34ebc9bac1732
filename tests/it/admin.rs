//! Test-only broker and name server requests, to check what the broker really holds.

use std::time::Duration;

use actix::prelude::*;
use actix_rocketmq::protocol::codes::{request, response};
use actix_rocketmq::protocol::header::{GetProducerConnectionListRequestHeader, GetRouteInfoRequestHeader, ViewMessageRequestHeader};
use actix_rocketmq::protocol::heartbeat::ProducerConnection;
use actix_rocketmq::protocol::message_id::decode_offset_msg_id;
use actix_rocketmq::protocol::route::{parse_route, TopicRouteData};
use actix_rocketmq::protocol::stored::{decode_stored_message, decode_stored_messages, StoredMessage};
use actix_rocketmq::protocol::{RemotingCommand, SerializeType, DEFAULT_MAX_FRAME_LEN};
use actix_rocketmq::remoting::{request as remote_request, Connection, ConnectionSettings};

const TIMEOUT: Duration = Duration::from_secs(10);

/// One connection to a remote address, for admin-style requests.
pub struct Admin {
    addr: String,
    conn: Addr<Connection>,
}

impl Admin {
    pub fn connect(addr: &str) -> Admin {
        let settings = ConnectionSettings {
            serialize_type: SerializeType::Json,
            connect_timeout: Duration::from_secs(3),
            max_frame_len: DEFAULT_MAX_FRAME_LEN,
            io_threads: 0,
            ..Default::default()
        };
        Admin { addr: addr.to_string(), conn: Connection::new(addr, 0, settings, None).start() }
    }

    /// A connection with these settings (e.g. TLS and a signer for a secured broker).
    pub fn connect_with(addr: &str, settings: ConnectionSettings) -> Admin {
        Admin { addr: addr.to_string(), conn: Connection::new(addr, 0, settings, None).start() }
    }

    pub async fn call(&self, cmd: RemotingCommand) -> RemotingCommand {
        remote_request(&self.conn, &self.addr, cmd, TIMEOUT).await.expect("admin request failed")
    }

    /// The stored message at the commit-log offset encoded in `offset_msg_id` (VIEW_MESSAGE_BY_ID).
    pub async fn view(&self, offset_msg_id: &str) -> StoredMessage {
        let id = decode_offset_msg_id(offset_msg_id).expect("offsetMsgId decodes");
        let cmd = RemotingCommand::request(request::VIEW_MESSAGE_BY_ID)
            .with_header(&ViewMessageRequestHeader { offset: id.commit_log_offset });
        let reply = self.call(cmd).await;
        assert_eq!(reply.code, response::SUCCESS, "view {offset_msg_id}: {:?}", reply.remark);
        decode_stored_message(&reply.body).expect("stored message decodes")
    }

    /// Size of the stored record as the broker returns it (compressed bodies stay compressed).
    pub async fn view_raw_len(&self, offset_msg_id: &str) -> usize {
        let id = decode_offset_msg_id(offset_msg_id).expect("offsetMsgId decodes");
        let cmd = RemotingCommand::request(request::VIEW_MESSAGE_BY_ID)
            .with_header(&ViewMessageRequestHeader { offset: id.commit_log_offset });
        self.call(cmd).await.body.len()
    }

    /// Client ids the broker has registered for `group` (GET_PRODUCER_CONNECTION_LIST).
    pub async fn producer_client_ids(&self, group: &str) -> Vec<String> {
        let cmd = RemotingCommand::request(request::GET_PRODUCER_CONNECTION_LIST)
            .with_header(&GetProducerConnectionListRequestHeader { producer_group: group.to_string() });
        let reply = self.call(cmd).await;
        if reply.code != response::SUCCESS {
            // The broker answers SYSTEM_ERROR "the producer group[..] not exist" for no connections.
            assert!(reply.remark.as_deref().unwrap_or("").contains("not exist"), "{:?}", reply.remark);
            return Vec::new();
        }
        let pc: ProducerConnection = serde_json::from_slice(&reply.body).expect("producer connection body");
        pc.connection_set.into_iter().map(|c| c.client_id).collect()
    }

    /// Whether, within 10 s, the broker comes to list `client_id` under `group` (`listed`) or
    /// to no longer list it (`!listed`).
    pub async fn lists_producer(&self, group: &str, client_id: &str, listed: bool) -> bool {
        eventually(TIMEOUT, || async { self.producer_client_ids(group).await.iter().any(|c| c == client_id) == listed }).await
    }

    /// The max offset of one queue (GET_MAX_OFFSET, code 30): how many messages it holds.
    pub async fn max_offset(&self, topic: &str, queue_id: i32) -> i64 {
        let mut cmd = RemotingCommand::request(30);
        cmd.ext_fields.insert("topic", topic);
        cmd.ext_fields.insert("queueId", queue_id.to_string());
        let reply = self.call(cmd).await;
        assert_eq!(reply.code, response::SUCCESS, "max offset: {:?}", reply.remark);
        reply.ext("offset").and_then(|o| o.parse().ok()).expect("offset in reply")
    }

    /// How many messages queues `0..queues` of `topic` hold (the sum of their max offsets).
    pub async fn held(&self, topic: &str, queues: i32) -> i64 {
        let mut total = 0;
        for q in 0..queues {
            total += self.max_offset(topic, q).await;
        }
        total
    }

    /// [`held`](Self::held) once the broker has caught up with the sends it acknowledged.
    ///
    /// A queue's max offset grows when the broker's dispatcher (`ReputMessageService`) has
    /// copied the stored message into the consume queue, shortly after the acknowledgement; on
    /// a loaded machine that lags. So this waits until `expect` shows up (at most 5 s), then
    /// reads once more a moment later, so a late duplicate would still be counted.
    pub async fn held_settled(&self, topic: &str, queues: i32, expect: i64) -> i64 {
        eventually(Duration::from_secs(5), || async { self.held(topic, queues).await >= expect }).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        self.held(topic, queues).await
    }

    /// Pulls up to 32 messages of one queue from `offset` (PULL_MESSAGE, as consumer group
    /// `group`, subscription `*` in the request): the messages and the next offset. Nothing
    /// new: an empty list and the same offset.
    pub async fn pull(&self, group: &str, topic: &str, queue_id: i32, offset: i64) -> (Vec<StoredMessage>, i64) {
        let mut cmd = RemotingCommand::request(request::PULL_MESSAGE);
        for (k, v) in [
            ("consumerGroup", group.to_string()),
            ("topic", topic.to_string()),
            ("queueId", queue_id.to_string()),
            ("queueOffset", offset.to_string()),
            ("maxMsgNums", "32".to_string()),
            // FLAG_SUBSCRIPTION: the subscription travels in this request (no heartbeat needed).
            ("sysFlag", "4".to_string()),
            ("commitOffset", "0".to_string()),
            ("suspendTimeoutMillis", "0".to_string()),
            ("subscription", "*".to_string()),
            ("subVersion", "0".to_string()),
            ("expressionType", "TAG".to_string()),
        ] {
            cmd.ext_fields.insert(k.to_string(), v);
        }
        let reply = self.call(cmd).await;
        let next = reply.ext("nextBeginOffset").and_then(|o| o.parse().ok()).unwrap_or(offset);
        if reply.code != response::SUCCESS {
            return (Vec::new(), next);
        }
        (decode_stored_messages(&reply.body).expect("pulled messages decode"), next)
    }

    /// Every message `topic` holds, queue by queue (queues `0..queues`, each pulled from offset
    /// 0 by a fresh consumer group until nothing new comes).
    pub async fn pull_all(&self, topic: &str, queues: i32) -> Vec<StoredMessage> {
        let mut all = Vec::new();
        for q in 0..queues {
            let group = crate::common::unique("reader");
            let mut offset = 0;
            loop {
                let (msgs, next) = self.pull(&group, topic, q, offset).await;
                if msgs.is_empty() {
                    break;
                }
                all.extend(msgs);
                offset = next;
            }
        }
        all
    }

    /// Messages the broker's index holds for `uniq_key` in `topic` (QUERY_MESSAGE by UNIQ_KEY).
    pub async fn query_uniq_key(&self, topic: &str, uniq_key: &str) -> Vec<StoredMessage> {
        let mut cmd = RemotingCommand::request(12);
        for (k, v) in [
            ("topic", topic.to_string()),
            ("key", uniq_key.to_string()),
            ("maxNum", "32".to_string()),
            ("beginTimestamp", "0".to_string()),
            ("endTimestamp", i64::MAX.to_string()),
            ("_UNIQUE_KEY_QUERY", "true".to_string()),
        ] {
            cmd.ext_fields.insert(k.to_string(), v);
        }
        let reply = self.call(cmd).await;
        if reply.code != response::SUCCESS {
            return Vec::new();
        }
        decode_stored_messages(&reply.body).expect("queried messages decode")
    }

    /// Creates (or updates) a topic on this broker (UPDATE_AND_CREATE_TOPIC, code 17).
    pub async fn create_topic(&self, topic: &str, queues: i32) {
        let mut cmd = RemotingCommand::request(17);
        for (k, v) in [
            ("topic", topic.to_string()),
            ("defaultTopic", "TBW102".to_string()),
            ("readQueueNums", queues.to_string()),
            ("writeQueueNums", queues.to_string()),
            ("perm", "6".to_string()),
            ("topicFilterType", "SINGLE_TAG".to_string()),
            ("topicSysFlag", "0".to_string()),
            ("order", "false".to_string()),
        ] {
            cmd.ext_fields.insert(k.to_string(), v);
        }
        let reply = self.call(cmd).await;
        assert_eq!(reply.code, response::SUCCESS, "create topic: {:?}", reply.remark);
    }

    /// The route of `topic` from this name server, `None` when it does not exist.
    pub async fn route(&self, topic: &str) -> Option<TopicRouteData> {
        let cmd = RemotingCommand::request(request::GET_ROUTEINFO_BY_TOPIC)
            .with_header(&GetRouteInfoRequestHeader { topic: topic.to_string(), accept_standard_json_only: true });
        let reply = self.call(cmd).await;
        match reply.code {
            response::SUCCESS => Some(parse_route(&reply.body).expect("route parses")),
            response::TOPIC_NOT_EXIST => None,
            other => panic!("route query answered {other}: {:?}", reply.remark),
        }
    }
}

/// Polls `check` every 100 ms until it is true or `limit` passes; returns the last value.
pub async fn eventually<F, Fut>(limit: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let end = std::time::Instant::now() + limit;
    loop {
        if check().await {
            return true;
        }
        if std::time::Instant::now() > end {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
