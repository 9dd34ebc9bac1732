//! Request and response codes (`RequestCode`, `ResponseCode`, `RemotingSysResponseCode`),
//! and the version ordinal this client sends (docs/PROTOCOL.md, Codes).
//!
//! ```
//! use actix_rocketmq::protocol::codes::{request, response, response_name};
//!
//! assert_eq!(request::SEND_MESSAGE_V2, 310);
//! assert_eq!(response_name(response::TOPIC_NOT_EXIST), "TOPIC_NOT_EXIST");
//! ```

/// `MQVersion.Version.V5_3_3` ordinal: what we put in `version` of every request.
///
/// It is ≥ 401, so name servers answer with standard JSON routes, and above the
/// GO_AWAY thresholds, so a gracefully stopping 5.2+ server may answer 1500 (docs/PROTOCOL.md,
/// Versions and GO_AWAY; Java `NettyRemotingAbstract.processRequestCommand`).
pub const VERSION_5_3_3: i32 = 479;
/// `V4_9_4` ordinal: the first version that gets standard-JSON routes.
pub const VERSION_4_9_4: i32 = 401;

/// Request codes (`RequestCode.java`).
pub mod request {
    /// `RequestCode.SEND_MESSAGE`: send one message with the long-name header (`producerGroup`,
    /// `topic`, …). This client sends [`SEND_MESSAGE_V2`] instead; brokers accept both.
    pub const SEND_MESSAGE: i32 = 10;
    /// `RequestCode.PULL_MESSAGE`: a consumer reads messages from one queue (the body holds them in
    /// commit-log format). Not used by the producer; tests and examples use it to read back.
    pub const PULL_MESSAGE: i32 = 11;
    /// `RequestCode.QUERY_MESSAGE`: look messages up in the broker's index by key or `UNIQ_KEY`
    /// (what `mqadmin queryMsgByKey` does). Not used by the producer.
    pub const QUERY_MESSAGE: i32 = 12;
    /// `RequestCode.VIEW_MESSAGE_BY_ID`: fetch one stored message by commit-log offset (the offset
    /// half of an offsetMsgId, header
    /// [`ViewMessageRequestHeader`](crate::protocol::header::ViewMessageRequestHeader)).
    pub const VIEW_MESSAGE_BY_ID: i32 = 33;
    /// `RequestCode.HEART_BEAT`: client → broker, body = `HeartbeatData` JSON. Registers the client
    /// id and its producer groups, which transaction checks and reply pushes need.
    pub const HEART_BEAT: i32 = 34;
    /// `RequestCode.UNREGISTER_CLIENT`: client → broker on shutdown; removes the client id from a
    /// producer group (header `clientID`, `producerGroup`).
    pub const UNREGISTER_CLIENT: i32 = 35;
    /// `RequestCode.CONSUMER_SEND_MSG_BACK`: a consumer returns a message for redelivery. Consumer
    /// only.
    pub const CONSUMER_SEND_MSG_BACK: i32 = 36;
    /// `RequestCode.END_TRANSACTION`: client → broker, one-way: commit, roll back or leave open a
    /// half message (header
    /// [`EndTransactionRequestHeader`](crate::protocol::header::EndTransactionRequestHeader)).
    pub const END_TRANSACTION: i32 = 37;
    /// `RequestCode.GET_CONSUMER_LIST_BY_GROUP`: the client ids of a consumer group. Consumer only.
    pub const GET_CONSUMER_LIST_BY_GROUP: i32 = 38;
    /// `RequestCode.CHECK_TRANSACTION_STATE`: broker → client, one-way: asks the producer group how
    /// a half message's transaction ended; the body is the half message in commit-log format.
    pub const CHECK_TRANSACTION_STATE: i32 = 39;
    /// `RequestCode.NOTIFY_CONSUMER_IDS_CHANGED`: broker → client, tells consumers to rebalance.
    /// Consumer only; a producer answers it REQUEST_CODE_NOT_SUPPORTED unless it is one-way.
    pub const NOTIFY_CONSUMER_IDS_CHANGED: i32 = 40;
    /// `RequestCode.GET_ROUTEINFO_BY_TOPIC`: client → name server, header `topic` (+
    /// `acceptStandardJsonOnly`); the reply body is `TopicRouteData` JSON, or code 17 for an
    /// unknown topic.
    pub const GET_ROUTEINFO_BY_TOPIC: i32 = 105;
    /// `RequestCode.GET_BROKER_CLUSTER_INFO`: client → name server, the cluster and broker tables.
    /// Not used by the producer.
    pub const GET_BROKER_CLUSTER_INFO: i32 = 106;
    /// `RequestCode.GET_PRODUCER_CONNECTION_LIST`: admin → broker, the connections registered for a
    /// producer group by heartbeats (reply body
    /// [`ProducerConnection`](crate::protocol::heartbeat::ProducerConnection)).
    pub const GET_PRODUCER_CONNECTION_LIST: i32 = 204;
    /// `RequestCode.RESET_CONSUMER_CLIENT_OFFSET`: broker → client, move a consumer's offsets.
    /// Consumer only.
    pub const RESET_CONSUMER_CLIENT_OFFSET: i32 = 220;
    /// `RequestCode.GET_CONSUMER_STATUS_FROM_CLIENT`: broker → client, a consumer's offsets.
    /// Consumer only.
    pub const GET_CONSUMER_STATUS_FROM_CLIENT: i32 = 221;
    /// `RequestCode.GET_CONSUMER_RUNNING_INFO`: broker → client, a consumer's runtime state.
    /// Consumer only.
    pub const GET_CONSUMER_RUNNING_INFO: i32 = 307;
    /// `RequestCode.CONSUME_MESSAGE_DIRECTLY`: broker → client, have a consumer process one message
    /// now (admin tool). Consumer only.
    pub const CONSUME_MESSAGE_DIRECTLY: i32 = 309;
    /// `RequestCode.SEND_MESSAGE_V2`: send one message with the one-letter header keys `a`…`n`
    /// ([`SendMessageRequestHeaderV2`](crate::protocol::header::SendMessageRequestHeaderV2)); what
    /// this client and the Java client use for single messages.
    pub const SEND_MESSAGE_V2: i32 = 310;
    /// `RequestCode.SEND_BATCH_MESSAGE`: send several messages of one topic to one queue; V2 header
    /// with `m=true`, body = the inner messages concatenated ([`batch`](crate::protocol::batch)).
    pub const SEND_BATCH_MESSAGE: i32 = 320;
    /// `RequestCode.SEND_REPLY_MESSAGE`: a reply of the request-reply pattern, long-name header.
    /// This client sends [`SEND_REPLY_MESSAGE_V2`] instead.
    pub const SEND_REPLY_MESSAGE: i32 = 324;
    /// `RequestCode.SEND_REPLY_MESSAGE_V2`: a reply (`MSG_TYPE=reply`) with the V2 header; the
    /// broker pushes it to the requester ([`PUSH_REPLY_MESSAGE_TO_CLIENT`]) and stores it in the
    /// reply topic.
    pub const SEND_REPLY_MESSAGE_V2: i32 = 325;
    /// `RequestCode.PUSH_REPLY_MESSAGE_TO_CLIENT`: broker → requester, two-way: a reply to one of
    /// its requests, found by `CORRELATION_ID`; the requester answers SUCCESS.
    pub const PUSH_REPLY_MESSAGE_TO_CLIENT: i32 = 326;
    /// `RequestCode.RECALL_MESSAGE` (5.3.2+): cancel a timer (delayed) message by its recall
    /// handle. Not used by this client.
    pub const RECALL_MESSAGE: i32 = 370;
}

