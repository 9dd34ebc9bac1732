//! Name server failover against the real name server, with a frozen one (a local listener that
//! accepts and never answers) in front of it.

use std::time::{Duration, Instant};

use actix_rocketmq::protocol::codes::request;
use actix_rocketmq::{Producer, ProducerConfig, ProducerExt, ProducerRecord};

use crate::common::unique;
use crate::fake::{Behaviour, FakePeer};
use crate::fixture;

#[actix_rt::test]
async fn a_frozen_name_server_costs_the_first_send_a_fraction_of_its_budget() {
    let frozen = FakePeer::start(Behaviour::Silent).await;
    let timeout = Duration::from_secs(3);
    // Each client instance starts on a random name server: new instances until one asked the
    // frozen one first for the topic of its first send (1 in 2 each).
    let mut hit = 0;
    for _ in 0..20 {
        let mut cfg = ProducerConfig::new(unique("ns_frozen"), format!("{};{}", frozen.addr, fixture::namesrv_addr()));
        crate::common::config("ns_frozen"); // (tracing for the test)
        cfg.client.instance_name = unique("ns_frozen_inst");
        cfg.send_msg_timeout = timeout;
        let p = Producer::spawn(cfg).await.expect("starts");
        let topic = unique("ns_frozen_t");
        let started = Instant::now();
        let sent = p.send_message(ProducerRecord::new(&topic, "x")).await;
        let took = started.elapsed();
        let asked_frozen = frozen
            .requests()
            .iter()
            .any(|r| r.code == request::GET_ROUTEINFO_BY_TOPIC && r.ext_fields.get("topic") == Some(&topic));
        sent.expect("the first send to a new topic succeeds");
        assert!(took < timeout / 2, "the first send took {took:?} of its {timeout:?} (frozen name server asked: {asked_frozen})");
        p.shutdown().await;
        if asked_frozen {
            hit += 1;
            if hit == 2 {
                break;
            }
        }
    }
    assert!(hit >= 1, "no client instance asked the frozen name server first in 20 tries");
}
