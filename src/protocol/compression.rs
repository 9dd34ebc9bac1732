//! Body compression (docs/PROTOCOL.md, sysFlag and compression), byte-compatible with Java's
//! `Compressor`s (`CompressionType`, `DefaultMQProducerImpl.tryToCompressMessage`):
//! zlib (RFC 1950, what `Deflater` writes), a standard zstd frame (zstd-jni's
//! `ZstdOutputStream`) and the LZ4 *frame* format (lz4-java's `LZ4FrameOutputStream`).

use std::fmt;
use std::io::{Read, Write};
use std::str::FromStr;

use flate2::bufread::ZlibDecoder;
use flate2::write::ZlibEncoder;
use lz4_flex::frame::{BlockMode, BlockSize, FrameDecoder, FrameEncoder, FrameInfo};

use super::sys_flag;
use super::limits::ZSTD_WINDOW_LOG_MAX;
use super::ProtocolError;

/// sysFlag bit 0: the body is compressed.
pub const COMPRESSED_FLAG: i32 = sys_flag::COMPRESSED_FLAG;
/// Java's default `rocketmq.message.compressLevel`. Java hands this same level to every
/// algorithm (zstd too, so a default Java zstd producer compresses at level 5, not zstd's own
/// default 3); only LZ4 ignores it.
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

    /// The lower-case name, as accepted by [`FromStr`] (Java's `CompressionType.of` takes the
    /// same names in any case).
    pub fn as_str(self) -> &'static str {
        match self {
            CompressionType::Zlib => "zlib",
            CompressionType::Zstd => "zstd",
            CompressionType::Lz4 => "lz4",
        }
    }
}

impl fmt::Display for CompressionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Parses `zlib`, `zstd` or `lz4` in any case, surrounding whitespace ignored (like Java's
/// `CompressionType.of`, which trims and upper-cases the `rocketmq.message.compressType` value).
///
/// ```
/// use actix_rocketmq::protocol::compression::CompressionType;
///
/// assert_eq!(" ZSTD ".parse::<CompressionType>().unwrap(), CompressionType::Zstd);
/// assert!("snappy".parse::<CompressionType>().is_err());
/// ```
impl FromStr for CompressionType {
    type Err = ProtocolError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let name = s.trim();
        [
            CompressionType::Zlib,
            CompressionType::Zstd,
            CompressionType::Lz4,
        ]
        .into_iter()
        .find(|kind| kind.as_str().eq_ignore_ascii_case(name))
        .ok_or_else(|| ProtocolError::BadField {
            field: "compressType",
            value: s.to_owned(),
        })
    }
}

fn io_error(kind: CompressionType, e: impl fmt::Display) -> ProtocolError {
    ProtocolError::Compression(format!("{kind}: {e}"))
}

/// The LZ4 frame settings: those of lz4-java's `LZ4FrameOutputStream(out)` (FLG 0x60: version
/// 1, independent blocks, no block or content checksum, no content size), except that small
/// bodies get small blocks. Java writes 4 MiB blocks; its reader accepts any of 64 KiB…4 MiB
/// and allocates a buffer of the declared block size, so smaller blocks cost both sides less.
/// The choice is made here rather than by lz4_flex's `Auto` so that no lz4_flex change can
/// bring 8 MiB blocks (indicator 8), which Java's reader rejects.
fn lz4_frame_info(len: usize) -> FrameInfo {
    let block_size = if len <= 64 * 1024 {
        BlockSize::Max64KB
    } else if len <= 256 * 1024 {
        BlockSize::Max256KB
    } else {
        BlockSize::Max4MB
    };
    // Java's `LZ4FrameInputStream` refuses linked blocks outright, so this must stay Independent.
    FrameInfo::new()
        .block_size(block_size)
        .block_mode(BlockMode::Independent)
        .block_checksums(false)
        .content_checksum(false)
        .content_size(None)
}

