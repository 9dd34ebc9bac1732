//! Producers left idle past the broker's idle limit (a 5.x broker closes a connection that has
//! seen no traffic for 120 s, `NettyServerConfig.serverChannelMaxIdleTimeSeconds`) keep sending.

use std::time::{Duration, Instant};

use actix_rocketmq::{Producer, ProducerEvent, ProducerExt, ProducerRecord, Subscribe};

use crate::admin::Admin;
use crate::common::{config, peek, unique, Inbox};
use crate::fixture;

#[actix_rt::test]
async fn producers_idle_past_the_broker_idle_limit_keep_sending() {
    let broker = fixture::broker_addr();
    // One with the default heartbeats (every 30 s: its connection is never idle that long), one
    // whose heartbeats are 5 minutes apart: the broker closes its idle connection after 120 s and
    // the next send must open a new one.
    let mut producers = Vec::new();
    for heartbeat in [Duration::from_secs(30), Duration::from_secs(300)] {
        let mut cfg = config(&unique("idle"));
        cfg.client.instance_name = unique("idle_inst");
        cfg.client.heartbeat_broker_interval = heartbeat;
        let p = Producer::spawn(cfg).await.expect("starts");
        let events = Inbox::<ProducerEvent>::start();
        p.send(Subscribe(events.clone().recipient())).await.expect("subscribe");
        let topic = unique("idle_t");
        let first = p.send_message(ProducerRecord::new(&topic, "before")).await.expect("first send");
        producers.push((heartbeat, p, events, topic, first));
    }
    actix_rt::time::sleep(Duration::from_secs(130)).await;
    let admin = Admin::connect(&broker);
    for (heartbeat, p, events, topic, first) in producers {
        let closed = peek(&events)
            .await
            .iter()
            .any(|e| matches!(e, ProducerEvent::ConnectionClosed { addr, .. } if *addr == broker));
        if heartbeat > Duration::from_secs(120) {
            assert!(closed, "the broker closed the connection left idle for 130 s");
        } else {
            assert!(!closed, "heartbeats every {heartbeat:?} keep the connection open");
        }
        let started = Instant::now();
        let second = p.send_message(ProducerRecord::new(&topic, "after")).await.expect("a send after 130 s idle");
        eprintln!("idle (heartbeats every {heartbeat:?}, connection closed: {closed}): the next send took {:?}", started.elapsed());
        for (r, body) in [(first, "before"), (second, "after")] {
            assert_eq!(admin.view(&r.offset_msg_id).await.body.as_ref(), body.as_bytes());
        }
        p.shutdown().await;
    }
}
