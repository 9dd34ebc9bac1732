//! Start/shutdown rules, instance sharing, and the broker's view of our producer group.

use std::time::Duration;

use actix::prelude::*;
use actix_rocketmq::client::{ClientRegistry, ListInstances};
use actix_rocketmq::{
    ConfigError, GetProducerStatus, Producer, ProducerExt, ProducerRecord, SendError, ServiceState, Shutdown, Start,
    StartError,
};

use crate::admin::{eventually, Admin};
use crate::common::{config, producer, unique};
use crate::fixture;

async fn status(p: &Addr<Producer>) -> actix_rocketmq::ProducerStatus {
    p.send(GetProducerStatus).await.expect("producer alive")
}

#[actix_rt::test]
async fn broker_knows_the_group_while_running_and_forgets_it_after_shutdown() {
    let (p, group) = producer().await;
    let client_id = status(&p).await.client_id.expect("client id after start");
    let broker = Admin::connect(&fixture::broker_addr());
    let registered = broker.lists_producer(&group, &client_id, true).await;
    assert!(registered, "broker never listed {client_id} under {group}");

    p.shutdown().await;
    let forgotten = broker.lists_producer(&group, &client_id, false).await;
    assert!(forgotten, "broker still lists {client_id} under {group} after shutdown");
}

#[actix_rt::test]
async fn start_rules_follow_the_state_machine() {
    let (p, _group) = producer().await;
    assert_eq!(status(&p).await.state, ServiceState::Running);
    assert_eq!(p.send(Start).await.unwrap(), Err(StartError::WrongState(ServiceState::Running)));

    p.send(Shutdown).await.unwrap();
    assert_eq!(status(&p).await.state, ServiceState::ShutdownAlready);
    assert_eq!(p.send(Start).await.unwrap(), Err(StartError::WrongState(ServiceState::ShutdownAlready)));
    let after = p.send_message(ProducerRecord::new(unique("t"), "x")).await;
    assert_eq!(after, Err(SendError::NotRunning(ServiceState::ShutdownAlready)));
    // A second shutdown is harmless.
    p.send(Shutdown).await.unwrap();
}

#[actix_rt::test]
async fn a_failed_start_is_final() {
    let mut cfg = config("bad group!");
    cfg.group = "bad group!".into();
    let p = Producer::new(cfg).start();
    let first = p.send(Start).await.unwrap();
    assert_eq!(first, Err(StartError::Config(ConfigError::GroupIllegalChars("bad group!".into()))));
    assert_eq!(p.send(Start).await.unwrap(), Err(StartError::WrongState(ServiceState::StartFailed)));
    let ids = ClientRegistry::from_registry().send(ListInstances).await.unwrap();
    assert!(ids.is_empty(), "an invalid config must not create a client instance: {ids:?}");
}

#[actix_rt::test]
async fn duplicate_group_is_refused_and_the_producer_can_retry() {
    let group = unique("dup");
    let first = Producer::spawn(config(&group)).await.expect("first starts");
    let second = Producer::new(config(&group)).start();
    let err = second.send(Start).await.unwrap().unwrap_err();
    assert!(matches!(err, StartError::DuplicateGroup { group: ref g, .. } if *g == group), "{err:?}");
    assert_eq!(status(&second).await.state, ServiceState::CreateJust);

    // Once the first one is gone, the same producer may start.
    first.shutdown().await;
    second.send(Start).await.unwrap().expect("second starts after the first left");
    assert_eq!(status(&second).await.state, ServiceState::Running);
    second.shutdown().await;
}

