//! Broker releases, against scripted fake brokers that report a release of our choosing (fault
//! injection; the real-broker proof, a 4.9.7 broker refusing a timer message, is in
//! `compat.rs`).

use std::time::{Duration, Instant};

use actix_rocketmq::producer::Delay;
use actix_rocketmq::protocol::codes::{request, response};
use actix_rocketmq::protocol::RemotingCommand;
use actix_rocketmq::{
    Delivery, GetInstanceStatus, Producer, ProducerConfig, ProducerExt, ProducerRecord, SendAsync, SendError, SendErrorKind, SendMessage,
    SendOneway, SendOutcome,
};

use crate::common::{unique, wait_for, Inbox};
use crate::fake::{Behaviour, FakePeer, Responder};
// (`good`: a 5.3.3 broker, the fakes' default version)
use crate::retry::{good, name_server, port, stored};

/// `MQVersion.Version.V4_9_7`: a release without a timer store.
const V4_9_7: i32 = 407;

/// A 4.9.7 broker: every answer carries 407; sends are stored.
fn old_broker(cmd: &RemotingCommand) -> Option<RemotingCommand> {
    let mut reply = if cmd.code == request::SEND_MESSAGE_V2 { stored(response::SUCCESS) } else { RemotingCommand::response(response::SUCCESS, 0, None) };
    reply.version = V4_9_7;
    Some(reply)
}

/// A broker that never answers a heartbeat (and stores sends).
fn deaf_to_heartbeats(cmd: &RemotingCommand) -> Option<RemotingCommand> {
    match cmd.code {
        request::HEART_BEAT => None,
        _ => good()(cmd),
    }
}

fn sends(peer: &FakePeer) -> Vec<RemotingCommand> {
    peer.requests().into_iter().filter(|c| c.code == request::SEND_MESSAGE_V2).collect()
}

async fn fake(r: Responder) -> FakePeer {
    FakePeer::start(Behaviour::Script(r)).await
}

#[actix_rt::test]
async fn a_timer_message_to_a_4_9_broker_is_refused_unsent_and_a_level_delay_goes() {
    let (ns, old) = (fake(name_server).await, fake(old_broker).await);
    let topic = format!("t_{}", port(&old));
    let p = Producer::spawn(ProducerConfig::new(unique("old"), ns.addr.clone())).await.unwrap();

    for delay in [Delay::Seconds(30), Delay::Millis(1500), Delay::DeliverAt(4_102_444_800_000)] {
        let record = ProducerRecord::new(&topic, "later").with_key("k1").with_delay(delay);
        let failure = p.send(SendMessage::new(record.clone())).await.unwrap().expect_err("a 4.9 broker has no timer store");
        match &failure.error {
            SendError::BrokerTooOld { broker, addr, version, .. } => {
                assert_eq!(broker, "a");
                assert_eq!(addr, &old.addr[..]);
                assert_eq!(version.to_string(), "4.9.7");
            }
            other => panic!("{delay:?}: expected BrokerTooOld, got {other:?}"),
        }
        assert!(failure.error.to_string().contains("4.9.7"), "{}", failure.error);
        assert_eq!(failure.error.kind(), SendErrorKind::Config);
        assert_eq!(failure.error.delivery(), Delivery::NotSent);
        assert_eq!(failure.returned, record, "the message comes back as it was");
    }
    assert!(sends(&old).is_empty(), "nothing was sent: {:?}", sends(&old));

    // A delay level is a 4.x feature: it goes.
    let r = p.send_message(ProducerRecord::new(&topic, "level").with_delay(Delay::Level(2))).await.expect("a level delay works on 4.9");
    assert_eq!(r.message_queue.broker_name, "a");
    let sent = sends(&old);
    assert_eq!(sent.len(), 1);
    let props = sent[0].ext("i").or_else(|| sent[0].ext("properties")).unwrap_or_default().to_string();
    assert!(props.contains("DELAY\u{1}2"), "{props:?}");
    assert!(!props.contains("TIMER_"), "{props:?}");

    // The release was learned from a heartbeat answer and shows in the instance's status.
    let status = p.send(GetInstanceStatus).await.unwrap().expect("status");
    assert_eq!(status.broker_versions.get(&old.addr), Some(&V4_9_7), "{status:?}");
    p.shutdown().await;
}

