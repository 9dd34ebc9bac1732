//! A zero-work stub name server + broker on one 127.0.0.1 port, for benchmarks.
//!
//! Include it with `#[path = "<relative>/benches/support/stub.rs"] mod stub;`. It answers:
//!
//! * GET_ROUTEINFO_BY_TOPIC (105), any topic: a route pointing at itself (one broker
//!   `stub-broker`, 8 read/write queues, standard JSON);
//! * HEART_BEAT (34) / UNREGISTER_CLIENT (35): SUCCESS;
//! * SEND_MESSAGE (10) / SEND_MESSAGE_V2 (310) / SEND_BATCH_MESSAGE (320): SUCCESS with a
//!   valid SendMessageResponseHeader (`msgId` = 32-hex offset id, `queueId`, a per-queue
//!   `queueOffset` that increments, `MSG_REGION`, `TRACE_ON`); a batch gets one offset id per
//!   inner message joined with `,` and the offset of its first message;
//! * one-way requests (flag bit 1) and responses: nothing;
//! * anything else: REQUEST_CODE_NOT_SUPPORTED (3).
//!
//! Each connection is one task: read, decode every complete frame with the crate's
//! `decode_frame`, encode all replies with `encode_frame` into one buffer, one write. Replies
//! have JSON headers whatever the request's serialization, as a 5.x broker with its default
//! settings answers (docs/PROTOCOL.md), so a profile against the stub includes reading them.
//! Nothing is stored.
//!
//! [`StubBroker::spawn_thread`] runs the stub on its own thread with a current-thread tokio
//! runtime, so it can sit next to an actix `System` in the same process.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_rocketmq::protocol::codes::{request, response};
use actix_rocketmq::protocol::header::{CommandHeader, SendMessageResponseHeader};
use actix_rocketmq::protocol::message_id::encode_offset_msg_id;
use actix_rocketmq::protocol::route::{BrokerData, QueueData, TopicRouteData, PERM_READ, PERM_WRITE};
use actix_rocketmq::protocol::{decode_frame, encode_frame, RemotingCommand, SerializeType, DEFAULT_MAX_FRAME_LEN};
use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Broker name in the stub's route.
pub const STUB_BROKER_NAME: &str = "stub-broker";
/// Cluster name in the stub's route.
pub const STUB_CLUSTER: &str = "StubCluster";
/// Queues per topic in the stub's route.
pub const STUB_QUEUES: i32 = 8;
/// Bytes a stored message notionally takes in the fake commit log (only moves the offsets).
const FAKE_RECORD_LEN: i64 = 256;

/// What the stub has seen so far.
#[derive(Debug, Default)]
pub struct StubStats {
    pub connections: AtomicU64,
    pub route_queries: AtomicU64,
    pub heartbeats: AtomicU64,
    /// SEND_MESSAGE / SEND_MESSAGE_V2 / SEND_BATCH_MESSAGE requests (one-way included).
    pub send_requests: AtomicU64,
    /// Messages in those requests (a batch counts its inner messages).
    pub messages: AtomicU64,
    /// One-way requests (no reply written).
    pub oneway: AtomicU64,
    pub unsupported: AtomicU64,
    pub bytes_in: AtomicU64,
    /// CPU time of the stub's thread in microseconds (updated about every 200 ms and when the
    /// stub stops), so an in-process client can subtract it from the process total.
    pub thread_cpu_us: AtomicU64,
}

impl StubStats {
    pub fn messages(&self) -> u64 {
        self.messages.load(Ordering::Relaxed)
    }

    /// CPU seconds the stub's thread has used (see `thread_cpu_us`).
    pub fn thread_cpu_seconds(&self) -> f64 {
        self.thread_cpu_us.load(Ordering::Relaxed) as f64 / 1e6
    }

    fn record_thread_cpu(&self) {
        self.thread_cpu_us.store(current_thread_cpu_us(), Ordering::Relaxed);
    }
}

/// CPU time of the calling thread (Linux `RUSAGE_THREAD`; 0 elsewhere).
fn current_thread_cpu_us() -> u64 {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: getrusage only writes into the zeroed struct we hand it.
        let mut u: libc::rusage = unsafe { std::mem::zeroed() };
        if unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut u) } == 0 {
            let us = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
            return us(u.ru_utime) + us(u.ru_stime);
        }
    }
    0
}

