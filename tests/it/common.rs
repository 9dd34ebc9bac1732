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

/// Test output shows the crate's spans and events as `RUST_LOG` asks.
fn init_tracing() {
    let _ = tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).with_test_writer().try_init();
}

/// Config for `group` against the test name server.
pub fn config(group: &str) -> ProducerConfig {
    init_tracing();
    ProducerConfig::new(group, fixture::namesrv_addr())
}

/// Config for a fresh group named after `name` against `namesrv`, in a client instance of its
/// own: producers of another name server than the suite's cannot share the suite's instance.
pub fn config_on(name: &str, namesrv: &str) -> ProducerConfig {
    init_tracing();
    let mut cfg = ProducerConfig::new(unique(name), namesrv);
    cfg.client.instance_name = unique(name);
    cfg
}

/// A started producer for a fresh group.
pub async fn producer() -> (Addr<Producer>, String) {
    let group = unique("grp");
    let p = Producer::spawn(config(&group)).await.expect("producer starts");
    (p, group)
}

/// An actor that keeps every `M` it is sent (async send outcomes, producer events).
pub struct Inbox<M>(Vec<M>);

impl<M: actix::Message<Result = ()> + Clone + Unpin + 'static> Inbox<M> {
    pub fn start() -> actix::Addr<Inbox<M>> {
        actix::Actor::start(Inbox(Vec::new()))
    }
}

impl<M: actix::Message<Result = ()> + Unpin + 'static> actix::Actor for Inbox<M> {
    type Context = actix::Context<Self>;
}

impl<M: actix::Message<Result = ()> + Unpin + 'static> actix::Handler<M> for Inbox<M> {
    type Result = ();
    fn handle(&mut self, msg: M, _: &mut actix::Context<Self>) {
        self.0.push(msg);
    }
}

/// A copy of what an [`Inbox`] holds so far.
pub struct Peek<M>(std::marker::PhantomData<M>);

impl<M: 'static> actix::Message for Peek<M> {
    type Result = Vec<M>;
}

impl<M: actix::Message<Result = ()> + Clone + Unpin + 'static> actix::Handler<Peek<M>> for Inbox<M> {
    type Result = actix::MessageResult<Peek<M>>;
    fn handle(&mut self, _: Peek<M>, _: &mut actix::Context<Self>) -> Self::Result {
        actix::MessageResult(self.0.clone())
    }
}

/// What `inbox` holds so far.
pub async fn peek<M: actix::Message<Result = ()> + Clone + Send + Unpin + 'static>(inbox: &actix::Addr<Inbox<M>>) -> Vec<M> {
    inbox.send(Peek(std::marker::PhantomData)).await.expect("inbox alive")
}

/// Waits (up to 10 s) until `inbox` holds `n` messages, and returns them.
pub async fn wait_for<M: actix::Message<Result = ()> + Clone + Send + Unpin + 'static>(inbox: &actix::Addr<Inbox<M>>, n: usize) -> Vec<M> {
    let end = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let got = peek(inbox).await;
        if got.len() >= n || std::time::Instant::now() > end {
            assert_eq!(got.len(), n, "every expected message arrived");
            return got;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Collects async send outcomes and hands them over once `want` have arrived.
pub struct Collector {
    want: usize,
    got: Vec<actix_rocketmq::SendOutcome>,
    done: Option<tokio::sync::oneshot::Sender<Vec<actix_rocketmq::SendOutcome>>>,
}

impl Collector {
    /// A started collector waiting for `want` outcomes, and where they will arrive.
    pub fn start(want: usize) -> (actix::Addr<Collector>, tokio::sync::oneshot::Receiver<Vec<actix_rocketmq::SendOutcome>>) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        (actix::Actor::start(Collector { want, got: Vec::with_capacity(want), done: Some(tx) }), rx)
    }
}

impl actix::Actor for Collector {
    type Context = actix::Context<Self>;
}

impl actix::Handler<actix_rocketmq::SendOutcome> for Collector {
    type Result = ();
    fn handle(&mut self, msg: actix_rocketmq::SendOutcome, _: &mut actix::Context<Self>) {
        self.got.push(msg);
        if self.got.len() == self.want {
            if let Some(tx) = self.done.take() {
                let _ = tx.send(std::mem::take(&mut self.got));
            }
        }
    }
}
