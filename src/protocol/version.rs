//! RocketMQ release versions as brokers report them (docs/PROTOCOL.md, Versions and GO_AWAY).
//!
//! Every command carries a `version`: the ordinal of its sender's release in Java's
//! `MQVersion.Version` enum. A broker sets it on every answer (`BrokerStartup` puts
//! `MQVersion.CURRENT_VERSION` into the `rocketmq.remoting.version` property that
//! `RemotingCommand` reads), so the answer to the first heartbeat tells the client which release
//! it talks to; the Java client keeps it per broker address (`MQClientInstance.brokerVersionTable`).
//!
//! From `V4_0_0_SNAPSHOT` on, the enum lists every `major.minor.patch` with minor and patch in
//! 0..=9, each as a `_SNAPSHOT` followed by the release, up to `V5_9_9` and `HIGHER_VERSION`: the
//! ordinal of a 4.x or 5.x release is computed, not looked up.
//!
//! ```
//! use actix_rocketmq::protocol::version::BrokerVersion;
//!
//! let v = BrokerVersion::from_ordinal(407);
//! assert_eq!(v.to_string(), "4.9.7");
//! assert!(!v.has_timer_store());
//! assert!(BrokerVersion::from_ordinal(413).has_timer_store()); // 5.0.0
//! assert_eq!(BrokerVersion::release(5, 3, 3).ordinal(), 479);
//! ```

use std::fmt;

/// Ordinal of `V4_0_0_SNAPSHOT`, where the regular part of the enum starts.
const V4_0_0_SNAPSHOT: i32 = 212;
/// Ordinals per major version from 4 on: 10 minors x 10 patches x (snapshot, release).
const PER_MAJOR: i32 = 200;
/// Ordinal of `HIGHER_VERSION`, after `V5_9_9`.
const HIGHER_VERSION: i32 = V4_0_0_SNAPSHOT + 2 * PER_MAJOR;
/// Ordinal of `V5_0_0_SNAPSHOT`: the first release line with the timer store (`TimerMessageStore`),
/// which honours `TIMER_DELAY_SEC`, `TIMER_DELAY_MS` and `TIMER_DELIVER_MS`.
const TIMER_SINCE: i32 = V4_0_0_SNAPSHOT + PER_MAJOR;

/// A broker's RocketMQ release, from the `version` of its answers.
///
/// Displays as `4.9.7`, `5.0.0-SNAPSHOT`, `3.x (ordinal 120)` or `newer than 5.9.9`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct BrokerVersion(i32);

impl BrokerVersion {
    /// The version whose `MQVersion.Version` ordinal is `ordinal`.
    pub fn from_ordinal(ordinal: i32) -> Self {
        BrokerVersion(ordinal)
    }

    /// The release `major.minor.patch` (4 or 5; minor and patch 0..=9), e.g. `release(4, 9, 7)`.
    /// Outside that range: the nearest end of it.
    ///
    /// ```
    /// # use actix_rocketmq::protocol::version::BrokerVersion;
    /// assert_eq!(BrokerVersion::release(4, 9, 4).ordinal(), 401);
    /// ```
    pub fn release(major: u8, minor: u8, patch: u8) -> Self {
        let major = i32::from(major.clamp(4, 5)) - 4;
        let (minor, patch) = (i32::from(minor.min(9)), i32::from(patch.min(9)));
        BrokerVersion(V4_0_0_SNAPSHOT + major * PER_MAJOR + 2 * (minor * 10 + patch) + 1)
    }

    /// The ordinal, as on the wire.
    pub fn ordinal(self) -> i32 {
        self.0
    }

    /// Whether the broker reported a version at all: 0 (`V3_0_0_SNAPSHOT`, the field's default)
    /// is what a server that never set `rocketmq.remoting.version` sends.
    pub fn is_reported(self) -> bool {
        self.0 > 0
    }

