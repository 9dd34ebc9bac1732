//! Transactional messages: the half message, the local transaction in an application actor,
//! and the broker's check-back for a transaction left undecided.
//!
//! `cargo run --example transaction` against `ROCKETMQ_NAMESRV_ADDR` (default 127.0.0.1:9876).
//! The project's local broker (`scripts/rocketmq-local start`) checks undecided transactions
//! after about a second; a broker with default settings takes about a minute.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use actix::prelude::*;
use actix_rocketmq::{
    CheckLocalTransaction, ExecuteLocalTransaction, LocalTransactionState, Producer, ProducerConfig, ProducerRecord,
    SendTransactional, Start,
};

/// The application's order book: the local transaction of each message is recording its order.
#[derive(Default)]
struct Orders {
    /// Orders recorded (their message ids), the answer to a check.
    recorded: HashSet<String>,
    checks: u32,
}

impl Actor for Orders {
    type Context = Context<Self>;
}

impl Handler<ExecuteLocalTransaction> for Orders {
    type Result = MessageResult<ExecuteLocalTransaction>;

    fn handle(&mut self, tx: ExecuteLocalTransaction, _: &mut Context<Self>) -> Self::Result {
        MessageResult(match tx.arg.as_deref() {
            Some("valid") => {
                self.recorded.insert(tx.msg_id);
                LocalTransactionState::Commit
            }
            Some("invalid") => LocalTransactionState::Rollback,
            // Recorded, but the answer is lost (as if this process had crashed): the broker asks.
            _ => {
                self.recorded.insert(tx.msg_id);
                LocalTransactionState::Unknown
            }
        })
    }
}

impl Handler<CheckLocalTransaction> for Orders {
    type Result = MessageResult<CheckLocalTransaction>;

    fn handle(&mut self, check: CheckLocalTransaction, _: &mut Context<Self>) -> Self::Result {
        self.checks += 1;
        let known = self.recorded.contains(&check.msg_id);
        println!("broker checks {} (time {}): {}", check.msg_id, check.check_times, if known { "COMMIT" } else { "ROLLBACK" });
        MessageResult(if known { LocalTransactionState::Commit } else { LocalTransactionState::Rollback })
    }
}

#[derive(Message)]
#[rtype(result = "u32")]
struct Checks;

impl Handler<Checks> for Orders {
    type Result = u32;
    fn handle(&mut self, _: Checks, _: &mut Context<Self>) -> u32 {
        self.checks
    }
}

#[actix::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let namesrv = std::env::var("ROCKETMQ_NAMESRV_ADDR").unwrap_or_else(|_| "127.0.0.1:9876".into());
    let orders = Orders::default().start();
    let producer = Producer::new(ProducerConfig::new("tx_example_producer", namesrv))
        .with_transaction_checker(orders.clone().recipient())
        .start();
    producer.send(Start).await??;

    for (order, arg) in [("order-1", "valid"), ("order-2", "invalid"), ("order-3", "crash")] {
        let record = ProducerRecord::new("TxExampleTopic", format!("{order} paid")).with_key(order);
        let send = SendTransactional::new(record, orders.clone().recipient()).with_arg(arg);
        let r = producer.send(send).await??;
        println!("{order}: {:?}, transaction {} ({})", r.local_state, r.transaction_id, r.send);
    }

    // order-3 was left undecided: wait for the broker's check (which commits it).
    let start = Instant::now();
    while orders.send(Checks).await? == 0 && start.elapsed() < Duration::from_secs(90) {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    producer.send(actix_rocketmq::Shutdown).await?;
    Ok(())
}
