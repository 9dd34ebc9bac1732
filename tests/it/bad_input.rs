//! Bad input gets its own typed error, and local checks put nothing on the wire.

use std::time::Duration;

use actix_rocketmq::protocol::codes::request;
use actix_rocketmq::{
    ConfigError, Producer, ProducerConfig, ProducerExt, ProducerRecord, RemotingError, RouteError, SendError,
    StartError, ValidationError,
};

use crate::common::unique;
use crate::fake::{Behaviour, FakePeer, TOPIC_NOT_EXIST};

#[actix_rt::test]
async fn local_checks_fail_before_the_wire() {
    // A recording name server: it sees every frame this producer sends anywhere, because without
    // a route no broker address is ever known.
    let ns = FakePeer::start(Behaviour::Answer(TOPIC_NOT_EXIST)).await;
    let p = Producer::spawn(ProducerConfig::new(unique("bad"), ns.addr.clone())).await.expect("start");
    let cases: Vec<(ProducerRecord, ValidationError)> = vec![
        (ProducerRecord::new("has space", "x"), ValidationError::TopicIllegalChars("has space".into())),
        (ProducerRecord::new("", "x"), ValidationError::BlankTopic),
        (ProducerRecord::new("t".repeat(128), "x"), ValidationError::TopicTooLong { len: 128, max: 127 }),
        (ProducerRecord::new("SCHEDULE_TOPIC_XXXX", "x"), ValidationError::TopicNotAllowed("SCHEDULE_TOPIC_XXXX".into())),
        (ProducerRecord::new("fine_topic", ""), ValidationError::EmptyBody),
        (
            ProducerRecord::new("fine_topic", vec![1u8; 4 * 1024 * 1024 + 1]),
            ValidationError::BodyTooLarge { size: 4 * 1024 * 1024 + 1, max: 4 * 1024 * 1024 },
        ),
        (ProducerRecord::new("fine_topic", "x").with_property("TAGS", "a"), ValidationError::ReservedProperty("TAGS".into())),
    ];
    for (rec, want) in cases {
        assert_eq!(p.send_message(rec).await, Err(SendError::Invalid(want)));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    for cmd in ns.requests() {
        assert_ne!(cmd.code, request::SEND_MESSAGE_V2);
        assert!(cmd.ext("topic").map_or(true, |t| t == "TBW102"), "unexpected request {cmd:?}");
    }
    p.shutdown().await;
}

#[actix_rt::test]
async fn invalid_groups_are_config_errors() {
    for (group, want) in [
        ("", ConfigError::BlankGroup),
        ("a/b", ConfigError::GroupIllegalChars("a/b".into())),
        ("DEFAULT_PRODUCER", ConfigError::ReservedGroup("DEFAULT_PRODUCER".into())),
    ] {
        let res = Producer::spawn(ProducerConfig::new(group, "127.0.0.1:1")).await;
        assert_eq!(res.err(), Some(StartError::Config(want)));
    }
    let res = Producer::spawn(ProducerConfig::new("g", "no-port")).await;
    assert_eq!(res.err(), Some(StartError::Config(ConfigError::BadNameServerAddr("no-port".into()))));
}

#[actix_rt::test]
async fn unknown_name_server_host_is_a_resolve_error() {
    let p = Producer::spawn(ProducerConfig::new(unique("nohost"), "no-such-host.invalid:9876")).await.expect("start");
    let res = p.send_message(ProducerRecord::new("some_topic", "x")).await;
    assert!(
        matches!(res, Err(SendError::Route { source: RouteError::Remoting(RemotingError::Resolve { .. }), .. })),
        "{res:?}"
    );
    p.shutdown().await;
}

#[actix_rt::test]
async fn unknown_topic_without_template_has_no_route() {
    // The name server knows neither the topic nor TBW102: no auto-create possible.
    let ns = FakePeer::start(Behaviour::Answer(TOPIC_NOT_EXIST)).await;
    let p = Producer::spawn(ProducerConfig::new(unique("noroute"), ns.addr.clone())).await.expect("start");
    let res = p.send_message(ProducerRecord::new("nowhere", "x")).await;
    assert_eq!(res, Err(SendError::NoRoute { topic: "nowhere".into() }));
    p.shutdown().await;
}
