//! Message ids: the client id `UNIQ_KEY` (Java `MessageClientIDSetter.createUniqID`) and the
//! broker's offsetMsgId (`MessageDecoder.createMessageId` / `decodeMessageId`); docs/PROTOCOL.md,
//! Message ids.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use super::ProtocolError;

const HEX: &[u8; 16] = b"0123456789ABCDEF";
const MILLIS_PER_DAY: i64 = 86_400_000;

/// Every byte value's two upper-case hex digits, byte `b` at `2 * b`.
const HEX_PAIRS: &str = {
    const BYTES: [u8; 512] = {
        let mut t = [0u8; 512];
        let mut i = 0;
        while i < 256 {
            t[2 * i] = HEX[i >> 4];
            t[2 * i + 1] = HEX[i & 0x0f];
            i += 1;
        }
        t
    };
    match std::str::from_utf8(&BYTES) {
        Ok(s) => s,
        Err(_) => panic!("hex digits are ASCII"),
    }
};

fn push_hex(dst: &mut String, bytes: &[u8]) {
    // Two digits at a time from a table: ids are made for every message.
    dst.reserve(2 * bytes.len());
    for &b in bytes {
        let i = 2 * usize::from(b);
        dst.push_str(&HEX_PAIRS[i..i + 2]);
    }
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'A'..=b'F' => Some(c - b'A' + 10),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

/// Decodes hex (either case) into `out`; `hex` must be exactly twice as long as `out`.
fn decode_hex(hex: &[u8], out: &mut [u8]) -> Option<()> {
    if hex.len() != out.len() * 2 {
        return None;
    }
    for (pair, byte) in hex.chunks_exact(2).zip(out.iter_mut()) {
        if let [hi, lo] = pair {
            *byte = (hex_value(*hi)? << 4) | hex_value(*lo)?;
        }
    }
    Some(())
}

/// Days since 1970-01-01 → (year, month 1..=12, day 1..=31), proleptic Gregorian
/// (H. Hinnant's `civil_from_days`). Avoids a date-time dependency for one computation.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11], March-based
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// (year, month 1..=12, day) → days since 1970-01-01 (inverse of [`civil_from_days`]).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400); // [0, 399]
    let mp = i64::from((month + 9) % 12); // March = 0
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    era * 146_097 + doe - 719_468
}

/// Start of the UTC month containing `now_millis`, and start of the next month (both in ms).
fn month_bounds(now_millis: i64) -> (i64, i64) {
    let (year, month, _) = civil_from_days(now_millis.div_euclid(MILLIS_PER_DAY));
    let (next_year, next_month) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    // Saturating: absurd clock values must not overflow (they just give odd ids).
    let start = days_from_civil(year, month, 1).saturating_mul(MILLIS_PER_DAY);
    let next = days_from_civil(next_year, next_month, 1).saturating_mul(MILLIS_PER_DAY);
    (start, next)
}

/// Generates client message ids (`UNIQ_KEY`) like Java's `MessageClientIDSetter`.
///
/// Layout (upper-case hex): client IP (4 or 16 bytes), pid as i16, a random 4-byte stand-in for
/// Java's class-loader hash, i32 milliseconds since the start of the current month, i16 counter.
/// The first three parts are fixed per generator and encoded once. Unlike Java (JVM local time),
/// the month starts in UTC: brokers and clients never interpret that field, it only has to make
/// ids unique (only the `mqadmin DecodeMessageId` tool shows it as a time, read in its local time
/// zone; Java `MessageClientIDSetter.getNearlyTimeFromID`).
///
/// ```
/// use std::net::{IpAddr, Ipv4Addr};
/// use actix_rocketmq::protocol::message_id::UniqIdGenerator;
///
/// let mut ids = UniqIdGenerator::new(IpAddr::V4(Ipv4Addr::new(192, 168, 1, 10)), 12345);
/// let a = ids.next_id();
/// let b = ids.next_id();
/// assert_eq!(a.len(), 32);
/// assert!(a.starts_with("C0A8010A3039"));
/// assert_ne!(a, b);
/// ```
#[derive(Debug, Clone)]
pub struct UniqIdGenerator {
    /// The fixed part (IP, pid, hash) in hex, then the hex of the time field `stamp`: the ids
    /// of one millisecond (a batch's, or a few hundred sends') differ only in the counter.
    stamped: String,
    prefix_len: usize,
    stamp: Option<u32>,
    counter: u16,
    month_start: i64,
    next_month_start: i64,
}

