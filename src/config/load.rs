//! The one way to load a producer's settings from outside the code: a TOML file (or a table of
//! one), then environment overrides, then the Java defaults for whatever is still missing, then
//! [`ProducerConfig::validate`].
//!
//! Environment overrides are named `ACTIX_ROCKETMQ__` plus the key path in upper case, with
//! `__` between levels: `ACTIX_ROCKETMQ__SEND_MSG_TIMEOUT=5s`,
//! `ACTIX_ROCKETMQ__CLIENT__NAMESRV_ADDR=127.0.0.1:9876`. A value is read as a TOML value when it
//! is one on a single line without a comment (`true`, `3`, `[1, 2]`, `"quoted text"`), and as its
//! raw text otherwise; a setting that wants a string always gets the raw text (`2024#Prod` stays
//! `2024#Prod`, `0x10` stays `0x10`), unless the value is quoted. Overrides of a table
//! (`ACTIX_ROCKETMQ__CLIENT={...}`) apply before overrides inside it, whatever the order of the
//! environment.

use std::collections::HashSet;
use std::path::Path;

use toml::{Table, Value};

use super::ProducerConfig;
use crate::error::ConfigError;

/// Prefix of the environment variables that override file settings.
pub const ENV_PREFIX: &str = "ACTIX_ROCKETMQ__";

impl ProducerConfig {
    /// Loads `path` (a TOML file whose top level holds the producer settings), applies the
    /// `ACTIX_ROCKETMQ__*` environment overrides and validates the result. Missing settings keep
    /// the Java defaults; an unknown key or a bad value is a [`ConfigError::Key`] naming it.
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("arm-doc-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).unwrap();
    /// # let path = dir.join("producer.toml");
    /// std::fs::write(&path, r#"
    ///     group = "order_producers"
    ///     send_msg_timeout = "5s"
    ///     max_message_size = "4MiB"
    ///     topics = ["orders"]
    ///
    ///     [client]
    ///     namesrv_addr = "127.0.0.1:9876"
    ///     serialize_type = "json"
    /// "#).unwrap();
    /// let cfg = actix_rocketmq::ProducerConfig::load(&path).unwrap();
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// assert_eq!(cfg.send_msg_timeout.as_secs(), 5);
    /// assert_eq!(cfg.retry_times_when_send_failed, 2); // Java default
    /// ```
    pub fn load(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        Self::load_table(path, "")
    }

    /// Like [`ProducerConfig::load`], for settings kept in one table of a larger file (`section`
    /// is its dotted path, e.g. `"producer"` for a `[producer]` table), so a service keeps its
    /// own settings and the producer's in one file.
    pub fn load_table(path: impl AsRef<Path>, section: &str) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::File { path: path.display().to_string(), reason: e.to_string() })?;
        // Only our variables, and never a panic on a variable that is not UTF-8 (anyone's).
        let env = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .filter(|(k, _)| k.starts_with(ENV_PREFIX));
        Self::from_toml(&text, section, env).map_err(|e| match e {
            ConfigError::File { reason, .. } => ConfigError::File { path: path.display().to_string(), reason },
            other => other,
        })
    }

    /// The loader itself, with the file's text and the environment given: `section` as in
    /// [`ProducerConfig::load_table`] (`""` for the top level); variables without the
    /// [`ENV_PREFIX`] are ignored.
    ///
    /// ```
    /// use actix_rocketmq::{ConfigError, ProducerConfig};
    /// let env = [("ACTIX_ROCKETMQ__CLIENT__REQUEST_TIMEOUT".to_string(), "250ms".to_string())];
    /// let cfg = ProducerConfig::from_toml("group = \"g\"\nclient.namesrv_addr = \"127.0.0.1:9876\"", "", env).unwrap();
    /// assert_eq!(cfg.client.request_timeout.as_millis(), 250);
    ///
    /// let err = ProducerConfig::from_toml("group = \"g\"\nsend_msg_timeout = 3000", "", []).unwrap_err();
    /// assert!(matches!(err, ConfigError::Key { ref key, .. } if key == "send_msg_timeout"), "{err}");
    /// ```
    pub fn from_toml(text: &str, section: &str, env: impl IntoIterator<Item = (String, String)>) -> Result<Self, ConfigError> {
        let root: Table = text
            .parse()
            .map_err(|e: toml::de::Error| ConfigError::File { path: "(text)".into(), reason: e.to_string() })?;
        let mut table = select(root, section)?;
        let overrides = apply_env(&mut table, env);
        let config = deserialize(table, section, &overrides)?;
        config.validate()?;
        Ok(config)
    }
}

