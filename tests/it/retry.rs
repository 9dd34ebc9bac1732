//! Retry policy against scripted fake brokers (fault injection; the real-broker proof of sends
//! is in `send.rs`).

use std::time::Duration;

use actix_rocketmq::protocol::codes::{request, response};
use actix_rocketmq::protocol::RemotingCommand;
use actix_rocketmq::{Producer, ProducerConfig, ProducerExt, ProducerRecord, SendError};
use bytes::Bytes;

use crate::common::unique;
use crate::fake::{Behaviour, FakePeer};

/// Addresses of the two fake brokers, read by the fake name server's route (responders are
/// plain `fn`s and cannot capture).
static BROKERS: std::sync::OnceLock<std::sync::Mutex<Vec<(String, String)>>> = std::sync::OnceLock::new();

fn route_body() -> Bytes {
    let brokers = BROKERS.get().unwrap().lock().unwrap().clone();
    let queue_datas: Vec<String> = brokers
        .iter()
        .map(|(name, _)| format!(r#"{{"brokerName":"{name}","perm":6,"readQueueNums":1,"topicSysFlag":0,"writeQueueNums":1}}"#))
        .collect();
    let broker_datas: Vec<String> = brokers
        .iter()
        .map(|(name, addr)| format!(r#"{{"brokerAddrs":{{"0":"{addr}"}},"brokerName":"{name}","cluster":"c"}}"#))
        .collect();
    Bytes::from(format!(r#"{{"brokerDatas":[{}],"filterServerTable":{{}},"queueDatas":[{}]}}"#, broker_datas.join(","), queue_datas.join(",")))
}

fn name_server(cmd: &RemotingCommand) -> Option<RemotingCommand> {
    let reply = RemotingCommand::response(response::SUCCESS, 0, None);
    Some(if cmd.code == request::GET_ROUTEINFO_BY_TOPIC { reply.with_body(route_body()) } else { reply })
}

fn busy_broker(cmd: &RemotingCommand) -> Option<RemotingCommand> {
    let code = if cmd.code == request::SEND_MESSAGE_V2 { response::SYSTEM_BUSY } else { response::SUCCESS };
    Some(RemotingCommand::response(code, 0, Some("[REJECTREQUEST]system busy".into())))
}

fn illegal_broker(cmd: &RemotingCommand) -> Option<RemotingCommand> {
    let code = if cmd.code == request::SEND_MESSAGE_V2 { response::MESSAGE_ILLEGAL } else { response::SUCCESS };
    Some(RemotingCommand::response(code, 0, Some("illegal".into())))
}

fn good_broker(cmd: &RemotingCommand) -> Option<RemotingCommand> {
    let mut reply = RemotingCommand::response(response::SUCCESS, 0, None);
    if cmd.code == request::SEND_MESSAGE_V2 {
        for (k, v) in [("msgId", "7F00000100002A9F0000000000000001"), ("queueId", "0"), ("queueOffset", "5"), ("MSG_REGION", "DefaultRegion")] {
            reply.ext_fields.insert(k.into(), v.into());
        }
    }
    Some(reply)
}

fn silent_broker(cmd: &RemotingCommand) -> Option<RemotingCommand> {
    (cmd.code != request::SEND_MESSAGE_V2).then(|| RemotingCommand::response(response::SUCCESS, 0, None))
}

async fn cluster(a: crate::fake::Responder, b: crate::fake::Responder) -> (FakePeer, FakePeer, FakePeer) {
    let broker_a = FakePeer::start(Behaviour::Script(a)).await;
    let broker_b = FakePeer::start(Behaviour::Script(b)).await;
    let brokers = BROKERS.get_or_init(Default::default);
    *brokers.lock().unwrap() = vec![("a".into(), broker_a.addr.clone()), ("b".into(), broker_b.addr.clone())];
    let ns = FakePeer::start(Behaviour::Script(name_server)).await;
    (ns, broker_a, broker_b)
}

fn sends(peer: &FakePeer) -> usize {
    peer.requests().iter().filter(|c| c.code == request::SEND_MESSAGE_V2).count()
}

/// The fake cluster is shared state (its route); run these scenarios one after another.
#[actix_rt::test]
async fn retry_policy() {
    // A busy broker: every send ends on the other one.
    let (ns, a, b) = cluster(busy_broker, good_broker).await;
    let p = Producer::spawn(ProducerConfig::new(unique("retry"), ns.addr.clone())).await.unwrap();
    for i in 0..10 {
        let r = p.send_message(ProducerRecord::new("t", format!("m{i}"))).await.expect("retried onto b");
        assert_eq!(r.message_queue.broker_name, "b");
        assert_eq!(r.queue_offset, 5);
    }
    assert!(sends(&a) >= 1, "broker a was never tried");
    assert_eq!(sends(&b), 10);
    p.shutdown().await;

    // A non-retryable code ends the send after one attempt, keeping code and remark.
    let (ns, a, b) = cluster(illegal_broker, illegal_broker).await;
    let p = Producer::spawn(ProducerConfig::new(unique("retry"), ns.addr.clone())).await.unwrap();
    let res = p.send_message(ProducerRecord::new("t", "x")).await;
    assert!(matches!(res, Err(SendError::Broker { code: 13, ref remark, .. }) if remark == "illegal"), "{res:?}");
    assert_eq!(sends(&a) + sends(&b), 1);
    p.shutdown().await;

    // Retryable everywhere: 1 + 2 attempts, then the broker's error.
    let (ns, a, b) = cluster(busy_broker, busy_broker).await;
    let p = Producer::spawn(ProducerConfig::new(unique("retry"), ns.addr.clone())).await.unwrap();
    let res = p.send_message(ProducerRecord::new("t", "x")).await;
    assert!(matches!(res, Err(SendError::Broker { code: 2, .. })), "{res:?}");
    assert_eq!(sends(&a) + sends(&b), 3);
    p.shutdown().await;

    // Silent brokers: the send ends within its total budget with a timeout.
    let (ns, _a, _b) = cluster(silent_broker, silent_broker).await;
    let mut cfg = ProducerConfig::new(unique("retry"), ns.addr.clone());
    cfg.send_msg_timeout = Duration::from_millis(600);
    let p = Producer::spawn(cfg).await.unwrap();
    let started = std::time::Instant::now();
    let res = p.send_message(ProducerRecord::new("t", "x")).await;
    assert!(matches!(res, Err(SendError::Timeout { .. })), "{res:?}");
    assert!(started.elapsed() < Duration::from_secs(5), "a send must end within its budget");
    p.shutdown().await;
}
