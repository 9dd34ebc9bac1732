//! Orderly sends: every message of one order goes to one queue, in send order, so a consumer
//! reading that queue sees the order's steps in sequence.
//!
//! `cargo run --example orderly_send` against `ROCKETMQ_NAMESRV_ADDR` (default 127.0.0.1:9876).

use actix_rocketmq::{Producer, ProducerConfig, ProducerRecord, SendMessage};

#[actix::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let namesrv = std::env::var("ROCKETMQ_NAMESRV_ADDR").unwrap_or_else(|_| "127.0.0.1:9876".into());
    let producer = Producer::spawn(ProducerConfig::new("orderly_example_producer", namesrv)).await?;
    for step in ["created", "paid", "shipped", "delivered"] {
        for order in 1..=3 {
            let key = format!("order-{order}");
            let record = ProducerRecord::new("OrderlyExampleTopic", format!("{key} {step}")).with_key(key.clone());
            // Hash of the key picks the queue (same hash as Java's SelectMessageQueueByHash).
            let r = producer.send(SendMessage::new(record).ordered_by_key(key.clone())).await??;
            println!("{key} {step:<9} -> queue {} offset {}", r.message_queue.queue_id, r.queue_offset);
        }
    }
    producer.send(actix_rocketmq::Shutdown).await?;
    Ok(())
}
