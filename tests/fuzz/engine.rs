//! The fuzz loop: a corpus per target, mutations, one measured run per input, findings.
//!
//! Everything an iteration does is drawn from a PRNG seeded with (seed, target, iteration), and
//! the corpus only changes on results (never on timings), so a run is reproducible: the input of
//! iteration `i` comes back with the same `FUZZ_SEED` and `FUZZ_INPUTS=i+1`. Findings are also
//! saved as files, which `FUZZ_REPLAY` runs again.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::fmt::{Debug, Display};
use std::hash::{Hash, Hasher};
use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use fastrand::Rng;

use crate::alloc;
use crate::mutate::mutate;

/// No input is longer (the bounds apply to inputs under 1 MiB).
pub const MAX_INPUT_LEN: usize = 1 << 20;
/// Most corpus entries kept per target, and most bytes they may hold together.
const CORPUS_MAX_ENTRIES: usize = 512;
const CORPUS_MAX_BYTES: usize = 64 << 20;
/// One iteration in this many starts from a target's hostile generator instead of the corpus.
const HOSTILE_ONE_IN: u32 = 8;
/// Files saved (and findings printed in full) per target and kind of finding.
const SAVE_PER_KIND: u32 = 3;

/// What one input did: `label` names the kind of result (error variant, shape of the value) and
/// feeds the novelty signal, so it must take few distinct values.
pub struct Outcome {
    pub ok: bool,
    pub label: String,
}

impl Outcome {
    pub fn ok(shape: impl Into<String>) -> Self {
        Outcome { ok: true, label: shape.into() }
    }

    /// The error's variant and message, with quoted text left out and numbers (words that start
    /// with a digit: `12`, `0xDAA320A7`) blurred, so that neither counts as a new kind of result.
    pub fn err<E: Debug + Display>(context: &str, e: &E) -> Self {
        let debug = format!("{e:?}");
        let variant = debug.split(['(', ' ', '{']).next().unwrap_or_default();
        let mut label = format!("{context}{variant}: ");
        let (mut quoted, mut escaped, mut in_number, mut prev_word) = (None, false, false, false);
        for c in e.to_string().chars().take(160) {
            let word = c.is_ascii_alphanumeric() || c == '_';
            match (quoted, c) {
                (Some(_), _) if escaped => escaped = false,
                (Some(_), '\\') => escaped = true,
                (Some(q), _) if c == q => {
                    quoted = None;
                    label.push(c);
                }
                (Some(_), _) => {}
                (None, '"' | '`') => {
                    quoted = Some(c);
                    label.push(c);
                }
                (None, _) if in_number && word => {}
                (None, '0'..='9') if !prev_word => {
                    in_number = true;
                    label.push('#');
                }
                (None, _) => {
                    in_number = false;
                    label.push(c);
                }
            }
            prev_word = word;
            in_number &= word;
        }
        Outcome { ok: false, label }
    }
}

/// Which power of two `n` is at most: shapes use it to keep labels few.
pub fn bucket(n: usize) -> u32 {
    usize::BITS - n.leading_zeros()
}

pub struct Target {
    pub name: &'static str,
    /// Valid inputs the corpus starts from.
    pub seeds: fn(&mut Rng) -> Vec<Vec<u8>>,
    /// Hostile-but-valid-looking inputs: huge counts, many fields, bombs.
    pub hostile: fn(&mut Rng) -> Vec<u8>,
    pub run: fn(&[u8]) -> Outcome,
    /// The target calls C code (zstd) whose allocations the counting allocator cannot see: also
    /// measure the growth of the resident set.
    pub foreign_alloc: bool,
}

pub struct Config {
    pub seed: u64,
    pub inputs: u64,
    pub max_mem: usize,
    pub max_time: Duration,
    pub progress_every: Duration,
}

/// The worst input for memory or time.
#[derive(Default)]
pub struct Worst {
    pub cost: u64,
    pub iter: u64,
    pub input: Vec<u8>,
}

