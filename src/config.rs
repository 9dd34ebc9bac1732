//! Client and producer settings, with the Java client's defaults.

use std::net::IpAddr;
use std::sync::OnceLock;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;
use crate::protocol::codes::response;
use crate::protocol::compression::CompressionType;
use crate::protocol::SerializeType;
use crate::remoting::signing::Credentials;
use crate::remoting::transport::TlsConfig;

mod builder;
mod load;
mod text;

pub use builder::ProducerConfigBuilder;
pub use load::ENV_PREFIX;
pub use text::{parse_duration, parse_size};

/// The Java client's default instance name; replaced by a per-process value (see
/// [`ClientConfig::effective_instance_name`]).
pub const DEFAULT_INSTANCE_NAME: &str = "DEFAULT";
/// Template topic a broker auto-creates new topics from.
pub const DEFAULT_TOPIC: &str = "TBW102";
/// Producer group names RocketMQ keeps for itself.
pub const RESERVED_GROUPS: [&str; 2] = ["DEFAULT_PRODUCER", "CLIENT_INNER_PRODUCER"];
/// Longest producer group name RocketMQ 5.x accepts.
pub const MAX_GROUP_LEN: usize = 120;
/// Java 5.x default bound of messages in flight per producer (async back-pressure).
pub const DEFAULT_MAX_INFLIGHT_MESSAGES: usize = 1024;
/// Java 5.x default bound of body bytes in flight per producer: 100 MiB.
pub const DEFAULT_MAX_INFLIGHT_BYTES: usize = 100 * 1024 * 1024;

/// Settings shared by every producer of one client instance (one clientId).
///
/// ```
/// use actix_rocketmq::ClientConfig;
/// let cfg = ClientConfig::new("127.0.0.1:9876");
/// assert_eq!(cfg.namesrv_addr.as_deref(), Some("127.0.0.1:9876"));
/// assert_eq!(cfg.poll_name_server_interval.as_secs(), 30);
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClientConfig {
    /// Name servers, `host:port;host:port`. Default: the `NAMESRV_ADDR` environment variable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namesrv_addr: Option<String>,
    /// HTTP endpoint answering with a name server list (`http://host:port/path`); used when
    /// `namesrv_addr` is empty, polled every `namesrv_endpoint_interval`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namesrv_endpoint: Option<String>,
    /// Address put into the clientId and message ids. Default: the first non-loopback IPv4.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_ip: Option<IpAddr>,
    /// `DEFAULT` becomes a per-process value, so producers of one process share an instance.
    pub instance_name: String,
    /// A unit name gives a separate client instance (e.g. to reach a second cluster).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit_name: Option<String>,
    /// Route refresh period (Java `pollNameServerInterval`).
    #[serde(with = "text::duration")]
    pub poll_name_server_interval: Duration,
    /// Heartbeat and offline-broker clean-up period (Java `heartbeatBrokerInterval`).
    #[serde(with = "text::duration")]
    pub heartbeat_broker_interval: Duration,
    /// Address endpoint refresh period.
    #[serde(with = "text::duration")]
    pub namesrv_endpoint_interval: Duration,
    /// Timeout of name server and heartbeat requests.
    #[serde(with = "text::duration")]
    pub request_timeout: Duration,
    /// TCP connect timeout (Java `connectTimeoutMillis`).
    #[serde(with = "text::duration")]
    pub connect_timeout: Duration,
    /// Extra arbiter threads for broker and name server connections (0: they share the client
    /// instance's arbiter). Default from `ACTIX_ROCKETMQ_IO_THREADS`, else 0.
    pub io_threads: usize,
    /// Header serialization of our requests (default ROCKETMQ binary). Replies are decoded in
    /// either form.
    pub serialize_type: SerializeType,
    /// ACL credentials: when set, every request of the instance is signed (Java
    /// `AclClientRPCHook`). `Debug` never shows the secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credentials: Option<Credentials>,
    /// TLS for every name server and broker connection (Java `useTLS`); `None`: plain TCP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsConfig>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            namesrv_addr: std::env::var("NAMESRV_ADDR").ok().filter(|s| !s.trim().is_empty()),
            namesrv_endpoint: None,
            client_ip: None,
            instance_name: DEFAULT_INSTANCE_NAME.to_string(),
            unit_name: None,
            poll_name_server_interval: Duration::from_secs(30),
            heartbeat_broker_interval: Duration::from_secs(30),
            namesrv_endpoint_interval: Duration::from_secs(120),
            request_timeout: Duration::from_secs(3),
            connect_timeout: Duration::from_secs(3),
            io_threads: std::env::var("ACTIX_ROCKETMQ_IO_THREADS").ok().and_then(|v| v.parse().ok()).unwrap_or(0),
            // Binary headers cost a third of JSON to encode (BENCHMARKS.md); brokers read both.
            serialize_type: SerializeType::RocketMq,
            credentials: None,
            tls: None,
        }
    }
}

