//! `examples/web_service.rs` run as a team would: its binary, a config file, the real broker,
//! a few hundred HTTP requests (some invalid), then its answers, its metrics and what the broker
//! holds are compared, and SIGTERM drains it and takes the group off the broker.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::admin::Admin;
use crate::common::unique;
use crate::fixture;

/// The example's binary, built by `cargo test` next to this test's binary.
fn example_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe.parent().and_then(|deps| deps.parent()).expect("target dir");
    let bin = dir.join("examples").join("web_service");
    assert!(
        bin.exists(),
        "{} is missing: `cargo test` builds the examples; after `cargo test --test it` alone, run `cargo build --example web_service`",
        bin.display()
    );
    bin
}

/// Kills the service if the test fails before stopping it.
struct Service(Child);

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One HTTP/1.1 exchange on a fresh connection: (status, body).
fn http(addr: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect to the service");
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).expect("write request");
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("read answer");
    let status = raw.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or_else(|| panic!("bad answer {raw:?}"));
    let body = raw.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}

/// The sum of a Prometheus metric's samples whose labels include every `labels` pair.
fn prom_sum(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .filter(|l| labels.iter().all(|(k, v)| l.contains(&format!("{k}=\"{v}\""))))
        .filter_map(|l| l.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()))
        .sum()
}

/// What the requests are and what each must get.
enum Kind {
    Valid(String),
    NotJson,
    MissingField,
    /// A key with a space: the producer refuses it (typed validation error).
    BadKey,
    /// Bigger than the configured 64 KiB.
    TooBig,
}

