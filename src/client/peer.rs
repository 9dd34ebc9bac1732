//! Requests brokers start on their own, and where the client instance sends them.
//!
//! Every connection of an instance passes such requests to the instance
//! ([`ServePeerRequests`](crate::remoting::client::ServePeerRequests)), which owns the two
//! tables they are routed by:
//! - CHECK_TRANSACTION_STATE (39, one-way): by the half message's `PGROUP` to the producer of
//!   that group ([`TransactionCheck`]); with no such producer it is answered UNKNOWN at once,
//!   so the broker asks again later (Java ignores it, to the same effect).
//! - PUSH_REPLY_MESSAGE_TO_CLIENT (326, two-way): by `CORRELATION_ID` to the request waiting
//!   for it ([`AwaitReply`]), then answered SUCCESS. A reply nobody waits for any more (its
//!   request timed out, or came from an earlier run of this client id) is dropped and still
//!   answered SUCCESS, as Java does (`ClientRemotingProcessor#receiveReplyMessage`).

use std::collections::HashMap;
use std::fmt;
use std::time::Instant;

use actix::prelude::*;
use tokio::sync::oneshot;

use crate::protocol::codes::request;
use crate::protocol::header::{transaction_type, CheckTransactionStateRequestHeader, EndTransactionRequestHeader};
use crate::protocol::properties::names;
use crate::protocol::reply::ReplyMessage;
use crate::protocol::stored::StoredMessage;
use crate::protocol::RemotingCommand;
use crate::remoting::connection::Oneway;
use crate::remoting::Connection;

/// What the application says about its local transaction (Java `LocalTransactionState`).
///
/// ```
/// use actix_rocketmq::LocalTransactionState;
/// assert_eq!(LocalTransactionState::Commit.wire_code(), 8);
/// assert_eq!(LocalTransactionState::Unknown.to_string(), "UNKNOW"); // Java's spelling
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum LocalTransactionState {
    /// Deliver the message: the broker writes it to its topic.
    Commit,
    /// Drop the message.
    Rollback,
    /// Not decided yet: the broker asks the group again later (up to its check limit).
    Unknown,
}

impl LocalTransactionState {
    /// `commitOrRollback` of END_TRANSACTION: 8 commit, 12 rollback, 0 unknown.
    pub fn wire_code(self) -> i32 {
        match self {
            LocalTransactionState::Commit => transaction_type::COMMIT_TYPE,
            LocalTransactionState::Rollback => transaction_type::ROLLBACK_TYPE,
            LocalTransactionState::Unknown => transaction_type::NOT_TYPE,
        }
    }
}

impl fmt::Display for LocalTransactionState {
    /// The Java names, as trace records carry them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LocalTransactionState::Commit => "COMMIT_MESSAGE",
            LocalTransactionState::Rollback => "ROLLBACK_MESSAGE",
            LocalTransactionState::Unknown => "UNKNOW",
        })
    }
}

/// A broker asks the producer of `message`'s group how its transaction ended
/// (CHECK_TRANSACTION_STATE). The producer answers on `conn`, the connection the check came on.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct TransactionCheck {
    /// The broker's address.
    pub broker_addr: String,
    /// The connection the check came on; the answer goes back on it.
    pub conn: Addr<Connection>,
    /// The check's header: the offsets and ids the answer must echo.
    pub header: CheckTransactionStateRequestHeader,
    /// The half message as the broker holds it (its re-appended copy: real topic and queue,
    /// `TRANSACTION_CHECK_TIMES`).
    pub message: StoredMessage,
}

impl TransactionCheck {
    /// The producer group the half message was sent by (`PGROUP`, as brokers see it).
    pub fn group(&self) -> Option<&str> {
        self.message.property(names::PGROUP)
    }

    /// The topic the half message is for (`REAL_TOPIC`; the body's topic on brokers that
    /// restore it before asking).
    pub fn real_topic(&self) -> &str {
        self.message.property(names::REAL_TOPIC).unwrap_or(&self.message.topic)
    }

