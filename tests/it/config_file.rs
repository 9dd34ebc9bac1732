//! Settings loaded from a TOML file with environment overrides, against the real broker.

use std::time::Duration;

use actix::prelude::*;
use actix_rocketmq::{
    ConfigError, GetProducerStatus, Producer, ProducerConfig, ProducerExt, ProducerRecord, SerializeType, ServiceState,
    Start, StartError,
};

use crate::admin::{eventually, Admin};
use crate::common::unique;
use crate::fixture;

fn write(name: &str, text: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("arm-{name}"));
    std::fs::write(&path, text).expect("write config");
    path
}

#[actix_rt::test]
async fn a_producer_from_a_file_warms_its_topics_and_sends() {
    let group = unique("file");
    let topic = unique("filetopic");
    // The file names no name server; the environment adds it, as a deployment would.
    let path = write(
        &format!("{group}.toml"),
        &format!(
            "[http]\nbind = \"127.0.0.1:0\"\n\n[producer]\ngroup = \"{group}\"\nsend_msg_timeout = \"4s\"\n\
             max_message_size = \"1MiB\"\ntopics = [\"{topic}\"]\n\n[producer.client]\nserialize_type = \"json\"\n\
             instance_name = \"{group}\"\n"
        ),
    );
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let env = [("ACTIX_ROCKETMQ__CLIENT__NAMESRV_ADDR".to_string(), fixture::namesrv_addr().to_string())];
    let cfg = ProducerConfig::from_toml(&text, "producer", env).expect("config loads");
    assert_eq!(cfg.client.serialize_type, SerializeType::Json);
    assert_eq!(cfg.send_msg_timeout, Duration::from_secs(4));

    let p = Producer::spawn(cfg).await.expect("start");
    // The configured topic's route is looked up at start, before any send.
    let warmed = eventually(Duration::from_secs(5), || {
        let p = p.clone();
        let topic = topic.clone();
        async move { p.send(GetProducerStatus).await.map(|s| s.routes.contains_key(&topic)).unwrap_or(false) }
    })
    .await;
    assert!(warmed, "route of {topic} not looked up at start");

    let r = p.send_message(ProducerRecord::new(&topic, "from a file").with_key("k1")).await.expect("send");
    let stored = Admin::connect(&fixture::broker_addr()).view(&r.offset_msg_id).await;
    assert_eq!(stored.body, &b"from a file"[..]);
    assert_eq!(stored.property("KEYS"), Some("k1"));
    // Bigger than the file's 1 MiB limit: refused locally, as configured.
    let big = p.send_message(ProducerRecord::new(&topic, vec![b'x'; (1 << 20) + 1])).await;
    assert!(big.is_err(), "{big:?}");
    p.shutdown().await;
}

#[actix_rt::test]
async fn a_bad_configured_topic_fails_start_not_every_send() {
    let mut cfg = crate::common::config(&unique("badtopic"));
    cfg.topics = vec!["orders".into(), "orders EU".into()];
    let p = Producer::new(cfg).start();
    match p.send(Start).await.unwrap() {
        Err(StartError::Config(ConfigError::BadTopic { topic, .. })) => assert_eq!(topic, "orders EU"),
        other => panic!("expected a start error naming the topic, got {other:?}"),
    }
    assert_eq!(p.send(GetProducerStatus).await.unwrap().state, ServiceState::StartFailed);
}

#[actix_rt::test]
async fn a_bad_value_in_a_file_names_its_key() {
    let path = write(&format!("{}.toml", unique("bad")), "group = \"g\"\n[client]\nnamesrv_addr = \"127.0.0.1:9876\"\nrequest_timeout = 3000\n");
    let loaded = ProducerConfig::load(&path);
    std::fs::remove_file(&path).unwrap();
    match loaded {
        Err(ConfigError::Key { key, reason }) => {
            assert_eq!(key, "client.request_timeout");
            assert!(reason.contains("unit"), "{reason}");
        }
        other => panic!("expected a key error, got {other:?}"),
    }
}
