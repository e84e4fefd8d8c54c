//! Standard base64 (RFC 4648 alphabet `A-Z a-z 0-9 + /`), padded: how CJP2P carries content.
//!
//! The coding itself is the `base64` crate's general-purpose engine, which measured faster than
//! the table codec this module used to hold (`cargo bench -p ejtp-proto --bench codecs`, where
//! that codec is kept as the baseline). This module keeps the rules CJP2P peers rely on, which
//! are looser than the crate's defaults: encoding always pads; decoding accepts padded text and,
//! to be tolerant, text whose padding was left off, and ignores non-zero bits after the last
//! byte, but nothing else (no whitespace, no URL-safe alphabet, padding only as the last one or
//! two symbols of a text whose length is a multiple of four).
//!
//! Every content byte a CJP2P node sends or receives passes through here, so output is written
//! into a buffer sized once, never pushed symbol by symbol.

use alloc::string::String;
use alloc::vec::Vec;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// The crate's engine set to our rules. Padding is checked by [`decode_bytes`] before the text
/// reaches the engine, so the engine only ever sees unpadded text; `Indifferent` lets it take
/// that, and allowing trailing bits keeps accepting what peers (and our earlier decoder) accept.
const ENGINE: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// The length of the padded base64 text of `len` bytes.
#[must_use]
pub const fn encoded_len(len: usize) -> usize {
    len.div_ceil(3).saturating_mul(4)
}

/// Appends the padded base64 text of `bytes` to `out`: the form for writing straight into a
/// datagram being built as bytes.
pub fn encode_to_vec(bytes: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    out.resize(start.saturating_add(encoded_len(bytes.len())), 0);
    if let Some(slot) = out.get_mut(start..) {
        // The slot is exactly the encoded length, so the engine cannot run out of room.
        let _ = ENGINE.encode_slice(bytes, slot);
    }
}

/// Appends the padded base64 text of `bytes` to `out`.
pub fn encode_into(bytes: &[u8], out: &mut String) {
    out.reserve(encoded_len(bytes.len()));
    ENGINE.encode_string(bytes, out);
}

/// The padded base64 text of `bytes`.
#[must_use]
pub fn encode(bytes: &[u8]) -> String {
    ENGINE.encode(bytes)
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
    decode_bytes(text.as_bytes())
}

/// [`decode`] for text given as bytes (as it sits in a datagram): the same result for the same
/// bytes, and an error for bytes that are not ASCII.
///
/// # Errors
/// [`Base64Error`], as for [`decode`].
pub fn decode_bytes(text: &[u8]) -> Result<Vec<u8>, Base64Error> {
    // Padding is ours to judge: one or two `=` closing a text whose length is a multiple of
    // four. The engine, which is more lenient about where padding may stand, gets the text
    // without it; an `=` still at its end was misplaced, and one anywhere else is a symbol
    // outside the alphabet to the engine.
    let unpadded = match text {
        [rest @ .., b'=', b'='] if text.len().is_multiple_of(4) => rest,
        [rest @ .., b'='] if text.len().is_multiple_of(4) => rest,
        _ => text,
    };
    if unpadded.last() == Some(&b'=') {
        return Err(Base64Error);
    }
    ENGINE.decode(unpadded).map_err(|_| Base64Error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The standard alphabet, for the reference definitions and the generators below.
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

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
        for text in [
            "Z",
            "Zm9v Yg==",
            "Zm9v-g==",
            "=Zm9",
            "Zg=a",
            "Zg==Zg==",
            "Zg=",
            "====",
            "Zm9v\u{e9}",
        ] {
            assert_eq!(decode(text), Err(Base64Error), "{text}");
        }
    }

    #[test]
    fn long_inputs_cross_the_encoder_buffer() {
        let data: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 256) as u8).collect();
        let mut text = String::from("x");
        encode_into(&data, &mut text);
        assert_eq!(text.get(1..), Some(simple::encode(&data).as_str()));
        assert_eq!(decode(&text[1..]).unwrap(), data);
    }

    /// The first, symbol-at-a-time definitions, kept as the reference the tables must match.
    mod simple {
        use alloc::string::String;
        use alloc::vec::Vec;

        fn symbol(index: u32) -> char {
            char::from(super::ALPHABET[(index & 0x3f) as usize])
        }

        pub(super) fn encode(bytes: &[u8]) -> String {
            let mut out = String::new();
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

        pub(super) fn decode(bytes: &[u8]) -> Option<Vec<u8>> {
            let unpadded = match bytes {
                [rest @ .., b'=', b'='] if bytes.len().is_multiple_of(4) => rest,
                [rest @ .., b'='] if bytes.len().is_multiple_of(4) => rest,
                _ => bytes,
            };
            if unpadded.len() % 4 == 1 {
                return None;
            }
            let mut out = Vec::new();
            for chunk in unpadded.chunks(4) {
                let mut group = 0u32;
                for (i, c) in chunk.iter().enumerate() {
                    group |= value(*c)? << (18 - 6 * i);
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
            Some(out)
        }
    }

    /// Text that is mostly base64, with now and then a symbol from elsewhere or misplaced
    /// padding: the inputs where a table decoder could disagree with the simple one.
    fn nearly_base64() -> impl Strategy<Value = Vec<u8>> {
        let symbol = prop_oneof![
            20 => prop::sample::select(ALPHABET.to_vec()),
            2 => Just(b'='),
            1 => any::<u8>(),
        ];
        prop::collection::vec(symbol, 0..64)
    }

    proptest! {
        /// The table encoder writes what the simple one writes, through every entry point, and
        /// decoding gives the bytes back.
        #[test]
        fn tables_match_the_simple_definition(bytes in prop::collection::vec(any::<u8>(), 0..3000)) {
            let expected = simple::encode(&bytes);
            prop_assert_eq!(&encode(&bytes), &expected);
            let mut text = String::from("[");
            encode_into(&bytes, &mut text);
            prop_assert_eq!(text.get(1..), Some(expected.as_str()));
            let mut raw = b"{".to_vec();
            encode_to_vec(&bytes, &mut raw);
            prop_assert_eq!(raw.get(1..), Some(expected.as_bytes()));
            prop_assert_eq!(decode(&expected), Ok(bytes.clone()));
            // Unpadded text is accepted too.
            prop_assert_eq!(decode(expected.trim_end_matches('=')), Ok(bytes));
        }

        /// On any text, valid or not, the table decoder accepts exactly what the simple one
        /// accepts, with the same bytes, and never panics.
        #[test]
        fn decoding_matches_the_simple_definition(text in nearly_base64()) {
            prop_assert_eq!(decode_bytes(&text).ok(), simple::decode(&text));
        }

        /// The same on arbitrary bytes.
        #[test]
        fn decoding_arbitrary_bytes_matches(text in prop::collection::vec(any::<u8>(), 0..64)) {
            prop_assert_eq!(decode_bytes(&text).ok(), simple::decode(&text));
        }
    }
}