impl ClientConfig {
    /// Defaults with the given name server list.
    pub fn new(namesrv_addr: impl Into<String>) -> Self {
        ClientConfig { namesrv_addr: Some(namesrv_addr.into()), ..Default::default() }
    }

    /// The instance name after the `DEFAULT` substitution.
    ///
    /// Java 5.x turns `DEFAULT` into `pid#nanoTime` per producer, which gives every producer its
    /// own connections; we keep one value per process so that producers share an instance
    /// (ARCHITECTURE.md, Start flow, step 3), while still differing between processes that reuse
    /// a pid.
    pub fn effective_instance_name(&self) -> String {
        if self.instance_name == DEFAULT_INSTANCE_NAME {
            process_instance_name().to_string()
        } else {
            self.instance_name.clone()
        }
    }

    /// The client IP: configured, or detected once per process.
    pub fn effective_client_ip(&self) -> IpAddr {
        self.client_ip.unwrap_or_else(local_ip)
    }

    /// `ip@instanceName[@unitName]`, the key of the client instance registry.
    ///
    /// ```
    /// use actix_rocketmq::ClientConfig;
    /// let mut cfg = ClientConfig::new("127.0.0.1:9876");
    /// cfg.client_ip = Some("10.0.0.1".parse().unwrap());
    /// cfg.instance_name = "orders".into();
    /// cfg.unit_name = Some("east".into());
    /// assert_eq!(cfg.client_id(), "10.0.0.1@orders@east");
    /// ```
    pub fn client_id(&self) -> String {
        let mut id = format!("{}@{}", self.effective_client_ip(), self.effective_instance_name());
        if let Some(unit) = self.unit_name.as_deref().filter(|u| !u.is_empty()) {
            id.push('@');
            id.push_str(unit);
        }
        id
    }

    /// The address endpoint, when it is the source of name servers (no list configured).
    pub fn endpoint_in_use(&self) -> Option<&str> {
        let no_list = self.namesrv_addr.as_deref().map_or(true, |a| a.trim().is_empty());
        self.namesrv_endpoint.as_deref().filter(|_| no_list)
    }

    /// Parsed name server list (empty when only an endpoint is configured).
    pub fn namesrv_list(&self) -> Result<Vec<String>, ConfigError> {
        match self.namesrv_addr.as_deref() {
            Some(list) if !list.trim().is_empty() => parse_namesrv_list(list),
            _ if self.namesrv_endpoint.is_some() => Ok(Vec::new()),
            _ => Err(ConfigError::NoNameServer),
        }
    }

