//! How settings are written in configuration files: durations with units (`"3s"`, `"500ms"`,
//! `"1m 30s"`, parsed by `humantime`), sizes as a byte count or with a unit (`4096`, `"4KiB"`,
//! `"100MiB"`), and the protocol enums by name (`"rocketmq"`, `"zstd"`).
//!
//! A bare number is accepted for sizes (bytes are the only sensible unit) but refused for
//! durations: Java settings are in milliseconds and ours are not, so `3000` would be ambiguous.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::protocol::compression::CompressionType;
use crate::protocol::SerializeType;

/// Parses a duration with a unit: `"3s"`, `"250ms"`, `"2m"`, `"1h 30m"`.
///
/// ```
/// use std::time::Duration;
/// use actix_rocketmq::config::parse_duration;
/// assert_eq!(parse_duration("1m 30s"), Ok(Duration::from_secs(90)));
/// assert!(parse_duration("3000").is_err());
/// ```
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim())
        .map_err(|e| format!("{e}; expected a duration with a unit, like \"3s\" or \"500ms\""))
}

/// Parses a size: a byte count, or a number with `B`, `KiB`, `MiB`, `GiB` (powers of 1024) or
/// `KB`, `MB`, `GB` (powers of 1000); units are case-insensitive.
///
/// ```
/// use actix_rocketmq::config::parse_size;
/// assert_eq!(parse_size("4MiB"), Ok(4 * 1024 * 1024));
/// assert_eq!(parse_size("4 kb"), Ok(4000));
/// assert_eq!(parse_size("512"), Ok(512));
/// assert!(parse_size("4 parsecs").is_err());
/// ```
pub fn parse_size(text: &str) -> Result<usize, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let n: u64 = digits.parse().map_err(|_| format!("{text:?} is not a size; expected e.g. 4096, \"4KiB\" or \"100MiB\""))?;
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kib" | "k" => 1 << 10,
        "mib" | "m" => 1 << 20,
        "gib" | "g" => 1 << 30,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        other => return Err(format!("unknown size unit {other:?}; use B, KiB, MiB, GiB, KB, MB or GB")),
    };
    n.checked_mul(factor)
        .and_then(|b| usize::try_from(b).ok())
        .ok_or_else(|| format!("{text:?} is too large"))
}

/// The shortest exact text of a size (`"4MiB"`, `"1000"`), as written back by `Serialize`.
fn format_size(bytes: usize) -> String {
    for (unit, factor) in [("GiB", 1usize << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] {
        if bytes >= factor && bytes % factor == 0 {
            return format!("{}{unit}", bytes / factor);
        }
    }
    bytes.to_string()
}

/// `#[serde(with = "duration")]` for `Duration` fields.
pub(crate) mod duration {
    use super::*;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)
            .map_err(|_| de::Error::custom("expected a duration with a unit, like \"3s\" or \"500ms\""))?;
        parse_duration(&text).map_err(de::Error::custom)
    }
}

/// `#[serde(with = "opt_duration")]` for `Option<Duration>` fields (absent: `None`).
pub(crate) mod opt_duration {
    use super::*;

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => super::duration::serialize(d, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        super::duration::deserialize(d).map(Some)
    }
}

/// `#[serde(with = "size")]` for byte-size fields: a number or a string with a unit.
pub(crate) mod size {
    use super::*;

    pub fn serialize<S: Serializer>(n: &usize, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_size(*n))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
        struct SizeVisitor;
        impl Visitor<'_> for SizeVisitor {
            type Value = usize;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a size: a byte count or a string like \"4KiB\" or \"100MiB\"")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<usize, E> {
                usize::try_from(v).map_err(|_| E::custom("size too large"))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<usize, E> {
                usize::try_from(v).map_err(|_| E::custom("a size cannot be negative"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<usize, E> {
                parse_size(v).map_err(E::custom)
            }
        }
        d.deserialize_any(SizeVisitor)
    }
}

/// Parses `"json"` / `"rocketmq"`, case-insensitive (the values of Java's
/// `rocketmq.serialize.type` setting).
///
/// ```
/// use actix_rocketmq::SerializeType;
/// assert_eq!("ROCKETMQ".parse::<SerializeType>(), Ok(SerializeType::RocketMq));
/// assert_eq!("json".parse::<SerializeType>(), Ok(SerializeType::Json));
/// assert!("xml".parse::<SerializeType>().is_err());
/// ```
impl FromStr for SerializeType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        SerializeType::from_name(s.trim()).ok_or_else(|| format!("unknown header serialization {s:?}; expected \"json\" or \"rocketmq\""))
    }
}

impl fmt::Display for SerializeType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for SerializeType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name().to_ascii_lowercase())
    }
}

impl<'de> Deserialize<'de> for SerializeType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(de::Error::custom)
    }
}

// CompressionType parses and prints its Java names in protocol::compression.
impl Serialize for CompressionType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for CompressionType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse()
            .map_err(|_| de::Error::custom(format!("unknown compression {text:?}; expected \"zlib\", \"zstd\" or \"lz4\"")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_round_trip_through_their_text() {
        for n in [0, 1, 1000, 1024, 4096, 4 << 20, 100 << 20, 3 << 30, 1025] {
            assert_eq!(parse_size(&format_size(n)), Ok(n), "{n}");
        }
        assert_eq!(format_size(4 << 20), "4MiB");
        assert!(parse_size("").is_err());
        assert!(parse_size("-1").is_err());
        assert!(parse_size("99999999999999999999GiB").is_err());
    }

    #[test]
    fn durations_need_a_unit() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert!(parse_duration("500").unwrap_err().contains("unit"));
        let d = Duration::from_millis(1500);
        assert_eq!(parse_duration(&humantime::format_duration(d).to_string()), Ok(d));
    }
}
