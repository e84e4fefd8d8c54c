//! Standard base64 (RFC 4648 alphabet `A-Z a-z 0-9 + /`), padded: how CJP2P carries content.
//!
//! Written here rather than taken from a crate because it is short and the core keeps its
//! dependencies few. Encoding always pads; decoding accepts padded text and, to be tolerant,
//! text whose padding was left off, but nothing else (no whitespace, no URL-safe alphabet).
//!
//! Every content byte a CJP2P node sends or receives passes through here, so both directions
//! work on whole groups with lookup tables: encoding turns 3 bytes into 4 symbols with two
//! lookups of a 12-bit table of symbol pairs, decoding turns 4 symbols into 3 bytes with four
//! lookups, checking the alphabet once per run of groups rather than per symbol. Output is
//! written into a buffer sized once, never pushed symbol by symbol.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// The two symbols of every 12-bit value, big-endian in a `u16` (8 KiB).
static PAIRS: [u16; 4096] = pairs();

/// The 6-bit value of every byte, or [`INVALID`] for bytes outside the alphabet.
static VALUES: [u8; 256] = values();

/// Marks a byte outside the alphabet in [`VALUES`]: the high bit, which no 6-bit value has.
const INVALID: u8 = 0x80;

// Indexing in these two is checked when the tables are built, at compile time: an index out of
// bounds fails the build instead of panicking.
#[allow(clippy::indexing_slicing)]
const fn pairs() -> [u16; 4096] {
    let mut table = [0u16; 4096];
    let mut index = 0;
    while index < 4096 {
        let high = ALPHABET[index >> 6] as u16;
        let low = ALPHABET[index & 0x3f] as u16;
        table[index] = (high << 8) | low;
        index += 1;
    }
    table
}

#[allow(clippy::indexing_slicing)]
const fn values() -> [u8; 256] {
    let mut table = [INVALID; 256];
    let mut value = 0;
    while value < 64 {
        table[ALPHABET[value] as usize] = value as u8;
        value += 1;
    }
    table
}

/// The length of the padded base64 text of `len` bytes.
#[must_use]
pub const fn encoded_len(len: usize) -> usize {
    len.div_ceil(3).saturating_mul(4)
}

/// The symbols of the 12-bit value `index` (the mask keeps the lookup in bounds).
fn pair(index: u32) -> [u8; 2] {
    PAIRS
        .get((index & 0xfff) as usize)
        .copied()
        .unwrap_or(0)
        .to_be_bytes()
}

/// The four symbols of up to three bytes (missing bytes count as zero).
fn quad(b0: u8, b1: u8, b2: u8) -> [u8; 4] {
    let group = (u32::from(b0) << 16) | (u32::from(b1) << 8) | u32::from(b2);
    let [s0, s1] = pair(group >> 12);
    let [s2, s3] = pair(group);
    [s0, s1, s2, s3]
}

/// Writes the padded base64 text of `bytes` into `out`, which must be exactly
/// [`encoded_len`]`(bytes.len())` long (a shorter `out` gets the text cut short).
fn encode_to_slice(bytes: &[u8], out: &mut [u8]) {
    let mut groups = bytes.chunks_exact(3);
    let mut slots = out.chunks_exact_mut(4);
    for (group, slot) in (&mut groups).zip(&mut slots) {
        if let ([b0, b1, b2], [s0, s1, s2, s3]) = (group, slot) {
            [*s0, *s1, *s2, *s3] = quad(*b0, *b1, *b2);
        }
    }
    let Some(slot) = slots.next() else {
        return;
    };
    match (groups.remainder(), slot) {
        ([b0], [s0, s1, s2, s3]) => {
            let [q0, q1, _, _] = quad(*b0, 0, 0);
            [*s0, *s1, *s2, *s3] = [q0, q1, b'=', b'='];
        }
        ([b0, b1], [s0, s1, s2, s3]) => {
            let [q0, q1, q2, _] = quad(*b0, *b1, 0);
            [*s0, *s1, *s2, *s3] = [q0, q1, q2, b'='];
        }
        _ => {}
    }
}