    /// Checks everything that can be checked without the network.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.namesrv_list()?;
        if let Some(url) = &self.namesrv_endpoint {
            crate::remoting::http::parse_http_url(url)?;
        }
        if let Some(c) = &self.credentials {
            if c.access_key.trim().is_empty() {
                return Err(ConfigError::Invalid { name: "credentials", reason: "the access key (user name) is blank".into() });
            }
            if c.secret_key.expose().is_empty() {
                return Err(ConfigError::Invalid { name: "credentials", reason: "the secret key is empty".into() });
            }
        }
        // (name, value, whether zero is refused)
        for (name, d, positive) in [
            ("poll_name_server_interval", self.poll_name_server_interval, true),
            ("heartbeat_broker_interval", self.heartbeat_broker_interval, true),
            ("namesrv_endpoint_interval", self.namesrv_endpoint_interval, false),
            ("request_timeout", self.request_timeout, true),
            ("connect_timeout", self.connect_timeout, true),
        ] {
            if positive && d.is_zero() {
                return Err(ConfigError::Invalid { name, reason: "must be > 0".into() });
            }
            check_not_huge(name, d)?;
        }
        Ok(())
    }
}

/// Splits `host:port;host:port`, checking each part has a host and a numeric port.
pub fn parse_namesrv_list(list: &str) -> Result<Vec<String>, ConfigError> {
    let mut out = Vec::new();
    for part in list.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let ok = part
            .rsplit_once(':')
            .map(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok())
            .unwrap_or(false);
        if !ok {
            return Err(ConfigError::BadNameServerAddr(list.to_string()));
        }
        out.push(part.to_string());
    }
    if out.is_empty() {
        return Err(ConfigError::BadNameServerAddr(list.to_string()));
    }
    Ok(out)
}

