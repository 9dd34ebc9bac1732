//! In-process fake peers for fault injection: they record what arrives and misbehave on purpose.
//! They never stand in for the real broker as proof of a feature.

use std::sync::{Arc, Mutex};

use actix_rocketmq::protocol::codes::response;
use actix_rocketmq::protocol::{decode_frame, encode_frame, RemotingCommand, SerializeType, DEFAULT_MAX_FRAME_LEN};
use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What a fake does with each request.
#[derive(Clone, Copy, Debug)]
pub enum Behaviour {
    /// Answer every request with this response code (no body).
    Answer(i32),
    /// Never answer.
    Silent,
    /// Close the connection on the first request.
    Hangup,
    /// Answer the first request with bytes that are not a frame.
    Garbage,
    /// Answer with a length field far beyond the frame limit.
    HugeLength,
    /// Accept the connection and never read from it (the peer's socket fills up).
    Stall,
    /// Answer with whatever the responder returns (`None`: stay silent).
    Script(Responder),
}

/// A scripted reply for one request.
pub type Responder = fn(&RemotingCommand) -> Option<RemotingCommand>;

/// A fake peer on 127.0.0.1 that records every request it receives.
pub struct FakePeer {
    pub addr: String,
    pub seen: Arc<Mutex<Vec<RemotingCommand>>>,
    pub accepted: Arc<Mutex<u32>>,
}

impl FakePeer {
    pub async fn start(behaviour: Behaviour) -> FakePeer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind fake");
        let addr = listener.local_addr().unwrap().to_string();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let accepted = Arc::new(Mutex::new(0));
        let (s, a) = (seen.clone(), accepted.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                *a.lock().unwrap() += 1;
                tokio::spawn(serve(stream, behaviour, s.clone()));
            }
        });
        FakePeer { addr, seen, accepted }
    }

    pub fn requests(&self) -> Vec<RemotingCommand> {
        self.seen.lock().unwrap().clone()
    }
}

async fn serve(mut stream: TcpStream, behaviour: Behaviour, seen: Arc<Mutex<Vec<RemotingCommand>>>) {
    if let Behaviour::Stall = behaviour {
        tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
        drop(stream);
        return;
    }
    let mut buf = BytesMut::new();
    loop {
        let cmd = loop {
            match decode_frame(&mut buf, DEFAULT_MAX_FRAME_LEN) {
                Ok(Some(cmd)) => break cmd,
                Ok(None) => {
                    if stream.read_buf(&mut buf).await.unwrap_or(0) == 0 {
                        return;
                    }
                }
                Err(_) => return,
            }
        };
        seen.lock().unwrap().push(cmd.clone());
        match behaviour {
            Behaviour::Answer(code) => {
                if cmd.is_oneway() {
                    continue;
                }
                let mut reply = RemotingCommand::response(code, cmd.opaque, Some("fake".into()));
                reply.mark_response();
                let mut out = BytesMut::new();
                encode_frame(&reply, SerializeType::Json, &mut out).unwrap();
                if stream.write_all(&out).await.is_err() {
                    return;
                }
            }
            Behaviour::Script(f) => {
                if let Some(mut reply) = f(&cmd) {
                    reply.opaque = cmd.opaque;
                    reply.mark_response();
                    let mut out = BytesMut::new();
                    encode_frame(&reply, SerializeType::Json, &mut out).unwrap();
                    if stream.write_all(&out).await.is_err() {
                        return;
                    }
                }
            }
            Behaviour::Silent | Behaviour::Stall => {}
            Behaviour::Hangup => return,
            Behaviour::Garbage => {
                let _ = stream.write_all(&[0, 0, 0, 12, 9, 9, 9, 9, 1, 2, 3, 4, 5, 6, 7, 8]).await;
            }
            Behaviour::HugeLength => {
                let _ = stream.write_all(&[0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0]).await;
            }
        }
    }
}

/// Leaves `code` in `RESPONSE`, for readability at call sites.
pub const TOPIC_NOT_EXIST: i32 = response::TOPIC_NOT_EXIST;
