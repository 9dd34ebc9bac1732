//! Integration tests: one binary, so the real broker starts once per `cargo test` run.

mod admin;
mod alloc;
mod auto_batch;
mod bad_input;
mod cluster;
mod config_file;
mod common;
mod compat;
mod dispatch;
mod drain;
mod fake;
mod fault_broker;
mod faults;
mod fixture;
mod idle;
mod lifecycle;
mod namesrv;
mod observability;
mod peer_requests;
mod retry;
mod secured;
mod send;
mod request_reply;
mod send_api;
mod trace;
mod web_service;
mod transaction;
mod versions;
#[test]
fn fixture_starts_a_broker() {
    use std::net::{TcpStream, ToSocketAddrs};
    use std::time::Duration;

    for addr in [fixture::namesrv_addr().to_owned(), fixture::broker_addr()] {
        let sock = addr
            .to_socket_addrs()
            .unwrap_or_else(|e| panic!("bad address {addr}: {e}"))
            .next()
            .unwrap_or_else(|| panic!("{addr} resolves to nothing"));
        TcpStream::connect_timeout(&sock, Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("cannot connect to {addr}: {e}"));
    }
}

#[test]
fn fault_broker_freezes_and_restarts() {
    use std::io::ErrorKind;
    use std::net::{SocketAddr, TcpStream};
    use std::time::Duration;

    let _lock = fixture::fault_broker_lock();
    let addr: SocketAddr = fixture::fault_broker_addr()
        .parse()
        .expect("fault broker address");
    let connect = || TcpStream::connect_timeout(&addr, Duration::from_secs(5));
    connect().unwrap_or_else(|e| panic!("cannot connect to the fault broker {addr}: {e}"));

    // Frozen, the kernel still completes TCP handshakes: check the process state instead.
    let frozen = fixture::freeze_fault_broker();
    let pid = frozen.pid();
    assert_eq!(
        fixture::process_state(pid),
        Some('T'),
        "broker pid {pid} not stopped"
    );
    drop(frozen);
    let state = fixture::process_state(pid);
    assert!(
        state.is_some() && state != Some('T'),
        "broker pid {pid} after thawing: state {state:?}"
    );

    fixture::stop_fault_broker();
    match connect() {
        Err(e) if e.kind() == ErrorKind::ConnectionRefused => {}
        other => panic!("stopped fault broker {addr}: want connection refused, got {other:?}"),
    }
    fixture::start_fault_broker();
    connect()
        .unwrap_or_else(|e| panic!("cannot connect to the restarted fault broker {addr}: {e}"));
    assert_ne!(fixture::fault_broker_pid(), pid, "a new broker process");
}
