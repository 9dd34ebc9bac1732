//! Quickstart: start a producer actor, send 10 messages with tags and keys, print each result.
//!
//! Run it with `scripts/quickstart` (starts a local broker when ROCKETMQ_NAMESRV_ADDR is unset),
//! or against your own cluster: `ROCKETMQ_NAMESRV_ADDR=host:9876 cargo run --example quickstart`.

use actix_rocketmq::{Producer, ProducerConfig, ProducerExt, ProducerRecord};

#[actix::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    let namesrv = std::env::var("ROCKETMQ_NAMESRV_ADDR").unwrap_or_else(|_| "127.0.0.1:9876".into());

    let producer = Producer::spawn(ProducerConfig::new("quickstart_producer", namesrv)).await?;
    for i in 0..10 {
        let record = ProducerRecord::new("QuickstartTopic", format!("Hello RocketMQ {i}"))
            .with_tags(if i % 2 == 0 { "even" } else { "odd" })
            .with_key(format!("order-{i}"));
        let result = producer.send_message(record).await?;
        println!("{result}");
    }
    producer.shutdown().await;
    Ok(())
}