/// Compresses `data`. `level` is clamped to the algorithm's range: zlib 0–9; zstd up to 22
/// (0 means zstd's default, 3, as in zstd-jni); LZ4 ignores it, like Java's `Lz4Compressor`
/// (lz4-java's frame stream always uses the fast compressor).
pub fn compress(kind: CompressionType, level: u32, data: &[u8]) -> Result<Vec<u8>, ProtocolError> {
    // Compressible bodies shrink a lot; start small and let the Vec grow when they don't.
    let capacity = data.len() / 4 + 64;
    match kind {
        CompressionType::Zlib => {
            let out = Vec::with_capacity(capacity);
            let mut enc = ZlibEncoder::new(out, flate2::Compression::new(level.min(9)));
            enc.write_all(data).map_err(|e| io_error(kind, e))?;
            enc.finish().map_err(|e| io_error(kind, e))
        }
        CompressionType::Zstd => {
            let max = *zstd::compression_level_range().end();
            let level = i32::try_from(level).unwrap_or(max).min(max);
            // One-shot compression: unlike Java's stream it records the content size in the
            // frame header, which lets readers size their window to the body. Java's
            // `ZstdInputStream` reads both forms.
            zstd::bulk::compress(data, level).map_err(|e| io_error(kind, e))
        }
        CompressionType::Lz4 => {
            let out = Vec::with_capacity(capacity);
            let mut enc = FrameEncoder::with_frame_info(lz4_frame_info(data.len()), out);
            enc.write_all(data).map_err(|e| io_error(kind, e))?;
            enc.finish().map_err(|e| io_error(kind, e))
        }
    }
}

/// Decompresses `data`, refusing output larger than `max_len` (a tiny hostile body must not
/// make us allocate gigabytes). Empty input is an error for every algorithm: each format has a
/// header, so an empty "compressed" body is corrupt, even where a decoder would read it as
/// nothing (lz4_flex takes end-of-input before a frame as a clean end). Bytes after the zlib
/// stream are ignored, as Java's `InflaterInputStream` ignores them; after zstd or LZ4 frames
/// they must form further frames, which are decoded and appended (the Java readers do both).
pub fn decompress(
    kind: CompressionType,
    data: &[u8],
    max_len: usize,
) -> Result<Vec<u8>, ProtocolError> {
    if data.is_empty() {
        return Err(ProtocolError::Compression(format!(
            "{kind}: empty compressed body"
        )));
    }
    match kind {
        // The bufread decoder reads the slice in place: the read one wraps it in a 32 KiB
        // buffer, allocated and cleared per body, a cost that dominated many small bodies.
        CompressionType::Zlib => read_bounded(kind, ZlibDecoder::new(data), data.len(), max_len),
        CompressionType::Zstd => ZSTD_CONTEXT.with(|cell| match cell.try_borrow_mut() {
            // The thread's context, reused: creating one costs ~5 µs (it clears its tables), which
            // dominated decoding a list of many small compressed messages.
            Ok(mut ctx) => {
                let ctx = ctx.get_or_insert_with(|| {
                    let mut ctx = zstd::zstd_safe::DCtx::create();
                    // Cannot fail for a value within zstd's range.
                    let _ = ctx.set_parameter(zstd::zstd_safe::DParameter::WindowLogMax(ZSTD_WINDOW_LOG_MAX));
                    ctx
                });
                read_bounded(kind, zstd::stream::read::Decoder::with_context(data, ctx), data.len(), max_len)
            }
            // (Not reentrant; a nested call gets a context of its own.)
            Err(_) => {
                let mut dec = zstd::stream::read::Decoder::with_buffer(data).map_err(|e| io_error(kind, e))?;
                dec.window_log_max(ZSTD_WINDOW_LOG_MAX).map_err(|e| io_error(kind, e))?;
                read_bounded(kind, dec, data.len(), max_len)
            }
        }),
        CompressionType::Lz4 => {
            check_lz4_frames(data)?;
            let mut rest = data;
            let mut out = Vec::with_capacity(initial_capacity(data.len(), max_len));
            // The decoder's buffers are bounded by the block size the header declares (≤ 8 MiB).
            let mut dec = FrameDecoder::new(&mut rest);
            // lz4_flex reports end-of-stream after every frame; Java's `LZ4FrameInputStream`
            // goes on with the next one, so keep reading until the input is used up.
            // `check_lz4_frames` guarantees each round consumes one whole frame.
            while !dec.get_ref().is_empty() {
                let before = dec.get_ref().len();
                read_into(kind, &mut dec, &mut out, max_len)?;
                if dec.get_ref().len() == before {
                    return Err(io_error(kind, "decoder made no progress"));
                }
            }
            Ok(out)
        }
    }
}