#[actix_rt::test]
async fn the_web_service_publishes_what_it_acknowledges() {
    let group = unique("web");
    let topic = unique("weborders");
    let config = std::env::temp_dir().join(format!("arm-{group}.toml"));
    std::fs::write(
        &config,
        format!(
            "[http]\nbind = \"127.0.0.1:0\"\norders_topic = \"{topic}\"\n\n[producer]\ngroup = \"{group}\"\n\
             max_message_size = \"64KiB\"\ntopics = [\"{topic}\"]\n\n[producer.client]\ninstance_name = \"{group}\"\n"
        ),
    )
    .unwrap();
    let mut child = Command::new(example_binary())
        .arg(&config)
        .env("ACTIX_ROCKETMQ__CLIENT__NAMESRV_ADDR", fixture::namesrv_addr())
        .env_remove("NAMESRV_ADDR")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the example");
    // The service has read its file once it prints its address.
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let service = Service(child);
    let addr = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| l.strip_prefix("listening on http://").map(str::to_string))
        .expect("the service prints its address");
    std::fs::remove_file(&config).unwrap();

    // 300 requests from 6 threads: 240 orders and 60 that must be refused.
    let requests: Vec<Kind> = (0..300)
        .map(|i| match i % 10 {
            3 if i % 20 == 3 => Kind::NotJson,
            3 => Kind::MissingField,
            7 if i % 20 == 7 => Kind::BadKey,
            7 => Kind::TooBig,
            _ => Kind::Valid(format!("{group}-o{i}")),
        })
        .collect();
    let requests = std::sync::Arc::new(requests);
    let mut threads = Vec::new();
    for t in 0..6 {
        let (addr, requests) = (addr.clone(), requests.clone());
        threads.push(std::thread::spawn(move || {
            let mut answers = Vec::new();
            for (i, kind) in requests.iter().enumerate().filter(|(i, _)| i % 6 == t) {
                let body = match kind {
                    Kind::Valid(id) => format!(r#"{{"order_id":"{id}","customer":"c{i}","amount_cents":{i}}}"#),
                    Kind::NotJson => "order please".to_string(),
                    Kind::MissingField => r#"{"order_id":"x","customer":"c"}"#.to_string(),
                    Kind::BadKey => format!(r#"{{"order_id":"bad id {i}","customer":"c","amount_cents":1}}"#),
                    Kind::TooBig => format!(r#"{{"order_id":"big{i}","customer":"{}","amount_cents":1}}"#, "c".repeat(70_000)),
                };
                answers.push((i, http(&addr, "POST", "/orders", &body)));
            }
            answers
        }));
    }
    let mut acknowledged = Vec::new();
    for t in threads {
        for (i, (status, body)) in t.join().expect("client thread") {
            let json: serde_json::Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("answer {i} {body:?}: {e}"));
            match &requests[i] {
                Kind::Valid(id) => {
                    assert_eq!(status, 201, "order {i}: {body}");
                    assert_eq!(json["order_id"], id.as_str());
                    acknowledged.push((id.clone(), json["msg_id"].as_str().expect("msg_id").to_string()));
                }
                Kind::NotJson | Kind::MissingField => {
                    assert_eq!(status, 400, "request {i}: {body}");
                    assert!(json["error"].as_str().unwrap_or("").contains("not an order"), "{body}");
                }
                Kind::BadKey | Kind::TooBig => {
                    assert_eq!(status, 400, "request {i}: {body}");
                    assert_eq!(json["may_have_been_stored"], false, "{body}");
                }
            }
        }
    }
    assert_eq!(acknowledged.len(), 240);

    // The broker holds exactly the acknowledged orders, each under its key and id.
    let broker = Admin::connect(&fixture::broker_addr());
    assert_eq!(broker.held_settled(&topic, 4, 240).await, 240);
    for (id, msg_id) in acknowledged.iter().step_by(40) {
        let found = broker.query_uniq_key(&topic, msg_id).await;
        assert_eq!(found.len(), 1, "{msg_id}");
        assert_eq!(found[0].property("KEYS"), Some(id.as_str()));
        let order: serde_json::Value = serde_json::from_slice(&found[0].body).expect("stored order is JSON");
        assert_eq!(order["order_id"], id.as_str());
    }

    // Its metrics say the same.
    let (status, text) = http(&addr, "GET", "/metrics", "");
    assert_eq!(status, 200);
    let labels = [("group", group.as_str()), ("topic", topic.as_str())];
    assert_eq!(prom_sum(&text, "rocketmq_producer_messages_sent_total", &labels), 240.0, "{text}");
    let refused = [("group", group.as_str()), ("topic", topic.as_str()), ("kind", "invalid_input")];
    assert_eq!(prom_sum(&text, "rocketmq_producer_send_failures_total", &refused), 30.0, "{text}");
    assert_eq!(prom_sum(&text, "orders_http_responses_total", &[("status", "201")]), 240.0, "{text}");
    assert_eq!(prom_sum(&text, "orders_http_responses_total", &[("status", "400")]), 60.0, "{text}");

    let (status, body) = http(&addr, "GET", "/status", "");
    assert_eq!(status, 200);
    let st: serde_json::Value = serde_json::from_str(&body).expect("status JSON");
    assert_eq!(st["state"], "RUNNING", "{body}");
    assert_eq!(st["group"], group.as_str());
    assert_eq!(st["inflight_messages"], 0);
    let client_id = st["client_id"].as_str().expect("client id").to_string();
    assert!(broker.lists_producer(&group, &client_id, true).await, "group registered while running");

    // SIGTERM: HTTP stops, the producer drains and unregisters, the process exits cleanly.
    let mut service = service;
    let pid = service.0.id() as i32;
    // SAFETY: signalling our own child process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let deadline = Instant::now() + Duration::from_secs(30);
    let exit = loop {
        if let Some(exit) = service.0.try_wait().expect("wait") {
            break exit;
        }
        assert!(Instant::now() < deadline, "the service did not stop within 30 s of SIGTERM");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(exit.success(), "exit status {exit:?}");
    assert!(lines.map_while(Result::ok).any(|l| l == "stopped"), "the service drained its producer");
    assert!(broker.lists_producer(&group, &client_id, false).await, "group gone after shutdown");
}