/// Settings of one producer (one producer group).
///
/// ```
/// use actix_rocketmq::ProducerConfig;
/// let cfg = ProducerConfig::new("order_producers", "127.0.0.1:9876");
/// assert_eq!(cfg.send_msg_timeout.as_millis(), 3000);
/// assert_eq!(cfg.retry_times_when_send_failed, 2);
/// assert!(cfg.validate().is_ok());
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProducerConfig {
    /// Producer group: `[%|a-zA-Z0-9_-]`, at most 120 characters.
    pub group: String,
    /// Settings of the client instance this producer joins.
    pub client: ClientConfig,
    /// Total budget of one send, all retries included.
    #[serde(with = "text::duration")]
    pub send_msg_timeout: Duration,
    /// Extra attempts of a sync send (so `1 + n` attempts at most).
    pub retry_times_when_send_failed: u32,
    /// Extra attempts of an async send.
    pub retry_times_when_send_async_failed: u32,
    /// Bodies of at least this many bytes are compressed.
    #[serde(with = "text::size")]
    pub compress_msg_body_over_howmuch: usize,
    /// zlib level (0-9).
    pub compress_level: u32,
    /// Largest body accepted, checked before compression.
    #[serde(with = "text::size")]
    pub max_message_size: usize,
    /// Template topic used to auto-create unknown topics.
    pub create_topic_key: String,
    /// Queue count asked for an auto-created topic.
    pub default_topic_queue_nums: i32,
    /// Retry on another broker when the store status is not SEND_OK.
    pub retry_another_broker_when_not_store_ok: bool,
    /// Broker response codes that trigger a retry.
    pub retry_response_codes: Vec<i32>,
    /// Compression of single-message bodies (batches are never compressed).
    pub compress_type: CompressionType,
    /// 5.x latency fault tolerance: avoid brokers that were slow or failed recently.
    pub send_latency_fault_enable: bool,
    /// Most messages in flight before sends wait for room (back-pressure). A batch counts each
    /// of its messages (a batch larger than this goes when nothing else is in flight).
    pub max_inflight_messages: usize,
    /// Most body bytes in flight before sends wait for room.
    #[serde(with = "text::size")]
    pub max_inflight_bytes: usize,
    /// Namespace: topics and the group go on the wire as `namespace%name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// How long `Shutdown` waits for admitted sends to end before ending them with a timeout
    /// (`None`: `send_msg_timeout`).
    #[serde(with = "text::opt_duration", skip_serializing_if = "Option::is_none")]
    pub drain_timeout: Option<Duration>,
    /// How long a transactional send waits for the application's local transaction
    /// ([`ExecuteLocalTransaction`](crate::ExecuteLocalTransaction)) before it reports
    /// `Unknown` and leaves the decision to the broker's check-back.
    #[serde(with = "text::duration")]
    pub local_transaction_timeout: Duration,
    /// How long a broker's transaction check waits for the application's checker
    /// ([`CheckLocalTransaction`](crate::CheckLocalTransaction)) before it is answered
    /// `Unknown` (the broker asks again). Java sends its answer with a 3 s timeout.
    #[serde(with = "text::duration")]
    pub transaction_check_timeout: Duration,
    /// Message trace (Java `enableMsgTrace`): a Pub record per send and an EndTransaction
    /// record per transaction, sent in batches to `trace_topic` by an internal producer.
    pub enable_msg_trace: bool,
    /// The trace topic (`None`: `RMQ_SYS_TRACE_TOPIC`, which a broker with
    /// `traceTopicEnable=true` creates).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_topic: Option<String>,
    /// Topics this producer is configured to send to. [`ProducerConfig::validate`] checks each
    /// against the topic rules, so a bad name in a configuration file fails `Start` (a typed
    /// [`ConfigError::BadTopic`]) instead of every send; the producer also looks their routes
    /// up as it starts, so the first sends do not wait for the name server.
    pub topics: Vec<String>,
    /// Record metrics through the [`metrics`] facade (see [`crate::producer::metrics`]). With
    /// no recorder installed the calls go nowhere; `false` skips them altogether.
    pub enable_metrics: bool,
    /// Auto-batching (Java 5.x `autoBatch`): single sync and async sends to one topic (or one
    /// given queue) are gathered and sent as one SEND_BATCH_MESSAGE; every caller still gets its
    /// own result or error. Off by default. See [`crate::producer::accumulate`].
    pub auto_batch: bool,
    /// How long a batch gathers after its first message before it is sent (Java
    /// `batchMaxDelayMs`; its accumulator's default, 10 ms).
    #[serde(with = "text::duration")]
    pub batch_max_delay: Duration,
    /// A batch is sent once the bodies of its messages pass this size (Java `batchMaxBytes`,
    /// which counts bodies only, not properties or the batch's encoding; default 32 KiB).
    #[serde(with = "text::size")]
    pub batch_max_bytes: usize,
    /// Most body bytes held in batches, gathering or on their way; beyond it a message is sent
    /// alone (Java `totalBatchMaxBytes`; default 32 MiB).
    #[serde(with = "text::size")]
    pub total_batch_max_bytes: usize,
}

impl ProducerConfig {
    /// Defaults for `group`, talking to `namesrv_addr`.
    pub fn new(group: impl Into<String>, namesrv_addr: impl Into<String>) -> Self {
        ProducerConfig { group: group.into(), client: ClientConfig::new(namesrv_addr), ..Default::default() }
    }

    /// The group as the brokers see it (namespace-prefixed).
    pub fn wire_group(&self) -> String {
        crate::namespace::wrap(self.namespace.as_deref(), &self.group)
    }

