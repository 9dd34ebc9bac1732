//! `tokio_util` codec over the pure frame functions of [`crate::protocol::frame`].

use bytes::BytesMut;
use tokio_util::codec::Decoder;

use crate::error::RemotingError;
use crate::protocol::{decode_frame, RemotingCommand};

/// Decodes inbound frames (either header serialization) for one connection.
///
/// Encoding is done by [`crate::protocol::encode_frame`] directly in the connection, so that an
/// unencodable request fails alone instead of poisoning the socket.
#[derive(Debug, Clone)]
pub struct FrameDecoder {
    addr: String,
    max_frame_len: usize,
}

impl FrameDecoder {
    /// A decoder that refuses frames longer than `max_frame_len` before buffering them.
    pub fn new(addr: impl Into<String>, max_frame_len: usize) -> Self {
        FrameDecoder { addr: addr.into(), max_frame_len }
    }
}

impl Decoder for FrameDecoder {
    type Item = RemotingCommand;
    type Error = RemotingError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<RemotingCommand>, RemotingError> {
        decode_frame(src, self.max_frame_len)
            .map_err(|source| RemotingError::Protocol { addr: self.addr.clone(), source })
    }
}
