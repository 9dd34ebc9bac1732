//! `route`: JSON bodies from name servers and brokers: topic routes (standard, and fastjson's
//! legacy bare integer keys), turned into publish info when they parse; heartbeat and producer
//! connection bodies.
//!
//! Input: one selector byte (0, 1: route; 2: heartbeat; 3: producer connection list; modulo 4),
//! then the body.

use actix_rocketmq::protocol::heartbeat::{HeartbeatData, ProducerConnection};
use actix_rocketmq::protocol::route::{parse_route, TopicPublishInfo};
use fastrand::Rng;

use super::{count, repeat_joined, text};
use crate::engine::{bucket, end, Outcome, Target};

pub const TARGET: Target = Target { name: "route", seeds, hostile, run, foreign_alloc: false };

const ROUTE: u8 = 0;
const HEARTBEAT: u8 = 2;
const CONNECTIONS: u8 = 3;

fn run(input: &[u8]) -> Outcome {
    let Some((&sel, body)) = input.split_first() else {
        return Outcome::ok("empty");
    };
    match sel % 4 {
        HEARTBEAT => {
            let result = HeartbeatData::from_json(body);
            end();
            match result {
                Ok(h) => Outcome::ok(format!("Ok heartbeat groups<2^{}", bucket(h.producer_groups.len()))),
                Err(e) => Outcome::err("heartbeat ", &e),
            }
        }
        CONNECTIONS => {
            let result = ProducerConnection::from_json(body);
            end();
            match result {
                Ok(c) => Outcome::ok(format!("Ok connections<2^{}", bucket(c.connection_set.len()))),
                Err(e) => Outcome::err("connections ", &e),
            }
        }
        _ => {
            let result = parse_route(body).map(|route| {
                let info = TopicPublishInfo::from_route("T", &route);
                (route, info)
            });
            end();
            match result {
                Ok((route, info)) => Outcome::ok(format!(
                    "Ok route brokers<2^{} queueDatas<2^{} queues<2^{} masters<2^{} order={}",
                    bucket(route.broker_datas.len()),
                    bucket(route.queue_datas.len()),
                    bucket(info.queues.len()),
                    bucket(info.masters.len()),
                    info.order_topic,
                )),
                Err(e) => Outcome::err("route ", &e),
            }
        }
    }
}

fn with_selector(sel: u8, body: String) -> Vec<u8> {
    let mut input = vec![sel];
    input.extend_from_slice(body.as_bytes());
    input
}

fn broker_name(i: usize) -> String {
    format!("broker-{i}")
}

/// A realistic route, as a 4.x/5.x name server writes it; `legacy` writes fastjson's bare keys.
fn route_json(rng: &mut Rng, legacy: bool) -> String {
    let brokers = rng.usize(1..=4);
    let mut broker_datas = Vec::new();
    for i in 0..brokers {
        let mut addrs = Vec::new();
        for id in 0..rng.usize(0..=3) {
            let id = if id == 0 && rng.u32(0..5) == 0 { 2 } else { id };
            let key = if legacy { id.to_string() } else { format!("\"{id}\"") };
            addrs.push(format!("{key}:\"10.0.{i}.{id}:10911\""));
        }
        let extra = if rng.bool() { ",\"enableActingMaster\":false,\"zoneName\":\"z\"" } else { "" };
        broker_datas.push(format!(
            "{{\"brokerAddrs\":{{{}}},\"brokerName\":\"{}\",\"cluster\":\"DefaultCluster\"{extra}}}",
            addrs.join(","),
            broker_name(i)
        ));
    }
    let mut queue_datas = Vec::new();
    for i in 0..brokers + rng.usize(0..=1) {
        queue_datas.push(format!(
            "{{\"brokerName\":\"{}\",\"perm\":{},\"readQueueNums\":{},\"writeQueueNums\":{},\"{}\":0}}",
            broker_name(i),
            [6, 4, 2, 7, 0][rng.usize(..5)],
            rng.i32(0..=16),
            rng.i32(0..=16),
            if rng.bool() { "topicSysFlag" } else { "topicSynFlag" },
        ));
    }
    let order = match rng.u32(0..4) {
        0 => format!(",\"orderTopicConf\":\"{}:4;{}:4\"", broker_name(0), broker_name(1)),
        1 => ",\"orderTopicConf\":null".to_string(),
        _ => String::new(),
    };
    let extra = if rng.bool() { ",\"filterServerTable\":{},\"topicQueueMappingByBroker\":null" } else { "" };
    format!("{{\"brokerDatas\":[{}],\"queueDatas\":[{}]{order}{extra}}}", broker_datas.join(","), queue_datas.join(","))
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

fn heartbeat_json(rng: &mut Rng) -> String {
    let groups: Vec<String> =
        (0..rng.usize(0..4)).map(|_| format!("{{\"groupName\":{}}}", json_string(&text(rng, 12)))).collect();
    format!(
        "{{\"clientID\":{},\"consumerDataSet\":[],\"heartbeatFingerprint\":0,\"producerDataSet\":[{}],\
         \"withoutSub\":false}}",
        json_string(&text(rng, 30)),
        groups.join(",")
    )
}

fn connections_json(rng: &mut Rng) -> String {
    let conns: Vec<String> = (0..rng.usize(0..4))
        .map(|i| {
            let id = json_string(&text(rng, 20));
            format!("{{\"clientAddr\":\"10.0.0.{i}:5000\",\"clientId\":{id},\"language\":\"RUST\",\"version\":479}}")
        })
        .collect();
    format!("{{\"connectionSet\":[{}]}}", conns.join(","))
}

fn seeds(rng: &mut Rng) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for i in 0..48 {
        out.push(with_selector(ROUTE, route_json(rng, i % 3 == 0)));
    }
    for _ in 0..8 {
        out.push(with_selector(HEARTBEAT, heartbeat_json(rng)));
        out.push(with_selector(CONNECTIONS, connections_json(rng)));
    }
    out
}

