//! A zero-work stub RocketMQ name server + broker on one 127.0.0.1 port (see
//! `benches/support/stub.rs`): routes every topic to itself (broker `stub-broker`, 8 queues),
//! acknowledges heartbeats and sends at once and stores nothing. For measuring the client alone.
//!
//! ```text
//! cargo run --release --example stub_broker -- --listen 127.0.0.1:9876
//! cargo run --release --example benchmark -- -n 127.0.0.1:9876 --mode sync -w 64 -q 200000
//! ```
//!
//! Prints `STUB_ADDR=host:port` once listening, then one stats line per `--report` seconds.

#[path = "../benches/support/stub.rs"]
mod stub;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use clap::Parser;

#[derive(Parser, Debug)]
#[command(about = "Zero-work stub RocketMQ name server + broker on one loopback port")]
struct Args {
    /// Address to listen on (loopback only; port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:9876")]
    listen: String,
    /// Stop after this many seconds (default: run until killed).
    #[arg(long)]
    duration: Option<u64>,
    /// Seconds between stats lines (0 = none).
    #[arg(long, default_value_t = 1)]
    report: u64,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let stub = stub::StubBroker::spawn_thread(&args.listen)?;
    println!("STUB_ADDR={}", stub.addr);
    let started = Instant::now();
    let mut last = (Instant::now(), 0u64);
    loop {
        let tick = if args.report == 0 { 1 } else { args.report };
        std::thread::sleep(Duration::from_secs(tick));
        if args.report > 0 {
            let s = &stub.stats;
            let msgs = s.messages();
            let dt = last.0.elapsed().as_secs_f64();
            println!(
                "stub: {:.0} msgs/s | messages {} | send requests {} | one-way {} | route queries {} | heartbeats {} | connections {}",
                (msgs - last.1) as f64 / dt,
                msgs,
                s.send_requests.load(Ordering::Relaxed),
                s.oneway.load(Ordering::Relaxed),
                s.route_queries.load(Ordering::Relaxed),
                s.heartbeats.load(Ordering::Relaxed),
                s.connections.load(Ordering::Relaxed),
            );
            last = (Instant::now(), msgs);
        }
        if args.duration.is_some_and(|d| started.elapsed() >= Duration::from_secs(d)) {
            break;
        }
    }
    stub.stop();
    Ok(())
}
