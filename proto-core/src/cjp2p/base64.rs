//! Standard base64 (RFC 4648 alphabet `A-Z a-z 0-9 + /`), padded: how CJP2P carries content.
//!
//! Written here rather than taken from a crate because it is forty lines and the core keeps its
//! dependencies few. Encoding always pads; decoding accepts padded text and, to be tolerant,
//! text whose padding was left off, but nothing else (no whitespace, no URL-safe alphabet).

use alloc::string::String;
use alloc::vec::Vec;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// The length of the padded base64 text of `len` bytes.
#[must_use]
pub const fn encoded_len(len: usize) -> usize {
    len.div_ceil(3).saturating_mul(4)
}

fn symbol(index: u32) -> char {
    ALPHABET
        .get((index & 0x3f) as usize)
        .map_or('A', |c| char::from(*c))
}

/// Appends the padded base64 text of `bytes` to `out`.
pub fn encode_into(bytes: &[u8], out: &mut String) {
    out.reserve(encoded_len(bytes.len()));
    for chunk in bytes.chunks(3) {
        let b0 = chunk.first().copied().map_or(0, u32::from);
        let b1 = chunk.get(1).copied().map_or(0, u32::from);
        let b2 = chunk.get(2).copied().map_or(0, u32::from);
        let group = (b0 << 16) | (b1 << 8) | b2;
        out.push(symbol(group >> 18));
        out.push(symbol(group >> 12));
        out.push(if chunk.len() > 1 {
            symbol(group >> 6)
        } else {
            '='
        });
        out.push(if chunk.len() > 2 { symbol(group) } else { '=' });
    }
}

/// The padded base64 text of `bytes`.
#[must_use]
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    encode_into(bytes, &mut out);
    out
}

fn value(c: u8) -> Option<u32> {
    let v = match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    };
    Some(u32::from(v))
}

/// Why text is not base64.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Base64Error;

impl core::fmt::Display for Base64Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("not standard base64")
    }
}

impl core::error::Error for Base64Error {}

/// The bytes that `text` spells in standard base64, padded or not.
///
/// # Errors
/// [`Base64Error`] for a character outside the alphabet, misplaced padding, or a length that no
/// byte string encodes to.
pub fn decode(text: &str) -> Result<Vec<u8>, Base64Error> {
    let bytes = text.as_bytes();
    let unpadded = match bytes {
        [rest @ .., b'=', b'='] if bytes.len() % 4 == 0 => rest,
        [rest @ .., b'='] if bytes.len() % 4 == 0 => rest,
        _ => bytes,
    };
    if unpadded.len() % 4 == 1 {
        return Err(Base64Error);
    }
    let mut out = Vec::with_capacity(unpadded.len() / 4 * 3 + 2);
    for chunk in unpadded.chunks(4) {
        let mut group = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            group |= value(*c).ok_or(Base64Error)? << (18 - 6 * i);
        }
        let [_, b0, b1, b2] = group.to_be_bytes();
        out.push(b0);
        if chunk.len() > 2 {
            out.push(b1);
        }
        if chunk.len() > 3 {
            out.push(b2);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors_round_trip() {
        for (plain, text) in [
            (&b""[..], ""),
            (b"f", "Zg=="),
            (b"fo", "Zm8="),
            (b"foo", "Zm9v"),
            (b"foob", "Zm9vYg=="),
            (b"fooba", "Zm9vYmE="),
            (b"foobar", "Zm9vYmFy"),
            (&[0xff, 0xfe, 0x3f], "//4/"),
        ] {
            assert_eq!(encode(plain), text);
            assert_eq!(decode(text).unwrap(), plain);
        }
        assert_eq!(decode("Zm8").unwrap(), b"fo");
    }

    #[test]
    fn garbage_is_refused() {
        for text in ["Z", "Zm9v Yg==", "Zm9v-g==", "=Zm9", "Zg=a", "Zg==Zg=="] {
            assert_eq!(decode(text), Err(Base64Error), "{text}");
        }
    }
}
