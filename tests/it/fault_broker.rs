//! Real failures on a dedicated broker (the fault broker, see `fixture.rs`): frozen with SIGSTOP,
//! killed and started again. These tests hold the fault broker's lock for their whole run.
// The lock is a std Mutex held across awaits on purpose: the tests run on separate threads and
// must not overlap on the fault broker.
#![allow(clippy::await_holding_lock)]

use std::time::{Duration, Instant};

use actix::prelude::*;
use actix_rocketmq::{
    Delivery, GetProducerStatus, Producer, ProducerConfig, ProducerEvent, ProducerExt, ProducerRecord, SendError,
    SendMessage, Shutdown, Subscribe,
};
use futures::future::join_all;

use crate::admin::eventually;
use crate::common::{peek, unique, Inbox};
use crate::fixture;

fn fault_config(group: &str) -> ProducerConfig {
    crate::common::config(group);
    ProducerConfig::new(group, fixture::fault_namesrv_addr())
}

#[actix_rt::test]
async fn a_frozen_broker_at_shutdown_ends_the_sends_by_the_drain_deadline() {
    let _lock = fixture::fault_broker_lock();
    let mut cfg = fault_config(&unique("frozen"));
    cfg.send_msg_timeout = Duration::from_secs(30);
    let drain = Duration::from_secs(2);
    cfg.drain_timeout = Some(drain);
    let p = Producer::spawn(cfg).await.expect("starts against the fault broker");
    let topic = unique("frozen_t");
    p.send_message(ProducerRecord::new(&topic, "warm-up")).await.expect("warm-up send");

    let frozen = fixture::freeze_fault_broker();
    // Each send in a task of its own: a request future only enters the (bounded) mailbox when
    // polled.
    let sends: Vec<_> = (0..50)
        .map(|i| actix_rt::spawn(p.send(SendMessage::new(ProducerRecord::new(&topic, format!("f{i}"))))))
        .collect();
    let on_wire = eventually(Duration::from_secs(5), || async {
        p.send(GetProducerStatus).await.unwrap().sends_by_stage.get("on_wire") == Some(&50)
    })
    .await;
    assert!(on_wire, "the 50 sends are written to the frozen broker: {:?}", p.send(GetProducerStatus).await.unwrap());

    let asked = Instant::now();
    let shutdown = p.send(Shutdown);
    let results = join_all(sends).await;
    let ended = asked.elapsed();
    for r in results {
        let f = r.expect("task").expect("mailbox").expect_err("a frozen broker answers nothing");
        assert!(
            matches!(f.error, SendError::Timeout { delivery: Delivery::Unknown, .. }),
            "a typed timeout whose outcome is unknown: {:?}",
            f.error
        );
        assert!(f.error.may_have_been_stored());
    }
    assert!(ended <= drain + Duration::from_secs(1), "the sends ended {ended:?} after Shutdown; the drain deadline is {drain:?}");
    drop(frozen);
    shutdown.await.expect("shutdown completes once the broker answers the unregister again");
}

async fn wait_for_event(events: &Addr<Inbox<ProducerEvent>>, limit: Duration, what: &str, pred: impl Fn(&ProducerEvent) -> bool) -> usize {
    let end = Instant::now() + limit;
    loop {
        let seen = peek(events).await;
        if let Some(i) = seen.iter().position(&pred) {
            return i;
        }
        assert!(Instant::now() < end, "no {what} event within {limit:?}: {seen:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[actix_rt::test]
async fn events_follow_a_broker_that_is_killed_and_started_again() {
    let _lock = fixture::fault_broker_lock();
    let broker_addr = fixture::fault_broker_addr();
    let mut cfg = fault_config(&unique("events"));
    cfg.send_latency_fault_enable = true;
    cfg.send_msg_timeout = Duration::from_secs(2);
    let p = Producer::spawn(cfg).await.expect("starts against the fault broker");
    let events = Inbox::<ProducerEvent>::start();
    p.send(Subscribe(events.clone().recipient())).await.unwrap();

    let topic = unique("events_t");
    let first = p.send_message(ProducerRecord::new(&topic, "before")).await.expect("send before the kill");
    let broker_name = first.message_queue.broker_name.clone();
    let opened = wait_for_event(&events, Duration::from_secs(5), "connection opened", |e| {
        matches!(e, ProducerEvent::ConnectionOpened { addr } if *addr == broker_addr)
    })
    .await;
    wait_for_event(&events, Duration::from_secs(5), "route changed", |e| {
        matches!(e, ProducerEvent::RouteChanged { topic: t, queues } if *t == topic && !queues.is_empty())
    })
    .await;

    fixture::stop_fault_broker();
    let closed = wait_for_event(&events, Duration::from_secs(10), "connection closed", |e| {
        matches!(e, ProducerEvent::ConnectionClosed { addr, .. } if *addr == broker_addr)
    })
    .await;
    assert!(closed > opened);
    let failed = p.send_message(ProducerRecord::new(&topic, "while down")).await;
    assert!(failed.is_err(), "a send to a killed broker fails: {failed:?}");
    let isolated = wait_for_event(&events, Duration::from_secs(5), "broker isolated", |e| {
        matches!(e, ProducerEvent::BrokerIsolated { broker, .. } if *broker == broker_name)
    })
    .await;

    fixture::start_fault_broker();
    let back = eventually(Duration::from_secs(60), || async { p.send_message(ProducerRecord::new(&topic, "after")).await.is_ok() }).await;
    assert!(back, "sends succeed again once the broker is back");
    let all = peek(&events).await;
    let reopened = all.iter().enumerate().any(|(i, e)| i > closed && matches!(e, ProducerEvent::ConnectionOpened { addr } if *addr == broker_addr));
    assert!(reopened, "a new connection to the restarted broker: {all:?}");
    let recovered = wait_for_event(&events, Duration::from_secs(15), "broker recovered", |e| {
        matches!(e, ProducerEvent::BrokerRecovered { broker } if *broker == broker_name)
    })
    .await;
    assert!(recovered > isolated);
    p.shutdown().await;
}
