//! Name server failover against the real name server, with a frozen one (a local listener that
//! accepts and never answers) in front of it; a fake name server answering a hostile route.

use std::time::{Duration, Instant};

use actix_rocketmq::protocol::codes::{request, response};
use actix_rocketmq::protocol::{ProtocolError, RemotingCommand};
use actix_rocketmq::{Producer, ProducerConfig, ProducerExt, ProducerRecord, RouteError, SendError};

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

/// A name server answering a route past the caps (`protocol::limits`): 100 `orderTopicConf`
/// items of 65,536 queues each in under 1 KB. Everything else is an unknown topic.
fn hostile_routes(cmd: &RemotingCommand) -> Option<RemotingCommand> {
    let mut reply = RemotingCommand::response(response::TOPIC_NOT_EXIST, cmd.opaque, Some("no route".into()));
    if cmd.code == request::GET_ROUTEINFO_BY_TOPIC && cmd.ext("topic").is_some_and(|t| t.starts_with("hostile")) {
        let conf = (0..100).map(|i| format!("b{i}:65536")).collect::<Vec<_>>().join(";");
        reply = RemotingCommand::response(response::SUCCESS, cmd.opaque, None)
            .with_body(format!(r#"{{"brokerDatas":[],"queueDatas":[],"orderTopicConf":"{conf}"}}"#).into_bytes().into());
    }
    Some(reply)
}

#[actix_rt::test]
async fn a_route_past_the_caps_fails_that_send_and_keeps_the_connection() {
    let ns = FakePeer::start(Behaviour::Script(hostile_routes)).await;
    let mut cfg = ProducerConfig::new(unique("hostile_route"), ns.addr.clone());
    cfg.client.instance_name = unique("hostile_route_inst");
    let p = Producer::spawn(cfg).await.expect("starts");
    let started = Instant::now();
    let err = p.send_message(ProducerRecord::new("hostile_topic", "x")).await.expect_err("the route is refused");
    assert!(
        matches!(&err, SendError::Route { source: RouteError::BadRoute(ProtocolError::TooMany { what: "publish queues in a route", .. }), .. }),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(1), "refused at once: {:?}", started.elapsed());
    // The same connection answers the next lookup (an unknown topic, then its template).
    let err = p.send_message(ProducerRecord::new("other_topic", "x")).await.expect_err("no route");
    assert!(matches!(err, SendError::NoRoute { .. }), "{err:?}");
    assert_eq!(*ns.accepted.lock().unwrap(), 1, "one connection to the name server for both lookups");
    p.shutdown().await;
}
