//! Lowercase hexadecimal, for keys, ids and vector files.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// Why text is not hexadecimal of the expected length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HexError {
    /// A character outside `0-9a-fA-F`.
    InvalidDigit,
    /// An odd number of digits, or not the length asked for.
    Length,
}

impl fmt::Display for HexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::InvalidDigit => "invalid hexadecimal digit",
            Self::Length => "wrong number of hexadecimal digits",
        })
    }
}

impl core::error::Error for HexError {}

fn nibble(n: u8) -> char {
    char::from(if n < 10 { b'0' + n } else { b'a' + n - 10 })
}

/// The lowercase hex text of `bytes`.
#[must_use]
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(nibble(byte >> 4));
        out.push(nibble(byte & 0x0f));
    }
    out
}

fn digit(c: u8) -> Result<u8, HexError> {
    match c {
        b'0'..=b'9' => Ok(c - b'0'),
        b'a'..=b'f' => Ok(c - b'a' + 10),
        b'A'..=b'F' => Ok(c - b'A' + 10),
        _ => Err(HexError::InvalidDigit),
    }
}

/// The bytes that `text` spells in hex (either case).
///
/// # Errors
/// [`HexError`] for a bad digit or an odd length.
pub fn decode(text: &str) -> Result<Vec<u8>, HexError> {
    let text = text.as_bytes();
    if !text.len().is_multiple_of(2) {
        return Err(HexError::Length);
    }
    text.chunks_exact(2)
        .map(|pair| match pair {
            [hi, lo] => Ok(digit(*hi)? << 4 | digit(*lo)?),
            _ => Err(HexError::Length),
        })
        .collect()
}

/// Exactly `N` bytes spelled in hex.
///
/// # Errors
/// [`HexError`] for a bad digit or any length other than `2 * N` digits.
pub fn decode_array<const N: usize>(text: &str) -> Result<[u8; N], HexError> {
    decode(text)?.try_into().map_err(|_| HexError::Length)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_rejects_garbage() {
        assert_eq!(encode(&[0x00, 0xab, 0xff]), "00abff");
        assert_eq!(decode("00ABff").unwrap(), [0x00, 0xab, 0xff]);
        assert_eq!(decode("abc"), Err(HexError::Length));
        assert_eq!(decode("zz"), Err(HexError::InvalidDigit));
        assert_eq!(decode_array::<2>("0001").unwrap(), [0, 1]);
        assert_eq!(decode_array::<2>("00"), Err(HexError::Length));
    }
}
