//! The upper bound for a producer on this machine: no actors, no per-message work.
//!
//! One plain tokio TCP connection (current-thread runtime) to the broker master, a fixed window
//! of `--inflight` requests, each window slot owning one prebuilt SEND_MESSAGE_V2 (or
//! SEND_BATCH_MESSAGE) frame. With the ROCKETMQ binary header (the default, like the Java
//! benchmark) only the opaque is patched per send, at its fixed frame offset 4+4+5; with a JSON
//! header each slot keeps its own opaque (the slot index), so nothing is re-encoded either.
//! Replies are counted and matched to their slot by opaque; every write carries all the frames
//! that became due since the last one.
//!
//! ```text
//! cargo bench --bench bare_sender -- --namesrv 127.0.0.1:9876 -s 128 -n 200000 --inflight 64
//! cargo bench --bench bare_sender -- --broker 127.0.0.1:10911 --batch 32
//! cargo bench --bench bare_sender -- --stub              # in-process stub broker
//! ```
//!
//! Without a target (and under `cargo test --benches`, which runs it without `--bench`) it runs a
//! short smoke test against the in-process stub. Prints msgs/s, p50/p99 latency, CPU seconds per
//! 1000 messages (getrusage) and peak RSS (VmHWM), then a `BENCH_JSON {...}` line.

#[path = "support/procstat.rs"]
mod procstat;
#[path = "support/stub.rs"]
mod stub;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use actix_rocketmq::protocol::batch::encode_batch_message;
use actix_rocketmq::protocol::codes::{request, response};
use actix_rocketmq::protocol::header::{GetRouteInfoRequestHeader, SendMessageRequestHeaderV2};
use actix_rocketmq::protocol::message_id::UniqIdGenerator;
use actix_rocketmq::protocol::properties::{encode_properties, names};
use actix_rocketmq::protocol::route::{parse_route, PERM_WRITE};
use actix_rocketmq::protocol::{decode_frame, encode_frame, RemotingCommand, SerializeType, DEFAULT_MAX_FRAME_LEN};
use bytes::{Bytes, BytesMut};
use clap::{Parser, ValueEnum};
use hdrhistogram::Histogram;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// Offset of the opaque in a frame with a ROCKETMQ binary header:
/// length(4) + marker(4) + code(2) + language(1) + version(2).
const BINARY_OPAQUE_OFFSET: usize = 4 + 4 + 5;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Ser {
    Json,
    Rocketmq,
}

#[derive(Parser, Debug)]
#[command(about = "Bare pipelined SEND_MESSAGE_V2 sender: the no-actor upper bound")]
struct Args {
    /// Name server: the broker master is looked up once with a route query.
    #[arg(long)]
    namesrv: Option<String>,
    /// Broker address to send to directly (skips the route query).
    #[arg(long)]
    broker: Option<String>,
    /// Start the in-process stub broker (benches/support/stub.rs) and send to it.
    #[arg(long)]
    stub: bool,
    #[arg(short = 't', long, default_value = "BenchmarkTest")]
    topic: String,
    /// Body size in bytes.
    #[arg(short = 's', long = "size", default_value_t = 128)]
    size: usize,
    /// Messages to send (a batch counts its inner messages).
    #[arg(short = 'n', long = "messages", default_value_t = 200_000)]
    messages: u64,
    /// Requests in flight at once (pipeline window).
    #[arg(long, default_value_t = 64)]
    inflight: usize,
    /// Send SEND_BATCH_MESSAGE requests of N messages of --size bytes (0 = single messages).
    #[arg(long, default_value_t = 0)]
    batch: usize,
    /// Queue count when --broker is given without a route (queues 0..N are used round-robin).
    #[arg(long, default_value_t = 4)]
    queues: i32,
    /// Header serialization.
    #[arg(long, value_enum, default_value_t = Ser::Rocketmq)]
    serialize: Ser,
    #[arg(long, default_value = "bare_sender_group")]
    group: String,
    /// Passed by `cargo bench`; without it (e.g. `cargo test --benches`) an untargeted run is a
    /// short smoke test.
    #[arg(long, hide = true)]
    bench: bool,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), BoxError> {
    let mut args = Args::parse();
    let untargeted = args.namesrv.is_none() && args.broker.is_none();
    if untargeted && !args.bench {
        // `cargo test --benches`: a quick self-check against the stub.
        args.stub = true;
        args.messages = args.messages.min(5_000);
    }
    if untargeted {
        args.stub = true;
    }
    if args.inflight == 0 {
        return Err("--inflight must be at least 1".into());
    }
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let stub = if args.stub { Some(stub::StubBroker::spawn_thread("127.0.0.1:0")?) } else { None };
    let namesrv = match &stub {
        Some(s) => Some(s.addr.to_string()),
        None => args.namesrv.clone(),
    };
    let stub_stats = stub.as_ref().map(|s| s.stats.clone());
    let result = rt.block_on(run(&args, namesrv, stub_stats));
    if let Some(s) = stub {
        s.stop();
    }
    result
}