    /// Checks the group and the client settings (Java `checkConfig`).
    pub fn validate(&self) -> Result<(), ConfigError> {
        validate_group(&self.group)?;
        validate_group(&self.wire_group())?;
        self.client.validate()?;
        if self.compress_level > 9 {
            return Err(ConfigError::Invalid { name: "compress_level", reason: "must be 0..=9".into() });
        }
        if self.send_msg_timeout.is_zero() {
            return Err(ConfigError::Invalid { name: "send_msg_timeout", reason: "must be > 0".into() });
        }
        for (name, d) in [
            ("send_msg_timeout", self.send_msg_timeout),
            ("drain_timeout", self.drain_timeout.unwrap_or_default()),
            ("local_transaction_timeout", self.local_transaction_timeout),
            ("transaction_check_timeout", self.transaction_check_timeout),
        ] {
            check_not_huge(name, d)?;
        }
        if self.max_inflight_messages == 0 || self.max_inflight_bytes == 0 {
            return Err(ConfigError::Invalid { name: "max_inflight_*", reason: "must be > 0".into() });
        }
        if self.max_message_size == 0 {
            return Err(ConfigError::Invalid { name: "max_message_size", reason: "must be > 0".into() });
        }
        if self.batch_max_bytes == 0 || self.batch_max_bytes > self.max_message_size {
            return Err(ConfigError::Invalid { name: "batch_max_bytes", reason: "must be > 0 and at most max_message_size".into() });
        }
        if self.total_batch_max_bytes < self.batch_max_bytes {
            return Err(ConfigError::Invalid { name: "total_batch_max_bytes", reason: "must be at least batch_max_bytes".into() });
        }
        check_not_huge("batch_max_delay", self.batch_max_delay)?;
        for topic in &self.topics {
            crate::producer::validate::check_topic(topic)
                .and_then(|()| crate::producer::validate::check_topic(&crate::namespace::wrap(self.namespace.as_deref(), topic)))
                .map_err(|source| ConfigError::BadTopic { topic: topic.clone(), source })?;
        }
        Ok(())
    }
}

impl Default for ProducerConfig {
    fn default() -> Self {
        ProducerConfig {
            group: String::new(),
            client: ClientConfig::default(),
            send_msg_timeout: Duration::from_millis(3000),
            retry_times_when_send_failed: 2,
            retry_times_when_send_async_failed: 2,
            compress_msg_body_over_howmuch: 4 * 1024,
            compress_level: 5,
            max_message_size: 4 * 1024 * 1024,
            create_topic_key: DEFAULT_TOPIC.to_string(),
            default_topic_queue_nums: 4,
            retry_another_broker_when_not_store_ok: false,
            // The 5.3.x Java list: {17, 14, 1, 2, 16, 204, 205, 1500}.
            retry_response_codes: vec![
                response::TOPIC_NOT_EXIST,
                response::SERVICE_NOT_AVAILABLE,
                response::SYSTEM_ERROR,
                response::SYSTEM_BUSY,
                response::NO_PERMISSION,
                response::NO_BUYER_ID,
                response::NOT_IN_CURRENT_UNIT,
                response::GO_AWAY,
            ],
            compress_type: CompressionType::Zlib,
            send_latency_fault_enable: false,
            max_inflight_messages: DEFAULT_MAX_INFLIGHT_MESSAGES,
            max_inflight_bytes: DEFAULT_MAX_INFLIGHT_BYTES,
            namespace: None,
            drain_timeout: None,
            local_transaction_timeout: Duration::from_secs(30),
            transaction_check_timeout: Duration::from_secs(3),
            enable_msg_trace: false,
            trace_topic: None,
            topics: Vec::new(),
            enable_metrics: true,
            auto_batch: false,
            batch_max_delay: Duration::from_millis(10),
            batch_max_bytes: 32 * 1024,
            total_batch_max_bytes: 32 * 1024 * 1024,
        }
    }
}

/// The longest duration a setting may have: deadlines are `Instant + duration`, which must not
/// overflow, and a setting of years is a mistake (e.g. a unit typed wrong in a file).
pub const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 3600);

fn check_not_huge(name: &'static str, d: Duration) -> Result<(), ConfigError> {
    if d > MAX_DURATION {
        return Err(ConfigError::Invalid { name, reason: format!("{d:?} is longer than a year") });
    }
    Ok(())
}

/// Producer group rules of the 5.x client.
pub fn validate_group(group: &str) -> Result<(), ConfigError> {
    if group.trim().is_empty() {
        return Err(ConfigError::BlankGroup);
    }
    if group.chars().count() > MAX_GROUP_LEN {
        return Err(ConfigError::GroupTooLong { len: group.chars().count(), max: MAX_GROUP_LEN });
    }
    if !group.chars().all(is_name_char) {
        return Err(ConfigError::GroupIllegalChars(group.to_string()));
    }
    if RESERVED_GROUPS.contains(&group) {
        return Err(ConfigError::ReservedGroup(group.to_string()));
    }
    Ok(())
}