/// Response codes (`RemotingSysResponseCode` + `ResponseCode`).
pub mod response {
    /// `RemotingSysResponseCode.SUCCESS`: the request succeeded; for a send, status SEND_OK.
    pub const SUCCESS: i32 = 0;
    /// `RemotingSysResponseCode.SYSTEM_ERROR`: generic failure (remark says why); also the name
    /// server's answer while it is not ready, and 4.9.x's answer to bad parameters or ACL failures.
    /// Retried by default (`ProducerConfig::retry_response_codes`).
    pub const SYSTEM_ERROR: i32 = 1;
    /// `RemotingSysResponseCode.SYSTEM_BUSY`: the broker sheds load (page cache busy, request queue
    /// full or waiting too long); the remark starts with a bracketed reason such as
    /// `[REJECTREQUEST]`, `[OVERLOAD]`, `[PC_SYNCHRONIZED]`, `[PCBUSY_CLEAN_QUEUE]` or
    /// `[TIMEOUT_CLEAN_QUEUE]`. Retried by default (`ProducerConfig::retry_response_codes`). Java
    /// added it in 5.3.0.
    pub const SYSTEM_BUSY: i32 = 2;
    /// `RemotingSysResponseCode.REQUEST_CODE_NOT_SUPPORTED`: the peer has no processor for the
    /// request code (remark ` request type <code> not supported`). This client answers it to
    /// two-way peer requests it does not serve. Not retried by default: the send fails with this
    /// code.
    pub const REQUEST_CODE_NOT_SUPPORTED: i32 = 3;
    /// `RemotingSysResponseCode.TRANSACTION_FAILED`: declared in Java, sent by no current broker
    /// code path. Not retried by default: the send fails with this code.
    pub const TRANSACTION_FAILED: i32 = 4;
    /// `ResponseCode.FLUSH_DISK_TIMEOUT`: stored, but the synchronous disk flush timed out (status
    /// FLUSH_DISK_TIMEOUT; the header is still filled). Not an error: retried on another broker
    /// only with `retry_another_broker_when_not_store_ok`; a transaction's half message is rolled
    /// back.
    pub const FLUSH_DISK_TIMEOUT: i32 = 10;
    /// `ResponseCode.SLAVE_NOT_AVAILABLE`: stored on a sync-replication master, but no slave was
    /// there to replicate to (status SLAVE_NOT_AVAILABLE); same handling as [`FLUSH_DISK_TIMEOUT`].
    /// A slave broker also answers END_TRANSACTION with it.
    pub const SLAVE_NOT_AVAILABLE: i32 = 11;
    /// `ResponseCode.FLUSH_SLAVE_TIMEOUT`: stored, but replication to the slave timed out (status
    /// FLUSH_SLAVE_TIMEOUT); same handling as [`FLUSH_DISK_TIMEOUT`].
    pub const FLUSH_SLAVE_TIMEOUT: i32 = 12;
    /// `ResponseCode.MESSAGE_ILLEGAL`: the broker refused the message itself (body too large or
    /// empty, properties too long, topic too long, a batch with a delay or on a retry topic). Not
    /// retried by default: the send fails with this code.
    pub const MESSAGE_ILLEGAL: i32 = 13;
    /// `ResponseCode.SERVICE_NOT_AVAILABLE`: the store cannot take messages now (shutting down,
    /// slave, disk full, not writable). Retried by default
    /// (`ProducerConfig::retry_response_codes`).
    pub const SERVICE_NOT_AVAILABLE: i32 = 14;
    /// `ResponseCode.VERSION_NOT_SUPPORTED`: answered by the 5.x proxy to a send without a broker
    /// name (`n` / `bname`). Not retried by default: the send fails with this code.
    pub const VERSION_NOT_SUPPORTED: i32 = 15;
    /// `ResponseCode.NO_PERMISSION`: the topic or broker is not writable, transaction messages are
    /// refused, or (5.x ACL 2.0) authentication/authorization failed. Retried by default
    /// (`ProducerConfig::retry_response_codes`), except credential refusals
    /// ([`AuthRefusal`](crate::protocol::acl::AuthRefusal)), which are never retried.
    pub const NO_PERMISSION: i32 = 16;
    /// `ResponseCode.TOPIC_NOT_EXIST`: from a name server, the topic has no route (this client then
    /// uses the TBW102 template route); from a broker, the topic is absent and cannot be
    /// auto-created. Retried by default (`ProducerConfig::retry_response_codes`).
    pub const TOPIC_NOT_EXIST: i32 = 17;
    /// `ResponseCode.TOPIC_EXIST_ALREADY`: declared in Java, sent by no current broker code path.
    pub const TOPIC_EXIST_ALREADY: i32 = 18;
    /// `ResponseCode.PULL_NOT_FOUND`: a pull found no new message. Consumer side.
    pub const PULL_NOT_FOUND: i32 = 19;
    /// `ResponseCode.PULL_RETRY_IMMEDIATELY`: a pull should be repeated at once. Consumer side.
    pub const PULL_RETRY_IMMEDIATELY: i32 = 20;
    /// `ResponseCode.PULL_OFFSET_MOVED`: a pull asked for an offset outside the queue. Consumer
    /// side.
    pub const PULL_OFFSET_MOVED: i32 = 21;
    /// `ResponseCode.QUERY_NOT_FOUND`: a consumer-offset query found nothing. Consumer side.
    pub const QUERY_NOT_FOUND: i32 = 22;
    /// `ResponseCode.SUBSCRIPTION_PARSE_FAILED`: a pull's subscription expression is invalid.
    /// Consumer side.
    pub const SUBSCRIPTION_PARSE_FAILED: i32 = 23;
    /// `ResponseCode.SUBSCRIPTION_NOT_EXIST`: the consumer group has no subscription to the topic.
    /// Consumer side.
    pub const SUBSCRIPTION_NOT_EXIST: i32 = 24;
    /// `ResponseCode.SUBSCRIPTION_NOT_LATEST`: a pull carried an outdated subscription version.
    /// Consumer side.
    pub const SUBSCRIPTION_NOT_LATEST: i32 = 25;
    /// `ResponseCode.SUBSCRIPTION_GROUP_NOT_EXIST`: the consumer group is unknown to the broker.
    /// Consumer side.
    pub const SUBSCRIPTION_GROUP_NOT_EXIST: i32 = 26;
    /// `ResponseCode.FILTER_DATA_NOT_EXIST`: no filter data for a pull's SQL92/class filter.
    /// Consumer side.
    pub const FILTER_DATA_NOT_EXIST: i32 = 27;
    /// `ResponseCode.FILTER_DATA_NOT_LATEST`: a pull's filter data is outdated. Consumer side.
    pub const FILTER_DATA_NOT_LATEST: i32 = 28;
    /// `ResponseCode.INVALID_PARAMETER` (5.x only; 4.9.x answers SYSTEM_ERROR in the same
    /// situations): e.g. an invalid topic name or a queue id beyond the topic's queues. Not retried
    /// by default: the send fails with this code.
    pub const INVALID_PARAMETER: i32 = 29;
    /// `ResponseCode.TRANSACTION_SHOULD_COMMIT`: declared in Java, sent by no current broker code
    /// path.
    pub const TRANSACTION_SHOULD_COMMIT: i32 = 200;
    /// `ResponseCode.TRANSACTION_SHOULD_ROLLBACK`: declared in Java, sent by no current broker code
    /// path.
    pub const TRANSACTION_SHOULD_ROLLBACK: i32 = 201;
    /// `ResponseCode.TRANSACTION_STATE_UNKNOW` (Java's spelling): declared in Java, sent by no
    /// current broker code path.
    pub const TRANSACTION_STATE_UNKNOW: i32 = 202;
    /// `ResponseCode.TRANSACTION_STATE_GROUP_WRONG`: declared in Java, sent by no current broker
    /// code path (a wrong group on END_TRANSACTION is answered SYSTEM_ERROR).
    pub const TRANSACTION_STATE_GROUP_WRONG: i32 = 203;
    /// `ResponseCode.NO_BUYER_ID`: a legacy code kept in Java's retry list; no open-source broker
    /// sends it. Retried by default (`ProducerConfig::retry_response_codes`).
    pub const NO_BUYER_ID: i32 = 204;
    /// `ResponseCode.NOT_IN_CURRENT_UNIT`: a legacy unit-mode code kept in Java's retry list; no
    /// open-source broker sends it. Retried by default (`ProducerConfig::retry_response_codes`).
    pub const NOT_IN_CURRENT_UNIT: i32 = 205;
    /// `ResponseCode.CONSUMER_NOT_ONLINE`: the consumer an admin request targets is not connected.
    /// Consumer side.
    pub const CONSUMER_NOT_ONLINE: i32 = 206;
    /// `ResponseCode.CONSUME_MSG_TIMEOUT`: CONSUME_MESSAGE_DIRECTLY timed out. Consumer side.
    pub const CONSUME_MSG_TIMEOUT: i32 = 207;
    /// `ResponseCode.NO_MESSAGE`: a POP ack or invisible-time change found no message. Consumer
    /// side.
    pub const NO_MESSAGE: i32 = 208;
    /// `ResponseCode.POLLING_FULL` (5.x; 4.9.x used 209 for an ACL error): too many POP long polls.
    /// Consumer side.
    pub const POLLING_FULL: i32 = 209;
    /// `ResponseCode.POLLING_TIMEOUT` (5.x; 4.9.x used 210 for an ACL error): a POP long poll ended
    /// without messages. Consumer side.
    pub const POLLING_TIMEOUT: i32 = 210;
    /// `ResponseCode.BROKER_NOT_EXIST` (5.x; 4.9.x used 211 for an ACL error): a broker container
    /// does not host the named broker.
    pub const BROKER_NOT_EXIST: i32 = 211;
    /// `ResponseCode.BROKER_DISPATCH_NOT_COMPLETE` (5.x): declared in Java, sent by no current
    /// broker code path.
    pub const BROKER_DISPATCH_NOT_COMPLETE: i32 = 212;
    /// `ResponseCode.BROADCAST_CONSUMPTION` (5.x): the consumer group consumes in broadcast mode
    /// (admin tools). Consumer side.
    pub const BROADCAST_CONSUMPTION: i32 = 213;
    /// `ResponseCode.FLOW_CONTROL` (5.x): a pull was refused for flow control; consumers back off.
    /// Consumer side.
    pub const FLOW_CONTROL: i32 = 215;
    /// `ResponseCode.NOT_LEADER_FOR_QUEUE` (5.x static topics): the broker does not hold that
    /// logical queue. Not produced by the send path.
    pub const NOT_LEADER_FOR_QUEUE: i32 = 501;
    /// `ResponseCode.ILLEGAL_OPERATION`: e.g. END_TRANSACTION after the half message's
    /// `CHECK_IMMUNITY_TIME_IN_SECONDS` when not answering a check, or a bad recall. Not retried by
    /// default: the send fails with this code.
    pub const ILLEGAL_OPERATION: i32 = 604;
    /// `ResponseCode.GO_AWAY` (5.2.0+): the server is shutting down gracefully and did not process
    /// the request; only sent to requests whose `version` is above a threshold (see
    /// [`VERSION_5_3_3`](super::VERSION_5_3_3)). This client reconnects and resends the request
    /// once to the same broker (as Java 5.3.x does); a further GO_AWAY fails the attempt, which is
    /// then always retryable (docs/PROTOCOL.md, Versions and GO_AWAY).
    pub const GO_AWAY: i32 = 1500;
}