/// Where to send: master address, broker name, writable queue count.
async fn resolve(args: &Args, namesrv: Option<String>) -> Result<(String, String, i32), BoxError> {
    if let Some(b) = &args.broker {
        return Ok((b.clone(), "broker-a".to_string(), args.queues));
    }
    let ns = namesrv.ok_or("give --namesrv, --broker or --stub")?;
    let header = GetRouteInfoRequestHeader { topic: args.topic.clone(), accept_standard_json_only: true };
    let cmd = RemotingCommand::request(request::GET_ROUTEINFO_BY_TOPIC).with_header(&header).with_opaque(1);
    let reply = round_trip(&ns, &cmd).await?;
    if reply.code != response::SUCCESS {
        return Err(format!(
            "route query for {} on {ns}: code {} {}",
            args.topic,
            reply.code,
            reply.remark.unwrap_or_default()
        )
        .into());
    }
    let route = parse_route(&reply.body)?;
    let mut qds = route.queue_datas.clone();
    qds.sort_by(|a, b| a.broker_name.cmp(&b.broker_name));
    for qd in qds.iter().filter(|q| q.perm & PERM_WRITE != 0 && q.write_queue_nums > 0) {
        if let Some(bd) = route.broker_datas.iter().find(|b| b.broker_name == qd.broker_name) {
            if let Some(master) = bd.master_addr() {
                return Ok((master.to_string(), bd.broker_name.clone(), qd.write_queue_nums));
            }
        }
    }
    Err(format!("no writable broker master in the route of {}", args.topic).into())
}

