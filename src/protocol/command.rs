//! The remoting command: one request or response, independent of its wire serialization
//! (Java `RemotingCommand`; docs/PROTOCOL.md, sections Headers and "Flags and opaque").

use super::ExtFields;

use bytes::Bytes;

use super::codes::VERSION_5_3_3;
use super::header::CommandHeader;
use super::ProtocolError;

/// Flag bit 0: set on responses (Java `RemotingCommand.markResponseType`).
const RESPONSE_FLAG: i32 = 0x1;
/// Flag bit 1: set on one-way requests (the peer sends no reply, not even an error; Java
/// `RemotingCommand.markOnewayRPC`).
const ONEWAY_FLAG: i32 = 0x2;

/// The sender's implementation language (`LanguageCode.java`).
///
/// ```
/// use actix_rocketmq::protocol::LanguageCode;
///
/// assert_eq!(LanguageCode::Rust.name(), "RUST");
/// assert_eq!(LanguageCode::from_name("JAVA"), Some(LanguageCode::Java));
/// // Codes this crate does not know decode as `Other` instead of failing the frame.
/// assert_eq!(LanguageCode::from_u8(200), LanguageCode::Other);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum LanguageCode {
    /// `LanguageCode.JAVA`: the Java client, and every Java broker and name server.
    Java = 0,
    /// `LanguageCode.CPP`: the C++ client.
    Cpp = 1,
    /// `LanguageCode.DOTNET`: the .NET client.
    Dotnet = 2,
    /// `LanguageCode.PYTHON`: the Python client.
    Python = 3,
    /// `LanguageCode.DELPHI`: Delphi.
    Delphi = 4,
    /// `LanguageCode.ERLANG`: Erlang.
    Erlang = 5,
    /// `LanguageCode.RUBY`: Ruby.
    Ruby = 6,
    /// `LanguageCode.OTHER`: any other language; also what unknown codes decode to here.
    Other = 7,
    /// `LanguageCode.HTTP`: HTTP clients.
    Http = 8,
    /// `LanguageCode.GO`: the Go client (rocketmq-client-go).
    Go = 9,
    /// `LanguageCode.PHP`: PHP.
    Php = 10,
    /// `LanguageCode.OMS`: the OpenMessaging (OMS) API.
    Oms = 11,
    /// Known to Java peers from 4.9.4 on.
    Rust = 12,
    /// Known to Java peers from 5.3.2 on.
    NodeJs = 13,
}

impl LanguageCode {
    /// The Java enum name, as written in JSON headers.
    pub fn name(self) -> &'static str {
        match self {
            LanguageCode::Java => "JAVA",
            LanguageCode::Cpp => "CPP",
            LanguageCode::Dotnet => "DOTNET",
            LanguageCode::Python => "PYTHON",
            LanguageCode::Delphi => "DELPHI",
            LanguageCode::Erlang => "ERLANG",
            LanguageCode::Ruby => "RUBY",
            LanguageCode::Other => "OTHER",
            LanguageCode::Http => "HTTP",
            LanguageCode::Go => "GO",
            LanguageCode::Php => "PHP",
            LanguageCode::Oms => "OMS",
            LanguageCode::Rust => "RUST",
            LanguageCode::NodeJs => "NODE_JS",
        }
    }

    /// Parses a Java enum name (exact, upper case). `None` for unknown names.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "JAVA" => LanguageCode::Java,
            "CPP" => LanguageCode::Cpp,
            "DOTNET" => LanguageCode::Dotnet,
            "PYTHON" => LanguageCode::Python,
            "DELPHI" => LanguageCode::Delphi,
            "ERLANG" => LanguageCode::Erlang,
            "RUBY" => LanguageCode::Ruby,
            "OTHER" => LanguageCode::Other,
            "HTTP" => LanguageCode::Http,
            "GO" => LanguageCode::Go,
            "PHP" => LanguageCode::Php,
            "OMS" => LanguageCode::Oms,
            "RUST" => LanguageCode::Rust,
            "NODE_JS" => LanguageCode::NodeJs,
            _ => return None,
        })
    }

    /// The wire byte of the binary header.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// Decodes the wire byte. Unknown values become [`LanguageCode::Other`]: the language is
    /// informational only, and a newer peer must not make us drop its frames.
    pub fn from_u8(code: u8) -> Self {
        match code {
            0 => LanguageCode::Java,
            1 => LanguageCode::Cpp,
            2 => LanguageCode::Dotnet,
            3 => LanguageCode::Python,
            4 => LanguageCode::Delphi,
            5 => LanguageCode::Erlang,
            6 => LanguageCode::Ruby,
            8 => LanguageCode::Http,
            9 => LanguageCode::Go,
            10 => LanguageCode::Php,
            11 => LanguageCode::Oms,
            12 => LanguageCode::Rust,
            13 => LanguageCode::NodeJs,
            _ => LanguageCode::Other,
        }
    }
}

