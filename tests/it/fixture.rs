//! A real Apache RocketMQ (name server + broker) for the integration tests. std only.
//!
//! * `ROCKETMQ_NAMESRV_ADDR` set: that name server is used as is; set `ROCKETMQ_BROKER_ADDR`
//!   alongside it (default `127.0.0.1:10911`).
//! * otherwise, once per test process, `scripts/rocketmq-local start --watch-pid <this pid>`
//!   starts one in `target/rocketmq-it` on 127.0.0.1:19876 / 127.0.0.1:20911 (never the default
//!   ports a developer's own broker may use). It keeps running across the tests of this process
//!   and a detached watchdog stops it once the process has exited. A start failure panics with
//!   the script's output (reason and log tails): the tests never skip.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// Name server port of the broker this fixture starts.
pub const FIXTURE_NAMESRV_PORT: u16 = 19876;
/// Broker port of the broker this fixture starts (it also uses port-2 and port+1).
pub const FIXTURE_BROKER_PORT: u16 = 20911;

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

fn start_local_broker() -> Result<Broker, String> {
    let root = repo_root();
    let script = root.join("scripts").join("rocketmq-local");
    let dir = root.join("target").join("rocketmq-it");
    let output = match Command::new("bash")
        .arg(&script)
        .arg("start")
        .arg("--watch-pid")
        .arg(std::process::id().to_string())
        .env("ROCKETMQ_DIR", &dir)
        .env("ROCKETMQ_NAMESRV_PORT", FIXTURE_NAMESRV_PORT.to_string())
        .env("ROCKETMQ_BROKER_PORT", FIXTURE_BROKER_PORT.to_string())
        .current_dir(&root)
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