/// The Java constant name of a response code, for logs and error messages.
///
/// Codes 209–211 are reported with their 5.x names (4.9.x used them for ACL errors).
/// Unknown codes give `"UNKNOWN"`.
pub fn response_name(code: i32) -> &'static str {
    use response::*;
    match code {
        SUCCESS => "SUCCESS",
        SYSTEM_ERROR => "SYSTEM_ERROR",
        SYSTEM_BUSY => "SYSTEM_BUSY",
        REQUEST_CODE_NOT_SUPPORTED => "REQUEST_CODE_NOT_SUPPORTED",
        TRANSACTION_FAILED => "TRANSACTION_FAILED",
        FLUSH_DISK_TIMEOUT => "FLUSH_DISK_TIMEOUT",
        SLAVE_NOT_AVAILABLE => "SLAVE_NOT_AVAILABLE",
        FLUSH_SLAVE_TIMEOUT => "FLUSH_SLAVE_TIMEOUT",
        MESSAGE_ILLEGAL => "MESSAGE_ILLEGAL",
        SERVICE_NOT_AVAILABLE => "SERVICE_NOT_AVAILABLE",
        VERSION_NOT_SUPPORTED => "VERSION_NOT_SUPPORTED",
        NO_PERMISSION => "NO_PERMISSION",
        TOPIC_NOT_EXIST => "TOPIC_NOT_EXIST",
        TOPIC_EXIST_ALREADY => "TOPIC_EXIST_ALREADY",
        PULL_NOT_FOUND => "PULL_NOT_FOUND",
        PULL_RETRY_IMMEDIATELY => "PULL_RETRY_IMMEDIATELY",
        PULL_OFFSET_MOVED => "PULL_OFFSET_MOVED",
        QUERY_NOT_FOUND => "QUERY_NOT_FOUND",
        SUBSCRIPTION_PARSE_FAILED => "SUBSCRIPTION_PARSE_FAILED",
        SUBSCRIPTION_NOT_EXIST => "SUBSCRIPTION_NOT_EXIST",
        SUBSCRIPTION_NOT_LATEST => "SUBSCRIPTION_NOT_LATEST",
        SUBSCRIPTION_GROUP_NOT_EXIST => "SUBSCRIPTION_GROUP_NOT_EXIST",
        FILTER_DATA_NOT_EXIST => "FILTER_DATA_NOT_EXIST",
        FILTER_DATA_NOT_LATEST => "FILTER_DATA_NOT_LATEST",
        INVALID_PARAMETER => "INVALID_PARAMETER",
        TRANSACTION_SHOULD_COMMIT => "TRANSACTION_SHOULD_COMMIT",
        TRANSACTION_SHOULD_ROLLBACK => "TRANSACTION_SHOULD_ROLLBACK",
        TRANSACTION_STATE_UNKNOW => "TRANSACTION_STATE_UNKNOW",
        TRANSACTION_STATE_GROUP_WRONG => "TRANSACTION_STATE_GROUP_WRONG",
        NO_BUYER_ID => "NO_BUYER_ID",
        NOT_IN_CURRENT_UNIT => "NOT_IN_CURRENT_UNIT",
        CONSUMER_NOT_ONLINE => "CONSUMER_NOT_ONLINE",
        CONSUME_MSG_TIMEOUT => "CONSUME_MSG_TIMEOUT",
        NO_MESSAGE => "NO_MESSAGE",
        POLLING_FULL => "POLLING_FULL",
        POLLING_TIMEOUT => "POLLING_TIMEOUT",
        BROKER_NOT_EXIST => "BROKER_NOT_EXIST",
        BROKER_DISPATCH_NOT_COMPLETE => "BROKER_DISPATCH_NOT_COMPLETE",
        BROADCAST_CONSUMPTION => "BROADCAST_CONSUMPTION",
        FLOW_CONTROL => "FLOW_CONTROL",
        NOT_LEADER_FOR_QUEUE => "NOT_LEADER_FOR_QUEUE",
        ILLEGAL_OPERATION => "ILLEGAL_OPERATION",
        GO_AWAY => "GO_AWAY",
        _ => "UNKNOWN",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_producer_relevant_codes() {
        assert_eq!(response_name(0), "SUCCESS");
        assert_eq!(response_name(1500), "GO_AWAY");
        assert_eq!(response_name(205), "NOT_IN_CURRENT_UNIT");
        assert_eq!(response_name(29), "INVALID_PARAMETER");
        assert_eq!(response_name(-1), "UNKNOWN");
        assert_eq!(response_name(i32::MAX), "UNKNOWN");
    }

    #[test]
    fn request_codes_match_reference() {
        assert_eq!(request::SEND_MESSAGE, 10);
        assert_eq!(request::SEND_BATCH_MESSAGE, 320);
        assert_eq!(request::GET_ROUTEINFO_BY_TOPIC, 105);
        assert_eq!(request::GET_PRODUCER_CONNECTION_LIST, 204);
        assert_eq!(VERSION_5_3_3, 479);
    }
}
