//! Request-reply against the real broker. The responder is test code: it pulls the requests
//! from the broker like any consumer would, builds each reply with `ReplyTo`, and sends it
//! through this crate's producer (SEND_REPLY_MESSAGE_V2); the broker pushes it to the requester.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use actix_rocketmq::producer::{GetInstanceStatus, ReplyTo, Request, RequestError};
use actix_rocketmq::{Producer, ProducerConfig, ProducerExt, ProducerRecord};
use futures::future::join_all;

use crate::admin::{eventually, Admin};
use crate::common::{config, unique};
use crate::fixture;

const QUEUES: i32 = 4;

/// A requester with a client id of its own: the broker routes replies by client id, and the
/// tests of this binary otherwise share one.
fn requester_config(instance: &str) -> ProducerConfig {
    let mut cfg = config(&unique("rq"));
    cfg.client.instance_name = instance.to_string();
    cfg
}

/// Answers every request in `topic` with `re:<body>` until dropped; counts what it answered.
struct Responder {
    stop: Arc<AtomicBool>,
    answered: Arc<std::sync::atomic::AtomicUsize>,
}

impl Drop for Responder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

async fn respond(topic: &str) -> Responder {
    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let producer = Producer::spawn(config(&unique("responder"))).await.expect("responder starts");
    let (topic, flag, count) = (topic.to_string(), stop.clone(), answered.clone());
    actix_rt::spawn(async move {
        let broker = Admin::connect(&fixture::broker_addr());
        let group = unique("responders");
        let mut offsets = vec![0i64; QUEUES as usize];
        while !flag.load(Ordering::Relaxed) {
            let mut idle = true;
            for q in 0..QUEUES {
                let (requests, next) = broker.pull(&group, &topic, q, offsets[q as usize]).await;
                offsets[q as usize] = next;
                idle &= requests.is_empty();
                let replies = requests.iter().map(|req| {
                    let to = ReplyTo::from_stored(req).expect("a request carries its reply address");
                    let mut body = b"re:".to_vec();
                    body.extend_from_slice(&req.body);
                    producer.send_message(to.record(body))
                });
                for r in join_all(replies).await {
                    r.expect("reply stored");
                    count.fetch_add(1, Ordering::Relaxed);
                }
            }
            if idle {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        producer.shutdown().await;
    });
    Responder { stop, answered }
}

async fn awaiting_replies(p: &Addr<Producer>) -> usize {
    p.send(GetInstanceStatus).await.expect("mailbox").expect("instance").awaiting_replies
}

#[actix_rt::test]
async fn a_thousand_concurrent_requests_each_get_their_own_reply() {
    let topic = unique("rpc");
    Admin::connect(&fixture::broker_addr()).create_topic(&topic, QUEUES).await;
    let _responder = respond(&topic).await;
    let requester = Producer::spawn(requester_config(&unique("inst"))).await.expect("requester starts");

    let requests = (0..1000).map(|i| requester.send(Request::new(ProducerRecord::new(&topic, format!("q{i}")), Duration::from_secs(30))));
    let replies = join_all(requests).await;
    let mut ids = HashSet::new();
    for (i, reply) in replies.into_iter().enumerate() {
        let reply = reply.expect("mailbox").unwrap_or_else(|f| panic!("request {i}: {f}"));
        assert_eq!(reply.body, format!("re:q{i}").as_bytes(), "request {i} got another request's reply");
        assert_eq!(reply.property("MSG_TYPE"), Some("reply"));
        assert!(ids.insert(reply.correlation_id().expect("correlation id").to_string()));
    }
    assert_eq!(awaiting_replies(&requester).await, 0, "every waiter is gone");
    requester.shutdown().await;
}

#[actix_rt::test]
async fn a_request_nobody_answers_times_out_at_its_deadline() {
    let topic = unique("rpc_nobody");
    let requester = Producer::spawn(requester_config(&unique("inst"))).await.expect("requester starts");
    let started = Instant::now();
    let timeout = Duration::from_millis(1500);
    let failure = requester.send(Request::new(ProducerRecord::new(&topic, "anyone?"), timeout)).await.expect("mailbox").expect_err("no reply");
    let took = started.elapsed();
    assert!(matches!(failure.error, RequestError::NoReply { after, .. } if after == timeout), "{failure}");
    assert_eq!(&failure.returned.body()[..], b"anyone?");
    assert!(took >= timeout && took < timeout + Duration::from_secs(1), "ended after {took:?}");
    // The request itself was stored, with what routes a reply back.
    let broker = Admin::connect(&fixture::broker_addr());
    let held = eventually(Duration::from_secs(5), || async { broker.held(&topic, 4).await == 1 }).await;
    assert!(held, "the request is in its topic");
    assert_eq!(awaiting_replies(&requester).await, 0);
    requester.shutdown().await;
}

#[actix_rt::test]
async fn replies_to_a_restarted_requester_reach_only_the_request_they_answer() {
    let topic = unique("rpc_restart");
    Admin::connect(&fixture::broker_addr()).create_topic(&topic, QUEUES).await;
    let instance = unique("inst");

    // The first run asks and gives up before anyone answers.
    let first = Producer::spawn(requester_config(&instance)).await.expect("requester starts");
    let old = first.send(Request::new(ProducerRecord::new(&topic, "old"), Duration::from_millis(800))).await.expect("mailbox");
    assert!(matches!(old, Err(ref f) if matches!(f.error, RequestError::NoReply { .. })));
    first.shutdown().await;

    // The next run, same client id, asks again; the responder now answers both requests, the
    // old one first. The new caller must get its own reply, and the old reply goes nowhere.
    let second = Producer::spawn(requester_config(&instance)).await.expect("requester starts again");
    let pending = second.send(Request::new(ProducerRecord::new(&topic, "new"), Duration::from_secs(20)));
    let responder = respond(&topic).await;
    let reply = pending.await.expect("mailbox").expect("reply to the new request");
    assert_eq!(&reply.body[..], b"re:new");
    let both = eventually(Duration::from_secs(10), || async { responder.answered.load(Ordering::Relaxed) == 2 }).await;
    assert!(both, "the responder answered the old request too");
    assert_eq!(awaiting_replies(&second).await, 0, "the late reply left nothing behind");
    second.shutdown().await;
}

#[actix_rt::test]
async fn a_reply_after_the_timeout_is_dropped_and_the_next_request_gets_its_own() {
    let topic = unique("rpc_late");
    Admin::connect(&fixture::broker_addr()).create_topic(&topic, QUEUES).await;
    let requester = Producer::spawn(requester_config(&unique("inst"))).await.expect("requester starts");
    let late = requester.send(Request::new(ProducerRecord::new(&topic, "late"), Duration::from_millis(800))).await.expect("mailbox");
    assert!(matches!(late, Err(ref f) if matches!(f.error, RequestError::NoReply { .. })));

    // The responder answers the timed-out request first; its reply reaches this requester and
    // finds nobody waiting.
    let responder = respond(&topic).await;
    let answered = eventually(Duration::from_secs(10), || async { responder.answered.load(Ordering::Relaxed) == 1 }).await;
    assert!(answered, "the late request was answered");
    let reply = requester.send(Request::new(ProducerRecord::new(&topic, "on time"), Duration::from_secs(10))).await.expect("mailbox");
    assert_eq!(&reply.expect("reply").body[..], b"re:on time");
    assert_eq!(awaiting_replies(&requester).await, 0);
    requester.shutdown().await;
}