/// Walks the LZ4 frame structure of `data` without decoding: every frame must be complete
/// (EndMark and optional content checksum present) and the frames must fill `data` exactly.
/// lz4_flex's decoder takes end-of-input before a block header, or after a 4-byte magic, as a
/// clean end, so a body cut at a block boundary would otherwise decode "successfully" to a
/// shorter body; Java's `LZ4FrameInputStream` fails on it ("Stream ended prematurely").
/// Checksums, block sizes and block contents are left to the decoder. Skippable frames, which
/// Java's reader would skip, are rejected: no RocketMQ client writes them.
fn check_lz4_frames(data: &[u8]) -> Result<(), ProtocolError> {
    const MAGIC: u32 = 0x184D_2204;
    const FLG_BLOCK_CHECKSUM: u8 = 0x10;
    const FLG_CONTENT_SIZE: u8 = 0x08;
    const FLG_CONTENT_CHECKSUM: u8 = 0x04;
    const FLG_DICT_ID: u8 = 0x01;
    const UNCOMPRESSED_BIT: u32 = 0x8000_0000;

    let truncated = || ProtocolError::Compression("lz4: truncated frame".to_owned());
    let u32_at = |pos: usize| -> Result<u32, ProtocolError> {
        let bytes = data.get(pos..pos.checked_add(4).ok_or_else(truncated)?);
        let bytes: [u8; 4] = bytes
            .and_then(|b| b.try_into().ok())
            .ok_or_else(truncated)?;
        Ok(u32::from_le_bytes(bytes))
    };
    let mut pos = 0usize;
    while pos < data.len() {
        if u32_at(pos)? != MAGIC {
            return Err(ProtocolError::Compression(
                "lz4: bad frame magic number".to_owned(),
            ));
        }
        let flg = *data.get(pos + 4).ok_or_else(truncated)?;
        // Magic, FLG, BD, optional content size and dictionary id, header checksum.
        pos += 7
            + if flg & FLG_CONTENT_SIZE != 0 { 8 } else { 0 }
            + if flg & FLG_DICT_ID != 0 { 4 } else { 0 };
        let block_checksum = if flg & FLG_BLOCK_CHECKSUM != 0 { 4 } else { 0 };
        loop {
            let block = u32_at(pos)?;
            pos += 4;
            if block == 0 {
                // EndMark, then the content checksum if the frame has one.
                if flg & FLG_CONTENT_CHECKSUM != 0 {
                    u32_at(pos)?;
                    pos += 4;
                }
                break;
            }
            let len = usize::try_from(block & !UNCOMPRESSED_BIT).map_err(|_| truncated())?;
            pos = pos
                .checked_add(len)
                .and_then(|p| p.checked_add(block_checksum))
                .filter(|&p| p <= data.len())
                .ok_or_else(truncated)?;
        }
    }
    Ok(())
}

thread_local! {
    /// Each thread's zstd decompression context, made on first use. It keeps the buffers of the
    /// largest frame it decoded (at most the 8 MiB window [`ZSTD_WINDOW_LOG_MAX`] allows).
    static ZSTD_CONTEXT: std::cell::RefCell<Option<zstd::zstd_safe::DCtx<'static>>> = const { std::cell::RefCell::new(None) };
}

/// A first guess for the output buffer: compressed bodies usually expand a few times.
fn initial_capacity(input_len: usize, max_len: usize) -> usize {
    input_len.saturating_mul(4).min(max_len)
}

fn read_bounded(
    kind: CompressionType,
    reader: impl Read,
    input_len: usize,
    max_len: usize,
) -> Result<Vec<u8>, ProtocolError> {
    let mut out = Vec::with_capacity(initial_capacity(input_len, max_len));
    read_into(kind, reader, &mut out, max_len)?;
    Ok(out)
}