#[actix_rt::test]
async fn producers_share_an_instance_per_client_id() {
    let topic = unique("shared");
    let (a, _) = producer().await;
    let (b, _) = producer().await;
    let id_a = status(&a).await.client_id.unwrap();
    let id_b = status(&b).await.client_id.unwrap();
    assert_eq!(id_a, id_b, "same config, same clientId");
    let registry = ClientRegistry::from_registry();
    assert_eq!(registry.send(ListInstances).await.unwrap(), vec![id_a.clone()]);

    // Another unit name is another instance.
    let mut cfg = config(&unique("unit"));
    cfg.client.unit_name = Some("unit2".into());
    let c = Producer::spawn(cfg).await.expect("third starts");
    let id_c = status(&c).await.client_id.unwrap();
    assert_eq!(id_c, format!("{id_a}@unit2"));
    let mut ids = registry.send(ListInstances).await.unwrap();
    ids.sort();
    assert_eq!(ids.len(), 2);

    for p in [&a, &b, &c] {
        p.send_message(ProducerRecord::new(&topic, "hi")).await.expect("send");
    }
    // Shutting one producer down keeps the shared instance for the other.
    a.shutdown().await;
    b.send_message(ProducerRecord::new(&topic, "still here")).await.expect("send after sibling shut down");
    assert!(registry.send(ListInstances).await.unwrap().contains(&id_a));
    b.shutdown().await;
    c.shutdown().await;
    let gone = eventually(Duration::from_secs(5), || async {
        registry.send(ListInstances).await.unwrap().is_empty()
    })
    .await;
    assert!(gone, "instances must leave the registry after their last producer");
}

#[actix_rt::test]
async fn dropping_the_last_address_unregisters_the_group() {
    let (p, group) = producer().await;
    let client_id = status(&p).await.client_id.unwrap();
    let broker = Admin::connect(&fixture::broker_addr());
    assert!(broker.lists_producer(&group, &client_id, true).await);
    drop(p);
    let forgotten = broker.lists_producer(&group, &client_id, false).await;
    assert!(forgotten, "a dropped producer must leave the broker's producer table");
    let registry = ClientRegistry::from_registry();
    assert!(eventually(Duration::from_secs(5), || async { registry.send(ListInstances).await.unwrap().is_empty() }).await);
}

#[actix_rt::test]
async fn periodic_tasks_refresh_routes_and_heartbeat_brokers() {
    use actix_rocketmq::client::{GetOrCreateInstance, GetStatus};
    let mut cfg = config(&unique("periodic"));
    cfg.client.poll_name_server_interval = Duration::from_millis(500);
    cfg.client.heartbeat_broker_interval = Duration::from_millis(500);
    cfg.client.instance_name = unique("inst");
    let p = Producer::spawn(cfg.clone()).await.unwrap();
    // The same config reaches the same instance through the registry.
    let instance = ClientRegistry::from_registry().send(GetOrCreateInstance { config: cfg.client.clone() }).await.unwrap().unwrap();
    let broker_addr = fixture::broker_addr();
    let seen = eventually(Duration::from_secs(10), || async {
        let s = instance.send(GetStatus).await.unwrap();
        // Routes polled (TBW102 seeded at start), the broker learned from them, and a heartbeat
        // answered with the broker's version.
        s.topics.contains(&"TBW102".to_string())
            && s.brokers.values().any(|ids| ids.get(&0) == Some(&broker_addr))
            && s.broker_versions.get(&broker_addr).is_some_and(|v| *v > 0)
    })
    .await;
    assert!(seen, "{:?}", instance.send(GetStatus).await.unwrap());
    p.shutdown().await;
}

#[actix_rt::test]
async fn name_servers_can_come_from_an_http_endpoint() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/rocketmq/nsaddr", listener.local_addr().unwrap());
    let namesrv = fixture::namesrv_addr().to_string();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf).await;
            let reply = format!("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n{namesrv}\n");
            let _ = s.write_all(reply.as_bytes()).await;
        }
    });
    let mut cfg = config(&unique("endpoint"));
    cfg.client.namesrv_addr = None;
    cfg.client.namesrv_endpoint = Some(url);
    cfg.client.instance_name = unique("ep");
    let p = Producer::spawn(cfg).await.expect("starts with an endpoint only");
    let r = p.send_message(actix_rocketmq::ProducerRecord::new(unique("ep_topic"), "via endpoint")).await.expect("send");
    let stored = Admin::connect(&fixture::broker_addr()).view(&r.offset_msg_id).await;
    assert_eq!(&stored.body[..], b"via endpoint");
    p.shutdown().await;
}
