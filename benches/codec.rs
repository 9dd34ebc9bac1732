//! Codec micro-benchmarks: the pure protocol work on the send path.
//!
//! ```text
//! cargo bench --bench codec                  # full run
//! cargo bench --bench codec -- --quick       # short run
//! cargo bench --bench codec -- frame/        # one group
//! ```
//!
//! Groups:
//! * `send_header/{encode,decode}/{json,rocketmq}`: a SEND_MESSAGE_V2 request frame (no body)
//!   through `encode_frame` into a reused buffer, and back through `decode_frame` +
//!   `decode_header::<SendMessageRequestHeaderV2>`;
//! * `send_response/decode/{json,rocketmq}`: what the client does with every broker reply;
//! * `properties/{encode,decode,find_uniq_key}`: the 0x01/0x02 property string;
//! * `route/parse/{standard,bare_keys}`: a TopicRouteData body (2 brokers, master + slave), as
//!   >= 4.9.4 name servers send it and with fastjson's bare integer keys;
//! * `frame/send_v2/{json,rocketmq}/{128B,1KiB}`: a whole SEND_MESSAGE_V2 frame build:
//!   typed header -> `RemotingCommand` -> `encode_frame` into a reused `BytesMut`;
//! * `sign/send_v2/{unsigned,signed}/{128B,1KiB,4KiB}`: the frame build of `frame/send_v2`
//!   (binary header) without and with `Signer::sign` (sort the ext fields, HmacSHA1 over their
//!   values and the body, base64, two more ext fields): the difference is what request signing
//!   adds per send on a cluster with authentication on.

use std::hint::black_box;

use actix_rocketmq::protocol::codes::{request, response};
use actix_rocketmq::protocol::header::{CommandHeader, SendMessageRequestHeaderV2, SendMessageResponseHeader};
use actix_rocketmq::protocol::properties::{decode_properties, encode_properties, find_property, names};
use actix_rocketmq::protocol::route::parse_route;
use actix_rocketmq::protocol::{decode_frame, encode_frame, RemotingCommand, SerializeType, DEFAULT_MAX_FRAME_LEN};
use actix_rocketmq::remoting::signing::Signer;
use actix_rocketmq::Credentials;
use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

const UNIQ_KEY: &str = "7F00000100017B5A1C2D3E4F00120001";
const SERIALIZATIONS: [(&str, SerializeType); 2] = [("json", SerializeType::Json), ("rocketmq", SerializeType::RocketMq)];

fn properties() -> String {
    let mut s = String::new();
    encode_properties(
        [
            (names::TAGS, "TagA"),
            (names::KEYS, "order-1 order-2"),
            (names::WAIT, "true"),
            (names::UNIQ_KEY, UNIQ_KEY),
        ],
        &mut s,
    );
    s
}

fn send_header() -> SendMessageRequestHeaderV2 {
    SendMessageRequestHeaderV2 {
        producer_group: "benchmark_producer".into(),
        topic: "BenchmarkTest".into(),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 4,
        queue_id: 3,
        sys_flag: 0,
        born_timestamp: 1_700_000_000_000,
        flag: 0,
        properties: properties(),
        reconsume_times: 0,
        unit_mode: false,
        max_reconsume_times: None,
        batch: false,
        broker_name: Some("broker-a".into()),
    }
}

fn send_request(body: Bytes) -> RemotingCommand {
    RemotingCommand::request(request::SEND_MESSAGE_V2).with_header(&send_header()).with_body(body).with_opaque(12345)
}

fn send_response() -> RemotingCommand {
    let header = SendMessageResponseHeader {
        msg_id: "7F00000100006F8F0000000000A1B2C3".into(),
        queue_id: 3,
        queue_offset: 123_456,
        transaction_id: Some(UNIQ_KEY.into()),
        batch_uniq_id: None,
        region_id: Some("DefaultRegion".into()),
        trace_on: true,
    };
    let mut cmd = RemotingCommand::response(response::SUCCESS, 12345, None);
    header.write_ext(&mut cmd.ext_fields);
    cmd
}

fn frame_bytes(cmd: &RemotingCommand, ser: SerializeType) -> Vec<u8> {
    let mut buf = BytesMut::new();
    encode_frame(cmd, ser, &mut buf).expect("encode");
    buf.to_vec()
}

fn bench_send_header(c: &mut Criterion) {
    let cmd = send_request(Bytes::new());
    let mut g = c.benchmark_group("send_header");
    for (name, ser) in SERIALIZATIONS {
        let mut buf = BytesMut::with_capacity(4096);
        g.bench_function(BenchmarkId::new("encode", name), |b| {
            b.iter(|| {
                buf.clear();
                encode_frame(black_box(&cmd), ser, &mut buf).unwrap();
                black_box(buf.len())
            })
        });
    }
    for (name, ser) in SERIALIZATIONS {
        let frame = frame_bytes(&cmd, ser);
        let mut buf = BytesMut::with_capacity(4096);
        g.bench_function(BenchmarkId::new("decode", name), |b| {
            b.iter(|| {
                buf.extend_from_slice(black_box(&frame));
                let cmd = decode_frame(&mut buf, DEFAULT_MAX_FRAME_LEN).unwrap().unwrap();
                black_box(cmd.decode_header::<SendMessageRequestHeaderV2>().unwrap())
            })
        });
    }
    g.finish();

    let reply = send_response();
    let mut g = c.benchmark_group("send_response");
    for (name, ser) in SERIALIZATIONS {
        let frame = frame_bytes(&reply, ser);
        let mut buf = BytesMut::with_capacity(4096);
        g.bench_function(BenchmarkId::new("decode", name), |b| {
            b.iter(|| {
                buf.extend_from_slice(black_box(&frame));
                let cmd = decode_frame(&mut buf, DEFAULT_MAX_FRAME_LEN).unwrap().unwrap();
                black_box(cmd.decode_header::<SendMessageResponseHeader>().unwrap())
            })
        });
    }
    g.finish();
}