/// How the header of a frame is serialized (top byte of the header marker).
///
/// ```
/// use actix_rocketmq::protocol::SerializeType;
///
/// assert_eq!(SerializeType::default(), SerializeType::Json);
/// assert_eq!(SerializeType::from_u8(1).unwrap(), SerializeType::RocketMq);
/// assert!(SerializeType::from_u8(2).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
#[repr(u8)]
pub enum SerializeType {
    /// fastjson-compatible JSON header: the Java default.
    #[default]
    Json = 0,
    /// The compact binary header (`RocketMQSerializable`).
    RocketMq = 1,
}

impl SerializeType {
    /// The wire value of the header marker's top byte.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// Decodes the header marker's top byte.
    pub fn from_u8(code: u8) -> Result<Self, ProtocolError> {
        match code {
            0 => Ok(SerializeType::Json),
            1 => Ok(SerializeType::RocketMq),
            other => Err(ProtocolError::UnknownSerializeType(other)),
        }
    }

    /// The Java enum name (`serializeTypeCurrentRPC` in JSON headers, and the value of the
    /// `ROCKETMQ_SERIALIZE_TYPE` setting).
    pub fn name(self) -> &'static str {
        match self {
            SerializeType::Json => "JSON",
            SerializeType::RocketMq => "ROCKETMQ",
        }
    }

    /// Parses `"JSON"` / `"ROCKETMQ"` (case-insensitive, like the Java setting).
    pub fn from_name(name: &str) -> Option<Self> {
        if name.eq_ignore_ascii_case("JSON") {
            Some(SerializeType::Json)
        } else if name.eq_ignore_ascii_case("ROCKETMQ") {
            Some(SerializeType::RocketMq)
        } else {
            None
        }
    }
}

/// One remoting request or response.
///
/// Typed headers are stored as the string map `ext_fields`, exactly like Java does; use
/// [`with_header`](Self::with_header) and [`decode_header`](Self::decode_header) to convert.
///
/// ```
/// use actix_rocketmq::protocol::codes::request;
/// use actix_rocketmq::protocol::header::GetRouteInfoRequestHeader;
/// use actix_rocketmq::protocol::RemotingCommand;
///
/// let header = GetRouteInfoRequestHeader { topic: "TopicTest".into(), accept_standard_json_only: true };
/// let cmd = RemotingCommand::request(request::GET_ROUTEINFO_BY_TOPIC).with_header(&header);
/// assert_eq!(cmd.ext("topic"), Some("TopicTest"));
/// assert!(!cmd.is_response());
///
/// let back: GetRouteInfoRequestHeader = cmd.decode_header().unwrap();
/// assert_eq!(back, header);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RemotingCommand {
    /// Request code, or response code on responses.
    pub code: i32,
    /// The sender's language (`language`): [`LanguageCode::Rust`] on everything this client sends.
    pub language: LanguageCode,
    /// The sender's `MQVersion` ordinal.
    pub version: i32,
    /// Request id; a response carries the opaque of its request.
    pub opaque: i32,
    /// Bit 0 = response, bit 1 = one-way.
    pub flag: i32,
    /// Free text; the error message on failed responses.
    pub remark: Option<String>,
    /// The "custom header": every typed header travels as this string map.
    pub ext_fields: ExtFields,
    /// Everything after the header; empty when the frame has no body.
    pub body: Bytes,
}

impl RemotingCommand {
    /// A new request from this client: language RUST, version 479, opaque 0 (the transport
    /// assigns it), no ext fields, no body.
    pub fn request(code: i32) -> Self {
        RemotingCommand {
            code,
            language: LanguageCode::Rust,
            version: VERSION_5_3_3,
            opaque: 0,
            flag: 0,
            remark: None,
            ext_fields: ExtFields::new(),
            body: Bytes::new(),
        }
    }

    /// A response to the request with id `opaque` (response flag set).
    pub fn response(code: i32, opaque: i32, remark: Option<String>) -> Self {
        RemotingCommand {
            code,
            language: LanguageCode::Rust,
            version: VERSION_5_3_3,
            opaque,
            flag: RESPONSE_FLAG,
            remark,
            ext_fields: ExtFields::new(),
            body: Bytes::new(),
        }
    }

    /// Adds the fields of a typed header to `ext_fields` (existing keys are overwritten).
    pub fn with_header<H: CommandHeader>(mut self, header: &H) -> Self {
        header.write_ext(&mut self.ext_fields);
        self
    }

