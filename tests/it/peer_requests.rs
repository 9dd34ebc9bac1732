//! Requests a broker starts on its own, against a scripted fake broker (fault injection: the
//! real-broker proof is in `transaction.rs` and `request_reply.rs`). Here every routing path is
//! forced, including the ones a real broker only takes in races: a check for a group with no
//! producer in the instance, a checker that is gone, a producer with no checker, a reply nobody
//! waits for, a code the client does not serve.

use std::collections::HashMap;
use std::time::Duration;

use actix::prelude::*;
use actix_rocketmq::protocol::codes::{request, response};
use actix_rocketmq::protocol::header::{CheckTransactionStateRequestHeader, EndTransactionRequestHeader};
use actix_rocketmq::protocol::stored::{encode_stored_message, StoredMessage};
use actix_rocketmq::protocol::{decode_frame, encode_frame, RemotingCommand, SerializeType, DEFAULT_MAX_FRAME_LEN};
use actix_rocketmq::{CheckLocalTransaction, LocalTransactionState, Producer, ProducerConfig, ProducerExt, ProducerRecord, Start};
use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::common::unique;
use crate::fake::{Behaviour, FakePeer};
use crate::retry::{name_server, stored};

struct Checker(LocalTransactionState);
impl Actor for Checker {
    type Context = Context<Self>;
}
impl Handler<CheckLocalTransaction> for Checker {
    type Result = MessageResult<CheckLocalTransaction>;
    fn handle(&mut self, _: CheckLocalTransaction, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.0)
    }
}

/// A check for the half message `uniq` of `group`, at queue offset `offset`.
fn check(group: &str, uniq: &str, offset: i64) -> RemotingCommand {
    let msg = StoredMessage {
        queue_id: 0,
        flag: 0,
        queue_offset: offset,
        commit_log_offset: 1000 + offset,
        sys_flag: 0,
        born_timestamp: 0,
        born_host: "127.0.0.1:5000".parse().unwrap(),
        store_timestamp: 0,
        store_host: "127.0.0.1:10911".parse().unwrap(),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body: Bytes::from_static(b"half"),
        topic: "T".into(),
        properties: vec![("PGROUP".into(), group.into()), ("UNIQ_KEY".into(), uniq.into()), ("TRAN_MSG".into(), "true".into())],
    };
    let mut body = BytesMut::new();
    encode_stored_message(&msg, &mut body).unwrap();
    let header = CheckTransactionStateRequestHeader {
        tran_state_table_offset: offset,
        commit_log_offset: 1000 + offset,
        msg_id: Some(uniq.into()),
        transaction_id: Some(uniq.into()),
        offset_msg_id: None,
        topic: Some("RMQ_SYS_TRANS_HALF_TOPIC".into()),
        broker_name: Some("a".into()),
    };
    let mut cmd = RemotingCommand::request(request::CHECK_TRANSACTION_STATE).with_header(&header).with_body(body.freeze());
    cmd.mark_oneway();
    cmd
}

/// A broker on 127.0.0.1 that answers every request as stored and, after the first heartbeat,
/// sends `pushes` on the same connection; every frame it receives goes to the returned channel.
async fn pushing_broker(pushes: Vec<RemotingCommand>) -> (u16, mpsc::UnboundedReceiver<RemotingCommand>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let Ok((mut stream, _)) = listener.accept().await else { return };
        let (mut buf, mut pushes) = (BytesMut::new(), Some(pushes));
        loop {
            let cmd = match decode_frame(&mut buf, DEFAULT_MAX_FRAME_LEN) {
                Ok(Some(cmd)) => cmd,
                Ok(None) => match stream.read_buf(&mut buf).await {
                    Ok(n) if n > 0 => continue,
                    _ => return,
                },
                Err(_) => return,
            };
            let mut out = BytesMut::new();
            if !cmd.is_response() && !cmd.is_oneway() {
                let mut reply = stored(response::SUCCESS);
                reply.opaque = cmd.opaque;
                reply.mark_response();
                encode_frame(&reply, SerializeType::Json, &mut out).unwrap();
            }
            if cmd.code == request::HEART_BEAT {
                for (i, push) in pushes.take().unwrap_or_default().into_iter().enumerate() {
                    let push = push.with_opaque(9000 + i as i32);
                    encode_frame(&push, SerializeType::Json, &mut out).unwrap();
                }
            }
            let _ = tx.send(cmd);
            if stream.write_all(&out).await.is_err() {
                return;
            }
        }
    });
    (port, rx)
}

