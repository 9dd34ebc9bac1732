//! Connection failures end every pending request at once, with a typed error; the next request
//! to that address gets a fresh connection.

use std::time::{Duration, Instant};

use actix::prelude::*;
use actix_rocketmq::protocol::{ProtocolError, RemotingCommand, SerializeType, DEFAULT_MAX_FRAME_LEN};
use actix_rocketmq::remoting::client::GetConnection;
use actix_rocketmq::remoting::{request, Connection, ConnectionSettings, RemotingClient};
use actix_rocketmq::RemotingError;

use crate::fake::{Behaviour, FakePeer};

fn settings() -> ConnectionSettings {
    ConnectionSettings {
        serialize_type: SerializeType::Json,
        connect_timeout: Duration::from_secs(2),
        max_frame_len: DEFAULT_MAX_FRAME_LEN,
        io_threads: 0,
        ..Default::default()
    }
}

const LONG: Duration = Duration::from_secs(20);

fn ping() -> RemotingCommand {
    RemotingCommand::request(105)
}

#[actix_rt::test]
async fn hangup_fails_pending_requests_at_once() {
    let peer = FakePeer::start(Behaviour::Hangup).await;
    let conn = Connection::new(peer.addr.clone(), 1, settings(), None).start();
    let started = Instant::now();
    let sends = (0..5).map(|_| request(&conn, &peer.addr, ping(), LONG));
    for res in futures::future::join_all(sends).await {
        // A clean FIN reads as "closed", a reset as an i/o error: both name the address.
        match res {
            Err(RemotingError::ConnectionClosed { addr }) | Err(RemotingError::Io { addr, .. }) => {
                assert_eq!(addr, peer.addr)
            }
            other => panic!("expected a connection loss, got {other:?}"),
        }
    }
    // Failing "at once" means well before the 20 s request timeout.
    assert!(started.elapsed() < LONG / 2);
}

#[actix_rt::test]
async fn garbage_frame_is_a_protocol_error() {
    let peer = FakePeer::start(Behaviour::Garbage).await;
    let conn = Connection::new(peer.addr.clone(), 1, settings(), None).start();
    let res = request(&conn, &peer.addr, ping(), LONG).await;
    assert!(matches!(res, Err(RemotingError::Protocol { .. })), "{res:?}");
}

#[actix_rt::test]
async fn oversized_frame_is_refused_before_buffering() {
    let peer = FakePeer::start(Behaviour::HugeLength).await;
    let conn = Connection::new(peer.addr.clone(), 1, settings(), None).start();
    let res = request(&conn, &peer.addr, ping(), LONG).await;
    assert!(
        matches!(res, Err(RemotingError::Protocol { source: ProtocolError::FrameTooLarge { .. }, .. })),
        "{res:?}"
    );
}

#[actix_rt::test]
async fn silent_peer_times_out() {
    let peer = FakePeer::start(Behaviour::Silent).await;
    let conn = Connection::new(peer.addr.clone(), 1, settings(), None).start();
    let res = request(&conn, &peer.addr, ping(), Duration::from_millis(300)).await;
    assert!(matches!(res, Err(RemotingError::Timeout { .. })), "{res:?}");
}

#[actix_rt::test]
async fn refused_connect_is_typed() {
    // Bind then drop, so nothing listens on that port.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    let conn = Connection::new(addr.clone(), 1, settings(), None).start();
    let res = request(&conn, &addr, ping(), LONG).await;
    assert!(matches!(res, Err(RemotingError::Connect { .. })), "{res:?}");
}

#[actix_rt::test]
async fn pipelined_requests_get_their_own_replies_and_reconnect_after_close() {
    let peer = FakePeer::start(Behaviour::Answer(0)).await;
    let client = RemotingClient::new(settings(), vec![]).start();
    let conn = client.send(GetConnection(peer.addr.clone())).await.unwrap();
    let sends = (0..200).map(|i| {
        let mut cmd = ping();
        cmd.ext_fields.insert("n", i.to_string());
        request(&conn, &peer.addr, cmd, LONG)
    });
    let replies = futures::future::join_all(sends).await;
    assert!(replies.iter().all(|r| matches!(r, Ok(c) if c.code == 0)));
    let mut opaques: Vec<i32> = replies.into_iter().map(|r| r.unwrap().opaque).collect();
    opaques.sort();
    opaques.dedup();
    assert_eq!(opaques.len(), 200, "every request has its own opaque");

    conn.send(actix_rocketmq::remoting::connection::Close).await.unwrap();
    let again = client.send(GetConnection(peer.addr.clone())).await.unwrap();
    let res = request(&again, &peer.addr, ping(), LONG).await;
    assert!(matches!(res, Ok(ref c) if c.code == 0), "{res:?}");
    assert_eq!(*peer.accepted.lock().unwrap(), 2, "the second request opened a new connection");
}

