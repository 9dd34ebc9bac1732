//! A real Apache RocketMQ (name server + broker) for the integration tests. std only (and the
//! `libc` dev-dependency, for signals).
//!
//! * `ROCKETMQ_NAMESRV_ADDR` set: that name server is used as is; set `ROCKETMQ_BROKER_ADDR`
//!   alongside it (default `127.0.0.1:10911`).
//! * otherwise, once per test process, `scripts/rocketmq-local start --watch-pid <this pid>`
//!   starts one in `target/rocketmq-it` on 127.0.0.1:19876 / 127.0.0.1:20911 (never the default
//!   ports a developer's own broker may use). It keeps running across the tests of this process
//!   and a detached watchdog stops it once the process has exited. A start failure panics with
//!   the script's output (reason and log tails): the tests never skip.
//!
//! The fault broker: a second, dedicated instance that tests may freeze (SIGSTOP/SIGCONT) and
//! stop/start without disturbing the shared one. Started lazily, the same way, in
//! `target/rocketmq-it-faults` on 127.0.0.1:29876 / 127.0.0.1:30911 (always local, whatever
//! `ROCKETMQ_NAMESRV_ADDR` says). Tests that use it hold [`fault_broker_lock`] throughout:
//!
//! ```ignore
//! let _lock = fixture::fault_broker_lock();
//! let frozen = fixture::freeze_fault_broker(); // SIGSTOP; SIGCONT when dropped, even on panic
//! drop(frozen);
//! fixture::stop_fault_broker();  // KILL the broker JVM; its port refuses connections
//! fixture::start_fault_broker(); // back, registered with its name server (~3 s, at times ~13 s)
//! ```
#![allow(dead_code)]

use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// Name server port of the broker this fixture starts.
pub const FIXTURE_NAMESRV_PORT: u16 = 19876;
/// Broker port of the broker this fixture starts (it also uses port-2 and port+1).
pub const FIXTURE_BROKER_PORT: u16 = 20911;
/// Name server port of the fault broker.
pub const FAULT_NAMESRV_PORT: u16 = 29876;
/// Broker port of the fault broker (it also uses port-2 and port+1).
pub const FAULT_BROKER_PORT: u16 = 30911;
const FAULT_NAMESRV_ADDR: &str = "127.0.0.1:29876";

struct Broker {
    namesrv_addr: String,
    broker_addr: String,
}

// A failed start is remembered too, so every test reports it without starting again.
static BROKER: OnceLock<Result<Broker, String>> = OnceLock::new();

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn env_nonempty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn broker() -> &'static Broker {
    let started = BROKER.get_or_init(|| {
        if let Some(namesrv_addr) = env_nonempty("ROCKETMQ_NAMESRV_ADDR") {
            let broker_addr = env_nonempty("ROCKETMQ_BROKER_ADDR")
                .unwrap_or_else(|| "127.0.0.1:10911".to_owned());
            return Ok(Broker {
                namesrv_addr,
                broker_addr,
            });
        }
        start_local_broker()
    });
    match started {
        Ok(broker) => broker,
        Err(message) => panic!("{message}"),
    }
}

fn script() -> PathBuf {
    repo_root().join("scripts").join("rocketmq-local")
}

/// `scripts/rocketmq-local <args>` for the instance in `target/<dir>` on these ports.
pub fn rocketmq_local(dir: &str, namesrv_port: u16, broker_port: u16, args: &[&str]) -> Command {
    let root = repo_root();
    let mut cmd = Command::new("bash");
    cmd.arg(script())
        .args(args)
        .env("ROCKETMQ_DIR", root.join("target").join(dir))
        .env("ROCKETMQ_NAMESRV_PORT", namesrv_port.to_string())
        .env("ROCKETMQ_BROKER_PORT", broker_port.to_string())
        .current_dir(&root);
    cmd
}

fn start_local_broker() -> Result<Broker, String> {
    let script = script();
    let pid = std::process::id().to_string();
    let output = match rocketmq_local(
        "rocketmq-it",
        FIXTURE_NAMESRV_PORT,
        FIXTURE_BROKER_PORT,
        &["start", "--watch-pid", &pid],
    )
    .output()
    {
        Ok(output) => output,
        Err(e) => return Err(format!("could not run {}: {e}", script.display())),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let namesrv_addr = stdout
        .lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("NAMESRV_ADDR="))
        .map(str::to_owned);
    match namesrv_addr {
        Some(namesrv_addr) if output.status.success() => Ok(Broker {
            namesrv_addr,
            broker_addr: format!("127.0.0.1:{FIXTURE_BROKER_PORT}"),
        }),
        _ => Err(format!(
            "the local RocketMQ broker for the integration tests did not start \
             ({} start exited with {}).\n\
             Fix the reason below, or point the tests at a running broker with \
             ROCKETMQ_NAMESRV_ADDR=host:port and ROCKETMQ_BROKER_ADDR=host:port.\n\
             --- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
            script.display(),
            output.status,
        )),
    }
}

/// `host:port` of the name server the integration tests talk to (starts one if needed).
pub fn namesrv_addr() -> &'static str {
    &broker().namesrv_addr
}

