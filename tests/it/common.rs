//! Shared helpers: unique names and producers pointed at the test broker.

use std::sync::atomic::{AtomicU32, Ordering};

use actix::Addr;
use actix_rocketmq::{Producer, ProducerConfig};

use crate::fixture;

static SEQ: AtomicU32 = AtomicU32::new(0);

/// A name no other test (or earlier run against the same broker) uses.
pub fn unique(prefix: &str) -> String {
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
    format!("{prefix}_{}_{t}_{n}", std::process::id())
}

/// Config for `group` against the test name server.
pub fn config(group: &str) -> ProducerConfig {
    let _ = tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).with_test_writer().try_init();
    ProducerConfig::new(group, fixture::namesrv_addr())
}

/// A started producer for a fresh group.
pub async fn producer() -> (Addr<Producer>, String) {
    let group = unique("grp");
    let p = Producer::spawn(config(&group)).await.expect("producer starts");
    (p, group)
}