/// The character set RocketMQ allows in topic and group names.
pub(crate) fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '%' | '|' | '_' | '-')
}

fn process_instance_name() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        format!("{}#{}", std::process::id(), nanos)
    })
}

/// First non-loopback, non-link-local IPv4 of this host, else 127.0.0.1 (a simplified
/// `UtilAll.getIP`). Computed once: it is a fact about the host, not runtime state.
pub fn local_ip() -> IpAddr {
    static IP: OnceLock<IpAddr> = OnceLock::new();
    *IP.get_or_init(|| {
        let addrs = if_addrs::get_if_addrs().unwrap_or_default();
        addrs
            .iter()
            .map(|i| i.ip())
            .find(|ip| match ip {
                IpAddr::V4(v4) => !v4.is_loopback() && !v4.is_link_local() && !v4.is_unspecified(),
                IpAddr::V6(_) => false,
            })
            .unwrap_or(IpAddr::from([127, 0, 0, 1]))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_rules() {
        assert_eq!(validate_group(""), Err(ConfigError::BlankGroup));
        assert_eq!(validate_group("  "), Err(ConfigError::BlankGroup));
        assert!(matches!(validate_group("a b"), Err(ConfigError::GroupIllegalChars(_))));
        assert!(matches!(validate_group(&"g".repeat(121)), Err(ConfigError::GroupTooLong { .. })));
        assert!(validate_group(&"g".repeat(120)).is_ok());
        assert!(matches!(validate_group("DEFAULT_PRODUCER"), Err(ConfigError::ReservedGroup(_))));
        assert!(validate_group("%ns|grp_1-x").is_ok());
    }

    #[test]
    fn namesrv_list_parsing() {
        assert_eq!(parse_namesrv_list("a:1;b:2").unwrap(), vec!["a:1", "b:2"]);
        assert_eq!(parse_namesrv_list(" a:1 ; ").unwrap(), vec!["a:1"]);
        assert!(parse_namesrv_list("a").is_err());
        assert!(parse_namesrv_list("a:port").is_err());
        assert!(parse_namesrv_list(":9876").is_err());
        assert!(parse_namesrv_list(";").is_err());
        let mut c = ClientConfig::new("x");
        c.namesrv_addr = None;
        assert_eq!(c.namesrv_list(), Err(ConfigError::NoNameServer));
        c.namesrv_endpoint = Some("http://127.0.0.1:1/ns".into());
        assert_eq!(c.namesrv_list(), Ok(vec![]));
    }

    #[test]
    fn debug_output_never_shows_secrets() {
        let mut cfg = ProducerConfig::new("g", "127.0.0.1:9876");
        cfg.client.credentials = Some(Credentials::new("alice", "s3cr3t-value").with_security_token("t0ken-value"));
        let shown = format!("{cfg:?} {cfg:#?}");
        assert!(shown.contains("alice"));
        assert!(!shown.contains("s3cr3t-value") && !shown.contains("t0ken-value"), "{shown}");
        let mut blank = cfg.client.clone();
        blank.credentials = Some(Credentials::new(" ", "x"));
        assert!(matches!(blank.validate(), Err(ConfigError::Invalid { name: "credentials", .. })));
    }

    #[test]
    fn default_instance_name_is_stable_per_process() {
        let a = ClientConfig::new("h:1");
        let b = ClientConfig::new("h:1");
        assert_eq!(a.client_id(), b.client_id());
        assert!(a.effective_instance_name().starts_with(&format!("{}#", std::process::id())));
        let mut c = ClientConfig::new("h:1");
        c.unit_name = Some("u".into());
        assert_ne!(a.client_id(), c.client_id());
    }
}