/// `host:port` of the broker: 127.0.0.1:20911 when this fixture started it; with an external
/// name server (`ROCKETMQ_NAMESRV_ADDR`), `ROCKETMQ_BROKER_ADDR` (default 127.0.0.1:10911).
pub fn broker_addr() -> String {
    broker().broker_addr.clone()
}

// ---------------------------------------------------------------------------------------------
// The fault broker

// Started once per test process; a failed start is remembered (every user panics with it).
static FAULT: OnceLock<Result<(), String>> = OnceLock::new();
static FAULT_LOCK: Mutex<()> = Mutex::new(());

fn fault_script(args: &[&str]) -> Command {
    rocketmq_local(
        "rocketmq-it-faults",
        FAULT_NAMESRV_PORT,
        FAULT_BROKER_PORT,
        args,
    )
}

/// `what`, the script's exit status and its output, for a panic message.
pub fn describe(what: &str, output: &Output) -> String {
    format!(
        "{what} ({} exited with {}).\n--- stdout ---\n{}\n--- stderr ---\n{}",
        script().display(),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    )
}

/// Runs the script on the fault instance; panics with its output unless it exits 0.
fn fault_script_ok(args: &[&str], what: &str) -> Output {
    let output = fault_script(args)
        .output()
        .unwrap_or_else(|e| panic!("{what}: could not run {}: {e}", script().display()));
    if !output.status.success() {
        panic!("{}", describe(what, &output));
    }
    output
}

/// Starts a dedicated instance (once per process; `cell` remembers a failure) with a watchdog on
/// this process, and checks the script's last line names its name server.
fn dedicated_instance(cell: &'static OnceLock<Result<(), String>>, dir: &str, ports: (u16, u16), options: &[&str], what: &str) {
    let started = cell.get_or_init(|| {
        let pid = std::process::id().to_string();
        let mut args = vec!["start", "--watch-pid", &pid];
        args.extend_from_slice(options);
        let output = rocketmq_local(dir, ports.0, ports.1, &args)
            .output()
            .map_err(|e| format!("could not run {}: {e}", script().display()))?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let expected = format!("NAMESRV_ADDR=127.0.0.1:{}", ports.0);
        if output.status.success() && stdout.lines().rev().any(|l| l.trim() == expected) {
            Ok(())
        } else {
            Err(describe(
                &format!("{what} for the integration tests (target/{dir}, 127.0.0.1:{} / 127.0.0.1:{}) did not start", ports.0, ports.1),
                &output,
            ))
        }
    });
    if let Err(message) = started {
        panic!("{message}");
    }
}

fn fault_instance() {
    dedicated_instance(&FAULT, "rocketmq-it-faults", (FAULT_NAMESRV_PORT, FAULT_BROKER_PORT), &[], "the fault broker");
}

/// `host:port` of the fault broker's name server (starts the fault broker if needed).
pub fn fault_namesrv_addr() -> &'static str {
    fault_instance();
    FAULT_NAMESRV_ADDR
}

/// `host:port` of the fault broker (starts it if needed).
pub fn fault_broker_addr() -> String {
    fault_instance();
    format!("127.0.0.1:{FAULT_BROKER_PORT}")
}

/// Serializes the tests that use the fault broker: hold the guard for the whole test. A
/// previous holder that panicked (poisoning the lock) is forgiven, and if it left the broker
/// stopped, the broker is started again before this returns.
pub fn fault_broker_lock() -> MutexGuard<'static, ()> {
    let guard = FAULT_LOCK
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if matches!(FAULT.get(), Some(Ok(()))) && running_fault_broker_pid().is_none() {
        start_fault_broker();
    }
    guard
}

/// `Some(pid)` of the fault broker's JVM if it runs (`scripts/rocketmq-local broker-pid`).
fn running_fault_broker_pid() -> Option<u32> {
    let output = fault_script(&["broker-pid"]).output().ok()?;
    if !output.status.success() {
        return None;
    }
    let pid: u32 = String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .ok()?;
    // The script launches the JVM itself (setsid execs in place) and checks its command line;
    // check again before signalling it: never a wrapper, never a recycled pid.
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let cmdline = String::from_utf8_lossy(&cmdline);
    (cmdline.contains("java") && cmdline.contains("org.apache.rocketmq.broker.BrokerStartup"))
        .then_some(pid)
}

/// Pid of the fault broker's JVM (starts the fault broker if needed; panics if it is stopped).
pub fn fault_broker_pid() -> u32 {
    fault_instance();
    running_fault_broker_pid().unwrap_or_else(|| {
        panic!("the fault broker is not running (stopped by stop_fault_broker?)")
    })
}

/// The `State:` letter of `/proc/<pid>/status` (`'T'`: stopped by a signal), `None` if the
/// process is gone.
pub fn process_state(pid: u32) -> Option<char> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("State:"))
        .and_then(|v| v.trim().chars().next())
}