impl UniqIdGenerator {
    /// A generator for this client address and process id, with a random hash and counter start.
    pub fn new(ip: IpAddr, pid: u32) -> Self {
        Self::with_seed(ip, pid, fastrand::u32(..), fastrand::u16(..))
    }

    /// A generator with a given class-loader hash and first counter value (deterministic ids
    /// for tests).
    pub fn with_seed(ip: IpAddr, pid: u32, class_loader_hash: u32, counter: u16) -> Self {
        let mut prefix = String::with_capacity(40);
        match ip {
            IpAddr::V4(v4) => push_hex(&mut prefix, &v4.octets()),
            IpAddr::V6(v6) => push_hex(&mut prefix, &v6.octets()),
        }
        // Java: `putShort((short) pid)`, i.e. the low 16 bits.
        push_hex(&mut prefix, &(pid as u16).to_be_bytes());
        push_hex(&mut prefix, &class_loader_hash.to_be_bytes());
        UniqIdGenerator {
            prefix_len: prefix.len(),
            stamped: prefix,
            stamp: None,
            counter,
            month_start: 0,
            next_month_start: 0,
        }
    }

    /// The fixed part of every id (IP, pid, hash) in hex.
    pub fn prefix(&self) -> &str {
        &self.stamped[..self.prefix_len]
    }

    /// The next id, stamped with the current wall clock.
    pub fn next_id(&mut self) -> String {
        self.next_id_at(now_millis())
    }

    /// The next id for the given wall-clock time (ms since the epoch).
    pub fn next_id_at(&mut self, now_millis: i64) -> String {
        let mut id = String::with_capacity(self.prefix_len + 12);
        self.push_next_id_at(now_millis, &mut id);
        id
    }

    /// Appends the next id for the given wall-clock time to `dst` (a batch writes all its ids
    /// into one string this way, with one clock reading).
    ///
    /// ```
    /// use std::net::{IpAddr, Ipv4Addr};
    /// use actix_rocketmq::protocol::message_id::{now_millis, UniqIdGenerator};
    ///
    /// let mut ids = UniqIdGenerator::with_seed(IpAddr::V4(Ipv4Addr::LOCALHOST), 1, 2, 3);
    /// let mut twin = ids.clone();
    /// let now = now_millis();
    /// let mut joined = String::new();
    /// ids.push_next_id_at(now, &mut joined);
    /// joined.push(',');
    /// ids.push_next_id_at(now, &mut joined);
    /// assert_eq!(joined, format!("{},{}", twin.next_id_at(now), twin.next_id_at(now)));
    /// ```
    pub fn push_next_id_at(&mut self, now_millis: i64, dst: &mut String) {
        // Recompute on a month change, and also when the clock stepped back before the cached
        // month (Java only handles the forward case).
        if now_millis < self.month_start || now_millis >= self.next_month_start {
            (self.month_start, self.next_month_start) = month_bounds(now_millis);
        }
        // At most 31 days (< 2^32 ms). Java writes `(int) diff`, i.e. the same 4 bytes.
        let diff =
            u32::try_from(now_millis.saturating_sub(self.month_start).max(0)).unwrap_or(u32::MAX);
        if self.stamp != Some(diff) {
            self.stamped.truncate(self.prefix_len);
            push_hex(&mut self.stamped, &diff.to_be_bytes());
            self.stamp = Some(diff);
        }
        dst.reserve(self.stamped.len() + 4);
        dst.push_str(&self.stamped);
        push_hex(dst, &self.counter.to_be_bytes());
        self.counter = self.counter.wrapping_add(1);
    }
}

/// The wall clock in ms since the epoch, as message ids are stamped (0 before the epoch).
pub fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The broker-side message id: store host and commit-log offset (Java
/// `MessageDecoder.createMessageId`; docs/PROTOCOL.md, Message ids).
///
/// ```
/// use actix_rocketmq::protocol::message_id::{decode_offset_msg_id, encode_offset_msg_id};
///
/// let id = decode_offset_msg_id("0A00000500002A9F0000000000012345").unwrap();
/// assert_eq!(id.store_host.to_string(), "10.0.0.5:10911");
/// assert_eq!(id.commit_log_offset, 0x12345);
/// assert_eq!(encode_offset_msg_id(id.store_host, id.commit_log_offset), "0A00000500002A9F0000000000012345");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OffsetMsgId {
    /// The broker that stored the message (IP and port, 4+4 or 16+4 bytes of the id).
    pub store_host: SocketAddr,
    /// The message's physical offset in that broker's commit log (the last 8 bytes).
    pub commit_log_offset: i64,
}