/// State shared by every connection.
struct Shared {
    addr: SocketAddr,
    route_json: Bytes,
    queue_offsets: Vec<AtomicI64>,
    commit_log_offset: AtomicI64,
    stats: Arc<StubStats>,
}

/// A running stub. Dropping the handle does not stop it; call [`StubBroker::stop`] (or let the
/// process end).
pub struct StubBroker {
    pub addr: SocketAddr,
    pub stats: Arc<StubStats>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl StubBroker {
    /// Binds `bind` (use `127.0.0.1:0` for any free port) and serves on a new thread with its
    /// own current-thread tokio runtime. Returns once the port is bound.
    pub fn spawn_thread(bind: &str) -> io::Result<StubBroker> {
        let std_listener = std::net::TcpListener::bind(bind)?;
        let addr = std_listener.local_addr()?;
        if !addr.ip().is_loopback() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "the stub only binds loopback addresses"));
        }
        std_listener.set_nonblocking(true)?;
        let stats = Arc::new(StubStats::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (stats2, stop2) = (stats.clone(), stop.clone());
        let thread = std::thread::Builder::new().name("stub-broker".into()).spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("stub broker: cannot build a tokio runtime: {e}");
                    return;
                }
            };
            let stats3 = stats2.clone();
            rt.block_on(async move {
                match TcpListener::from_std(std_listener) {
                    Ok(listener) => serve(listener, stats2, stop2).await,
                    Err(e) => eprintln!("stub broker: {e}"),
                }
            });
            drop(rt);
            stats3.record_thread_cpu();
        })?;
        Ok(StubBroker { addr, stats, stop, thread: Some(thread) })
    }

    /// Stops the accept loop and the runtime (open connections are dropped) and waits up to one
    /// second for the thread; `stats.thread_cpu_us` is final afterwards.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let deadline = std::time::Instant::now() + Duration::from_secs(1);
            while !t.is_finished() && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            if t.is_finished() {
                let _ = t.join();
            }
        }
    }
}

/// How replies are serialized: as a broker with default settings answers, in JSON whatever the
/// request used (not the request's own, which for our client is binary).
const REPLY_SERIALIZATION: SerializeType = SerializeType::Json;

/// The route the stub hands out for every topic: itself, `STUB_QUEUES` queues, standard JSON.
pub fn stub_route(addr: SocketAddr) -> TopicRouteData {
    let mut broker_addrs = BTreeMap::new();
    broker_addrs.insert(0i64, addr.to_string());
    TopicRouteData {
        queue_datas: vec![QueueData {
            broker_name: STUB_BROKER_NAME.to_string(),
            read_queue_nums: STUB_QUEUES,
            write_queue_nums: STUB_QUEUES,
            perm: PERM_READ | PERM_WRITE,
            topic_sys_flag: 0,
        }],
        broker_datas: vec![BrokerData {
            cluster: STUB_CLUSTER.to_string(),
            broker_name: STUB_BROKER_NAME.to_string(),
            broker_addrs,
        }],
        order_topic_conf: None,
    }
}

