//! Delayed delivery: a 4.x delay level, and 5.x timer delivery after a time or at a time.
//!
//! `cargo run --example delay_send` against `ROCKETMQ_NAMESRV_ADDR` (default 127.0.0.1:9876).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_rocketmq::{Delay, Producer, ProducerConfig, ProducerExt, ProducerRecord};

#[actix::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let namesrv = std::env::var("ROCKETMQ_NAMESRV_ADDR").unwrap_or_else(|_| "127.0.0.1:9876".into());
    let producer = Producer::spawn(ProducerConfig::new("delay_example_producer", namesrv)).await?;
    let in_ten_s = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis() as i64 + 10_000;
    for (what, delay) in [
        ("level 3 (10 s with the default table)", Delay::Level(3)),
        ("timer: after 5 s", Delay::Millis(Duration::from_secs(5).as_millis() as i64)),
        ("timer: at now + 10 s", Delay::DeliverAt(in_ten_s)),
    ] {
        let r = producer.send_message(ProducerRecord::new("DelayExampleTopic", what).with_delay(delay)).await?;
        println!("{what}: {r}");
    }
    producer.shutdown().await;
    Ok(())
}
