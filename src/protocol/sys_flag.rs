//! `MessageSysFlag` bits (Java `MessageSysFlag`; docs/PROTOCOL.md, sysFlag and compression).
//!
//! ```
//! use actix_rocketmq::protocol::sys_flag;
//!
//! let flag = sys_flag::COMPRESSED_FLAG | sys_flag::COMPRESSION_ZLIB | sys_flag::TRANSACTION_PREPARED_TYPE;
//! assert_eq!(flag, 0x305);
//! assert_eq!(sys_flag::transaction_type(flag), sys_flag::TRANSACTION_PREPARED_TYPE);
//! ```

/// `MessageSysFlag.COMPRESSED_FLAG`: the body is compressed (algorithm in
/// [`COMPRESSION_TYPE_MASK`]).
pub const COMPRESSED_FLAG: i32 = 0x1;
/// `MessageSysFlag.MULTI_TAGS_FLAG`: set by the broker (topic filter type), not by producers.
pub const MULTI_TAGS_FLAG: i32 = 0x2;
/// `MessageSysFlag.TRANSACTION_NOT_TYPE`: not a transactional message (also END_TRANSACTION's
/// "unknown").
pub const TRANSACTION_NOT_TYPE: i32 = 0x0;
/// `MessageSysFlag.TRANSACTION_PREPARED_TYPE`: a half (prepared) transaction message; producers set
/// it on half messages, brokers clear it when storing them in the half topic.
pub const TRANSACTION_PREPARED_TYPE: i32 = 0x4;
/// `MessageSysFlag.TRANSACTION_COMMIT_TYPE`: a committed transaction message (as the broker writes
/// it to the real topic), and END_TRANSACTION's "commit".
pub const TRANSACTION_COMMIT_TYPE: i32 = 0x8;
/// `MessageSysFlag.TRANSACTION_ROLLBACK_TYPE`: END_TRANSACTION's "roll back".
pub const TRANSACTION_ROLLBACK_TYPE: i32 = 0xC;
/// Mask of the transaction type bits (bits 2–3).
pub const TRANSACTION_TYPE_MASK: i32 = 0xC;
/// `MessageSysFlag.BORNHOST_V6_FLAG`: the born host is IPv6 (changes the stored layout; set by the
/// broker).
pub const BORNHOST_V6_FLAG: i32 = 0x10;
/// `MessageSysFlag.STOREHOSTADDRESS_V6_FLAG`: the store host is IPv6 (changes the stored layout;
/// set by the broker).
pub const STOREHOSTADDRESS_V6_FLAG: i32 = 0x20;
/// `MessageSysFlag.NEED_UNWRAP_FLAG`: broker-internal, an inner-batch entry to unwrap when read.
pub const NEED_UNWRAP_FLAG: i32 = 0x40;
/// `MessageSysFlag.INNER_BATCH_FLAG`: broker-internal, the entry holds an inner batch (batch
/// consume queue topics).
pub const INNER_BATCH_FLAG: i32 = 0x80;
/// `MessageSysFlag.COMPRESSION_TYPE_COMPARATOR`: compression algorithm bits 8–10 (4.9.4+); 0 is
/// read as zlib.
pub const COMPRESSION_TYPE_MASK: i32 = 0x700;
/// `MessageSysFlag.COMPRESSION_LZ4_TYPE`: the body is in the LZ4 frame format.
pub const COMPRESSION_LZ4: i32 = 0x100;
/// `MessageSysFlag.COMPRESSION_ZSTD_TYPE`: the body is a standard zstd frame.
pub const COMPRESSION_ZSTD: i32 = 0x200;
/// `MessageSysFlag.COMPRESSION_ZLIB_TYPE`: the body is zlib-wrapped deflate (what 4.9.4+ Java
/// producers set by default, with [`COMPRESSED_FLAG`]: 0x301).
pub const COMPRESSION_ZLIB: i32 = 0x300;

/// The transaction type bits of `flag`.
pub fn transaction_type(flag: i32) -> i32 {
    flag & TRANSACTION_TYPE_MASK
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transaction_types() {
        assert_eq!(transaction_type(0x301), TRANSACTION_NOT_TYPE);
        assert_eq!(transaction_type(0x4 | 0x30), TRANSACTION_PREPARED_TYPE);
        assert_eq!(transaction_type(0xC), TRANSACTION_ROLLBACK_TYPE);
        assert_eq!(transaction_type(0x8), TRANSACTION_COMMIT_TYPE);
    }
}
