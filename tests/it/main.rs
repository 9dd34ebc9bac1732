//! Integration tests: one binary, so the real broker starts once per `cargo test` run.

mod admin;
mod bad_input;
mod common;
mod fake;
mod faults;
mod fixture;
mod lifecycle;
mod retry;
mod send;
mod send_api;
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
