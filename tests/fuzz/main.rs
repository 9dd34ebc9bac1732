//! Fuzz harness for the decoders of network bytes, on stable Rust: a test target with
//! `harness = false`, so a plain `cargo test` runs a short smoke round of it.
//!
//! ```text
//! cargo test --test fuzz                                          # smoke run (debug)
//! FUZZ_INPUTS=10000000 cargo test --release --test fuzz           # the long run
//! FUZZ_TARGETS=route FUZZ_SEED=0x1234 cargo test --release --test fuzz
//! FUZZ_TARGETS=stored FUZZ_REPLAY=target/fuzz-crashes/stored-...bin cargo test --release --test fuzz
//! ```
//!
//! Targets (tests/fuzz/targets): `frame` (a byte stream through `decode_frame`), `header` (valid
//! frame prefix, fuzzed JSON / binary header, then every typed header), `route` (route,
//! heartbeat and connection-list JSON, and the publish info built from a route), `stored`
//! (commit-log messages, lists of them, pushed replies, compressed bodies).
//!
//! Each target starts from generated seeds; every iteration mutates a corpus entry 1-8 times or
//! takes a hostile input from the target's generator. Inputs that give a new kind of result join
//! the corpus. Every input is measured: peak heap above the baseline (a counting global
//! allocator; plus resident-set growth for targets calling C code) and time.
//!
//! The run fails on a panic, or on any input (all are under 1 MiB) that costs more than 16 MiB
//! or 100 ms, the bounds the decoders promise (`src/protocol/limits.rs`). Targets bracket the
//! decoder call, so the harness's own copies and result labels do not count. A slow input is run
//! 3 more times and counts only if the fastest run is still over the bound (one that took ten
//! times the bound is beyond machine noise and is not run again). Panicking and over-bound inputs are saved under
//! `target/fuzz-crashes/`, the worst input of each target for memory and for time under
//! `target/fuzz-worst/` (in the project's directory, whatever `CARGO_TARGET_DIR` says).
//!
//! Environment:
//! - `FUZZ_INPUTS`: inputs per target (default 3000: a plain `cargo test` spends 10-20 s here).
//! - `FUZZ_TARGETS`: comma-separated target names (default all).
//! - `FUZZ_SEED`: the run's seed, decimal or 0x hex (default random, printed at the start). The
//!   input of iteration `i` comes back with the same seed and `FUZZ_INPUTS=i+1`.
//! - `FUZZ_REPLAY`: a file to run once through the (single) target of `FUZZ_TARGETS`.
//! - `FUZZ_MAX_MEM_MB` (16), `FUZZ_MAX_MS` (100; 1000 in debug builds, whose unoptimized code
//!   runs about ten times slower): the bounds.
//! - `FUZZ_MEM_LIMIT_MB` (2048): past this much live heap the input is saved and the process
//!   aborts (an allocator cannot unwind, and going on could take the machine down).
//! - `FUZZ_ALL_KINDS=1`: list every kind of result in the report, not only the 12 most frequent.
//! - `FUZZ_THREADS`: only 1: per-input memory comes from a process-wide peak, so targets run one
//!   at a time; run several processes with different `FUZZ_TARGETS` to use more cores.

mod alloc;
mod engine;
mod mutate;
mod targets;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use engine::{mib, ms, Config, Report};

#[global_allocator]
static ALLOC: alloc::Counting = alloc::Counting;

const DEFAULT_INPUTS: u64 = 3_000;

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn env_num(name: &str, default: u64) -> Result<u64, String> {
    match env(name) {
        None => Ok(default),
        Some(v) => {
            let v = v.trim().replace('_', "");
            let parsed = match v.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => v.parse(),
            };
            parsed.map_err(|_| format!("{name}={v} is not a number"))
        }
    }
}

/// Whether cargo's arguments (test-name filters, `--skip`) leave this test selected; `--list`
/// answers like libtest does.
fn selected() -> Option<bool> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        println!("fuzz: test");
        return None;
    }
    let mut filters = Vec::new();
    let mut skips = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--skip" {
            skips.extend(it.next().cloned());
        } else if !a.starts_with('-') {
            filters.push(a.as_str());
        }
    }
    let wanted = filters.is_empty() || filters.iter().any(|f| "fuzz".contains(f));
    Some(wanted && !skips.iter().any(|s| "fuzz".contains(s.as_str())))
}

