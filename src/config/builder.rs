//! A builder for [`ProducerConfig`]: one chain of named settings, checked once by `build`.

use std::net::IpAddr;
use std::time::Duration;

use super::{ClientConfig, ProducerConfig};
use crate::error::ConfigError;
use crate::protocol::compression::CompressionType;
use crate::protocol::SerializeType;
use crate::remoting::signing::Credentials;
use crate::remoting::transport::TlsConfig;

/// Builds a [`ProducerConfig`], starting from the Java defaults; [`build`](Self::build) runs
/// [`ProducerConfig::validate`]. Every setter is named after the field it sets; client settings
/// (name servers, credentials, TLS, ...) are set on the same chain.
///
/// ```
/// use std::time::Duration;
/// use actix_rocketmq::{ProducerConfig, SerializeType};
///
/// let cfg = ProducerConfig::builder("order_producers")
///     .namesrv_addr("127.0.0.1:9876")
///     .send_msg_timeout(Duration::from_secs(5))
///     .serialize_type(SerializeType::Json)
///     .topics(["orders"])
///     .build()
///     .unwrap();
/// assert_eq!(cfg.client.namesrv_addr.as_deref(), Some("127.0.0.1:9876"));
/// assert!(ProducerConfig::builder("bad group").namesrv_addr("127.0.0.1:9876").build().is_err());
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct ProducerConfigBuilder {
    config: ProducerConfig,
}

impl ProducerConfig {
    /// A [`ProducerConfigBuilder`] for `group` with the Java defaults.
    pub fn builder(group: impl Into<String>) -> ProducerConfigBuilder {
        ProducerConfigBuilder { config: ProducerConfig { group: group.into(), ..Default::default() } }
    }
}

/// Setters that assign a value (`plain`) or wrap it in `Some` (`some`), on the producer's
/// settings or on its client's.
macro_rules! setters {
    ($($kind:ident $($on:ident).* => $field:ident: $ty:ty;)*) => {
        $(setters!(@one $kind [$($on).*] $field $ty);)*
    };
    (@one plain [$($on:ident).*] $field:ident $ty:ty) => {
        #[doc = concat!("Sets `", $(stringify!($on), ".",)* stringify!($field), "` (see [`ProducerConfig`] and [`ClientConfig`]).")]
        pub fn $field(mut self, value: impl Into<$ty>) -> Self {
            self.config$(.$on)*.$field = value.into();
            self
        }
    };
    (@one some [$($on:ident).*] $field:ident $ty:ty) => {
        #[doc = concat!("Sets `", $(stringify!($on), ".",)* stringify!($field), "` (see [`ProducerConfig`] and [`ClientConfig`]).")]
        pub fn $field(mut self, value: impl Into<$ty>) -> Self {
            self.config$(.$on)*.$field = Some(value.into());
            self
        }
    };
}

impl ProducerConfigBuilder {
    setters! {
        plain => send_msg_timeout: Duration;
        plain => retry_times_when_send_failed: u32;
        plain => retry_times_when_send_async_failed: u32;
        plain => compress_msg_body_over_howmuch: usize;
        plain => compress_level: u32;
        plain => max_message_size: usize;
        plain => create_topic_key: String;
        plain => default_topic_queue_nums: i32;
        plain => retry_another_broker_when_not_store_ok: bool;
        plain => retry_response_codes: Vec<i32>;
        plain => compress_type: CompressionType;
        plain => send_latency_fault_enable: bool;
        plain => max_inflight_messages: usize;
        plain => max_inflight_bytes: usize;
        some => namespace: String;
        some => drain_timeout: Duration;
        plain => local_transaction_timeout: Duration;
        plain => transaction_check_timeout: Duration;
        plain => enable_msg_trace: bool;
        some => trace_topic: String;
        plain => enable_metrics: bool;
        plain => auto_batch: bool;
        plain => batch_max_delay: Duration;
        plain => batch_max_bytes: usize;
        plain => total_batch_max_bytes: usize;
        some client => namesrv_addr: String;
        some client => namesrv_endpoint: String;
        some client => client_ip: IpAddr;
        plain client => instance_name: String;
        some client => unit_name: String;
        plain client => poll_name_server_interval: Duration;
        plain client => heartbeat_broker_interval: Duration;
        plain client => namesrv_endpoint_interval: Duration;
        plain client => request_timeout: Duration;
        plain client => connect_timeout: Duration;
        plain client => io_threads: usize;
        plain client => serialize_type: SerializeType;
        some client => credentials: Credentials;
        some client => tls: TlsConfig;
    }

    /// Sets the topics checked at start (see [`ProducerConfig::topics`]).
    pub fn topics<T: Into<String>>(mut self, topics: impl IntoIterator<Item = T>) -> Self {
        self.config.topics = topics.into_iter().map(Into::into).collect();
        self
    }

    /// Replaces every client setting at once.
    pub fn client(mut self, client: ClientConfig) -> Self {
        self.config.client = client;
        self
    }

    /// The settings, checked by [`ProducerConfig::validate`].
    pub fn build(self) -> Result<ProducerConfig, ConfigError> {
        self.config.validate()?;
        Ok(self.config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setters_reach_their_fields_and_build_validates() {
        let cfg = ProducerConfig::builder("g")
            .namesrv_addr("127.0.0.1:1")
            .namespace("ns")
            .max_inflight_messages(7usize)
            .request_timeout(Duration::from_millis(5))
            .build()
            .unwrap();
        assert_eq!(cfg.namespace.as_deref(), Some("ns"));
        assert_eq!(cfg.max_inflight_messages, 7);
        assert_eq!(cfg.client.request_timeout, Duration::from_millis(5));
        let err = ProducerConfig::builder("g").namesrv_addr("127.0.0.1:1").compress_level(12u32).build().unwrap_err();
        assert!(matches!(err, ConfigError::Invalid { name: "compress_level", .. }));
        let err = ProducerConfig::builder("g").namesrv_addr("127.0.0.1:1").topics(["a b"]).build().unwrap_err();
        assert!(matches!(err, ConfigError::BadTopic { .. }));
    }
}