/// Appends `reader`'s output to `out`, letting `out` hold at most `max_len + 1` bytes, so an
/// oversized result is detected after producing one byte too many instead of all of it. The
/// buffer grows by doubling but never past that: `read_to_end` alone would double a full 64 MiB
/// buffer to 128 MiB for the one byte that proves the body too large.
fn read_into(
    kind: CompressionType,
    mut reader: impl Read,
    out: &mut Vec<u8>,
    max_len: usize,
) -> Result<(), ProtocolError> {
    let limit = max_len.saturating_add(1);
    loop {
        if out.len() >= limit {
            break;
        }
        if out.len() == out.capacity() {
            let target = out.capacity().saturating_mul(2).max(8 * 1024).min(limit);
            out.reserve_exact(target - out.len());
        }
        // Fill the room there is; the `Take` makes `read_to_end` stop at the capacity instead of
        // growing the buffer itself.
        let room = out.capacity().min(limit) - out.len();
        let before = out.len();
        (&mut reader)
            .take(u64::try_from(room).unwrap_or(u64::MAX))
            .read_to_end(out)
            .map_err(|e| io_error(kind, e))?;
        if out.len() - before < room {
            break; // the decoder's output ended before the room did
        }
    }
    if out.len() > max_len {
        return Err(ProtocolError::Compression(format!(
            "{kind}: decompressed body exceeds {max_len} bytes"
        )));
    }
    Ok(())
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

    const ALL: [CompressionType; 3] = [
        CompressionType::Zlib,
        CompressionType::Zstd,
        CompressionType::Lz4,
    ];

    /// Compressible but not trivial: repeated text with a counter mixed in.
    fn sample(len: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(len + 32);
        let mut i = 0u32;
        while v.len() < len {
            v.extend_from_slice(format!("message body {i} ").as_bytes());
            i += 1;
        }
        v.truncate(len);
        v
    }

    #[test]
    fn names() {
        for kind in ALL {
            assert_eq!(kind.as_str().parse::<CompressionType>(), Ok(kind));
            assert_eq!(
                kind.as_str().to_uppercase().parse::<CompressionType>(),
                Ok(kind)
            );
            assert_eq!(kind.to_string(), kind.as_str());
        }
        assert_eq!("Lz4".parse::<CompressionType>(), Ok(CompressionType::Lz4));
        assert_eq!(
            "\tzLiB\n".parse::<CompressionType>(),
            Ok(CompressionType::Zlib)
        );
        for bad in ["", "gzip", "lz", "zstd1", "z lib"] {
            assert_eq!(
                bad.parse::<CompressionType>(),
                Err(ProtocolError::BadField {
                    field: "compressType",
                    value: bad.to_owned()
                })
            );
        }
    }

    #[test]
    fn round_trips_all_algorithms() {
        for kind in ALL {
            for len in [0, 1, 4096, 100_000, 1 << 20] {
                let data = sample(len);
                // zstd's top levels are slow in an unoptimised test build; small bodies suffice.
                let levels: &[u32] = if len > 100_000 {
                    &[DEFAULT_LEVEL]
                } else {
                    &[0, 1, DEFAULT_LEVEL, 9, 1000]
                };
                for &level in levels {
                    let packed = compress(kind, level, &data).unwrap();
                    assert!(!packed.is_empty(), "{kind} {len} {level}");
                    assert_eq!(
                        decompress(kind, &packed, len).unwrap(),
                        data,
                        "{kind} len {len} level {level}"
                    );
                    // Zlib level 0 only stores.
                    if len >= 4096 && !(kind == CompressionType::Zlib && level == 0) {
                        assert!(packed.len() < len / 2, "{kind} {len} {level}");
                    }
                }
            }
        }
    }

    #[test]
    fn incompressible_round_trip() {
        let mut rng = fastrand::Rng::with_seed(7);
        let data: Vec<u8> = (0..300_000).map(|_| rng.u8(..)).collect();
        for kind in ALL {
            let packed = compress(kind, DEFAULT_LEVEL, &data).unwrap();
            assert_eq!(decompress(kind, &packed, data.len()).unwrap(), data);
        }
    }

    #[test]
    fn zstd_frame_magic() {
        for data in [&b""[..], b"x", &sample(10_000)] {
            let packed = compress(CompressionType::Zstd, 3, data).unwrap();
            assert_eq!(packed[..4], [0x28, 0xB5, 0x2F, 0xFD]);
        }
    }

    #[test]
    fn zstd_streamed_frame_decodes() {
        // zstd-jni's `ZstdOutputStream` streams: no content size in the header, window from
        // the level. The stream encoder of the zstd crate writes the same shape.
        let data = sample(50_000);
        let mut enc = zstd::stream::write::Encoder::new(Vec::new(), 5).unwrap();
        enc.write_all(&data).unwrap();
        let packed = enc.finish().unwrap();
        assert_eq!(
            decompress(CompressionType::Zstd, &packed, data.len()).unwrap(),
            data
        );
    }

    #[test]
    fn lz4_frame_header_is_java_compatible() {
        // Magic 0x184D2204 little-endian, FLG 0x60 (version 1, independent blocks, no
        // checksums, no content size), BD by size, header checksum.
        for (len, bd, hc) in [
            (0, 0x40, 0x82),
            (1, 0x40, 0x82),
            (64 * 1024, 0x40, 0x82),
            (64 * 1024 + 1, 0x50, 0xFB),
            (1 << 20, 0x70, 0x73),
        ] {
            let packed = compress(CompressionType::Lz4, 5, &sample(len)).unwrap();
            assert_eq!(packed[..7], [0x04, 0x22, 0x4D, 0x18, 0x60, bd, hc], "{len}");
            // EndMark, and no content checksum after it.
            assert_eq!(packed[packed.len() - 4..], [0, 0, 0, 0], "{len}");
        }
    }

    #[test]
    fn java_lz4_frame_output_decodes() {
        // `new LZ4FrameOutputStream(out)` over "hello": 4 MiB blocks (BD 0x70, HC 0x73); the
        // 5-byte block does not shrink, so it is stored raw (size | 0x80000000), then EndMark.
        let java = [
            0x04, 0x22, 0x4D, 0x18, 0x60, 0x70, 0x73, 0x05, 0x00, 0x00, 0x80, b'h', b'e', b'l',
            b'l', b'o', 0x00, 0x00, 0x00, 0x00,
        ];
        assert_eq!(
            decompress(CompressionType::Lz4, &java, 100).unwrap(),
            b"hello"
        );
        // A corrupted header checksum is caught.
        let mut bad = java;
        bad[6] ^= 0xFF;
        assert!(matches!(
            decompress(CompressionType::Lz4, &bad, 100),
            Err(ProtocolError::Compression(_))
        ));
    }

    #[test]
    fn lz4_truncation_at_frame_boundaries_is_caught() {
        // `compress` puts a body this size in one 4 MiB block, so build a frame with many blocks
        // and both checksums by hand.
        let data = sample(300_000);
        let info = FrameInfo::new()
            .block_size(BlockSize::Max64KB)
            .content_checksum(true)
            .block_checksums(true);
        let mut enc = FrameEncoder::with_frame_info(info, Vec::new());
        enc.write_all(&data).unwrap();
        let packed = enc.finish().unwrap();
        assert_eq!(
            decompress(CompressionType::Lz4, &packed, data.len()).unwrap(),
            data
        );
        // Cut before the content checksum, before the EndMark, after the magic only.
        for cut in [packed.len() - 4, packed.len() - 8, 4, 6] {
            assert!(
                matches!(
                    decompress(CompressionType::Lz4, &packed[..cut], 1 << 20),
                    Err(ProtocolError::Compression(_))
                ),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn concatenated_frames_decode() {
        // Both Java readers continue with the next frame; so do we.
        for kind in [CompressionType::Zstd, CompressionType::Lz4] {
            let mut packed = compress(kind, 5, b"hello ").unwrap();
            packed.extend(compress(kind, 5, b"world").unwrap());
            assert_eq!(
                decompress(kind, &packed, 100).unwrap(),
                b"hello world",
                "{kind}"
            );
            assert!(decompress(kind, &packed, 10).is_err());
        }
    }

    #[test]
    fn size_limit_all_algorithms() {
        let data = vec![0u8; 100_000];
        for kind in ALL {
            let packed = compress(kind, 5, &data).unwrap();
            // A 100 000:1 ratio would let a small body expand into gigabytes without the limit.
            assert!(packed.len() < 1000, "{kind}: {}", packed.len());
            assert!(
                matches!(
                    decompress(kind, &packed, 99_999),
                    Err(ProtocolError::Compression(ref m)) if m.contains("exceeds")
                ),
                "{kind}"
            );
            assert!(
                matches!(
                    decompress(kind, &packed, 0),
                    Err(ProtocolError::Compression(_))
                ),
                "{kind}"
            );
            assert_eq!(decompress(kind, &packed, 100_000).unwrap().len(), 100_000);
        }
    }

    #[test]
    fn a_bomb_costs_no_more_than_the_limit() {
        // Zeros compress about 1000:1; each algorithm's bomb inflates past the limit.
        let limit = crate::protocol::limits::MAX_DECOMPRESSED_BODY;
        let data = vec![0u8; limit + 4096];
        for kind in ALL {
            let packed = compress(kind, 5, &data).unwrap();
            let before = crate::test_alloc::allocated_on_this_thread();
            let res = decompress(kind, &packed, limit);
            let allocated = crate::test_alloc::allocated_on_this_thread() - before;
            assert!(matches!(res, Err(ProtocolError::Compression(ref m)) if m.contains("exceeds")), "{kind}: {res:?}");
            // The output buffer reaches limit + 1 bytes. The decoders' own state: small for zlib
            // (with read_to_end its buffer doubled to twice the limit), the window for zstd
            // (bounded by ZSTD_WINDOW_LOG_MAX), two 4 MiB block buffers for LZ4.
            let decoder = if kind == CompressionType::Lz4 { 8 << 20 } else { limit / 4 };
            assert!(allocated < limit + decoder + (1 << 20), "{kind}: {allocated} bytes for a limit of {limit}");
        }
        // At the limit exactly, the output fits and is not over-allocated.
        let packed = compress(CompressionType::Zlib, 5, &data[..limit]).unwrap();
        let out = decompress(CompressionType::Zlib, &packed, limit).unwrap();
        assert_eq!(out.len(), limit);
        assert!(out.capacity() <= limit + 1, "{}", out.capacity());
    }

    #[test]
    fn a_zstd_frame_asking_for_a_huge_window_is_refused() {
        // A frame header declaring a 1 GiB window (Window_Descriptor exponent 30 - 10 = 20), no
        // content size: zstd would allocate the window before writing a byte.
        let mut frame = vec![0x28, 0xB5, 0x2F, 0xFD, 0x00, 20 << 3];
        frame.extend_from_slice(&[0x01, 0x00, 0x00]); // a last, empty raw block
        let before = crate::test_alloc::allocated_on_this_thread();
        assert!(decompress(CompressionType::Zstd, &frame, 1 << 20).is_err());
        assert!(crate::test_alloc::allocated_on_this_thread() - before < 16 << 20);
    }

    #[test]
    fn garbage_is_a_typed_error() {
        for kind in ALL {
            let packed = compress(kind, 5, &sample(20_000)).unwrap();
            let mut trailing = packed.clone();
            trailing.extend_from_slice(b"junk");
            let mut flipped = packed.clone();
            let mid = flipped.len() / 2;
            flipped[mid] ^= 0x55;
            flipped[mid + 1] ^= 0xAA;
            for garbage in [
                &b""[..],
                b"\x00",
                b"not compressed at all, just text",
                &[0xFF; 64],
                &packed[..packed.len() / 2],
                &packed[..packed.len() - 1],
            ] {
                assert!(
                    matches!(
                        decompress(kind, garbage, 1 << 20),
                        Err(ProtocolError::Compression(_))
                    ),
                    "{kind}: {garbage:?}"
                );
            }
            // Bytes after the end of the stream: Java's `InflaterInputStream` stops at the end
            // of the zlib stream and never looks at them, flate2 neither; zstd and LZ4 readers
            // take them for the start of another frame and fail.
            let result = decompress(kind, &trailing, 1 << 20);
            if kind == CompressionType::Zlib {
                assert_eq!(result.unwrap().len(), 20_000);
            } else {
                assert!(
                    matches!(result, Err(ProtocolError::Compression(_))),
                    "{kind}"
                );
            }
            // Flipped bits in the middle must not panic; without checksums the result may be
            // wrong data, but never more than the limit.
            if let Ok(out) = decompress(kind, &flipped, 20_000) {
                assert!(out.len() <= 20_000);
            }
        }
        // Each algorithm rejects the others' output.
        let data = sample(10_000);
        for a in ALL {
            for b in ALL {
                if a != b {
                    let packed = compress(a, 5, &data).unwrap();
                    assert!(decompress(b, &packed, 1 << 20).is_err(), "{a} read as {b}");
                }
            }
        }
    }
}
