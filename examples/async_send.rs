//! Async sends: many messages in flight from one producer, outcomes to a callback actor.
//! The in-flight budget (1024 messages / 100 MiB by default) holds the sender back, so memory
//! stays flat however many messages you send.
//!
//! `cargo run --release --example async_send -- [COUNT]` (default 10000), with
//! `ROCKETMQ_NAMESRV_ADDR` set or a broker on 127.0.0.1:9876 (`scripts/rocketmq-local start`).

use std::time::Instant;

use actix::prelude::*;
use actix_rocketmq::{Producer, ProducerConfig, ProducerExt, ProducerRecord, SendAsync, SendOutcome};

/// Counts outcomes; stops the system when all arrived.
struct Tally {
    want: u64,
    ok: u64,
    failed: u64,
}

impl Actor for Tally {
    type Context = Context<Self>;
}

impl Handler<SendOutcome> for Tally {
    type Result = ();
    fn handle(&mut self, outcome: SendOutcome, _: &mut Context<Self>) {
        match outcome.result {
            Ok(_) => self.ok += 1,
            Err(failure) => {
                self.failed += 1;
                // The message comes back with the error: store it, or send it again later.
                eprintln!("send {} failed: {} (topic {})", outcome.context, failure.error, failure.returned.topic());
            }
        }
        if self.ok + self.failed == self.want {
            println!("done: {} ok, {} failed", self.ok, self.failed);
            System::current().stop();
        }
    }
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok()))
        .unwrap_or(0)
}

#[actix::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let count: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let namesrv = std::env::var("ROCKETMQ_NAMESRV_ADDR").unwrap_or_else(|_| "127.0.0.1:9876".into());
    let producer = Producer::spawn(ProducerConfig::new("async_example_producer", namesrv)).await?;
    let tally = Tally { want: count, ok: 0, failed: 0 }.start();
    let started = Instant::now();
    let body = vec![b'a'; 1024];
    // The loop runs as a task of its own: the `main` future (System::block_on) is polled only
    // once per pass of the runtime over its ready tasks, so a loop written directly here would
    // hand the producer one message per pass (README, "Sending from a loop").
    let (p, t) = (producer.clone(), tally.clone());
    actix::spawn(async move {
        for i in 0..count {
            let record = ProducerRecord::new("AsyncExampleTopic", body.clone()).with_key(format!("k{i}"));
            // Awaiting only waits for room in the in-flight budget; the outcome goes to `tally`.
            p.send(SendAsync::new(record, t.clone().recipient()).with_context(i)).await?;
            if i % 100_000 == 0 {
                println!("{i} admitted, RSS {} KiB", rss_kib());
            }
        }
        Ok::<_, actix::MailboxError>(())
    })
    .await??;
    println!("all {count} admitted in {:?}, RSS {} KiB", started.elapsed(), rss_kib());
    // Wait for the last outcomes (the tally stops the system), then shut down.
    while tally.connected() && System::try_current().is_some() {
        actix_rt::time::sleep(std::time::Duration::from_millis(50)).await;
        if producer.send(actix_rocketmq::GetProducerStatus).await?.inflight_messages == 0 {
            break;
        }
    }
    println!("{count} sends in {:?} ({:.0} msg/s), RSS {} KiB", started.elapsed(), count as f64 / started.elapsed().as_secs_f64(), rss_kib());
    producer.shutdown().await;
    Ok(())
}