fn bench_properties(c: &mut Criterion) {
    let mut g = c.benchmark_group("properties");
    let encoded = properties();
    let mut s = String::with_capacity(256);
    g.bench_function("encode", |b| {
        b.iter(|| {
            s.clear();
            encode_properties(
                black_box([
                    (names::TAGS, "TagA"),
                    (names::KEYS, "order-1 order-2"),
                    (names::WAIT, "true"),
                    (names::UNIQ_KEY, UNIQ_KEY),
                ]),
                &mut s,
            );
            black_box(s.len())
        })
    });
    g.bench_function("decode", |b| b.iter(|| black_box(decode_properties(black_box(&encoded)))));
    g.bench_function("find_uniq_key", |b| b.iter(|| black_box(find_property(black_box(&encoded), names::UNIQ_KEY))));
    g.finish();
}

const ROUTE_STANDARD: &str = r#"{"brokerDatas":[{"brokerAddrs":{"0":"127.0.0.1:10911","1":"127.0.0.1:10921"},"brokerName":"broker-a","cluster":"DefaultCluster","enableActingMaster":false},{"brokerAddrs":{"0":"127.0.0.1:10931","1":"127.0.0.1:10941"},"brokerName":"broker-b","cluster":"DefaultCluster","enableActingMaster":false}],"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":8,"topicSysFlag":0,"writeQueueNums":8},{"brokerName":"broker-b","perm":6,"readQueueNums":8,"topicSysFlag":0,"writeQueueNums":8}]}"#;

fn bench_route(c: &mut Criterion) {
    let standard = ROUTE_STANDARD.as_bytes().to_vec();
    let bare = ROUTE_STANDARD
        .replace(r#"{"0":"#, "{0:")
        .replace(r#","1":"#, ",1:")
        .into_bytes();
    // Both forms must parse to the same route, or the comparison is meaningless.
    assert_eq!(parse_route(&standard).unwrap(), parse_route(&bare).unwrap());
    assert!(serde_json::from_slice::<serde_json::Value>(&bare).is_err(), "bare-key body should not be strict JSON");
    let mut g = c.benchmark_group("route/parse");
    g.bench_function("standard", |b| b.iter(|| black_box(parse_route(black_box(&standard)).unwrap())));
    g.bench_function("bare_keys", |b| b.iter(|| black_box(parse_route(black_box(&bare)).unwrap())));
    g.finish();
}

fn bench_frame(c: &mut Criterion) {
    let header = send_header();
    let mut g = c.benchmark_group("frame/send_v2");
    for (size_name, size) in [("128B", 128usize), ("1KiB", 1024)] {
        let body = Bytes::from(vec![b'x'; size]);
        for (ser_name, ser) in SERIALIZATIONS {
            let mut buf = BytesMut::with_capacity(8192);
            g.throughput(Throughput::Elements(1));
            g.bench_function(BenchmarkId::new(ser_name, size_name), |b| {
                b.iter(|| {
                    // What the producer does per attempt: fill a typed header (owned strings),
                    // turn it into a command, frame it.
                    let h = header.clone();
                    let cmd = RemotingCommand::request(request::SEND_MESSAGE_V2)
                        .with_header(black_box(&h))
                        .with_body(body.clone())
                        .with_opaque(7);
                    buf.clear();
                    encode_frame(&cmd, ser, &mut buf).unwrap();
                    black_box(buf.len())
                })
            });
        }
    }
    g.finish();
}

fn bench_sign(c: &mut Criterion) {
    let header = send_header();
    let signer = Signer::new(Credentials::new("alice", "alice-secret-1"));
    let mut g = c.benchmark_group("sign/send_v2");
    for (size_name, size) in [("128B", 128usize), ("1KiB", 1024), ("4KiB", 4096)] {
        let body = Bytes::from(vec![b'x'; size]);
        let mut buf = BytesMut::with_capacity(16384);
        g.throughput(Throughput::Elements(1));
        for signed in [false, true] {
            let name = if signed { "signed" } else { "unsigned" };
            g.bench_function(BenchmarkId::new(name, size_name), |b| {
                b.iter(|| {
                    // The frame build of `frame/send_v2/rocketmq`, with or without the signature:
                    // the difference is what signing costs a send.
                    let mut cmd = RemotingCommand::request(request::SEND_MESSAGE_V2)
                        .with_header(black_box(&header.clone()))
                        .with_body(body.clone())
                        .with_opaque(7);
                    if signed {
                        signer.sign(&mut cmd);
                    }
                    buf.clear();
                    encode_frame(&cmd, SerializeType::RocketMq, &mut buf).unwrap();
                    black_box(buf.len())
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench_send_header, bench_properties, bench_route, bench_frame, bench_sign);
criterion_main!(benches);