/// Serves `listener` until `stop` is set (checked between accepts, at least every 200 ms).
pub async fn serve(listener: TcpListener, stats: Arc<StubStats>, stop: Arc<AtomicBool>) {
    let addr = match listener.local_addr() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("stub broker: {e}");
            return;
        }
    };
    let shared = Arc::new(Shared {
        addr,
        route_json: Bytes::from(stub_route(addr).to_json()),
        queue_offsets: (0..STUB_QUEUES).map(|_| AtomicI64::new(0)).collect(),
        commit_log_offset: AtomicI64::new(0),
        stats,
    });
    while !stop.load(Ordering::Relaxed) {
        let accepted = match tokio::time::timeout(Duration::from_millis(200), listener.accept()).await {
            Err(_) => {
                shared.stats.record_thread_cpu();
                continue;
            }
            Ok(r) => r,
        };
        match accepted {
            Ok((socket, _peer)) => {
                let _ = socket.set_nodelay(true);
                shared.stats.connections.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(connection(socket, shared.clone()));
            }
            Err(e) => {
                eprintln!("stub broker: accept: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

async fn connection(mut socket: TcpStream, shared: Arc<Shared>) {
    let mut inbuf = BytesMut::with_capacity(64 * 1024);
    let mut outbuf = BytesMut::with_capacity(64 * 1024);
    loop {
        match socket.read_buf(&mut inbuf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                shared.stats.bytes_in.fetch_add(n as u64, Ordering::Relaxed);
            }
        }
        loop {
            let cmd = match decode_frame(&mut inbuf, DEFAULT_MAX_FRAME_LEN) {
                Ok(Some(cmd)) => cmd,
                Ok(None) => break,
                Err(e) => {
                    // Like Java: a frame we cannot decode closes the connection.
                    eprintln!("stub broker: bad frame, closing: {e}");
                    return;
                }
            };
            if let Some(reply) = handle(&shared, &cmd) {
                if let Err(e) = encode_frame(&reply, REPLY_SERIALIZATION, &mut outbuf) {
                    eprintln!("stub broker: cannot encode a reply: {e}");
                    return;
                }
            }
        }
        if !outbuf.is_empty() {
            if socket.write_all(&outbuf).await.is_err() {
                return;
            }
            outbuf.clear();
            shared.stats.record_thread_cpu();
        }
    }
}

/// The reply to one inbound command, if any.
fn handle(shared: &Shared, cmd: &RemotingCommand) -> Option<RemotingCommand> {
    if cmd.is_response() {
        return None;
    }
    let stats = &shared.stats;
    let reply = match cmd.code {
        request::GET_ROUTEINFO_BY_TOPIC => {
            stats.route_queries.fetch_add(1, Ordering::Relaxed);
            RemotingCommand::response(response::SUCCESS, cmd.opaque, None).with_body(shared.route_json.clone())
        }
        request::HEART_BEAT | request::UNREGISTER_CLIENT => {
            stats.heartbeats.fetch_add(1, Ordering::Relaxed);
            RemotingCommand::response(response::SUCCESS, cmd.opaque, None)
        }
        request::SEND_MESSAGE | request::SEND_MESSAGE_V2 | request::SEND_BATCH_MESSAGE => {
            let count = if cmd.code == request::SEND_BATCH_MESSAGE { count_batch(&cmd.body) } else { 1 };
            stats.send_requests.fetch_add(1, Ordering::Relaxed);
            stats.messages.fetch_add(count, Ordering::Relaxed);
            if cmd.is_oneway() {
                stats.oneway.fetch_add(1, Ordering::Relaxed);
                return None;
            }
            let queue_key = if cmd.code == request::SEND_MESSAGE { "queueId" } else { "e" };
            let queue_id = cmd
                .ext(queue_key)
                .and_then(|q| q.parse::<i32>().ok())
                .filter(|q| (0..STUB_QUEUES).contains(q))
                .unwrap_or(0);
            let n = count.max(1) as i64;
            let queue_offset = shared.queue_offsets[queue_id as usize].fetch_add(n, Ordering::Relaxed);
            let first_phys = shared.commit_log_offset.fetch_add(n * FAKE_RECORD_LEN, Ordering::Relaxed);
            let msg_id = if n == 1 {
                encode_offset_msg_id(shared.addr, first_phys)
            } else {
                let mut ids = String::with_capacity(33 * n as usize);
                for i in 0..n {
                    if i > 0 {
                        ids.push(',');
                    }
                    ids.push_str(&encode_offset_msg_id(shared.addr, first_phys + i * FAKE_RECORD_LEN));
                }
                ids
            };
            let header = SendMessageResponseHeader {
                msg_id,
                queue_id,
                queue_offset,
                transaction_id: None,
                batch_uniq_id: None,
                region_id: Some("DefaultRegion".into()),
                trace_on: true,
            };
            let mut reply = RemotingCommand::response(response::SUCCESS, cmd.opaque, None);
            header.write_ext(&mut reply.ext_fields);
            reply
        }
        code => {
            stats.unsupported.fetch_add(1, Ordering::Relaxed);
            if cmd.is_oneway() {
                return None;
            }
            RemotingCommand::response(
                response::REQUEST_CODE_NOT_SUPPORTED,
                cmd.opaque,
                Some(format!(" request type {code} not supported")),
            )
        }
    };
    Some(reply)
}

/// Number of inner messages in a SEND_BATCH_MESSAGE body (walks the `totalSize` fields).
fn count_batch(body: &[u8]) -> u64 {
    let mut pos = 0usize;
    let mut n = 0u64;
    while let Some(len) = body.get(pos..pos + 4) {
        let total = i32::from_be_bytes([len[0], len[1], len[2], len[3]]);
        if total <= 0 {
            break;
        }
        n += 1;
        pos = pos.saturating_add(total as usize);
    }
    n
}
