//! Producer benchmark for actix-rocketmq, mirroring the Java tool
//! `org.apache.rocketmq.example.benchmark.Producer` (and `BatchProducer` for `--mode batch`).
//!
//! ```text
//! cargo run --release --example benchmark -- -n 127.0.0.1:9876 -t BenchmarkTest -w 64 -s 128 -q 200000
//! cargo run --release --example benchmark -- --mode async -s 1024 -d 10
//! cargo run --release --example benchmark -- --stub --mode sync -w 64 -q 100000   # in-process stub broker
//! ```
//!
//! One producer actor (group `benchmark_producer`, instance name = start time in ms, like Java),
//! ROCKETMQ binary headers by default (the Java tool sets `rocketmq.serialize.type=ROCKETMQ`),
//! compression off unless `-c true` (Java sets the threshold to `Integer.MAX_VALUE`).
//!
//! Every `--report-interval` ms (default 1000):
//! `Current Time: .. | Send TPS: N | Max RT(ms): .. | Average RT(ms): .. | Send Failed: .. | Response Failed: ..`
//! where TPS (messages/s) and the average RT are taken over the last 10 one-second snapshots,
//! as in Java, and Max RT is the maximum so far. At the end: Java's `[Complete]` line, the total
//! rate (messages / time from the first send to the last result), p50/p90/p99/p99.9 latency,
//! process CPU seconds per 1000 messages (getrusage, the whole process from start; with `--stub`
//! the stub's thread is subtracted), peak RSS (VmHWM), then one `BENCH_JSON {...}` line.
//!
//! Exit status: 0 done, 1 failure (nothing sent, cannot start), 2 mode not available yet.

#[path = "../../benches/support/procstat.rs"]
mod procstat;
#[path = "../../benches/support/stub.rs"]
mod stub;

mod modes;
mod stats;

use std::cell::Cell;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use actix_rocketmq::protocol::SerializeType;
use actix_rocketmq::{Producer, ProducerConfig, ProducerExt, TopicName};
use bytes::Bytes;
use clap::{ArgAction, Parser, ValueEnum};

use modes::{BenchError, Mode, Plan};
use stats::{Reporter, Stats};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Ser {
    Json,
    Rocketmq,
}