    /// Replaces the body.
    pub fn with_body(mut self, body: Bytes) -> Self {
        self.body = body;
        self
    }

    /// Sets the opaque (request id).
    pub fn with_opaque(mut self, opaque: i32) -> Self {
        self.opaque = opaque;
        self
    }

    /// Sets the remark.
    pub fn with_remark(mut self, remark: impl Into<String>) -> Self {
        self.remark = Some(remark.into());
        self
    }

    /// `true` for responses (flag bit 0). Check this before matching by opaque: the peer's own
    /// requests use the peer's opaque counter, which can collide with ours.
    pub fn is_response(&self) -> bool {
        self.flag & RESPONSE_FLAG != 0
    }

    /// `true` for one-way requests (flag bit 1): no reply must be sent.
    pub fn is_oneway(&self) -> bool {
        self.flag & ONEWAY_FLAG != 0
    }

    /// Marks this request as one-way.
    pub fn mark_oneway(&mut self) {
        self.flag |= ONEWAY_FLAG;
    }

    /// Marks this command as a response.
    pub fn mark_response(&mut self) {
        self.flag |= RESPONSE_FLAG;
    }

    /// One ext field, if present.
    pub fn ext(&self, key: &str) -> Option<&str> {
        self.ext_fields.get(key)
    }

    /// Decodes a typed header from `ext_fields`.
    pub fn decode_header<H: CommandHeader>(&self) -> Result<H, ProtocolError> {
        H::read_ext(&self.ext_fields)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [LanguageCode; 14] = [
        LanguageCode::Java,
        LanguageCode::Cpp,
        LanguageCode::Dotnet,
        LanguageCode::Python,
        LanguageCode::Delphi,
        LanguageCode::Erlang,
        LanguageCode::Ruby,
        LanguageCode::Other,
        LanguageCode::Http,
        LanguageCode::Go,
        LanguageCode::Php,
        LanguageCode::Oms,
        LanguageCode::Rust,
        LanguageCode::NodeJs,
    ];

    #[test]
    fn language_codes_match_java_table() {
        for (i, lang) in ALL.iter().enumerate() {
            assert_eq!(usize::from(lang.code()), i);
            assert_eq!(LanguageCode::from_u8(lang.code()), *lang);
            assert_eq!(LanguageCode::from_name(lang.name()), Some(*lang));
        }
        assert_eq!(LanguageCode::Rust.code(), 12);
        assert_eq!(LanguageCode::NodeJs.name(), "NODE_JS");
        assert_eq!(LanguageCode::from_u8(14), LanguageCode::Other);
        assert_eq!(LanguageCode::from_u8(255), LanguageCode::Other);
        assert_eq!(LanguageCode::from_name("rust"), None);
    }

    #[test]
    fn serialize_type() {
        assert_eq!(SerializeType::from_u8(0), Ok(SerializeType::Json));
        assert_eq!(
            SerializeType::from_u8(7),
            Err(ProtocolError::UnknownSerializeType(7))
        );
        assert_eq!(
            SerializeType::from_name("rocketmq"),
            Some(SerializeType::RocketMq)
        );
        assert_eq!(SerializeType::from_name("xml"), None);
        assert_eq!(SerializeType::RocketMq.name(), "ROCKETMQ");
    }

    #[test]
    fn request_defaults_and_flags() {
        let mut cmd = RemotingCommand::request(105);
        assert_eq!(cmd.language, LanguageCode::Rust);
        assert_eq!(cmd.version, 479);
        assert_eq!((cmd.opaque, cmd.flag), (0, 0));
        assert!(cmd.ext_fields.is_empty() && cmd.body.is_empty() && cmd.remark.is_none());
        assert!(!cmd.is_response() && !cmd.is_oneway());
        cmd.mark_oneway();
        assert!(cmd.is_oneway() && !cmd.is_response());
        assert_eq!(cmd.flag, 2);
        cmd.mark_response();
        assert!(cmd.is_response());

        let resp = RemotingCommand::response(17, 42, Some("no route".into()));
        assert!(resp.is_response() && !resp.is_oneway());
        assert_eq!((resp.code, resp.opaque), (17, 42));
        assert_eq!(resp.remark.as_deref(), Some("no route"));
    }

    #[test]
    fn builders() {
        let cmd = RemotingCommand::request(34)
            .with_body(Bytes::from_static(b"{}"))
            .with_opaque(9)
            .with_remark("r");
        assert_eq!(cmd.body.as_ref(), b"{}");
        assert_eq!(cmd.opaque, 9);
        assert_eq!(cmd.remark.as_deref(), Some("r"));
        assert_eq!(cmd.ext("missing"), None);
    }
}