/// Routes whose few bytes stand for millions of queues or entries, and JSON built to cost.
fn hostile(rng: &mut Rng) -> Vec<u8> {
    const QUEUE_NUMS: [&str; 5] = ["65536", "65535", "2147483647", "100000", "-1"];
    let master =
        |i: usize| format!("{{\"brokerAddrs\":{{\"0\":\"10.0.0.1:10911\"}},\"brokerName\":\"{}\"}}", broker_name(i));
    let body = match rng.u32(0..9) {
        0 => {
            // orderTopicConf: `name:65536` items, distinct or repeated names.
            let n = count(rng, 8, 128, 16);
            let same = rng.u32(0..4) == 0;
            let items: Vec<String> = (0..n)
                .map(|i| format!("{}:{}", if same { "b".into() } else { broker_name(i) }, QUEUE_NUMS[rng.usize(..5)]))
                .collect();
            format!("{{\"brokerDatas\":[],\"queueDatas\":[],\"orderTopicConf\":\"{}\"}}", items.join(";"))
        }
        1 => {
            // Writable queue groups with huge writeQueueNums, each with a master.
            let n = count(rng, 8, 128, 16);
            let brokers = repeat_joined(master, n, 1 << 20);
            let queues = repeat_joined(
                |i| {
                    format!(
                        "{{\"brokerName\":\"{}\",\"perm\":6,\"writeQueueNums\":{}}}",
                        broker_name(i),
                        QUEUE_NUMS[rng.usize(..5)]
                    )
                },
                n,
                1 << 20,
            );
            format!("{{\"brokerDatas\":[{brokers}],\"queueDatas\":[{queues}]}}")
        }
        2 => {
            // Very many (empty) entries: 3 bytes each on the wire, a struct each in memory.
            let n = count(rng, 5_000, 350_000, 8);
            let entries = repeat_joined(|_| "{}".to_string(), n, 1 << 20);
            match rng.u32(0..3) {
                0 => format!("{{\"brokerDatas\":[{entries}]}}"),
                1 => format!("{{\"queueDatas\":[{entries}]}}"),
                _ => format!("{{\"queueDatas\":[{entries}],\"brokerDatas\":[{entries}]}}"),
            }
        }
        3 => {
            // Many real-looking brokers and queue groups: each group looks up its broker.
            let n = count(rng, 500, 12_000, 8);
            let brokers = repeat_joined(master, n, 1 << 19);
            let queues = repeat_joined(
                |i| format!("{{\"brokerName\":\"{}\",\"perm\":6,\"writeQueueNums\":1}}", broker_name(n - i)),
                n,
                1 << 19,
            );
            format!("{{\"brokerDatas\":[{brokers}],\"queueDatas\":[{queues}]}}")
        }
        4 => {
            // One broker with very many addresses, in fastjson's legacy form.
            let n = count(rng, 1_000, 100_000, 8);
            let addrs = repeat_joined(|id| format!("{id}:\"a\""), n, 1 << 20);
            format!("{{\"brokerDatas\":[{{\"brokerAddrs\":{{{addrs}}},\"brokerName\":\"b\"}}],\"queueDatas\":[]}}")
        }
        5 => {
            // A long broker name, copied into every one of its queues.
            let len = count(rng, 256, 8_192, 16).max(1);
            let name = "n".repeat(len);
            if rng.bool() {
                format!("{{\"orderTopicConf\":\"{name}:65536\"}}")
            } else {
                format!(
                    "{{\"brokerDatas\":[{{\"brokerAddrs\":{{\"0\":\"a\"}},\"brokerName\":\"{name}\"}}],\
                     \"queueDatas\":[{{\"brokerName\":\"{name}\",\"perm\":6,\"writeQueueNums\":65536}}]}}"
                )
            }
        }
        6 => {
            // Deep nesting where unknown fields are skipped.
            let depth = count(rng, 1_000, 400_000, 8);
            format!("{{\"filterServerTable\":{}1{},\"queueDatas\":[]}}", "[".repeat(depth), "]".repeat(depth))
        }
        7 => {
            // Very many keys: unknown ones, or the same known one again and again.
            let n = count(rng, 2_000, 100_000, 8);
            let known = rng.bool();
            let keys = repeat_joined(
                |i| if known { "\"orderTopicConf\":\"b:1\"".to_string() } else { format!("\"k{i}\":{i}") },
                n,
                1 << 20,
            );
            format!("{{{keys}}}")
        }
        _ => {
            let n = count(rng, 5_000, 350_000, 8);
            let entries = repeat_joined(|_| "{}".to_string(), n, 1 << 20);
            return if rng.bool() {
                with_selector(HEARTBEAT, format!("{{\"clientID\":\"c\",\"producerDataSet\":[{entries}]}}"))
            } else {
                with_selector(CONNECTIONS, format!("{{\"connectionSet\":[{entries}]}}"))
            };
        }
    };
    with_selector(ROUTE, body)
}