    /// The message id the application knows (UNIQ_KEY), else the header's.
    pub fn msg_id(&self) -> String {
        self.message
            .property(names::UNIQ_KEY)
            .map(str::to_string)
            .or_else(|| self.header.msg_id.clone())
            .unwrap_or_default()
    }

    /// The END_TRANSACTION that answers this check with `state`: marked as a check answer, and
    /// carrying the check's own offsets, which are those of the copy the broker re-appended
    /// before asking (`TransactionalMessageServiceImpl#putBackHalfMsgQueue`), not those of the
    /// original send (Java `DefaultMQProducerImpl#checkTransactionState`).
    ///
    /// Unlike Java, it names the message's real topic, not the half topic the check names: a
    /// 5.x broker with ACL 2.0 authorizes END_TRANSACTION as Pub on the header's topic, and a
    /// user allowed to publish to the real topic is refused on `RMQ_SYS_TRANS_HALF_TOPIC`
    /// (seen on 5.3.3; the broker finds the half message by its offsets, not by the topic).
    pub fn answer(&self, group: &str, state: LocalTransactionState) -> RemotingCommand {
        let header = EndTransactionRequestHeader {
            producer_group: group.to_string(),
            tran_state_table_offset: self.header.tran_state_table_offset,
            commit_log_offset: self.header.commit_log_offset,
            commit_or_rollback: state.wire_code(),
            from_transaction_check: true,
            msg_id: self.msg_id(),
            transaction_id: self.header.transaction_id.clone(),
            topic: Some(self.real_topic().to_string()),
            broker_name: self.header.broker_name.clone(),
        };
        RemotingCommand::request(request::END_TRANSACTION).with_header(&header)
    }

    /// Sends the answer one-way on the connection the check came on. Nothing waits for it: a
    /// lost answer only means the broker asks again.
    pub fn reply(&self, group: &str, state: LocalTransactionState) {
        self.conn.do_send(Oneway { cmd: self.answer(group, state) });
    }
}

/// Route the reply whose `CORRELATION_ID` is `correlation_id` to `tx`, until `deadline`.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct AwaitReply {
    /// The request's `CORRELATION_ID` property.
    pub correlation_id: String,
    /// When the waiter is dropped if no reply came.
    pub deadline: Instant,
    /// Where the reply goes.
    pub tx: oneshot::Sender<ReplyMessage>,
}

/// Stop waiting for a reply (its request failed or timed out).
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct ForgetReply(pub String);

/// The requests waiting for replies, by correlation id (owned by the client instance).
#[derive(Debug, Default)]
pub(crate) struct ReplyWaiters {
    waiting: HashMap<String, (Instant, oneshot::Sender<ReplyMessage>)>,
}

impl ReplyWaiters {
    pub(crate) fn insert(&mut self, msg: AwaitReply) {
        self.waiting.insert(msg.correlation_id, (msg.deadline, msg.tx));
    }

    pub(crate) fn forget(&mut self, correlation_id: &str) {
        self.waiting.remove(correlation_id);
    }

    /// Hands `reply` to its waiter; false when nobody waits for it.
    pub(crate) fn complete(&mut self, reply: ReplyMessage) -> bool {
        let Some(id) = reply.correlation_id() else { return false };
        match self.waiting.remove(id) {
            Some((_, tx)) => tx.send(reply).is_ok(),
            None => false,
        }
    }

    /// Drops waiters past their deadline or whose requester went away (so a request whose
    /// caller vanished leaks nothing).
    pub(crate) fn sweep(&mut self, now: Instant) {
        self.waiting.retain(|_, (deadline, tx)| *deadline > now && !tx.is_closed());
    }

