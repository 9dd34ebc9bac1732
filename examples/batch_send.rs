//! Batch sends: one request, many messages, each with its own id and properties. Too large a
//! batch is split into size-bounded parts first.
//!
//! `cargo run --example batch_send` against `ROCKETMQ_NAMESRV_ADDR` (default 127.0.0.1:9876).

use actix_rocketmq::producer::batch::split_batch;
use actix_rocketmq::{Producer, ProducerConfig, ProducerExt, ProducerRecord};

#[actix::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let namesrv = std::env::var("ROCKETMQ_NAMESRV_ADDR").unwrap_or_else(|_| "127.0.0.1:9876".into());
    let producer = Producer::spawn(ProducerConfig::new("batch_example_producer", namesrv)).await?;

    let small: Vec<ProducerRecord> =
        (0..32).map(|i| ProducerRecord::new("BatchExampleTopic", format!("batch message {i}")).with_tags("batch")).collect();
    let result = producer.send_batch(small).await?;
    println!("{} messages in one batch, first id {}", result.msg_ids().len(), result.msg_ids()[0]);

    // 200 x 64 KiB is more than one request may carry (4 MiB): split into parts of <= 1 MiB.
    let big: Vec<ProducerRecord> = (0..200).map(|_| ProducerRecord::new("BatchExampleTopic", vec![b'z'; 64 * 1024])).collect();
    for (n, part) in split_batch(big, 1024 * 1024)?.into_iter().enumerate() {
        let r = producer.send_batch(part).await?;
        println!("part {n}: {} messages from queue offset {}", r.msg_ids().len(), r.queue_offset);
    }
    producer.shutdown().await;
    Ok(())
}