/// Decodes an offsetMsgId: 32 hex chars for an IPv4 store host, 56 for IPv6. Either case.
pub fn decode_offset_msg_id(s: &str) -> Result<OffsetMsgId, ProtocolError> {
    let bad = || ProtocolError::BadMessageId(s.chars().take(64).collect());
    let ip_len = match s.len() {
        32 => 4,
        56 => 16,
        _ => return Err(bad()),
    };
    let mut raw = [0u8; 28];
    let raw = raw.get_mut(..ip_len + 12).ok_or_else(bad)?;
    decode_hex(s.as_bytes(), raw).ok_or_else(bad)?;
    let (ip, rest) = raw.split_at(ip_len);
    let (port, offset) = rest.split_at(4);
    let ip = match ip_len {
        4 => IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(ip).map_err(|_| bad())?)),
        _ => IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(ip).map_err(|_| bad())?)),
    };
    let port = i32::from_be_bytes(port.try_into().map_err(|_| bad())?);
    let port = u16::try_from(port).map_err(|_| bad())?;
    let commit_log_offset = i64::from_be_bytes(offset.try_into().map_err(|_| bad())?);
    Ok(OffsetMsgId {
        store_host: SocketAddr::new(ip, port),
        commit_log_offset,
    })
}

/// Encodes an offsetMsgId (upper-case hex; 32 chars for IPv4, 56 for IPv6).
pub fn encode_offset_msg_id(store_host: SocketAddr, commit_log_offset: i64) -> String {
    let mut out = String::with_capacity(56);
    match store_host.ip() {
        IpAddr::V4(v4) => push_hex(&mut out, &v4.octets()),
        IpAddr::V6(v6) => push_hex(&mut out, &v6.octets()),
    }
    push_hex(&mut out, &i32::from(store_host.port()).to_be_bytes());
    push_hex(&mut out, &commit_log_offset.to_be_bytes());
    out
}

impl fmt::Display for OffsetMsgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&encode_offset_msg_id(
            self.store_host,
            self.commit_log_offset,
        ))
    }
}