/// The table at `section` (dotted), or an empty one when the file has no such table.
fn select(root: Table, section: &str) -> Result<Table, ConfigError> {
    let mut table = root;
    let mut walked = String::new();
    for part in section.split('.').filter(|p| !p.is_empty()) {
        if !walked.is_empty() {
            walked.push('.');
        }
        walked.push_str(part);
        table = match table.remove(part) {
            None => Table::new(),
            Some(Value::Table(t)) => t,
            Some(other) => {
                return Err(ConfigError::Key { key: walked, reason: format!("expected a table, found {}", other.type_str()) })
            }
        };
    }
    Ok(table)
}

/// An override: where it went, the variable it came from and its raw text.
struct Override {
    path: Vec<String>,
    var: String,
    raw: String,
}

/// Puts every `ACTIX_ROCKETMQ__A__B=v` into `table` at `a.b`.
fn apply_env(table: &mut Table, env: impl IntoIterator<Item = (String, String)>) -> Vec<Override> {
    let mut applied: Vec<Override> = env
        .into_iter()
        .filter_map(|(var, raw)| {
            let rest = var.strip_prefix(ENV_PREFIX)?;
            let path: Vec<String> = rest.split("__").map(str::to_ascii_lowercase).collect();
            (!path.iter().any(String::is_empty)).then_some(Override { path, var, raw })
        })
        .collect();
    // Parents first: a whole-table override must not wipe a key set inside it.
    applied.sort_by(|a, b| a.path.len().cmp(&b.path.len()).then_with(|| a.var.cmp(&b.var)));
    for o in &applied {
        set(table, &o.path, env_value(&o.raw));
    }
    applied
}

/// The TOML value the text is, when it is one on one line without a comment; else the text.
fn env_value(raw: &str) -> Value {
    if raw.contains(['#', '\n', '\r']) {
        return Value::String(raw.to_string());
    }
    let doc = format!("v = {raw}");
    doc.parse::<Table>().ok().and_then(|mut t| t.remove("v")).unwrap_or_else(|| Value::String(raw.to_string()))
}

fn set(table: &mut Table, path: &[String], value: Value) {
    let Some((last, parents)) = path.split_last() else { return };
    let mut at = table;
    for key in parents {
        let slot = at.entry(key.clone()).or_insert_with(|| Value::Table(Table::new()));
        if !slot.is_table() {
            *slot = Value::Table(Table::new());
        }
        let Value::Table(inner) = slot else { return };
        at = inner;
    }
    match (at.get_mut(last), value) {
        // A table given for a table is merged into it, so the file's other keys stay.
        (Some(Value::Table(existing)), Value::Table(given)) => existing.extend(given),
        (_, value) => {
            at.insert(last.clone(), value);
        }
    }
}

fn get_mut<'a>(table: &'a mut Table, path: &[String]) -> Option<&'a mut Value> {
    let (last, parents) = path.split_last()?;
    let mut at = table;
    for key in parents {
        at = at.get_mut(key)?.as_table_mut()?;
    }
    at.get_mut(last)
}