async fn producer(cfg: ProducerConfig, checker: Option<Recipient<CheckLocalTransaction>>) -> Addr<Producer> {
    let p = Producer::new(cfg);
    let p = match checker {
        Some(c) => p.with_transaction_checker(c),
        None => p,
    }
    .start();
    p.send(Start).await.expect("mailbox").expect("starts");
    p
}

#[actix_rt::test]
async fn checks_and_pushes_reach_the_right_owner_and_are_always_answered() {
    let ns = FakePeer::start(Behaviour::Script(name_server)).await;
    let instance = unique("peers");
    let cfg = |group: &str| {
        let mut cfg = ProducerConfig::new(group, ns.addr.clone());
        cfg.client.instance_name = instance.clone();
        cfg.transaction_check_timeout = Duration::from_millis(300);
        cfg
    };
    let (committing, gone, unchecked) = (unique("commit"), unique("gone"), unique("nochecker"));
    let mut unknown_push = RemotingCommand::request(request::PUSH_REPLY_MESSAGE_TO_CLIENT);
    for (k, v) in [("topic", "c_REPLY_TOPIC"), ("properties", "CORRELATION_ID\u{1}nobody-waits\u{2}"), ("sysFlag", "0")] {
        unknown_push.ext_fields.insert(k, v);
    }
    let pushes = vec![
        check("no_such_group", "U0", 10),
        check(&committing, "U1", 11),
        check(&gone, "U2", 12),
        check(&unchecked, "U3", 13),
        unknown_push,
        RemotingCommand::request(999),
    ];
    let (port, mut seen) = pushing_broker(pushes).await;

    let dead = Checker(LocalTransactionState::Commit).start();
    let dead_recipient = dead.clone().recipient();
    dead.send(StopChecker).await.unwrap();
    let p1 = producer(cfg(&committing), Some(Checker(LocalTransactionState::Commit).start().recipient())).await;
    let p2 = producer(cfg(&gone), Some(dead_recipient)).await;
    let p3 = producer(cfg(&unchecked), None).await;
    // The first send learns the route to the fake broker, which gets a heartbeat at once.
    p1.send_message(ProducerRecord::new(format!("t_{port}"), "x")).await.expect("send");

    let mut ends: HashMap<String, EndTransactionRequestHeader> = HashMap::new();
    let mut answers: HashMap<i32, RemotingCommand> = HashMap::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while (ends.len() < 4 || answers.len() < 2) && tokio::time::Instant::now() < deadline {
        let Ok(Some(cmd)) = tokio::time::timeout_at(deadline, seen.recv()).await else { break };
        if cmd.code == request::END_TRANSACTION {
            assert!(cmd.is_oneway());
            let h: EndTransactionRequestHeader = cmd.decode_header().unwrap();
            ends.insert(h.msg_id.clone(), h);
        } else if cmd.is_response() {
            answers.insert(cmd.opaque, cmd);
        }
    }
    let state = |id: &str| ends.get(id).map(|h| h.commit_or_rollback);
    assert_eq!(state("U0"), Some(0), "no producer of that group here: UNKNOWN");
    assert_eq!(state("U1"), Some(8), "the group's checker said COMMIT");
    assert_eq!(state("U2"), Some(0), "a checker that is gone: UNKNOWN");
    assert_eq!(state("U3"), Some(0), "no checker: UNKNOWN");
    for (id, offset) in [("U0", 10), ("U1", 11), ("U2", 12), ("U3", 13)] {
        let h = &ends[id];
        assert!(h.from_transaction_check);
        assert_eq!((h.tran_state_table_offset, h.commit_log_offset), (offset, 1000 + offset), "the check's own offsets");
    }
    assert_eq!(ends["U1"].producer_group, committing);
    assert_eq!(answers.get(&9004).map(|a| a.code), Some(response::SUCCESS), "a reply nobody waits for is still acknowledged");
    assert_eq!(answers.get(&9005).map(|a| a.code), Some(response::REQUEST_CODE_NOT_SUPPORTED));
    for p in [p1, p2, p3] {
        p.shutdown().await;
    }
}

#[derive(Message)]
#[rtype(result = "()")]
struct StopChecker;
impl Handler<StopChecker> for Checker {
    type Result = ();
    fn handle(&mut self, _: StopChecker, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}