    pub(crate) fn len(&self) -> usize {
        self.waiting.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn reply(id: &str) -> ReplyMessage {
        ReplyMessage {
            topic: "C_REPLY_TOPIC".into(),
            body: bytes::Bytes::from_static(b"r"),
            properties: vec![(names::CORRELATION_ID.into(), id.into())],
            responder_group: "g".into(),
            flag: 0,
            sys_flag: 0,
            born_timestamp: 0,
            born_host: String::new(),
            store_timestamp: 0,
            store_host: String::new(),
        }
    }

    #[test]
    fn a_check_is_answered_with_its_own_offsets_as_a_check_answer() {
        use crate::protocol::stored::{decode_stored_message, encode_stored_message};
        let msg = StoredMessage {
            queue_id: 1,
            flag: 0,
            queue_offset: 13,
            commit_log_offset: 6945,
            sys_flag: 0,
            born_timestamp: 0,
            born_host: "127.0.0.1:1".parse().unwrap(),
            store_timestamp: 0,
            store_host: "127.0.0.1:10911".parse().unwrap(),
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body: bytes::Bytes::from_static(b"b"),
            topic: "T".into(),
            properties: vec![("PGROUP".into(), "g".into()), ("UNIQ_KEY".into(), "U1".into())],
        };
        let mut buf = bytes::BytesMut::new();
        encode_stored_message(&msg, &mut buf).unwrap();
        let header = CheckTransactionStateRequestHeader {
            tran_state_table_offset: 13,
            commit_log_offset: 6945,
            msg_id: Some("U1".into()),
            transaction_id: Some("U1".into()),
            offset_msg_id: None,
            topic: Some("RMQ_SYS_TRANS_HALF_TOPIC".into()),
            broker_name: Some("broker-a".into()),
        };
        let system = actix::System::new();
        system.block_on(async {
            let conn = Connection::new("127.0.0.1:1", 0, Default::default(), None).start();
            let check = TransactionCheck { broker_addr: "b".into(), conn, header, message: decode_stored_message(&buf).unwrap() };
            assert_eq!(check.group(), Some("g"));
            for (state, code) in [(LocalTransactionState::Commit, "8"), (LocalTransactionState::Rollback, "12"), (LocalTransactionState::Unknown, "0")] {
                let cmd = check.answer("g", state);
                assert_eq!(cmd.code, request::END_TRANSACTION);
                let h: EndTransactionRequestHeader = cmd.decode_header().unwrap();
                assert_eq!((h.tran_state_table_offset, h.commit_log_offset), (13, 6945));
                assert!(h.from_transaction_check);
                assert_eq!(h.msg_id, "U1");
                assert_eq!(h.topic.as_deref(), Some("T"), "the real topic, not the half topic");
                assert_eq!(cmd.ext("commitOrRollback"), Some(code));
            }
        });
    }

    #[test]
    fn replies_reach_only_their_own_waiter_and_expired_ones_are_dropped() {
        let mut w = ReplyWaiters::default();
        let later = Instant::now() + Duration::from_secs(60);
        let (tx_a, mut rx_a) = oneshot::channel();
        let (tx_b, rx_b) = oneshot::channel();
        w.insert(AwaitReply { correlation_id: "a".into(), deadline: later, tx: tx_a });
        w.insert(AwaitReply { correlation_id: "b".into(), deadline: Instant::now(), tx: tx_b });
        assert!(!w.complete(reply("unknown")));
        assert!(w.complete(reply("a")));
        assert_eq!(rx_a.try_recv().unwrap().correlation_id(), Some("a"));
        assert!(!w.complete(reply("a")), "a second reply finds nobody");
        w.sweep(Instant::now() + Duration::from_millis(1));
        assert_eq!(w.len(), 0);
        drop(rx_b);
        let (tx_c, rx_c) = oneshot::channel();
        w.insert(AwaitReply { correlation_id: "c".into(), deadline: later, tx: tx_c });
        drop(rx_c);
        w.sweep(Instant::now());
        assert_eq!(w.len(), 0, "a waiter whose caller is gone is dropped");
    }
}