impl FromStr for OffsetMsgId {
    type Err = ProtocolError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        decode_offset_msg_id(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2023-11-01T00:00:00Z
    const NOV_2023: i64 = 1_698_796_800_000;

    #[test]
    fn reference_uniq_id_layout() {
        let mut g = UniqIdGenerator::with_seed(
            IpAddr::V4(Ipv4Addr::new(192, 168, 1, 10)),
            12345,
            0x1B6D_3586,
            1,
        );
        assert_eq!(g.prefix(), "C0A8010A30391B6D3586");
        assert_eq!(
            g.next_id_at(NOV_2023 + 0x0A1B_2C3D),
            "C0A8010A30391B6D35860A1B2C3D0001"
        );
        assert_eq!(
            g.next_id_at(NOV_2023 + 0x0A1B_2C3D),
            "C0A8010A30391B6D35860A1B2C3D0002"
        );
        // The time field is written again when the millisecond changes, back or forth.
        assert_eq!(g.next_id_at(NOV_2023 + 1), "C0A8010A30391B6D3586000000010003");
        assert_eq!(g.next_id_at(NOV_2023 + 0x0A1B_2C3D), "C0A8010A30391B6D35860A1B2C3D0004");
        assert_eq!(g.prefix(), "C0A8010A30391B6D3586");
    }

    #[test]
    fn pid_is_truncated_and_ipv6_is_longer() {
        let mut g =
            UniqIdGenerator::with_seed(IpAddr::V6(Ipv6Addr::LOCALHOST), 0x0012_3039, 0, 0xFFFF);
        let id = g.next_id_at(NOV_2023);
        assert_eq!(id.len(), 56);
        assert_eq!(
            id,
            "00000000000000000000000000000001_3039_00000000_00000000_FFFF".replace('_', "")
        );
        assert!(g.next_id_at(NOV_2023).ends_with("0000"), "counter wraps");
    }

    #[test]
    fn month_start_is_utc_and_recomputed() {
        let mut g = UniqIdGenerator::with_seed(IpAddr::V4(Ipv4Addr::LOCALHOST), 1, 0, 0);
        // Last millisecond of November: 30 days - 1 ms = 0x9A7EC7FF.
        let dec_2023 = NOV_2023 + 30 * MILLIS_PER_DAY;
        assert!(g.next_id_at(dec_2023 - 1).ends_with("9A7EC7FF0000"));
        assert!(g.next_id_at(dec_2023).ends_with("000000000001"));
        // Clock steps back into November: recomputed, not clamped to zero forever.
        assert!(g.next_id_at(dec_2023 - 1000).ends_with("9A7EC4180002"));
        // Before 1970 and absurd values don't panic.
        assert_eq!(g.next_id_at(-1).len(), 32);
        assert_eq!(g.next_id_at(i64::MAX).len(), 32);
        assert_eq!(g.next_id_at(i64::MIN).len(), 32);
    }

    #[test]
    fn month_bounds_across_years_and_leap_days() {
        assert_eq!(
            month_bounds(NOV_2023 + 5),
            (NOV_2023, NOV_2023 + 30 * MILLIS_PER_DAY)
        );
        // 2024-02-29T12:00Z lies in February 2024 (29 days).
        let feb_2024 = days_from_civil(2024, 2, 1) * MILLIS_PER_DAY;
        assert_eq!(feb_2024, 1_706_745_600_000);
        assert_eq!(
            month_bounds(feb_2024 + 28 * MILLIS_PER_DAY + 43_200_000),
            (feb_2024, feb_2024 + 29 * MILLIS_PER_DAY)
        );
        // December rolls into January of the next year.
        let dec_2023 = days_from_civil(2023, 12, 1) * MILLIS_PER_DAY;
        assert_eq!(month_bounds(dec_2023 + 1).1, 1_704_067_200_000);
        assert_eq!(month_bounds(0), (0, 31 * MILLIS_PER_DAY));
        assert_eq!(month_bounds(-1), (-31 * MILLIS_PER_DAY, 0));
        for days in [-1_000_000, -1, 0, 1, 59, 60, 365, 10_957, 19_782, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn random_generators_differ() {
        let ip = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        let ids: std::collections::HashSet<String> = (0..1000)
            .scan(UniqIdGenerator::new(ip, 7), |g, _| Some(g.next_id()))
            .collect();
        assert_eq!(ids.len(), 1000);
    }

    #[test]
    fn reference_offset_msg_id() {
        let addr: SocketAddr = "10.0.0.5:10911".parse().unwrap();
        assert_eq!(
            encode_offset_msg_id(addr, 0x12345),
            "0A00000500002A9F0000000000012345"
        );
        let id = decode_offset_msg_id("0a00000500002a9f0000000000012345").unwrap();
        assert_eq!(
            id,
            OffsetMsgId {
                store_host: addr,
                commit_log_offset: 0x12345
            }
        );
        assert_eq!(id.to_string(), "0A00000500002A9F0000000000012345");
        assert_eq!(
            "0A00000500002A9F0000000000012345"
                .parse::<OffsetMsgId>()
                .unwrap(),
            id
        );
    }

    #[test]
    fn ipv6_offset_msg_id_round_trips() {
        let addr: SocketAddr = "[2001:db8::7]:10911".parse().unwrap();
        let s = encode_offset_msg_id(addr, i64::MAX);
        assert_eq!(s.len(), 56);
        assert_eq!(
            decode_offset_msg_id(&s).unwrap(),
            OffsetMsgId {
                store_host: addr,
                commit_log_offset: i64::MAX
            }
        );
    }

    #[test]
    fn bad_offset_msg_ids() {
        for bad in [
            "",
            "0A00000500002A9F000000000001234",   // 31
            "0A00000500002A9F00000000000123450", // 33
            "0G00000500002A9F0000000000012345",  // not hex
            "0A000005FFFFFFFF0000000000012345",  // port -1
            "0A00000500010000000000000001234F",  // port 65536
            "0A00000500002A9F00000000000123é",   // 32 bytes, non-ASCII
        ] {
            assert!(
                matches!(
                    decode_offset_msg_id(bad),
                    Err(ProtocolError::BadMessageId(_))
                ),
                "{bad}"
            );
        }
    }
}
