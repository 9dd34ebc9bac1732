//! A producer under an actix `Supervisor`, as a service runs it: restarted on the same address
//! when it stops, drained on shutdown, watched through its events and status.
//!
//! `ROCKETMQ_NAMESRV_ADDR=127.0.0.1:9876 cargo run --example supervised`

use actix::prelude::*;
use actix_rocketmq::{
    Flush, GetProducerStatus, Producer, ProducerConfig, ProducerEvent, ProducerExt, ProducerRecord, Restart, SendErrorKind,
    Shutdown, Subscribe,
};

/// Logs what happens to the producer.
struct Watcher;

impl Actor for Watcher {
    type Context = Context<Self>;
}

impl Handler<ProducerEvent> for Watcher {
    type Result = ();
    fn handle(&mut self, event: ProducerEvent, _: &mut Context<Self>) {
        println!("event: {}", serde_json::to_string(&event).unwrap_or_default());
    }
}

#[actix::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let namesrv = std::env::var("ROCKETMQ_NAMESRV_ADDR").unwrap_or_else(|_| "127.0.0.1:9876".into());
    // `Producer::supervised` is `Supervisor::start(|_| Producer::new(config))` plus `Start`.
    let producer = Producer::supervised(ProducerConfig::new("supervised_example", namesrv)).await?;
    producer.send(Subscribe(Watcher.start().recipient())).await?;

    for i in 0..10 {
        match producer.send_message(ProducerRecord::new("SupervisedExample", format!("before {i}"))).await {
            Ok(result) => println!("stored {}", result.msg_id),
            Err(e) => match e.kind() {
                SendErrorKind::OutcomeUnknown => println!("may be stored, resend only if consumers dedupe: {e}"),
                SendErrorKind::Transient => println!("not stored, worth a resend: {e}"),
                _ => println!("not stored, resending will not help: {e}"),
            },
        }
    }
    // What a fatal internal error does: the actor stops and its supervisor restarts it on the
    // same address; it joins its client instance again under the same registration.
    producer.send(Restart).await?;
    let r = producer.send_message(ProducerRecord::new("SupervisedExample", "after the restart")).await?;
    println!("stored {} after the restart", r.msg_id);

    let status = producer.send(GetProducerStatus).await?;
    println!("status: {}", serde_json::to_string_pretty(&status)?);
    let report = producer.send(Flush).await?;
    println!("flushed: {} ok, {} failed", report.succeeded, report.failed);
    producer.send(Shutdown).await?;
    Ok(())
}
