//! Body compression (REMOTING.md 4.4). Zlib (RFC 1950, what Java's `Deflater` writes) is
//! implemented; LZ4 (frame format) and zstd are recognised but not available yet.

use std::io::{Read, Write};

use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;

use super::sys_flag;
use super::ProtocolError;

/// sysFlag bit 0: the body is compressed.
pub const COMPRESSED_FLAG: i32 = sys_flag::COMPRESSED_FLAG;
/// Java's default `rocketmq.message.compressLevel`.
pub const DEFAULT_LEVEL: u32 = 5;
/// Java's default `compressMsgBodyOverHowmuch`: bodies from this size on get compressed.
pub const DEFAULT_COMPRESS_OVER: usize = 4096;

/// A body compression algorithm, as encoded in sysFlag bits 8–10.
///
/// ```
/// use actix_rocketmq::protocol::compression::{compress, decompress, CompressionType, COMPRESSED_FLAG};
///
/// let kind = CompressionType::default();
/// let sys_flag = COMPRESSED_FLAG | kind.sys_flag_bits();
/// assert_eq!(sys_flag, 0x301);
///
/// let body = b"hello hello hello hello".repeat(100);
/// let packed = compress(kind, 5, &body).unwrap();
/// assert!(packed.len() < body.len());
/// let kind = CompressionType::from_sys_flag(sys_flag).unwrap();
/// assert_eq!(decompress(kind, &packed, 1 << 20).unwrap(), body);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum CompressionType {
    /// zlib-wrapped deflate: readable by every Java version.
    #[default]
    Zlib,
    /// Standard zstd frame (4.9.4+ readers).
    Zstd,
    /// LZ4 frame format (4.9.4+ readers).
    Lz4,
}

impl CompressionType {
    /// The sysFlag type bits (to be combined with [`COMPRESSED_FLAG`]).
    pub fn sys_flag_bits(self) -> i32 {
        match self {
            CompressionType::Zlib => sys_flag::COMPRESSION_ZLIB,
            CompressionType::Zstd => sys_flag::COMPRESSION_ZSTD,
            CompressionType::Lz4 => sys_flag::COMPRESSION_LZ4,
        }
    }

    /// The algorithm named by sysFlag bits 8–10. Type 0 means zlib (senders before 4.9.4 do not
    /// set the bits); types 4–7 are undefined and rejected, like Java does.
    pub fn from_sys_flag(flag: i32) -> Result<Self, ProtocolError> {
        match (flag & sys_flag::COMPRESSION_TYPE_MASK) >> 8 {
            0 | 3 => Ok(CompressionType::Zlib),
            2 => Ok(CompressionType::Zstd),
            1 => Ok(CompressionType::Lz4),
            other => Err(ProtocolError::Compression(format!(
                "unknown compression type {other}"
            ))),
        }
    }
}

fn unsupported(kind: CompressionType) -> ProtocolError {
    ProtocolError::Compression(match kind {
        CompressionType::Zstd => "zstd not supported yet".to_owned(),
        _ => "lz4 not supported yet".to_owned(),
    })
}

/// Compresses `data`. `level` is clamped to the algorithm's range (zlib: 0–9).
pub fn compress(kind: CompressionType, level: u32, data: &[u8]) -> Result<Vec<u8>, ProtocolError> {
    match kind {
        CompressionType::Zlib => {
            // Compressible bodies shrink a lot; start small and let the Vec grow when they don't.
            let out = Vec::with_capacity(data.len() / 4 + 64);
            let mut enc = ZlibEncoder::new(out, flate2::Compression::new(level.min(9)));
            enc.write_all(data)
                .map_err(|e| ProtocolError::Compression(e.to_string()))?;
            enc.finish()
                .map_err(|e| ProtocolError::Compression(e.to_string()))
        }
        other => Err(unsupported(other)),
    }
}

