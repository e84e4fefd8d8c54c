//! `c` frames: zlib compression, and decompression bounded against bombs.

use alloc::vec::Vec;

use miniz_oxide::inflate::{self, TINFLStatus};

use super::{Compression, FrameError, TYPE_COMPRESSED};

/// The zlib level the reference uses (Python's default), so sizes stay comparable.
const ZLIB_LEVEL: u8 = 6;

/// A `c` frame holding `inner` compressed with zlib: `cz\0` followed by the zlib stream.
#[must_use]
pub fn encode_compressed(inner: &[u8]) -> Vec<u8> {
    let compressed = miniz_oxide::deflate::compress_to_vec_zlib(inner, ZLIB_LEVEL);
    let mut out = Vec::with_capacity(compressed.len().saturating_add(3));
    out.extend_from_slice(&[TYPE_COMPRESSED, Compression::Zlib.header_byte(), 0]);
    out.extend_from_slice(&compressed);
    out
}

/// Decompresses the body of a `c` frame into at most `max_len` bytes.
///
/// zlib expands up to about a thousandfold, so a few kilobytes from a peer could otherwise ask
/// for megabytes: the output buffer never grows past `max_len`, and anything longer is refused
/// rather than truncated. Bytes after the end of the zlib stream are ignored, as zlib does.
///
/// # Errors
/// [`FrameError::UnsupportedCompression`] for bzip2, [`FrameError::TooLarge`] if the output
/// would exceed `max_len`, [`FrameError::Decompress`] for a corrupt or truncated stream.
pub fn decompress(method: Compression, body: &[u8], max_len: usize) -> Result<Vec<u8>, FrameError> {
    match method {
        Compression::Zlib => {
            inflate::decompress_to_vec_zlib_with_limit(body, max_len).map_err(|err| {
                match err.status {
                    TINFLStatus::HasMoreOutput => FrameError::TooLarge,
                    _ => FrameError::Decompress,
                }
            })
        }
        Compression::Bzip2 => Err(FrameError::UnsupportedCompression),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{Frame, decode};

    fn zlib_body(frame: &[u8]) -> &[u8] {
        match decode(frame).unwrap() {
            Frame::Compressed {
                method: Compression::Zlib,
                body,
            } => body,
            other => panic!("not a zlib frame: {other:?}"),
        }
    }

    #[test]
    fn compressed_frames_round_trip() {
        let inner = b"j\0{\"text\":\"hello hello hello hello\"}";
        let frame = encode_compressed(inner);
        assert!(frame.starts_with(b"cz\0"));
        let out = decompress(Compression::Zlib, zlib_body(&frame), inner.len()).unwrap();
        assert_eq!(out, inner);
    }

    #[test]
    fn output_of_exactly_the_limit_is_accepted_and_one_more_byte_refused() {
        let inner = [b'a'; 1000];
        let frame = encode_compressed(&inner);
        let body = zlib_body(&frame);
        assert_eq!(decompress(Compression::Zlib, body, 1000).unwrap(), inner);
        assert_eq!(
            decompress(Compression::Zlib, body, 999),
            Err(FrameError::TooLarge)
        );
    }

    #[test]
    fn decompression_bomb_is_refused_at_the_limit() {
        // 16 MiB of zeros compresses to about 16 KiB.
        let bomb = miniz_oxide::deflate::compress_to_vec_zlib(&alloc::vec![0u8; 16 << 20], 9);
        assert!(bomb.len() < 64 << 10);
        assert_eq!(
            decompress(Compression::Zlib, &bomb, 65_507),
            Err(FrameError::TooLarge)
        );
    }

    #[test]
    fn corrupt_and_truncated_streams_are_errors() {
        let frame = encode_compressed(b"some inner frame bytes");
        let body = zlib_body(&frame);
        let truncated = body.get(..body.len() - 3).unwrap();
        assert_eq!(
            decompress(Compression::Zlib, truncated, 1 << 16),
            Err(FrameError::Decompress)
        );
        let mut flipped = body.to_vec();
        *flipped.last_mut().unwrap() ^= 0xff; // breaks the Adler-32 checksum
        assert_eq!(
            decompress(Compression::Zlib, &flipped, 1 << 16),
            Err(FrameError::Decompress)
        );
        assert_eq!(
            decompress(Compression::Zlib, b"not zlib", 1 << 16),
            Err(FrameError::Decompress)
        );
    }

    #[test]
    fn bzip2_is_recognised_but_unsupported() {
        assert_eq!(
            decompress(Compression::Bzip2, b"BZh9", 1 << 16),
            Err(FrameError::UnsupportedCompression)
        );
    }
}
