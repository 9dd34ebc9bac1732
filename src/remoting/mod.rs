//! I/O: one [`Connection`] actor per remote address, owned by the [`RemotingClient`] actor.
//!
//! Depends only on [`crate::protocol`]; knows nothing of producers or routes.

pub mod client;
pub mod codec;
pub mod connection;
pub mod http;
mod output;
pub mod signing;
pub mod transport;

pub use client::{invoke, invoke_namesrv, RemotingClient};
pub use connection::{exchange, request, Connection, ConnectionEvent, ConnectionSettings, PeerRequest, Respond, Unanswered};