fn main() -> ExitCode {
    let started = Instant::now();
    match selected() {
        None => return ExitCode::SUCCESS,
        Some(false) => {
            println!("\nrunning 0 tests\n");
            println!("test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 1 filtered out; finished in 0.00s\n");
            return ExitCode::SUCCESS;
        }
        Some(true) => {}
    }
    match run() {
        Ok(passed) => {
            let (verdict, passed, failed) = if passed { ("ok", 1, 0) } else { ("FAILED", 0, 1) };
            println!(
                "\ntest result: {verdict}. {passed} passed; {failed} failed; 0 ignored; 0 measured; 0 filtered out; \
                 finished in {:.2}s\n",
                started.elapsed().as_secs_f64()
            );
            if failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("fuzz: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the configured targets; `Ok(false)` when something was found.
fn run() -> Result<bool, String> {
    let debug = cfg!(debug_assertions);
    let cfg = Config {
        seed: env_num("FUZZ_SEED", fastrand::u64(..))?,
        inputs: env_num("FUZZ_INPUTS", DEFAULT_INPUTS)?,
        max_mem: env_num("FUZZ_MAX_MEM_MB", 16)? as usize * 1024 * 1024,
        max_time: Duration::from_millis(env_num("FUZZ_MAX_MS", if debug { 1000 } else { 100 })?),
        progress_every: Duration::from_secs(10),
    };
    if env_num("FUZZ_THREADS", 1)? != 1 {
        return Err(
            "FUZZ_THREADS must be 1: the allocator's peak is process-wide, so only one input may run at a time; \
             run several processes with different FUZZ_TARGETS instead"
                .into(),
        );
    }
    let all = targets::all();
    let names: Vec<String> = match env("FUZZ_TARGETS") {
        Some(list) => list.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect(),
        None => all.iter().map(|t| t.name.to_string()).collect(),
    };
    let mut chosen = Vec::new();
    for name in &names {
        let target = all.iter().find(|t| t.name == name.as_str());
        chosen.push(target.ok_or_else(|| format!("unknown target {name:?} (known: frame, header, route, stored)"))?);
    }

    alloc::on_limit(env_num("FUZZ_MEM_LIMIT_MB", 2048)? as usize * 1024 * 1024, engine::memory_limit_hit);
    engine::install();

    if let Some(path) = env("FUZZ_REPLAY") {
        let [target] = chosen[..] else {
            return Err("FUZZ_REPLAY needs exactly one target in FUZZ_TARGETS".into());
        };
        let input = std::fs::read(&path).map_err(|e| format!("cannot read {path}: {e}"))?;
        let r = engine::replay(target, &input);
        let over = r.worst_mem.cost > cfg.max_mem as u64 || r.worst_time.cost > cfg.max_time.as_nanos() as u64;
        return Ok(r.panics == 0 && !over);
    }

    println!(
        "fuzz: seed {:#x} (FUZZ_SEED), {} inputs per target (FUZZ_INPUTS), bounds {} and {} per input, {} build",
        cfg.seed,
        cfg.inputs,
        mib(cfg.max_mem as u64),
        ms(cfg.max_time.as_nanos() as u64),
        if debug { "debug" } else { "release" },
    );
    let mut reports = Vec::new();
    for target in chosen {
        let report = engine::fuzz(target, &cfg);
        print_report(&report);
        reports.push(report);
    }
    print_summary(&reports);
    Ok(!reports.iter().any(Report::failed))
}

fn print_report(r: &Report) {
    println!("\n== {}: {} inputs in {:.1} s", r.name, r.inputs, r.elapsed.as_secs_f64());
    let mut outcomes: Vec<_> = r.outcomes.iter().collect();
    outcomes.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    println!("   {} kinds of result; the most frequent (FUZZ_ALL_KINDS=1 for all):", outcomes.len());
    let shown = if env("FUZZ_ALL_KINDS").is_some() { usize::MAX } else { 12 };
    for (label, n) in outcomes.iter().take(shown) {
        println!("   {n:>9}  {label}");
    }
    for (what, w, cost) in
        [("memory", &r.worst_mem, mib(r.worst_mem.cost)), ("time", &r.worst_time, ms(r.worst_time.cost))]
    {
        println!("   worst {what}: {cost}, iteration {}, input of {} bytes", w.iter, w.input.len());
    }
    for (message, n) in &r.panic_kinds {
        println!("   {n:>9}  PANIC {}", message.replace('\n', " "));
    }
}

fn print_summary(reports: &[Report]) {
    println!(
        "\n{:<8} {:>9} {:>9} {:>9} {:>7} {:>8} {:>9} {:>24} {:>24} {:>9} {:>7}",
        "target",
        "inputs",
        "ok",
        "err",
        "panics",
        "over-mem",
        "over-time",
        "max memory (input size)",
        "max time (input size)",
        "inputs/s",
        "corpus"
    );
    for r in reports {
        println!(
            "{:<8} {:>9} {:>9} {:>9} {:>7} {:>8} {:>9} {:>24} {:>24} {:>9.0} {:>7}",
            r.name,
            r.inputs,
            r.ok,
            r.err,
            r.panics,
            r.over_mem,
            r.over_time,
            format!("{} ({})", mib(r.worst_mem.cost), r.worst_mem.input.len()),
            format!("{} ({})", ms(r.worst_time.cost), r.worst_time.input.len()),
            r.inputs as f64 / r.elapsed.as_secs_f64().max(1e-9),
            r.corpus,
        );
    }
    println!("worst inputs: target/fuzz-worst/<target>-memory.bin and -time.bin; findings: target/fuzz-crashes/");
}