#[derive(Default)]
pub struct Report {
    pub name: &'static str,
    pub inputs: u64,
    pub ok: u64,
    pub err: u64,
    pub panics: u64,
    pub over_mem: u64,
    pub over_time: u64,
    pub elapsed: Duration,
    pub corpus: usize,
    /// Peak bytes above the baseline, and nanoseconds.
    pub worst_mem: Worst,
    pub worst_time: Worst,
    /// How often each outcome label came up.
    pub outcomes: HashMap<String, u64>,
    /// How often each panic (message and location) came up.
    pub panic_kinds: HashMap<String, u64>,
}

impl Report {
    pub fn failed(&self) -> bool {
        self.panics + self.over_mem + self.over_time > 0
    }
}

// ---- what is running now, for the memory-limit hook and the watchdog -----------------------

static RUNNING: Mutex<(&str, u64)> = Mutex::new(("", 0));
static RUNNING_ITER: AtomicU64 = AtomicU64::new(0);
static RUNNING_INPUT: AtomicPtr<u8> = AtomicPtr::new(std::ptr::null_mut());
static RUNNING_LEN: AtomicUsize = AtomicUsize::new(0);
/// Milliseconds since `EPOCH` when the current input started; 0 between inputs.
static RUNNING_SINCE_MS: AtomicU64 = AtomicU64::new(0);
static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);

fn now_ms() -> u64 {
    EPOCH.get_or_init(Instant::now).elapsed().as_millis() as u64 + 1
}

/// Silences panics while fuzzing (they are reported by the loop) and starts the watchdog that
/// names an input that runs for long.
pub fn install() {
    panic::set_hook(Box::new(|info| {
        *LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()) = Some(info.to_string());
    }));
    now_ms();
    std::thread::spawn(|| {
        let mut warned = (0, 0);
        loop {
            std::thread::sleep(Duration::from_secs(1));
            let since = RUNNING_SINCE_MS.load(Relaxed);
            let iter = RUNNING_ITER.load(Relaxed);
            if since == 0 || now_ms() - since < 10_000 || warned == (since, iter) {
                continue;
            }
            warned = (since, iter);
            let (name, seed) = *RUNNING.lock().unwrap_or_else(|e| e.into_inner());
            eprintln!("[fuzz] {name}: input {iter} (seed {seed:#x}) has been running for more than 10 s");
        }
    });
}

/// Called by the allocator when the process goes past the hard memory limit, just before it
/// aborts: saves and names the input.
pub fn memory_limit_hit(live: usize) {
    let (name, seed) = *RUNNING.lock().unwrap_or_else(|e| e.into_inner());
    let iter = RUNNING_ITER.load(Relaxed);
    let ptr = RUNNING_INPUT.load(Relaxed);
    eprintln!("\n[fuzz] ABORT: {} MiB live, past the hard limit (FUZZ_MEM_LIMIT_MB)", live >> 20);
    if ptr.is_null() {
        eprintln!("[fuzz] while not running an input");
        return;
    }
    // SAFETY: the loop publishes the input before running it and clears it after; the hook runs
    // on the loop's thread, inside the target, while the input is alive.
    let input = unsafe { std::slice::from_raw_parts(ptr, RUNNING_LEN.load(Relaxed)) };
    let path = save("fuzz-crashes", &format!("{name}-{seed:#x}-{iter}-oom.bin"), input);
    eprintln!(
        "[fuzz] target {name}, seed {seed:#x}, iteration {iter}, input of {} bytes saved to {}",
        input.len(),
        path.display()
    );
    eprintln!("[fuzz] input: {}", hex(input, 4096));
}

// ---- the loop ------------------------------------------------------------------------------

struct Measured {
    /// The outcome, or the panic message.
    outcome: Result<Outcome, String>,
    mem: usize,
    time: Duration,
}

/// Heap level and time when the current measurement began; peak and time when it ended.
static MEASURE_BASE: AtomicUsize = AtomicUsize::new(0);
static MEASURE_START: Mutex<Option<Instant>> = Mutex::new(None);
static MEASURE_END: Mutex<Option<(usize, Duration)>> = Mutex::new(None);

