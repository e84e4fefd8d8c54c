//! Fixed-length byte strings as lowercase hex text: the one textual form of keys and ids.
//!
//! Only lowercase is accepted so that every key and id has exactly one spelling: JSON documents
//! that embed them then have one strict encoding, and ids can be compared as text.

use alloc::string::String;
use core::fmt;
use core::marker::PhantomData;

use crate::hex;

/// The bytes spelled by exactly `2 * N` lowercase hex digits, or `None`.
pub(super) fn parse_lower<const N: usize>(text: &str) -> Option<[u8; N]> {
    let lowercase = text
        .bytes()
        .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c));
    if !lowercase {
        return None;
    }
    hex::decode_array(text).ok()
}

/// Writes `bytes` as lowercase hex without allocating.
pub(super) fn write_lower(bytes: &[u8], f: &mut fmt::Formatter<'_>) -> fmt::Result {
    bytes.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
}

/// A serde visitor for a string that some `T: FromStr` parses.
///
/// Accepts borrowed and owned strings alike, so it works with serde_json, with `Value`, and with
/// the buffered content of internally tagged enums.
pub(super) struct FromStrVisitor<T>(PhantomData<T>, &'static str);

impl<T> FromStrVisitor<T> {
    /// A visitor that describes what it expects as `expecting`.
    pub(super) const fn new(expecting: &'static str) -> Self {
        Self(PhantomData, expecting)
    }
}

impl<T> serde::de::Visitor<'_> for FromStrVisitor<T>
where
    T: core::str::FromStr,
    T::Err: fmt::Display,
{
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.1)
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<T, E> {
        text.parse().map_err(E::custom)
    }

    fn visit_string<E: serde::de::Error>(self, text: String) -> Result<T, E> {
        self.visit_str(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_lowercase_hex_of_the_exact_length_parses() {
        assert_eq!(parse_lower::<2>("00af"), Some([0x00, 0xaf]));
        assert_eq!(parse_lower::<2>("00AF"), None);
        assert_eq!(parse_lower::<2>("00a"), None);
        assert_eq!(parse_lower::<2>("00af00"), None);
        assert_eq!(parse_lower::<2>("+0af"), None);
        assert_eq!(parse_lower::<1>("é"), None);
    }
}