/// Decompresses `data`, refusing output larger than `max_len` (a tiny hostile body must not
/// make us allocate gigabytes).
pub fn decompress(
    kind: CompressionType,
    data: &[u8],
    max_len: usize,
) -> Result<Vec<u8>, ProtocolError> {
    match kind {
        CompressionType::Zlib => {
            let mut out = Vec::with_capacity(data.len().saturating_mul(4).min(max_len));
            let limit = u64::try_from(max_len).unwrap_or(u64::MAX).saturating_add(1);
            ZlibDecoder::new(data)
                .take(limit)
                .read_to_end(&mut out)
                .map_err(|e| ProtocolError::Compression(e.to_string()))?;
            if out.len() > max_len {
                return Err(ProtocolError::Compression(format!(
                    "decompressed body exceeds {max_len} bytes"
                )));
            }
            Ok(out)
        }
        other => Err(unsupported(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sys_flag_bits() {
        assert_eq!(CompressionType::Zlib.sys_flag_bits(), 0x300);
        assert_eq!(CompressionType::Zstd.sys_flag_bits(), 0x200);
        assert_eq!(CompressionType::Lz4.sys_flag_bits(), 0x100);
        assert_eq!(
            CompressionType::from_sys_flag(0x1),
            Ok(CompressionType::Zlib)
        );
        assert_eq!(
            CompressionType::from_sys_flag(0x301),
            Ok(CompressionType::Zlib)
        );
        assert_eq!(
            CompressionType::from_sys_flag(0x201),
            Ok(CompressionType::Zstd)
        );
        assert_eq!(
            CompressionType::from_sys_flag(0x101),
            Ok(CompressionType::Lz4)
        );
        assert!(matches!(
            CompressionType::from_sys_flag(0x401),
            Err(ProtocolError::Compression(_))
        ));
        for kind in [
            CompressionType::Zlib,
            CompressionType::Zstd,
            CompressionType::Lz4,
        ] {
            assert_eq!(
                CompressionType::from_sys_flag(COMPRESSED_FLAG | kind.sys_flag_bits()),
                Ok(kind)
            );
        }
    }

    #[test]
    fn zlib_round_trip_and_header() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        for level in [0, 1, 5, 9, 100] {
            let packed = compress(CompressionType::Zlib, level, &data).unwrap();
            // RFC 1950 header: CMF 0x78, (CMF*256 + FLG) % 31 == 0.
            assert_eq!(packed[0], 0x78);
            assert_eq!((u16::from(packed[0]) * 256 + u16::from(packed[1])) % 31, 0);
            assert_eq!(
                decompress(CompressionType::Zlib, &packed, data.len()).unwrap(),
                data
            );
        }
        assert_eq!(
            decompress(
                CompressionType::Zlib,
                &compress(CompressionType::Zlib, 5, b"").unwrap(),
                0
            )
            .unwrap(),
            b""
        );
    }

    #[test]
    fn java_deflater_output_decodes() {
        // `new DeflaterOutputStream(out, new Deflater(5))` over "hello": 78 5e header.
        let java = [
            0x78, 0x5e, 0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x06, 0x2c, 0x02, 0x15,
        ];
        assert_eq!(
            decompress(CompressionType::Zlib, &java, 100).unwrap(),
            b"hello"
        );
    }

    #[test]
    fn size_limit_and_garbage() {
        let packed = compress(CompressionType::Zlib, 5, &[0u8; 100_000]).unwrap();
        assert!(matches!(
            decompress(CompressionType::Zlib, &packed, 99_999),
            Err(ProtocolError::Compression(_))
        ));
        assert_eq!(
            decompress(CompressionType::Zlib, &packed, 100_000)
                .unwrap()
                .len(),
            100_000
        );
        for garbage in [
            &b""[..],
            b"\x78",
            b"not zlib at all",
            &packed[..packed.len() / 2],
        ] {
            assert!(matches!(
                decompress(CompressionType::Zlib, garbage, 1 << 20),
                Err(ProtocolError::Compression(_))
            ));
        }
    }

    #[test]
    fn other_algorithms_not_yet() {
        assert_eq!(
            compress(CompressionType::Zstd, 3, b"x"),
            Err(ProtocolError::Compression("zstd not supported yet".into()))
        );
        assert!(decompress(CompressionType::Lz4, b"x", 10).is_err());
    }
}
