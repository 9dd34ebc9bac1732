//! Request-reply: a requester waits for each reply; a responder answers every request with a
//! reply built by `ReplyTo` and sent through its own producer.
//!
//! `cargo run --example request_reply` against `ROCKETMQ_NAMESRV_ADDR` (default
//! 127.0.0.1:9876) and its broker `ROCKETMQ_BROKER_ADDR` (default 127.0.0.1:10911).
//!
//! This crate is a producer: the responder here reads requests with a bare PULL_MESSAGE to keep
//! the example self-contained. A real service receives them through any RocketMQ consumer (the
//! Java or Go client, rocketmq-spring) and answers the same way: `ReplyTo::from_properties` on
//! the request's properties, then any send of this crate's producer.

use std::time::Duration;

use actix_rocketmq::producer::{ReplyTo, Request};
use actix_rocketmq::protocol::codes::{request, response};
use actix_rocketmq::protocol::stored::decode_stored_messages;
use actix_rocketmq::protocol::RemotingCommand;
use actix_rocketmq::remoting::{request as call, Connection};
use actix_rocketmq::{Producer, ProducerConfig, ProducerExt, ProducerRecord};
use actix::prelude::*;

const TOPIC: &str = "RpcExampleTopic";

/// Pulls what queue `queue_id` holds from `offset` (subscription `*` in the request).
async fn pull(conn: &Addr<Connection>, broker: &str, queue_id: i32, offset: i64) -> (Vec<RemotingCommand>, i64) {
    let mut cmd = RemotingCommand::request(request::PULL_MESSAGE);
    for (k, v) in [
        ("consumerGroup", "rpc_example_responders".to_string()),
        ("topic", TOPIC.to_string()),
        ("queueId", queue_id.to_string()),
        ("queueOffset", offset.to_string()),
        ("maxMsgNums", "32".to_string()),
        ("sysFlag", "4".to_string()),
        ("commitOffset", "0".to_string()),
        ("suspendTimeoutMillis", "0".to_string()),
        ("subscription", "*".to_string()),
        ("subVersion", "0".to_string()),
        ("expressionType", "TAG".to_string()),
    ] {
        cmd.ext_fields.insert(k.to_string(), v);
    }
    match call(conn, broker, cmd, Duration::from_secs(3)).await {
        Ok(reply) if reply.code == response::SUCCESS => {
            let next = reply.ext("nextBeginOffset").and_then(|o| o.parse().ok()).unwrap_or(offset);
            (vec![reply], next)
        }
        Ok(reply) => (Vec::new(), reply.ext("nextBeginOffset").and_then(|o| o.parse().ok()).unwrap_or(offset)),
        Err(_) => (Vec::new(), offset),
    }
}

/// Answers every request in `TOPIC` with its body upper-cased.
async fn responder(namesrv: String, broker: String) -> Result<(), Box<dyn std::error::Error>> {
    let replies = Producer::spawn(ProducerConfig::new("rpc_example_responder", namesrv)).await?;
    let conn = Connection::new(broker.clone(), 0, Default::default(), None).start();
    let mut offsets = [0i64; 4];
    loop {
        for (q, offset) in offsets.iter_mut().enumerate() {
            let (answers, next) = pull(&conn, &broker, q as i32, *offset).await;
            *offset = next;
            for answer in answers {
                for req in decode_stored_messages(&answer.body).unwrap_or_default() {
                    let Ok(to) = ReplyTo::from_stored(&req) else { continue };
                    let body = String::from_utf8_lossy(&req.body).to_uppercase();
                    // A requester that is gone (e.g. a request left from an earlier run) is
                    // refused by the broker: skip it and go on answering.
                    if let Err(e) = replies.send_message(to.record(body)).await {
                        eprintln!("reply to {} not delivered: {e}", to.correlation_id());
                    }
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[actix::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let namesrv = std::env::var("ROCKETMQ_NAMESRV_ADDR").unwrap_or_else(|_| "127.0.0.1:9876".into());
    let broker = std::env::var("ROCKETMQ_BROKER_ADDR").unwrap_or_else(|_| "127.0.0.1:10911".into());
    let requester = Producer::spawn(ProducerConfig::new("rpc_example_requester", namesrv.clone())).await?;
    // Make sure the topic exists before the responder reads it.
    requester.send_message(ProducerRecord::new(TOPIC, "warm-up (never answered in time)")).await?;
    actix::spawn(async move {
        if let Err(e) = responder(namesrv, broker).await {
            eprintln!("responder stopped: {e}");
        }
    });
    for word in ["hello", "request", "reply"] {
        match requester.send(Request::new(ProducerRecord::new(TOPIC, word), Duration::from_secs(10))).await? {
            Ok(reply) => println!("{word} -> {}", String::from_utf8_lossy(&reply.body)),
            Err(failure) => println!("{word}: {failure}"),
        }
    }
    requester.shutdown().await;
    Ok(())
}