fn signal(pid: u32, sig: libc::c_int) -> std::io::Result<()> {
    let pid =
        libc::pid_t::try_from(pid).map_err(|_| std::io::Error::from_raw_os_error(libc::ESRCH))?;
    // SAFETY: kill(2) with a positive pid only sends a signal; no memory is involved.
    if unsafe { libc::kill(pid, sig) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

fn wait_for(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The fault broker's JVM, stopped with SIGSTOP: its sockets stay open and the kernel still
/// completes TCP handshakes, but it answers nothing. Dropping the guard (also while a test
/// unwinds from a panic) sends SIGCONT.
#[must_use = "the broker is thawed when the guard is dropped"]
pub struct Frozen {
    pid: u32,
}

impl Frozen {
    /// Pid of the frozen broker JVM.
    pub fn pid(&self) -> u32 {
        self.pid
    }
}

/// Freezes the fault broker (SIGSTOP to its JVM) until the returned guard is dropped. Returns
/// once the kernel reports the process stopped.
pub fn freeze_fault_broker() -> Frozen {
    let pid = fault_broker_pid();
    signal(pid, libc::SIGSTOP)
        .unwrap_or_else(|e| panic!("SIGSTOP to the fault broker (pid {pid}): {e}"));
    let frozen = Frozen { pid }; // from here on, a panic thaws it
    if !wait_for(Duration::from_secs(5), || process_state(pid) == Some('T')) {
        panic!(
            "the fault broker (pid {pid}) is not stopped 5 s after SIGSTOP (state {:?})",
            process_state(pid)
        );
    }
    frozen
}

impl Drop for Frozen {
    fn drop(&mut self) {
        match signal(self.pid, libc::SIGCONT) {
            Ok(()) => {
                // (never panic here: this may run while a test unwinds)
                if !wait_for(Duration::from_secs(2), || {
                    process_state(self.pid) != Some('T')
                }) {
                    eprintln!(
                        "fixture: the fault broker (pid {}) is still stopped after SIGCONT",
                        self.pid
                    );
                }
            }
            // killed meanwhile (stop_fault_broker while frozen): nothing to thaw
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) => {}
            Err(e) => eprintln!(
                "fixture: SIGCONT to the fault broker (pid {}): {e}",
                self.pid
            ),
        }
    }
}

fn refuses(addr: SocketAddr) -> bool {
    matches!(
        TcpStream::connect_timeout(&addr, Duration::from_secs(1)),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused
    )
}

/// Kills the fault broker's JVM at once (SIGKILL, no shutdown hook; a frozen one too) and
/// returns once its port refuses connections. The name server stays up (the script also waits,
/// up to 10 s, until it no longer lists the broker). Restart it with [`start_fault_broker`].
pub fn stop_fault_broker() {
    fault_instance();
    fault_script_ok(
        &["stop-broker", "--kill"],
        "stopping the fault broker failed",
    );
    let addr: SocketAddr = ([127, 0, 0, 1], FAULT_BROKER_PORT).into();
    if !wait_for(Duration::from_secs(10), || refuses(addr)) {
        panic!("the fault broker's port {addr} still does not refuse connections 10 s after the broker was killed");
    }
}

/// Starts the fault broker again (after [`stop_fault_broker`]; a no-op if it runs) and returns
/// once it accepts connections and its name server lists it for TBW102. Usually ~3 s; ~13 s
/// when the broker's start-up registration is skipped (RocketMQ then registers 10 s later).
pub fn start_fault_broker() {
    fault_instance();
    fault_script_ok(&["start-broker"], "the fault broker did not start again");
}

// ---------------------------------------------------------------------------------------------
// The secured broker: ACL 2.0 authentication + authorization and TLS in enforcing mode on both
// the name server and the broker (`scripts/rocketmq-local start --auth --tls`), started lazily
// in `target/rocketmq-it-secure` on 127.0.0.1:23876 / 127.0.0.1:24911 (always local). The
// script creates the users, topics and certificates the tests rely on (see its usage).

/// Name server port of the secured broker.
pub const SECURE_NAMESRV_PORT: u16 = 23876;
/// Broker port of the secured broker.
pub const SECURE_BROKER_PORT: u16 = 24911;
const SECURE_DIR: &str = "rocketmq-it-secure";

static SECURE: OnceLock<Result<(), String>> = OnceLock::new();

fn secure_instance() {
    let ports = (SECURE_NAMESRV_PORT, SECURE_BROKER_PORT);
    dedicated_instance(&SECURE, SECURE_DIR, ports, &["--auth", "--tls"], "the secured broker (--auth --tls)");
}

/// `host:port` of the secured name server (TLS only; starts the secured broker if needed).
pub fn secure_namesrv_addr() -> String {
    secure_instance();
    format!("127.0.0.1:{SECURE_NAMESRV_PORT}")
}

/// `host:port` of the secured broker (TLS with a client certificate, signed requests only).
pub fn secure_broker_addr() -> String {
    secure_instance();
    format!("127.0.0.1:{SECURE_BROKER_PORT}")
}

/// The secured instance's generated TLS files: `ca.pem`, `client.pem`, `client.key`, and
/// `other-ca.pem` (a CA that signed none of them).
pub fn secure_tls_file(name: &str) -> PathBuf {
    secure_instance();
    repo_root().join("target").join(SECURE_DIR).join("tls").join(name)
}