#[derive(Parser, Debug)]
#[command(name = "benchmark", about = "actix-rocketmq producer benchmark (mirrors the Java benchmark Producer)")]
struct Args {
    /// Name server list (`host:port;host:port`). Default: $ROCKETMQ_NAMESRV_ADDR or 127.0.0.1:9876.
    #[arg(short = 'n', long = "namesrv")]
    namesrv: Option<String>,
    /// Topic.
    #[arg(short = 't', long = "topic", default_value = "BenchmarkTest")]
    topic: String,
    /// Concurrent senders (sync, oneway, batch). Ignored in async mode, as in Java.
    #[arg(short = 'w', long = "threads", default_value_t = 64)]
    threads: usize,
    /// Message body size in bytes.
    #[arg(short = 's', long = "size", default_value_t = 128)]
    size: usize,
    /// Send mode.
    #[arg(long, value_enum, default_value_t = Mode::Sync)]
    mode: Mode,
    /// Java compatibility: `-y true` = `--mode async`.
    #[arg(short = 'y', long = "async-enable", action = ArgAction::Set)]
    async_enable: Option<bool>,
    /// Messages per batch in batch mode.
    #[arg(short = 'b', long = "batch-size", default_value_t = 32)]
    batch_size: usize,
    /// Total messages to send (0 = no limit).
    #[arg(short = 'q', long = "messages", default_value_t = 0)]
    messages: u64,
    /// Stop sending after this many seconds.
    #[arg(short = 'd', long = "duration")]
    duration: Option<f64>,
    /// Compress bodies of at least `--compress-over` bytes (zlib), like Java's `-c true`.
    #[arg(short = 'c', long = "compress", action = ArgAction::Set, default_value_t = false)]
    compress: bool,
    /// Compression threshold in bytes (Java `-ch`).
    #[arg(long = "compress-over", alias = "ch", default_value_t = 4096)]
    compress_over: usize,
    /// Compression level (Java `-cl`).
    #[arg(long = "compress-level", alias = "cl", default_value_t = 5)]
    compress_level: u32,
    /// Set a message key (send time in seconds), like Java's `-k true`.
    #[arg(short = 'k', long = "keys", action = ArgAction::Set, default_value_t = false)]
    keys: bool,
    /// Tag count: tag = `tag{now_ms % N}` (0 = no tag).
    #[arg(short = 'l', long = "tags", default_value_t = 0)]
    tags: u64,
    /// Start the in-process stub broker (benches/support/stub.rs) and send to it.
    #[arg(long)]
    stub: bool,
    /// The producer's in-flight budget (`max_inflight_messages`): the bound of async mode.
    /// Default: the crate's default, raised to threads x batch size when that is larger.
    #[arg(long)]
    inflight: Option<usize>,
    /// Header serialization of our requests.
    #[arg(long, value_enum, default_value_t = Ser::Rocketmq)]
    serialize: Ser,
    /// Milliseconds between report lines (Java `-ri`).
    #[arg(long = "report-interval", alias = "ri", default_value_t = 1000)]
    report_interval: u64,
    /// Producer group.
    #[arg(long, default_value = "benchmark_producer")]
    group: String,
    /// Wait this long (ms) after the last send before shutting the producer down (not timed).
    #[arg(long = "linger", default_value_t = 0)]
    linger_ms: u64,
    /// Total budget of one send, retries included (ms).
    #[arg(long = "send-timeout", default_value_t = 3000)]
    send_timeout_ms: u64,
    /// Sign every request as this ACL user (with --secret-key).
    #[arg(long = "access-key", requires = "secret_key")]
    access_key: Option<String>,
    /// The ACL user's secret key.
    #[arg(long = "secret-key", requires = "access_key")]
    secret_key: Option<String>,
    /// Use TLS, trusting the CA certificates in this PEM file.
    #[arg(long = "tls-ca")]
    tls_ca: Option<std::path::PathBuf>,
    /// Use TLS without checking the server's certificate (self-signed test setups).
    #[arg(long = "tls-insecure", conflicts_with = "tls_ca")]
    tls_insecure: bool,
    /// Client certificate chain (PEM) for brokers that require one (with --tls-key).
    #[arg(long = "tls-cert", requires = "tls_key")]
    tls_cert: Option<std::path::PathBuf>,
    /// Client private key (PEM).
    #[arg(long = "tls-key", requires = "tls_cert")]
    tls_key: Option<std::path::PathBuf>,
    /// Turn the producer's metrics off (`enable_metrics = false`), to measure what they cost
    /// with no recorder installed.
    #[arg(long = "no-metrics")]
    no_metrics: bool,
    /// Auto-batching (`auto_batch`, Java `setAutoBatch(true)`): single sends gathered into
    /// batch requests; each message still gets its own result.
    #[arg(long = "auto-batch")]
    auto_batch: bool,
    /// With --auto-batch: how long a batch gathers (ms; 0 = the crate default, 10).
    #[arg(long = "batch-max-delay-ms", default_value_t = 0)]
    batch_max_delay_ms: u64,
    /// With --auto-batch: batch size that sends it at once (bytes; 0 = the default, 32 KiB).
    #[arg(long = "batch-max-bytes", default_value_t = 0)]
    batch_max_bytes: usize,
    /// With --auto-batch: most bytes held in batches (0 = the default, 32 MiB).
    #[arg(long = "total-batch-max-bytes", default_value_t = 0)]
    total_batch_max_bytes: usize,
}

