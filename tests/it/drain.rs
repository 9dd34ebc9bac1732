//! Lifecycle against the real broker: drained shutdown, flush, supervised restarts, live status.
//! Every check is on what the broker ends up holding.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_rocketmq::{
    Flush, GetInstanceStatus, GetProducerStatus, Producer, ProducerExt, ProducerRecord, Restart, SendAsync, SendError,
    SendMessage, SendOutcome, SendStatus, ServiceState, Shutdown,
};

use crate::admin::{eventually, Admin};
use crate::common::{config, peek, unique, wait_for, Inbox};
use crate::fixture;

const QUEUES: i32 = 4;

/// A fresh topic with a known queue count, so the broker's offsets count what it holds.
async fn fresh_topic(prefix: &str) -> String {
    let topic = unique(prefix);
    Admin::connect(&fixture::broker_addr()).create_topic(&topic, QUEUES).await;
    topic
}

/// Messages the broker holds in `topic` (the sum of its queues' max offsets).
async fn held(topic: &str, expect: i64) -> i64 {
    Admin::connect(&fixture::broker_addr()).held_settled(topic, QUEUES, expect).await
}

#[actix_rt::test]
async fn shutdown_drains_a_thousand_sends_in_flight() {
    let topic = fresh_topic("drain").await;
    let group = unique("drain");
    let p = Producer::spawn(config(&group)).await.expect("starts");
    // Warm the route and the connection, so the thousand are really on the wire at shutdown.
    p.send_message(ProducerRecord::new(&topic, "warm-up")).await.expect("warm-up send");
    let client_id = p.send(GetProducerStatus).await.unwrap().client_id.unwrap();

    // `do_send` queues at once, past the mailbox's capacity, in order: all 1,000 are handled
    // (and written to the broker) before the Shutdown, and no reply can be handled before it.
    let outcomes = Inbox::<SendOutcome>::start();
    for i in 0..1000u64 {
        p.do_send(SendAsync::new(ProducerRecord::new(&topic, format!("m{i}")), outcomes.clone().recipient()).with_context(i));
    }
    p.do_send(Shutdown);
    let late = p.send(SendMessage::new(ProducerRecord::new(&topic, "too late")));
    // A second Shutdown resolves once the first has drained and unregistered.
    p.send(Shutdown).await.expect("shutdown answered");
    let mut ok = 0;
    for o in wait_for(&outcomes, 1000).await {
        let r = o.result.unwrap_or_else(|f| panic!("an admitted send failed at shutdown: {}", f.error));
        assert_eq!(r.status, SendStatus::SendOk);
        ok += 1;
    }
    assert_eq!(ok, 1000);
    let late = late.await.expect("mailbox").expect_err("sends after Shutdown are refused");
    assert_eq!(late.error, SendError::NotRunning(ServiceState::ShutdownAlready));
    assert!(!late.error.may_have_been_stored());
    assert_eq!(late.returned.body().as_ref(), b"too late", "the refused message comes back");
    assert_eq!(held(&topic, 1 + 1000).await, 1 + 1000, "the broker holds the warm-up and all 1,000");

    let broker = Admin::connect(&fixture::broker_addr());
    let gone = broker.lists_producer(&group, &client_id, false).await;
    assert!(gone, "the group is unregistered after the drain");
}

#[actix_rt::test]
async fn flush_waits_for_every_send_admitted_before_it() {
    let topic = fresh_topic("flush").await;
    let p = Producer::spawn(config(&unique("flush"))).await.expect("starts");
    let outcomes = Inbox::<SendOutcome>::start();
    // Queued in one go, in order, ahead of the flush: none of the 300 can end (its reply is a
    // message queued behind the flush) before the flush is taken, so it counts all of them.
    // (Awaiting each admission instead let replies overtake the flush: 260 of 300 counted.)
    for i in 0..300 {
        let send = SendAsync::new(ProducerRecord::new(&topic, format!("a{i}")), outcomes.clone().recipient()).with_context(i);
        p.do_send(send);
    }
    let report = p.send(Flush).await.expect("flush answered");
    assert_eq!((report.succeeded, report.failed), (300, 0));
    // Everything the flush counted is in the broker.
    assert_eq!(held(&topic, 300).await, 300);
    let got = peek(&outcomes).await;
    assert_eq!(got.len(), 300, "every callback was told");
    assert!(got.iter().all(|o| o.result.is_ok()));

    // Nothing in flight: a flush resolves at once, counting nothing.
    let empty = p.send(Flush).await.unwrap();
    assert_eq!((empty.succeeded, empty.failed), (0, 0));
    p.shutdown().await;
}