/// Deserializes with the path of the failing key. A value that came from the environment and
/// was read as a number or a boolean is retried as the variable's raw text, since the variable
/// cannot say which one was meant (a group may well be called `2024`).
fn deserialize(mut table: Table, section: &str, overrides: &[Override]) -> Result<ProducerConfig, ConfigError> {
    let mut retried = HashSet::new();
    loop {
        let error = match serde_path_to_error::deserialize::<_, ProducerConfig>(Value::Table(table.clone())) {
            Ok(config) => return Ok(config),
            Err(e) => e,
        };
        let path = error.path().to_string();
        let from_env = overrides.iter().find(|o| o.path.join(".") == path);
        if let Some(o) = from_env {
            if let Some(v) = get_mut(&mut table, &o.path) {
                if !v.is_str() && !v.is_table() && !v.is_array() && retried.insert(path.clone()) {
                    *v = Value::String(o.raw.clone());
                    continue;
                }
            }
        }
        let mut key = path;
        if key == "." || key.is_empty() {
            key = "(top level)".into();
        }
        if !section.is_empty() {
            key = format!("{section}.{key}");
        }
        if let Some(o) = from_env {
            key = format!("{key} (from {})", o.var);
        }
        let reason = error.into_inner().to_string();
        // toml appends where in the document it was ("in `client`"); the key says it already.
        let reason = reason.split("\nin `").next().unwrap_or(&reason).trim().to_string();
        return Err(ConfigError::Key { key, reason });
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::protocol::SerializeType;
    use crate::CompressionType;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    const BASE: &str = "group = \"g\"\n[client]\nnamesrv_addr = \"127.0.0.1:9876\"\n";

    #[test]
    fn missing_settings_keep_the_java_defaults() {
        let cfg = ProducerConfig::from_toml(BASE, "", []).unwrap();
        let java = ProducerConfig::new("g", "127.0.0.1:9876");
        assert_eq!(cfg.send_msg_timeout, java.send_msg_timeout);
        assert_eq!(cfg.retry_response_codes, java.retry_response_codes);
        assert_eq!(cfg.client.heartbeat_broker_interval, java.client.heartbeat_broker_interval);
        assert_eq!(cfg.max_inflight_bytes, java.max_inflight_bytes);
    }

    #[test]
    fn every_kind_of_value_is_read() {
        let text = format!(
            "send_msg_timeout = \"1m 30s\"\nmax_message_size = \"2MiB\"\ncompress_type = \"ZSTD\"\ndrain_timeout = \"250ms\"\n\
             topics = [\"a\", \"b\"]\n{BASE}\
             [client.credentials]\naccess_key = \"alice\"\nsecret_key = \"pw\"\n\
             [client.tls]\ntrust = {{ ca_file = \"/etc/ca.pem\" }}\nserver_name = \"broker\"\n"
        );
        let cfg = ProducerConfig::from_toml(&text, "", []).unwrap();
        assert_eq!(cfg.send_msg_timeout, Duration::from_secs(90));
        assert_eq!(cfg.max_message_size, 2 << 20);
        assert_eq!(cfg.compress_type, CompressionType::Zstd);
        assert_eq!(cfg.drain_timeout, Some(Duration::from_millis(250)));
        assert_eq!(cfg.topics, ["a", "b"]);
        let creds = cfg.client.credentials.as_ref().unwrap();
        assert_eq!((creds.access_key.as_str(), creds.secret_key.expose()), ("alice", "pw"));
        let tls = cfg.client.tls.as_ref().unwrap();
        assert_eq!(tls.trust, crate::TlsTrust::CaFile("/etc/ca.pem".into()));
    }

    #[test]
    fn environment_overrides_the_file() {
        let vars = env(&[
            ("ACTIX_ROCKETMQ__SEND_MSG_TIMEOUT", "7s"),
            ("ACTIX_ROCKETMQ__CLIENT__SERIALIZE_TYPE", "json"),
            ("ACTIX_ROCKETMQ__RETRY_TIMES_WHEN_SEND_FAILED", "5"),
            ("ACTIX_ROCKETMQ__ENABLE_MSG_TRACE", "true"),
            ("ACTIX_ROCKETMQ__GROUP", "2024"),
            ("ACTIX_ROCKETMQ__CLIENT__INSTANCE_NAME", "0x10"),
            ("ACTIX_ROCKETMQ__NAMESPACE", "\"quoted\""),
            ("ACTIX_ROCKETMQ__RETRY_RESPONSE_CODES", "[1, 2]"),
            ("ROCKETMQ_HOME", "/opt/rocketmq"),
            ("ACTIX_ROCKETMQ_IO_THREADS", "2"),
        ]);
        let cfg = ProducerConfig::from_toml(&format!("send_msg_timeout = \"1s\"\n{BASE}"), "", vars).unwrap();
        assert_eq!(cfg.send_msg_timeout, Duration::from_secs(7));
        assert_eq!(cfg.client.serialize_type, SerializeType::Json);
        assert_eq!(cfg.retry_times_when_send_failed, 5);
        assert!(cfg.enable_msg_trace);
        assert_eq!(cfg.group, "2024");
        assert_eq!(cfg.client.instance_name, "0x10", "a string setting gets the raw text, not a re-printed number");
        assert_eq!(cfg.namespace.as_deref(), Some("quoted"));
        assert_eq!(cfg.retry_response_codes, [1, 2]);
    }

    #[test]
    fn auto_batching_is_read_from_the_file_and_the_environment_and_checked() {
        let vars = env(&[("ACTIX_ROCKETMQ__TOTAL_BATCH_MAX_BYTES", "8MiB")]);
        let text = format!("auto_batch = true\nbatch_max_delay = \"5ms\"\nbatch_max_bytes = \"64KiB\"\n{BASE}");
        let cfg = ProducerConfig::from_toml(&text, "", vars).unwrap();
        assert!(cfg.auto_batch);
        assert_eq!((cfg.batch_max_delay, cfg.batch_max_bytes, cfg.total_batch_max_bytes), (Duration::from_millis(5), 64 << 10, 8 << 20));
        let defaults = ProducerConfig::from_toml(BASE, "", []).unwrap();
        assert!(!defaults.auto_batch, "off unless asked for");
        assert_eq!((defaults.batch_max_delay, defaults.batch_max_bytes), (Duration::from_millis(10), 32 << 10));
        let too_big = format!("batch_max_bytes = \"8MiB\"\n{BASE}");
        let err = ProducerConfig::from_toml(&too_big, "", []).and_then(|c| c.validate()).unwrap_err();
        assert!(err.to_string().contains("batch_max_bytes"), "{err}");
    }

    #[test]
    fn raw_text_survives_for_strings_and_table_overrides_apply_first() {
        for raw in ["2024#Prod", "1_000", "1e3", "+5", "1.50", "5 # c", "1\nx=2"] {
            let vars = env(&[("ACTIX_ROCKETMQ__CLIENT__CREDENTIALS", "{ access_key = \"a\", secret_key = \"s\" }"),
                ("ACTIX_ROCKETMQ__CLIENT__CREDENTIALS__SECRET_KEY", raw)]);
            let cfg = ProducerConfig::from_toml(BASE, "", vars).unwrap();
            assert_eq!(cfg.client.credentials.unwrap().secret_key.expose(), raw);
        }
        // Either order of the environment: the nested key wins over the table it is in.
        let nested = ("ACTIX_ROCKETMQ__CLIENT__REQUEST_TIMEOUT", "250ms");
        let table = ("ACTIX_ROCKETMQ__CLIENT", "{ connect_timeout = \"1s\" }");
        for vars in [env(&[nested, table]), env(&[table, nested])] {
            let cfg = ProducerConfig::from_toml(BASE, "", vars).unwrap();
            assert_eq!(cfg.client.request_timeout, Duration::from_millis(250));
            assert_eq!(cfg.client.connect_timeout, Duration::from_secs(1));
            assert_eq!(cfg.client.namesrv_addr.as_deref(), Some("127.0.0.1:9876"), "the file's keys stay");
        }
        // A number with a comment is not silently cut to the number.
        let (key, _) = key_error(BASE, "", &[("ACTIX_ROCKETMQ__COMPRESS_LEVEL", "5 # five")]);
        assert_eq!(key, "compress_level (from ACTIX_ROCKETMQ__COMPRESS_LEVEL)");
    }

    fn key_error(text: &str, section: &str, vars: &[(&str, &str)]) -> (String, String) {
        match ProducerConfig::from_toml(text, section, env(vars)) {
            Err(ConfigError::Key { key, reason }) => (key, reason),
            other => panic!("expected a key error, got {other:?}"),
        }
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_key() {
        let (key, reason) = key_error(&format!("{BASE}send_timeout = \"3s\""), "", &[]);
        assert!(reason.contains("send_timeout"), "{key}: {reason}");
        // A client setting at the producer's level is unknown there.
        let (key, reason) = key_error(&format!("request_timeout = \"3s\"\n{BASE}"), "", &[]);
        assert!(reason.contains("request_timeout"), "{key}: {reason}");
        let (key, reason) = key_error(&format!("{BASE}connect_timeout = \"3 fortnights\""), "", &[]);
        assert_eq!(key, "client.connect_timeout", "{reason}");
        let (key, _) = key_error(&format!("{BASE}serialize_type = \"xml\""), "", &[]);
        assert_eq!(key, "client.serialize_type");
        let (key, reason) = key_error(BASE, "", &[("ACTIX_ROCKETMQ__MAX_MESSAGE_SIZE", "lots")]);
        assert_eq!(key, "max_message_size (from ACTIX_ROCKETMQ__MAX_MESSAGE_SIZE)", "{reason}");
        let (key, _) = key_error(&format!("[producer]\n{}", BASE.replace("[client]", "[producer.client]")), "producer", &[
            ("ACTIX_ROCKETMQ__COMPRESS_LEVEL", "high"),
        ]);
        assert_eq!(key, "producer.compress_level (from ACTIX_ROCKETMQ__COMPRESS_LEVEL)");
        let (key, _) = key_error("producer = 3", "producer", &[]);
        assert_eq!(key, "producer");
    }

    #[test]
    fn a_bad_file_and_a_bad_topic_are_typed_errors() {
        assert!(matches!(ProducerConfig::from_toml("group = ", "", []), Err(ConfigError::File { .. })));
        let err = ProducerConfig::from_toml(&format!("topics = [\"ok\", \"not ok\"]\n{BASE}"), "", []).unwrap_err();
        assert!(matches!(err, ConfigError::BadTopic { ref topic, .. } if topic == "not ok"), "{err}");
        let err = ProducerConfig::from_toml(&format!("send_msg_timeout = \"300000000000y\"\n{BASE}"), "", []).unwrap_err();
        assert!(matches!(err, ConfigError::Invalid { name: "send_msg_timeout", .. }), "{err}");
        let err = ProducerConfig::load("/nonexistent/producer.toml").unwrap_err();
        assert!(matches!(err, ConfigError::File { ref path, .. } if path == "/nonexistent/producer.toml"));
    }

    #[test]
    fn a_written_config_reads_back_the_same_without_secrets() {
        let mut cfg = ProducerConfig::new("g", "127.0.0.1:9876");
        cfg.drain_timeout = Some(Duration::from_millis(1500));
        cfg.max_inflight_bytes = 3 << 20;
        cfg.topics = vec!["t".into()];
        let text = toml::to_string(&cfg).unwrap();
        let back = ProducerConfig::from_toml(&text, "", []).unwrap();
        assert_eq!(format!("{back:?}"), format!("{cfg:?}"));
        cfg.client.credentials = Some(crate::Credentials::new("alice", "pw-value"));
        let text = toml::to_string(&cfg).unwrap();
        assert!(text.contains("alice") && !text.contains("pw-value"), "{text}");
    }
}