/// Starts (again) the measurement of the running input. A target calls it once it has built
/// what the decoder takes (a copy of the input, a command around it), so that the harness's
/// own copies do not count against the decoder.
pub fn begin() {
    *MEASURE_END.lock().unwrap_or_else(|e| e.into_inner()) = None;
    MEASURE_BASE.store(alloc::reset_peak(), Relaxed);
    *MEASURE_START.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
}

/// Ends the measurement of the running input: a target calls it when the decoder returns, so
/// that describing the result does not count either. Without it, the whole run counts.
pub fn end() {
    let time = MEASURE_START.lock().unwrap_or_else(|e| e.into_inner()).map_or(Duration::ZERO, |s| s.elapsed());
    let peak = alloc::peak();
    *MEASURE_END.lock().unwrap_or_else(|e| e.into_inner()) = Some((peak, time));
}

fn measure(target: &Target, input: &[u8]) -> Measured {
    let rss_base = if target.foreign_alloc { alloc::rss_reset_peak() } else { None };
    begin();
    let result = panic::catch_unwind(AssertUnwindSafe(|| (target.run)(input)));
    if result.is_err() || MEASURE_END.lock().unwrap_or_else(|e| e.into_inner()).is_none() {
        end();
    }
    let (peak, time) = MEASURE_END.lock().unwrap_or_else(|e| e.into_inner()).take().unwrap_or_default();
    let mut mem = peak.saturating_sub(MEASURE_BASE.load(Relaxed));
    if let (Some(rss_base), Some(rss_peak)) = (rss_base, alloc::rss_peak()) {
        mem = mem.max(rss_peak.saturating_sub(rss_base));
    }
    let outcome = result
        .map_err(|_| LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()).take().unwrap_or_else(|| "panic".into()));
    Measured { outcome, mem, time }
}

struct Fuzzer<'a> {
    target: &'a Target,
    cfg: &'a Config,
    corpus: Vec<Vec<u8>>,
    corpus_bytes: usize,
    fixed: usize,
    report: Report,
    saved: HashMap<String, u32>,
}

pub fn fuzz(target: &Target, cfg: &Config) -> Report {
    let started = Instant::now();
    *RUNNING.lock().unwrap_or_else(|e| e.into_inner()) = (target.name, cfg.seed);
    let mut rng = Rng::with_seed(mix(cfg.seed, target.name, u64::MAX));
    let mut seeds = (target.seeds)(&mut rng);
    seeds.iter_mut().for_each(|s| s.truncate(MAX_INPUT_LEN));
    let mut f = Fuzzer {
        target,
        cfg,
        corpus_bytes: seeds.iter().map(Vec::len).sum(),
        fixed: seeds.len(),
        corpus: seeds,
        report: Report { name: target.name, ..Report::default() },
        saved: HashMap::new(),
    };
    let mut next_progress = started + cfg.progress_every;
    for iter in 0..cfg.inputs {
        let input = match f.corpus.get(iter as usize) {
            Some(seed) if (iter as usize) < f.fixed => seed.clone(),
            _ => f.next_input(iter),
        };
        f.run_one(iter, input);
        if Instant::now() >= next_progress {
            next_progress = Instant::now() + cfg.progress_every;
            let r = &f.report;
            eprintln!(
                "[fuzz] {}: {}/{} inputs, {:.0}/s, corpus {}, panics {}, over bounds {}+{}, max {} / {}",
                r.name,
                r.inputs,
                cfg.inputs,
                r.inputs as f64 / started.elapsed().as_secs_f64(),
                f.corpus.len(),
                r.panics,
                r.over_mem,
                r.over_time,
                mib(r.worst_mem.cost),
                ms(r.worst_time.cost),
            );
        }
    }
    f.report.corpus = f.corpus.len();
    f.report.elapsed = started.elapsed();
    for (kind, worst) in [("memory", &f.report.worst_mem), ("time", &f.report.worst_time)] {
        if !worst.input.is_empty() || worst.cost > 0 {
            save("fuzz-worst", &format!("{}-{kind}.bin", target.name), &worst.input);
        }
    }
    f.report
}

