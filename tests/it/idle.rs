//! A producer left idle past the broker's idle limit (a 5.x broker closes a connection that has
//! seen no traffic for 120 s, `NettyServerConfig.serverChannelMaxIdleTimeSeconds`) keeps sending.

use std::time::{Duration, Instant};

use actix_rocketmq::{Producer, ProducerExt, ProducerRecord};

use crate::admin::Admin;
use crate::common::{config, unique};
use crate::fixture;

#[actix_rt::test]
async fn a_producer_idle_past_the_broker_idle_limit_keeps_sending() {
    let topic = unique("idle_t");
    let p = Producer::spawn(config(&unique("idle"))).await.expect("starts");
    let first = p.send_message(ProducerRecord::new(&topic, "before")).await.expect("first send");
    actix_rt::time::sleep(Duration::from_secs(130)).await;
    let started = Instant::now();
    let second = p.send_message(ProducerRecord::new(&topic, "after")).await.expect("a send after 130 s idle");
    let took = started.elapsed();
    eprintln!("idle: the send after 130 s idle took {took:?}");
    let admin = Admin::connect(&fixture::broker_addr());
    for (r, body) in [(first, "before"), (second, "after")] {
        assert_eq!(admin.view(&r.offset_msg_id).await.body.as_ref(), body.as_bytes());
    }
    p.shutdown().await;
}
