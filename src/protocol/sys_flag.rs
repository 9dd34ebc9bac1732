//! `MessageSysFlag` bits (REMOTING.md 4.3).
//!
//! ```
//! use actix_rocketmq::protocol::sys_flag;
//!
//! let flag = sys_flag::COMPRESSED_FLAG | sys_flag::COMPRESSION_ZLIB | sys_flag::TRANSACTION_PREPARED_TYPE;
//! assert_eq!(flag, 0x305);
//! assert_eq!(sys_flag::transaction_type(flag), sys_flag::TRANSACTION_PREPARED_TYPE);
//! ```

/// The body is compressed (algorithm in [`COMPRESSION_TYPE_MASK`]).
pub const COMPRESSED_FLAG: i32 = 0x1;
/// Set by the broker (topic filter type), not by producers.
pub const MULTI_TAGS_FLAG: i32 = 0x2;
pub const TRANSACTION_NOT_TYPE: i32 = 0x0;
/// Half (prepared) transaction message.
pub const TRANSACTION_PREPARED_TYPE: i32 = 0x4;
pub const TRANSACTION_COMMIT_TYPE: i32 = 0x8;
pub const TRANSACTION_ROLLBACK_TYPE: i32 = 0xC;
/// Mask of the transaction type bits.
pub const TRANSACTION_TYPE_MASK: i32 = 0xC;
/// The born host is IPv6 (changes the stored layout).
pub const BORNHOST_V6_FLAG: i32 = 0x10;
/// The store host is IPv6 (changes the stored layout).
pub const STOREHOSTADDRESS_V6_FLAG: i32 = 0x20;
pub const NEED_UNWRAP_FLAG: i32 = 0x40;
pub const INNER_BATCH_FLAG: i32 = 0x80;
/// Compression algorithm bits (4.9.4+); 0 is read as zlib.
pub const COMPRESSION_TYPE_MASK: i32 = 0x700;
pub const COMPRESSION_LZ4: i32 = 0x100;
pub const COMPRESSION_ZSTD: i32 = 0x200;
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