#[actix_rt::test]
async fn one_way_and_async_timer_sends_to_a_4_9_broker_are_refused_too() {
    let (ns, old) = (fake(name_server).await, fake(old_broker).await);
    let topic = format!("t_{}", port(&old));
    let p = Producer::spawn(ProducerConfig::new(unique("old_ow"), ns.addr.clone())).await.unwrap();
    let record = ProducerRecord::new(&topic, "one-way later").with_delay(Delay::Seconds(30));
    let failure = p.send(SendOneway::new(record.clone())).await.unwrap().expect_err("refused");
    assert!(matches!(failure.error, SendError::BrokerTooOld { .. }), "{:?}", failure.error);
    assert_eq!(failure.returned, record);

    let inbox = Inbox::<SendOutcome>::start();
    let record = ProducerRecord::new(&topic, "async later").with_delay(Delay::DeliverAt(4_102_444_800_000));
    p.send(SendAsync::new(record.clone(), inbox.clone().recipient()).with_context(7)).await.expect("accepted");
    let outcome = wait_for(&inbox, 1).await.remove(0);
    assert_eq!(outcome.context, 7);
    let failure = outcome.result.expect_err("refused");
    assert!(matches!(failure.error, SendError::BrokerTooOld { .. }), "{:?}", failure.error);
    assert_eq!(failure.returned, record);
    assert!(sends(&old).is_empty(), "nothing was sent: {:?}", sends(&old));
    p.shutdown().await;
}

#[actix_rt::test]
async fn timer_messages_go_to_the_5_x_broker_of_a_mixed_cluster() {
    let (ns, old, new) = (fake(name_server).await, fake(old_broker).await, fake(good()).await);
    let topic = format!("t_{}_{}", port(&old), port(&new));
    let p = Producer::spawn(ProducerConfig::new(unique("mixed"), ns.addr.clone())).await.unwrap();
    for i in 0..8 {
        let r = p.send_message(ProducerRecord::new(&topic, format!("m{i}")).with_delay(Delay::Seconds(10))).await.expect("the 5.x broker takes it");
        assert_eq!(r.message_queue.broker_name, "b", "send {i}");
    }
    assert!(sends(&old).is_empty(), "the 4.9 broker got a timer message");
    assert_eq!(sends(&new).len(), 8);
    // Messages without a timer still use both brokers.
    for i in 0..8 {
        p.send_message(ProducerRecord::new(&topic, format!("n{i}"))).await.expect("plain send");
    }
    assert!(!sends(&old).is_empty(), "plain messages still go to the 4.9 broker");
    p.shutdown().await;
}

#[actix_rt::test]
async fn a_broker_whose_release_cannot_be_learned_fails_the_timer_send_within_its_timeout() {
    let (ns, deaf) = (fake(name_server).await, fake(deaf_to_heartbeats).await);
    let topic = format!("t_{}", port(&deaf));
    let mut config = ProducerConfig::new(unique("deaf"), ns.addr.clone());
    config.send_msg_timeout = Duration::from_millis(1500);
    config.client.request_timeout = Duration::from_millis(400);
    let p = Producer::spawn(config).await.unwrap();
    let begin = Instant::now();
    let failure = p.send(SendMessage::new(ProducerRecord::new(&topic, "x").with_delay(Delay::Seconds(5)))).await.unwrap().expect_err("no release, no timer send");
    assert!(begin.elapsed() < Duration::from_millis(1500 + 1000), "took {:?}", begin.elapsed());
    assert_eq!(failure.error.delivery(), Delivery::NotSent, "{:?}", failure.error);
    assert!(failure.error.is_retryable(), "{:?}", failure.error);
    assert!(sends(&deaf).is_empty(), "sent without knowing the release");
    // A plain message does not wait for the release.
    p.send_message(ProducerRecord::new(&topic, "plain")).await.expect("plain send");
    p.shutdown().await;
}