/// Appends the padded base64 text of `bytes` to `out`: the form for writing straight into a
/// datagram being built as bytes.
pub fn encode_to_vec(bytes: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    out.resize(start.saturating_add(encoded_len(bytes.len())), 0);
    if let Some(slot) = out.get_mut(start..) {
        encode_to_slice(bytes, slot);
    }
}

/// Appends the padded base64 text of `bytes` to `out`.
pub fn encode_into(bytes: &[u8], out: &mut String) {
    // Through a stack buffer: a `String` takes only text, and checking 1 KiB of ASCII is far
    // cheaper than pushing it one `char` at a time.
    const INPUT: usize = 768;
    let mut buffer = [0u8; encoded_len(INPUT)];
    out.reserve(encoded_len(bytes.len()));
    for piece in bytes.chunks(INPUT) {
        let Some(text) = buffer.get_mut(..encoded_len(piece.len())) else {
            return;
        };
        encode_to_slice(piece, text);
        // Always ASCII: the alphabet and `=`.
        if let Ok(text) = core::str::from_utf8(text) {
            out.push_str(text);
        }
    }
}

/// The padded base64 text of `bytes`.
#[must_use]
pub fn encode(bytes: &[u8]) -> String {
    let mut out = Vec::new();
    encode_to_vec(bytes, &mut out);
    // Always ASCII, so the conversion cannot fail.
    String::from_utf8(out).unwrap_or_default()
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

/// The 6-bit value of `symbol`, or [`INVALID`].
fn value(symbol: u8) -> u32 {
    u32::from(VALUES.get(usize::from(symbol)).copied().unwrap_or(INVALID))
}

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
    let unpadded = match text {
        [rest @ .., b'=', b'='] if text.len().is_multiple_of(4) => rest,
        [rest @ .., b'='] if text.len().is_multiple_of(4) => rest,
        _ => text,
    };
    let tail_len = match unpadded.len() % 4 {
        0 => 0,
        1 => return Err(Base64Error),
        2 => 1,
        _ => 2,
    };
    let mut out = vec![0u8; unpadded.len() / 4 * 3 + tail_len];
    let mut quads = unpadded.chunks_exact(4);
    let mut slots = out.chunks_exact_mut(3);
    // Invalid symbols are gathered across the whole run and checked once: the high bit of
    // `INVALID` survives the OR, and no valid value has it.
    let mut invalid = 0u32;
    for (quad, slot) in (&mut quads).zip(&mut slots) {
        if let ([c0, c1, c2, c3], [b0, b1, b2]) = (quad, slot) {
            let (v0, v1, v2, v3) = (value(*c0), value(*c1), value(*c2), value(*c3));
            invalid |= v0 | v1 | v2 | v3;
            let group = (v0 << 18) | (v1 << 12) | (v2 << 6) | v3;
            let [_, o0, o1, o2] = group.to_be_bytes();
            [*b0, *b1, *b2] = [o0, o1, o2];
        }
    }
    match (quads.remainder(), slots.into_remainder()) {
        ([c0, c1], [b0]) => {
            let (v0, v1) = (value(*c0), value(*c1));
            invalid |= v0 | v1;
            let [_, o0, _, _] = ((v0 << 18) | (v1 << 12)).to_be_bytes();
            *b0 = o0;
        }
        ([c0, c1, c2], [b0, b1]) => {
            let (v0, v1, v2) = (value(*c0), value(*c1), value(*c2));
            invalid |= v0 | v1 | v2;
            let [_, o0, o1, _] = ((v0 << 18) | (v1 << 12) | (v2 << 6)).to_be_bytes();
            [*b0, *b1] = [o0, o1];
        }
        _ => {}
    }
    if invalid & u32::from(INVALID) != 0 {
        return Err(Base64Error);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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