/// One request, one reply, on a fresh connection.
async fn round_trip(addr: &str, cmd: &RemotingCommand) -> Result<RemotingCommand, BoxError> {
    let mut sock = tokio::time::timeout(Duration::from_secs(3), TcpStream::connect(addr)).await??;
    let mut buf = BytesMut::new();
    encode_frame(cmd, SerializeType::Json, &mut buf)?;
    sock.write_all(&buf).await?;
    buf.clear();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        while let Some(reply) = decode_frame(&mut buf, DEFAULT_MAX_FRAME_LEN)? {
            if reply.is_response() && reply.opaque == cmd.opaque {
                return Ok(reply);
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if tokio::time::timeout(left, sock.read_buf(&mut buf)).await?? == 0 {
            return Err(format!("{addr} closed the connection").into());
        }
    }
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Java's benchmark body: random alphanumerics.
fn body(size: usize) -> Bytes {
    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    Bytes::from((0..size).map(|_| ALNUM[fastrand_index(ALNUM.len())]).collect::<Vec<u8>>())
}

fn fastrand_index(n: usize) -> usize {
    // A tiny xorshift so the bench needs no extra dependency.
    use std::cell::Cell;
    thread_local!(static S: Cell<u64> = const { Cell::new(0x9E37_79B9_7F4A_7C15) });
    S.with(|s| {
        let mut x = s.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.set(x);
        (x % n as u64) as usize
    })
}

/// The frame of window slot `slot`.
fn build_frame(
    args: &Args,
    ser: SerializeType,
    ids: &mut UniqIdGenerator,
    broker_name: &str,
    queue_id: i32,
    opaque: i32,
    payload: &Bytes,
) -> Result<BytesMut, BoxError> {
    let mut props = String::new();
    let uniq = ids.next_id();
    encode_properties([(names::WAIT, "true"), (names::UNIQ_KEY, uniq.as_str())], &mut props);
    let (code, body) = if args.batch > 0 {
        let mut b = BytesMut::new();
        for _ in 0..args.batch {
            let mut inner = String::new();
            let id = ids.next_id();
            encode_properties([(names::WAIT, "true"), (names::UNIQ_KEY, id.as_str())], &mut inner);
            encode_batch_message(0, payload, &inner, &mut b)?;
        }
        (request::SEND_BATCH_MESSAGE, b.freeze())
    } else {
        (request::SEND_MESSAGE_V2, payload.clone())
    };
    let header = SendMessageRequestHeaderV2 {
        producer_group: args.group.clone(),
        topic: args.topic.clone(),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 4,
        queue_id,
        sys_flag: 0,
        born_timestamp: now_ms(),
        flag: 0,
        properties: props,
        reconsume_times: 0,
        unit_mode: false,
        max_reconsume_times: None,
        batch: args.batch > 0,
        broker_name: Some(broker_name.to_string()),
    };
    let cmd = RemotingCommand::request(code).with_header(&header).with_body(body).with_opaque(opaque);
    let mut frame = BytesMut::new();
    encode_frame(&cmd, ser, &mut frame)?;
    if ser == SerializeType::RocketMq {
        let at = frame.get(BINARY_OPAQUE_OFFSET..BINARY_OPAQUE_OFFSET + 4).ok_or("short frame")?;
        if frame[4] != 1 || i32::from_be_bytes([at[0], at[1], at[2], at[3]]) != opaque {
            return Err("unexpected binary frame layout: opaque not at offset 13".into());
        }
    }
    Ok(frame)
}

#[derive(Default)]
struct Outcome {
    ok_msgs: u64,
    failed_requests: u64,
    codes: BTreeMap<i32, u64>,
    hist: Option<Histogram<u64>>,
}

async fn run(args: &Args, namesrv: Option<String>, stub: Option<Arc<stub::StubStats>>) -> Result<(), BoxError> {
    let stub_cpu = || stub.as_ref().map_or(0.0, |s| s.thread_cpu_seconds());
    let (addr, broker_name, queues) = resolve(args, namesrv).await?;
    let queues = queues.max(1);
    let ser = match args.serialize {
        Ser::Json => SerializeType::Json,
        Ser::Rocketmq => SerializeType::RocketMq,
    };
    let per_req = args.batch.max(1) as u64;
    let total_requests = args.messages.div_ceil(per_req).max(1);
    let window = args.inflight.min(total_requests as usize);
    let payload = body(args.size);
    let mut ids = UniqIdGenerator::new("127.0.0.1".parse()?, std::process::id());
    let frames: Vec<BytesMut> = (0..window)
        .map(|k| build_frame(args, ser, &mut ids, &broker_name, (k as i32) % queues, k as i32, &payload))
        .collect::<Result<_, _>>()?;
    let frame_len = frames[0].len();
    println!(
        "bare_sender: {addr} ({broker_name}, {queues} queues) topic {} | body {} B{} | {} header | frame {} B | inflight {} | {} msgs",
        args.topic,
        args.size,
        if args.batch > 0 { format!(" x batch {}", args.batch) } else { String::new() },
        ser.name(),
        frame_len,
        window,
        total_requests * per_req,
    );

    let sock = TcpStream::connect(&addr).await?;
    sock.set_nodelay(true)?;
    let (mut rd, mut wr) = sock.into_split();
    let sent_at: Arc<Vec<AtomicU64>> = Arc::new((0..window).map(|_| AtomicU64::new(0)).collect());
    let (tx, mut rx) = mpsc::unbounded_channel::<usize>();
    let cpu0 = procstat::cpu_seconds() - stub_cpu();
    let t0 = Instant::now();

    // Writer: all due slots in one write; binary frames get a fresh opaque patched in.
    let writer = {
        let sent_at = sent_at.clone();
        let mut frames = frames;
        let binary = ser == SerializeType::RocketMq;
        let max_round = (i32::MAX as usize / window).max(1);
        tokio::spawn(async move {
            let mut rounds = vec![0usize; window];
            let mut out = BytesMut::with_capacity(window * frame_len);
            while let Some(first) = rx.recv().await {
                let mut next = Some(first);
                while let Some(slot) = next {
                    if binary {
                        rounds[slot] = (rounds[slot] + 1) % max_round;
                        let opaque = (rounds[slot] * window + slot) as i32;
                        frames[slot][BINARY_OPAQUE_OFFSET..BINARY_OPAQUE_OFFSET + 4].copy_from_slice(&opaque.to_be_bytes());
                    }
                    sent_at[slot].store(t0.elapsed().as_nanos() as u64, Ordering::Relaxed);
                    out.extend_from_slice(&frames[slot]);
                    next = rx.try_recv().ok();
                }
                if wr.write_all(&out).await.is_err() {
                    return;
                }
                out.clear();
            }
        })
    };
    for slot in 0..window {
        tx.send(slot)?;
    }

    // Reader (this task): count replies, hand their slots back to the writer.
    let mut outcome = Outcome { hist: Some(Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?), ..Default::default() };
    let mut issued = window as u64;
    let mut done = 0u64;
    let mut buf = BytesMut::with_capacity(256 * 1024);
    let hist = outcome.hist.as_mut().ok_or("histogram")?;
    while done < total_requests {
        if tokio::time::timeout(Duration::from_secs(30), rd.read_buf(&mut buf)).await?? == 0 {
            return Err(format!("{addr} closed the connection after {done} replies").into());
        }
        while let Some(reply) = decode_frame(&mut buf, DEFAULT_MAX_FRAME_LEN)? {
            if !reply.is_response() {
                continue; // a request from the broker (e.g. a transaction check): not ours
            }
            let slot = (reply.opaque.max(0) as usize) % window;
            let now = t0.elapsed().as_nanos() as u64;
            let us = now.saturating_sub(sent_at[slot].load(Ordering::Relaxed)) / 1_000;
            hist.saturating_record(us.max(1));
            done += 1;
            if reply.code == response::SUCCESS {
                outcome.ok_msgs += per_req;
            } else {
                outcome.failed_requests += 1;
                *outcome.codes.entry(reply.code).or_default() += 1;
            }
            if issued < total_requests {
                issued += 1;
                tx.send(slot)?;
            }
        }
    }
    let elapsed = t0.elapsed().as_secs_f64();
    // Client CPU only: the in-process stub's thread is subtracted.
    let cpu = procstat::cpu_seconds() - stub_cpu() - cpu0;
    drop(tx);
    let _ = writer.await;

    let msgs = done * per_req;
    let hist = outcome.hist.take().ok_or("histogram")?;
    let ms = |q: f64| hist.value_at_quantile(q) as f64 / 1000.0;
    let tps = msgs as f64 / elapsed;
    let cpu_per_k = cpu / (msgs as f64 / 1000.0);
    let rss_mb = procstat::peak_rss_kib() as f64 / 1024.0;
    println!(
        "bare_sender: {msgs} msgs ({done} requests) in {elapsed:.2} s: {tps:.0} msgs/s | latency p50 {:.3} ms p99 {:.3} ms p99.9 {:.3} ms max {:.3} ms | ok {} msgs, failed {} requests {:?} | CPU {:.4} s per 1000 msgs ({cpu:.2} s) | peak RSS {rss_mb:.1} MB",
        ms(0.5),
        ms(0.99),
        ms(0.999),
        hist.max() as f64 / 1000.0,
        outcome.ok_msgs,
        outcome.failed_requests,
        outcome.codes,
        cpu_per_k,
    );
    println!(
        "BENCH_JSON {{\"tool\":\"bare_sender\",\"target\":\"{addr}\",\"serialize\":\"{}\",\"size\":{},\"batch\":{},\"inflight\":{window},\"messages\":{msgs},\"ok\":{},\"failed_requests\":{},\"elapsed_s\":{elapsed:.4},\"msgs_per_s\":{tps:.1},\"p50_ms\":{:.3},\"p90_ms\":{:.3},\"p99_ms\":{:.3},\"p999_ms\":{:.3},\"max_ms\":{:.3},\"cpu_s\":{cpu:.4},\"cpu_ms_per_1000\":{:.4},\"peak_rss_mb\":{rss_mb:.1}}}",
        ser.name(),
        args.size,
        args.batch,
        outcome.ok_msgs,
        outcome.failed_requests,
        ms(0.5),
        ms(0.9),
        ms(0.99),
        ms(0.999),
        hist.max() as f64 / 1000.0,
        cpu_per_k * 1000.0,
    );
    if outcome.ok_msgs == 0 {
        return Err("no message was accepted".into());
    }
    Ok(())
}