    /// Whether this release stores timer messages (5.0 and later). A 4.x broker keeps the
    /// `TIMER_*` properties of a message but ignores them: the message is delivered at once.
    pub fn has_timer_store(self) -> bool {
        self.0 >= TIMER_SINCE
    }
}

impl fmt::Display for BrokerVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = self.0;
        if o < V4_0_0_SNAPSHOT {
            return write!(f, "3.x (ordinal {o})");
        }
        if o >= HIGHER_VERSION {
            return write!(f, "newer than 5.9.9 (ordinal {o})");
        }
        let rel = o - V4_0_0_SNAPSHOT;
        let (major, rest) = (4 + rel / PER_MAJOR, rel % PER_MAJOR);
        let (minor, patch, snapshot) = (rest / 20, (rest % 20) / 2, rest % 2 == 0);
        write!(f, "{major}.{minor}.{patch}{}", if snapshot { "-SNAPSHOT" } else { "" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::codes::{VERSION_4_9_4, VERSION_5_3_3};

    #[test]
    fn ordinals_match_the_java_enum() {
        // Known ordinals (docs/PROTOCOL.md): V4_5_2 317, V4_9_3 399, V4_9_8 409, V5_0_0 413,
        // V5_1_0 433, V5_1_4 441, V5_2_0 453, V5_3_0 473, V5_3_1 475.
        for (v, o) in [((4, 5, 2), 317), ((4, 9, 3), 399), ((4, 9, 8), 409), ((5, 0, 0), 413), ((5, 1, 0), 433), ((5, 1, 4), 441), ((5, 2, 0), 453), ((5, 3, 0), 473), ((5, 3, 1), 475)] {
            assert_eq!(BrokerVersion::release(v.0, v.1, v.2).ordinal(), o, "{v:?}");
        }
        assert_eq!(BrokerVersion::release(4, 9, 4).ordinal(), VERSION_4_9_4);
        assert_eq!(BrokerVersion::release(5, 3, 3).ordinal(), VERSION_5_3_3);
        assert_eq!(HIGHER_VERSION, 612);
    }

    #[test]
    fn names_read_like_releases() {
        assert_eq!(BrokerVersion::from_ordinal(407).to_string(), "4.9.7");
        assert_eq!(BrokerVersion::from_ordinal(513).to_string(), "5.5.0");
        assert_eq!(BrokerVersion::from_ordinal(412).to_string(), "5.0.0-SNAPSHOT");
        assert_eq!(BrokerVersion::from_ordinal(212).to_string(), "4.0.0-SNAPSHOT");
        assert_eq!(BrokerVersion::from_ordinal(611).to_string(), "5.9.9");
        assert_eq!(BrokerVersion::from_ordinal(612).to_string(), "newer than 5.9.9 (ordinal 612)");
        assert_eq!(BrokerVersion::from_ordinal(100).to_string(), "3.x (ordinal 100)");
        for o in 212..612 {
            let name = BrokerVersion::from_ordinal(o).to_string();
            let release = name.trim_end_matches("-SNAPSHOT");
            let parts: Vec<u8> = release.split('.').map(|p| p.parse().unwrap()).collect();
            let back = BrokerVersion::release(parts[0], parts[1], parts[2]).ordinal();
            assert_eq!(back - i32::from(name.ends_with("-SNAPSHOT")), o, "{name}");
        }
    }

    #[test]
    fn the_timer_store_came_with_5_0() {
        assert!(!BrokerVersion::release(4, 9, 9).has_timer_store());
        assert!(!BrokerVersion::from_ordinal(0).has_timer_store());
        assert!(BrokerVersion::from_ordinal(412).has_timer_store());
        assert!(BrokerVersion::release(5, 5, 0).has_timer_store());
        assert!(!BrokerVersion::from_ordinal(0).is_reported());
        assert!(BrokerVersion::from_ordinal(407).is_reported());
    }
}