#[actix_rt::test]
async fn a_supervised_producer_restarts_while_sending_and_never_leaves_the_broker() {
    let topic = fresh_topic("restart").await;
    let group = unique("restart");
    let p = Producer::supervised(config(&group)).await.expect("starts under a supervisor");
    p.send_message(ProducerRecord::new(&topic, "before")).await.expect("send before the restart");
    let client_id = p.send(GetProducerStatus).await.unwrap().client_id.unwrap();
    let broker = Admin::connect(&fixture::broker_addr());
    assert!(broker.lists_producer(&group, &client_id, true).await);

    // Watch the broker's producer table through the whole restart.
    let watching = Arc::new(AtomicBool::new(true));
    let watcher = {
        let (watching, group, client_id) = (watching.clone(), group.clone(), client_id.clone());
        actix_rt::spawn(async move {
            let broker = Admin::connect(&fixture::broker_addr());
            let mut missing = 0;
            while watching.load(Ordering::Relaxed) {
                if !broker.producer_client_ids(&group).await.contains(&client_id) {
                    missing += 1;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            missing
        })
    };

    // Queued in order with `do_send`: 300 sends on the wire at the restart (route cached), 50
    // parked for a route (a topic not yet used), then the restart, then 300 more.
    let parked_topic = fresh_topic("restart_parked").await;
    let outcomes = Inbox::<SendOutcome>::start();
    let async_send = |topic: &str, body: String, i: u64| SendAsync::new(ProducerRecord::new(topic, body), outcomes.clone().recipient()).with_context(i);
    for i in 0..300 {
        p.do_send(async_send(&topic, format!("x{i}"), i));
    }
    for i in 0..50 {
        p.do_send(async_send(&parked_topic, format!("z{i}"), 1000 + i));
    }
    p.do_send(Restart);
    for i in 0..300 {
        p.do_send(async_send(&topic, format!("y{i}"), 2000 + i));
    }
    let got = wait_for(&outcomes, 650).await;
    for o in &got {
        if let Err(f) = &o.result {
            panic!("send {} across the restart failed: {} ({:?})", o.context, f.error, f.error.kind());
        }
    }
    watching.store(false, Ordering::Relaxed);
    assert_eq!(watcher.await.unwrap(), 0, "the broker never lost the group during the restart");

    let status = p.send(GetProducerStatus).await.unwrap();
    assert_eq!((status.state, status.restarts), (ServiceState::Running, 1));
    assert_eq!(status.client_id.as_deref(), Some(client_id.as_str()));
    p.send_message(ProducerRecord::new(&topic, "after")).await.expect("send after the restart");
    assert_eq!(held(&topic, 1 + 600 + 1).await, 1 + 600 + 1, "each acknowledged message is in the broker once");
    assert_eq!(held(&parked_topic, 50).await, 50, "sends parked for a route at the restart went on after it");
    p.shutdown().await;
    assert!(broker.lists_producer(&group, &client_id, false).await);
}

#[actix_rt::test]
async fn an_unsupervised_restart_stops_for_good_and_unregisters() {
    let group = unique("stopped");
    let p = Producer::spawn(config(&group)).await.expect("starts");
    let client_id = p.send(GetProducerStatus).await.unwrap().client_id.unwrap();
    let broker = Admin::connect(&fixture::broker_addr());
    assert!(broker.lists_producer(&group, &client_id, true).await);
    p.send(Restart).await.expect("restart asked");
    let after = p.send_message(ProducerRecord::new(unique("t"), "x")).await;
    assert!(matches!(after, Err(SendError::Mailbox(_))), "the actor is gone: {after:?}");
    assert!(broker.lists_producer(&group, &client_id, false).await);
}

#[actix_rt::test]
async fn status_shows_routes_connections_and_the_instance() {
    let topic = fresh_topic("status").await;
    let p = Producer::spawn(config(&unique("status"))).await.expect("starts");
    p.send_message(ProducerRecord::new(&topic, "x")).await.expect("send");
    let status = p.send(GetProducerStatus).await.unwrap();
    let route = status.routes.get(&topic).expect("the topic's route");
    assert_eq!(route.queues.len(), QUEUES as usize);
    let broker_addr = fixture::broker_addr();
    assert!(route.brokers.values().any(|a| *a == broker_addr), "{route:?}");
    assert!(status.connections.iter().any(|c| c.addr == broker_addr), "a connection to the broker");
    assert_eq!((status.inflight_messages, status.waiting_sends), (0, 0));
    // The connection is the client instance's, shared with every producer of this test process:
    // another test's request may be on it at this moment. Once answered, nothing stays pending.
    let drained = eventually(Duration::from_secs(10), || async {
        let status = p.send(GetProducerStatus).await.unwrap();
        status.connections.iter().any(|c| c.addr == broker_addr && c.pending_requests == Some(0))
    })
    .await;
    assert!(drained, "the status never showed the broker connection with no pending request");
    let json = serde_json::to_value(&status).expect("status serializes");
    assert_eq!(json["state"], "RUNNING");

    let instance = p.send(GetInstanceStatus).await.unwrap().expect("instance status from the producer");
    assert_eq!(instance.name_server.as_deref(), Some(fixture::namesrv_addr()));
    let seen = eventually(Duration::from_secs(10), || async {
        let i = p.send(GetInstanceStatus).await.unwrap().unwrap();
        i.broker_versions.get(&broker_addr).is_some_and(|v| *v > 0)
    })
    .await;
    assert!(seen, "the broker's version comes from its heartbeat answer");
    serde_json::to_string(&instance).expect("instance status serializes");
    p.shutdown().await;
}