fn main() -> ExitCode {
    let mut args = Args::parse();
    if args.async_enable == Some(true) {
        args.mode = Mode::Async;
    }
    let system = actix::System::new();
    system.block_on(run(args))
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// `HH:MM:SS.mmm` (UTC) without a date library.
fn clock() -> String {
    let ms = now_ms();
    let s = ms / 1000;
    format!("{:02}:{:02}:{:02}.{:03} UTC", (s / 3600) % 24, (s / 60) % 60, s % 60, ms % 1000)
}

/// Java's body: random alphanumerics, built once.
fn body(size: usize) -> Bytes {
    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    Bytes::from((0..size).map(|_| ALNUM[fastrand::usize(..ALNUM.len())]).collect::<Vec<u8>>())
}

async fn run(args: Args) -> ExitCode {
    let stub = if args.stub {
        match stub::StubBroker::spawn_thread("127.0.0.1:0") {
            Ok(s) => Some(s),
            Err(e) => {
                eprintln!("benchmark: cannot start the stub broker: {e}");
                return ExitCode::from(1);
            }
        }
    } else {
        None
    };
    let namesrv = match &stub {
        Some(s) => s.addr.to_string(),
        None => args
            .namesrv
            .clone()
            .or_else(|| std::env::var("ROCKETMQ_NAMESRV_ADDR").ok().filter(|s| !s.trim().is_empty()))
            .unwrap_or_else(|| "127.0.0.1:9876".to_string()),
    };
    let concurrency = if args.mode == Mode::Async { 1 } else { args.threads.max(1) };
    let mut config = ProducerConfig::new(args.group.clone(), namesrv.clone());
    config.enable_metrics = !args.no_metrics;
    let per_worker = if args.mode == Mode::Batch { args.batch_size.max(1) } else { 1 };
    let inflight = args.inflight.unwrap_or(config.max_inflight_messages.max(concurrency * per_worker)).max(1);
    println!(
        "topic: {}, mode: {}, threadCount: {}, inflight: {}, messageSize: {}, batchSize: {}, keyEnable: {}, tagCount: {}, \
         messageQuantity: {}, duration: {}, compressEnable: {}, serializeType: {:?}, namesrv: {}{}",
        args.topic,
        args.mode.name(),
        concurrency,
        inflight,
        args.size,
        if args.mode == Mode::Batch { args.batch_size.to_string() } else { "-".into() },
        args.keys,
        args.tags,
        args.messages,
        args.duration.map_or("-".to_string(), |d| format!("{d}s")),
        args.compress,
        args.serialize,
        namesrv,
        if args.stub { " (in-process stub)" } else { "" },
    );

    config.max_inflight_messages = inflight;
    config.client.instance_name = now_ms().to_string();
    config.client.serialize_type = match args.serialize {
        Ser::Json => SerializeType::Json,
        Ser::Rocketmq => SerializeType::RocketMq,
    };
    config.compress_msg_body_over_howmuch = if args.compress { args.compress_over } else { usize::MAX };
    config.compress_level = args.compress_level;
    config.send_msg_timeout = Duration::from_millis(args.send_timeout_ms.max(1));
    config.auto_batch = args.auto_batch;
    if args.batch_max_delay_ms > 0 {
        config.batch_max_delay = Duration::from_millis(args.batch_max_delay_ms);
    }
    if args.batch_max_bytes > 0 {
        config.batch_max_bytes = args.batch_max_bytes;
    }
    if args.total_batch_max_bytes > 0 {
        config.total_batch_max_bytes = args.total_batch_max_bytes;
    }
    if let (Some(access), Some(secret)) = (&args.access_key, &args.secret_key) {
        config.client.credentials = Some(actix_rocketmq::Credentials::new(access.clone(), secret.as_str()));
    }
    let trust = match (&args.tls_ca, args.tls_insecure) {
        (Some(ca), _) => Some(actix_rocketmq::TlsConfig::with_ca_file(ca)),
        (None, true) => Some(actix_rocketmq::TlsConfig::danger_accept_any_certificate()),
        (None, false) => None,
    };
    config.client.tls = match (trust, &args.tls_cert, &args.tls_key) {
        (Some(tls), Some(cert), Some(key)) => Some(tls.with_client_certificate(cert, key)),
        (tls, _, _) => tls,
    };

    let producer = match Producer::spawn(config).await {
        Ok(p) => p,
        Err(e) => {
            eprintln!("benchmark: producer did not start: {e}");
            if let Some(s) = stub {
                s.stop();
            }
            return ExitCode::from(1);
        }
    };

    let plan = Rc::new(Plan {
        mode: args.mode,
        topic: TopicName::from(&args.topic),
        body: body(args.size),
        workers: concurrency,
        batch_size: args.batch_size.max(1),
        keys: args.keys,
        tag_count: args.tags,
        messages: (args.messages > 0).then_some(args.messages),
        deadline: args.duration.map(|d| Instant::now() + Duration::from_secs_f64(d.max(0.0))),
    });
    let stats = Stats::shared();
    let stop = Rc::new(Cell::new(false));

    // Report task: a snapshot every second, a line every report interval. It is aborted when the
    // sends are done; the last window stays readable through `window`.
    let window = Rc::new(Cell::new((0.0f64, 0.0f64)));
    let reporter = {
        let (stats, window) = (stats.clone(), window.clone());
        let every = (args.report_interval.max(1) as f64 / 1000.0).ceil().max(1.0) as u64;
        actix::spawn(async move {
            let mut rep = Reporter::new(&stats.lock());
            let mut ticks = 0u64;
            let mut interval = tokio::time::interval(Duration::from_secs(1));
            interval.tick().await;
            loop {
                interval.tick().await;
                let s = stats.lock();
                let (tps, avg) = rep.tick(&s);
                window.set((tps, avg));
                ticks += 1;
                if ticks % every == 0 {
                    println!("Current Time: {} | {}", clock(), Reporter::line(&s, tps, avg));
                }
            }
        })
    };

    stats.lock().started = Instant::now();
    // The senders run as a task of their own, not inside this `block_on` future: the runtime
    // polls that future only once per pass over its ready tasks (then it polls for I/O), so a
    // send loop here hands the producer one message per pass, and every frame goes out in a
    // `write` of its own. README "Sending from a loop" has the numbers.
    let outcome = match actix::spawn(modes::run(producer.clone(), plan.clone(), stats.clone(), stop.clone())).await {
        Ok(outcome) => outcome,
        Err(join) => {
            eprintln!("benchmark: the send loop ended abnormally: {join}");
            return ExitCode::FAILURE;
        }
    };
    stats.lock().finished = Some(Instant::now());
    reporter.abort();
    let window = window.get();
    if args.linger_ms > 0 {
        // Lets frames the producer has accepted but not yet written (one-way) reach the broker
        // before the shutdown; not counted in the elapsed time.
        tokio::time::sleep(Duration::from_millis(args.linger_ms)).await;
    }
    producer.shutdown().await;
    let cpu_process = procstat::cpu_seconds();
    let stub_cpu = match stub {
        Some(s) => {
            let st = s.stats.clone();
            // Give one-way frames still in socket buffers a moment to arrive before counting.
            tokio::time::sleep(Duration::from_millis(200)).await;
            s.stop();
            println!(
                "stub: received {} messages in {} send requests ({} one-way)",
                st.messages(),
                st.send_requests.load(std::sync::atomic::Ordering::Relaxed),
                st.oneway.load(std::sync::atomic::Ordering::Relaxed)
            );
            st.thread_cpu_seconds()
        }
        None => 0.0,
    };
    let cpu = (cpu_process - stub_cpu).max(0.0);
    let rss_mb = procstat::peak_rss_kib() as f64 / 1024.0;

    let s = stats.lock();
    let status = match &outcome {
        Err(BenchError::NotAvailable(_)) => "not_available",
        _ if s.ok_msgs == 0 => "error",
        _ => "ok",
    };
    let elapsed = s.elapsed().as_secs_f64();
    let total_tps = if elapsed > 0.0 { s.ok_msgs as f64 / elapsed } else { 0.0 };
    // Java's final line uses the last window; a run shorter than two snapshots uses the total.
    let window_tps = if window.0 > 0.0 { window.0 } else { total_tps };
    let cpu_per_1000 = if s.ok_msgs > 0 { cpu / (s.ok_msgs as f64 / 1000.0) } else { 0.0 };

    if let Err(BenchError::NotAvailable(what)) = &outcome {
        eprintln!(
            "benchmark: mode {} is not available: actix-rocketmq has no {what} send (see examples/benchmark/modes.rs).",
            args.mode.name()
        );
    }
    println!(
        "[Complete] Send Total: {} | Send TPS: {:.0} | Max RT(ms): {:.3} | Average RT(ms): {:7.3} | Send Failed: {} | Response Failed: {}",
        s.ok_requests * plan_msgs(&args) + s.send_failed + s.response_failed,
        window_tps,
        s.max_rt_us as f64 / 1000.0,
        s.avg_rt_ms(),
        s.send_failed,
        s.response_failed
    );
    println!(
        "Total: {} msgs in {:.3} s = {:.0} msgs/s | RT(ms) p50 {:.3} p90 {:.3} p99 {:.3} p99.9 {:.3} max {:.3} | CPU {:.4} s per 1000 msgs ({:.2} s{}) | peak RSS {:.1} MB",
        s.ok_msgs,
        elapsed,
        total_tps,
        s.quantile_ms(0.5),
        s.quantile_ms(0.9),
        s.quantile_ms(0.99),
        s.quantile_ms(0.999),
        s.max_rt_us as f64 / 1000.0,
        cpu_per_1000,
        cpu,
        if args.stub { ", stub thread excluded" } else { "" },
        rss_mb
    );
    for e in &s.first_errors {
        println!("first error: {e}");
    }
    println!(
        "BENCH_JSON {{\"tool\":\"actix-rocketmq\",\"status\":\"{status}\",\"mode\":\"{}\",\"threads\":{},\"inflight\":{},\"size\":{},\"batch_size\":{},\
         \"serialize\":\"{:?}\",\"stub\":{},\"messages\":{},\"requests\":{},\"send_failed\":{},\"response_failed\":{},\"elapsed_s\":{:.4},\
         \"msgs_per_s\":{:.1},\"window_tps\":{:.1},\"avg_rt_ms\":{:.3},\"max_rt_ms\":{:.3},\"p50_ms\":{:.3},\"p90_ms\":{:.3},\"p99_ms\":{:.3},\
         \"p999_ms\":{:.3},\"cpu_s\":{:.4},\"cpu_ms_per_1000\":{:.3},\"peak_rss_mb\":{:.1}}}",
        args.mode.name(),
        concurrency,
        inflight,
        args.size,
        if args.mode == Mode::Batch { args.batch_size } else { 0 },
        args.serialize,
        args.stub,
        s.ok_msgs,
        s.ok_requests,
        s.send_failed,
        s.response_failed,
        elapsed,
        total_tps,
        window_tps,
        s.avg_rt_ms(),
        s.max_rt_us as f64 / 1000.0,
        s.quantile_ms(0.5),
        s.quantile_ms(0.9),
        s.quantile_ms(0.99),
        s.quantile_ms(0.999),
        cpu,
        cpu_per_1000 * 1000.0,
        rss_mb
    );
    match status {
        "ok" => ExitCode::SUCCESS,
        "not_available" => ExitCode::from(2),
        _ => ExitCode::from(1),
    }
}

/// Messages per successful request.
fn plan_msgs(args: &Args) -> u64 {
    if args.mode == Mode::Batch {
        args.batch_size.max(1) as u64
    } else {
        1
    }
}
