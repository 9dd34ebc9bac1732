//! The RocketMQ remoting protocol: frames, headers, message encodings and ids.
//!
//! Pure data transformations, no I/O. The project's notes on every byte, with the Apache
//! RocketMQ Java classes they come from, are in `docs/PROTOCOL.md`; comments cite its sections
//! by heading (e.g. "docs/PROTOCOL.md, Frames").

pub mod acl;
pub mod batch;
pub mod codes;
pub mod command;
pub mod compression;
mod error;
mod ext;
pub mod fields;
pub mod frame;
pub mod header;
pub mod heartbeat;
mod json_header;
pub mod limits;
pub mod message_id;
pub mod properties;
mod reader;
pub mod reply;
pub mod route;
pub mod stored;
pub mod sys_flag;
pub mod trace;
pub mod version;

pub use command::{LanguageCode, RemotingCommand, SerializeType};
pub use error::ProtocolError;
pub use ext::{ExtFields, Iter as ExtIter};
pub use frame::{decode_frame, encode_frame, EncodedRequest, DEFAULT_MAX_FRAME_LEN};