#[actix_rt::test]
async fn one_way_sends_wait_for_a_stalled_socket() {
    use actix_rocketmq::remoting::connection::Oneway;
    let peer = FakePeer::start(Behaviour::Stall).await;
    let conn = Connection::new(peer.addr.clone(), 1, settings(), None).start();
    let body = bytes::Bytes::from(vec![7u8; 64 * 1024]);
    // 400 x 64 KiB = 25 MiB: far more than loopback socket buffers hold. Without back-pressure
    // every send would be accepted into an ever-growing buffer.
    let mut accepted = 0;
    for _ in 0..400 {
        let cmd = RemotingCommand::request(310).with_body(body.clone());
        match tokio::time::timeout(Duration::from_secs(2), conn.send(Oneway { cmd })).await {
            Ok(res) => {
                res.unwrap().unwrap();
                accepted += 1;
            }
            Err(_) => break,
        }
    }
    assert!(accepted < 400, "a peer that never reads must hold one-way senders back");
}

/// Waits until the peer has seen `n` requests, at most `within`.
async fn peer_sees(peer: &FakePeer, n: usize, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if peer.requests().len() >= n {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    peer.requests().len() >= n
}

/// Hands the connection one ping and returns its reply slot (the reply stays outstanding).
async fn hand_over(conn: &Addr<Connection>) -> actix_rocketmq::remoting::connection::ReplySlot {
    use actix_rocketmq::remoting::connection::Request;
    conn.send(Request { cmd: ping(), timeout: LONG }).await.unwrap().unwrap()
}

#[actix_rt::test]
async fn a_held_frame_goes_out_with_nothing_else_happening() {
    // Two unanswered requests make the connection busy, so the third frame is held back for a
    // pass of the ready tasks. Nothing else happens afterwards (no reply, no further request):
    // the frame must still reach the peer.
    let peer = FakePeer::start(Behaviour::Silent).await;
    let conn = Connection::new(peer.addr.clone(), 1, settings(), None).start();
    let mut slots = vec![hand_over(&conn).await, hand_over(&conn).await];
    assert!(peer_sees(&peer, 2, Duration::from_secs(5)).await);
    slots.push(hand_over(&conn).await);
    assert!(peer_sees(&peer, 3, Duration::from_secs(5)).await, "held frame never written: {}", peer.requests().len());
}

#[actix_rt::test]
async fn pipelined_requests_share_writes() {
    use actix_rocketmq::remoting::connection::GetWriteCounts;
    let peer = FakePeer::start(Behaviour::Silent).await;
    let conn = Connection::new(peer.addr.clone(), 1, settings(), None).start();
    // A send loop as applications write it: one request at a time, each awaited until the
    // connection has taken it, the replies still outstanding. It runs as a task of its own.
    let c = conn.clone();
    let mut slots = actix::spawn(async move {
        let mut slots = Vec::new();
        for _ in 0..200 {
            slots.push(hand_over(&c).await);
        }
        slots
    })
    .await
    .unwrap();
    assert!(peer_sees(&peer, 200, Duration::from_secs(10)).await);
    let counts = conn.send(GetWriteCounts).await.unwrap();
    assert_eq!(counts.frames, 200);
    // Frames queued while others are in flight go out together, several to a write.
    assert!(counts.writes * 4 <= counts.frames, "{counts:?}");
    slots.clear();
}

#[actix_rt::test]
async fn a_lone_request_is_written_at_once() {
    use actix_rocketmq::remoting::connection::GetWriteCounts;
    // Request, reply, next request: the connection never has two requests in flight, so no
    // frame waits for anything and each goes out in its own write.
    let peer = FakePeer::start(Behaviour::Answer(0)).await;
    let conn = Connection::new(peer.addr.clone(), 1, settings(), None).start();
    for _ in 0..20 {
        request(&conn, &peer.addr, ping(), LONG).await.unwrap();
    }
    let counts = conn.send(GetWriteCounts).await.unwrap();
    assert_eq!((counts.frames, counts.writes), (20, 20));
}