/// Runs one saved input (`FUZZ_REPLAY`) and says what it did and cost.
pub fn replay(target: &Target, input: &[u8]) -> Report {
    let m = measure(target, input);
    let mut r = Report { name: target.name, inputs: 1, ..Report::default() };
    match &m.outcome {
        Ok(o) => println!("{}: {} ({})", target.name, if o.ok { "Ok" } else { "Err" }, o.label),
        Err(p) => {
            println!("{}: PANIC {p}", target.name);
            r.panics = 1;
        }
    }
    println!(
        "{}: {} bytes in, peak {} ({} bytes) above baseline, {}",
        target.name,
        input.len(),
        mib(m.mem as u64),
        m.mem,
        ms(m.time.as_nanos() as u64)
    );
    r.worst_mem = Worst { cost: m.mem as u64, iter: 0, input: Vec::new() };
    r.worst_time = Worst { cost: m.time.as_nanos() as u64, iter: 0, input: Vec::new() };
    r
}

impl Fuzzer<'_> {
    fn next_input(&self, iter: u64) -> Vec<u8> {
        let mut rng = Rng::with_seed(mix(self.cfg.seed, self.target.name, iter));
        let (mut data, rounds) = if rng.u32(0..HOSTILE_ONE_IN) == 0 {
            // Mostly left intact: the point is the structure.
            ((self.target.hostile)(&mut rng), if rng.bool() { 0 } else { rng.usize(1..=2) })
        } else {
            (self.corpus[rng.usize(..self.corpus.len())].clone(), rng.usize(1..=8))
        };
        for _ in 0..rounds {
            mutate(&mut rng, &mut data, &self.corpus);
        }
        data.truncate(MAX_INPUT_LEN);
        data
    }

    fn run_one(&mut self, iter: u64, input: Vec<u8>) {
        RUNNING_ITER.store(iter, Relaxed);
        RUNNING_LEN.store(input.len(), Relaxed);
        RUNNING_INPUT.store(input.as_ptr() as *mut u8, Relaxed);
        RUNNING_SINCE_MS.store(now_ms(), Relaxed);
        let mut m = measure(self.target, &input);
        if m.time > self.cfg.max_time && m.time < self.cfg.max_time * 10 {
            // Timing on a shared machine is noisy: it counts only if it stays slow. Ten times the
            // bound is beyond noise and is not run again.
            for _ in 0..3 {
                let again = measure(self.target, &input).time;
                m.time = m.time.min(again);
                if m.time <= self.cfg.max_time {
                    break;
                }
            }
        }
        RUNNING_SINCE_MS.store(0, Relaxed);
        RUNNING_INPUT.store(std::ptr::null_mut(), Relaxed);
        self.report.inputs += 1;

        let mut novel = false;
        match m.outcome {
            Ok(outcome) => {
                if outcome.ok {
                    self.report.ok += 1;
                } else {
                    self.report.err += 1;
                }
                let count = self.report.outcomes.entry(outcome.label).or_insert(0);
                *count += 1;
                novel = *count == 1;
            }
            Err(message) => {
                self.report.panics += 1;
                *self.report.panic_kinds.entry(message.clone()).or_insert(0) += 1;
                // Each distinct panic (message and place) is shown and saved a few times.
                self.finding(iter, &input, "panic", &message, &format!("PANIC {message}"));
            }
        }

        let (mem, time) = (m.mem as u64, m.time.as_nanos() as u64);
        if mem > self.report.worst_mem.cost || self.report.inputs == 1 {
            self.report.worst_mem = Worst { cost: mem, iter, input: input.clone() };
        }
        if time > self.report.worst_time.cost || self.report.inputs == 1 {
            self.report.worst_time = Worst { cost: time, iter, input: input.clone() };
        }
        if m.mem > self.cfg.max_mem {
            self.report.over_mem += 1;
            self.finding(
                iter,
                &input,
                "memory",
                "memory",
                &format!("peak {} above baseline (bound {})", mib(mem), mib(self.cfg.max_mem as u64)),
            );
        }
        if m.time > self.cfg.max_time {
            self.report.over_time += 1;
            self.finding(
                iter,
                &input,
                "time",
                "time",
                &format!("{} (bound {})", ms(time), ms(self.cfg.max_time.as_nanos() as u64)),
            );
        }
        if novel {
            self.add_to_corpus(iter, input);
        }
    }

    /// Prints and saves the first few findings of each kind (`key`); counts the rest silently.
    fn finding(&mut self, iter: u64, input: &[u8], kind: &str, key: &str, what: &str) {
        let n = self.saved.entry(key.to_string()).or_insert(0);
        *n += 1;
        if *n > SAVE_PER_KIND {
            if *n == SAVE_PER_KIND + 1 {
                eprintln!("[fuzz] {}: more {kind} findings like these are counted but not shown", self.target.name);
            }
            return;
        }
        let (name, seed) = (self.target.name, self.cfg.seed);
        let path = save("fuzz-crashes", &format!("{name}-{seed:#x}-{iter}-{kind}.bin"), input);
        eprintln!("[fuzz] {name}: {what}");
        eprintln!("[fuzz]   seed {seed:#x}, iteration {iter}, {} bytes, saved to {}", input.len(), path.display());
        eprintln!(
            "[fuzz]   rerun: FUZZ_TARGETS={name} FUZZ_REPLAY={} cargo test --release --test fuzz",
            path.display()
        );
        eprintln!("[fuzz]   input: {}", hex(input, 4096));
    }

    fn add_to_corpus(&mut self, iter: u64, input: Vec<u8>) {
        if self.corpus_bytes + input.len() > CORPUS_MAX_BYTES && self.corpus.len() == self.fixed {
            return;
        }
        if self.corpus.len() < CORPUS_MAX_ENTRIES && self.corpus_bytes + input.len() <= CORPUS_MAX_BYTES {
            self.corpus_bytes += input.len();
            self.corpus.push(input);
        } else if self.corpus.len() > self.fixed {
            // Full: replace an entry the run added (the seeds stay).
            let mut rng = Rng::with_seed(mix(self.cfg.seed, self.target.name, iter ^ 0x5eed));
            let i = rng.usize(self.fixed..self.corpus.len());
            self.corpus_bytes = self.corpus_bytes - self.corpus[i].len() + input.len();
            self.corpus[i] = input;
        }
    }
}

// ---- helpers -------------------------------------------------------------------------------

fn mix(seed: u64, name: &str, iter: u64) -> u64 {
    let mut h = DefaultHasher::new();
    (seed, name, iter).hash(&mut h);
    h.finish()
}

/// Writes `bytes` to `target/<dir>/<file>` of the project (whatever `CARGO_TARGET_DIR` says).
pub fn save(dir: &str, file: &str, bytes: &[u8]) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target").join(dir);
    let path = dir.join(file);
    if let Err(e) = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, bytes)) {
        eprintln!("[fuzz] cannot write {}: {e}", path.display());
    }
    path
}

/// Hex of `bytes`, at most `max_chars` long.
pub fn hex(bytes: &[u8], max_chars: usize) -> String {
    let shown = bytes.len().min(max_chars / 2);
    let mut s: String = bytes[..shown].iter().map(|b| format!("{b:02x}")).collect();
    if shown < bytes.len() {
        s.push_str(&format!("... ({} more bytes)", bytes.len() - shown));
    }
    s
}

pub fn mib(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{:.1} MiB", bytes as f64 / (1 << 20) as f64)
    } else {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    }
}

pub fn ms(nanos: u64) -> String {
    format!("{:.2} ms", nanos as f64 / 1e6)
}
