//! The hand-written base64 that `ejtp_proto::cjp2p::base64` used before it took the `base64`
//! crate, kept here as the baseline the crate is measured against: if a later version of the
//! crate were slower, this bench is where it shows.
//!
//! Lookup tables each way: encoding turns 3 bytes into 4 symbols with two lookups of a 12-bit
//! table of symbol pairs, decoding turns 4 symbols into 3 bytes with four lookups, checking the
//! alphabet once per run of groups.

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
pub(crate) const fn encoded_len(len: usize) -> usize {
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
pub(crate) fn encode_to_vec(bytes: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    out.resize(start.saturating_add(encoded_len(bytes.len())), 0);
    if let Some(slot) = out.get_mut(start..) {
        encode_to_slice(bytes, slot);
    }
}

/// Why text is not base64.
#[derive(Debug)]
pub(crate) struct Base64Error;

/// The 6-bit value of `symbol`, or [`INVALID`].
fn value(symbol: u8) -> u32 {
    u32::from(VALUES.get(usize::from(symbol)).copied().unwrap_or(INVALID))
}

/// The bytes that `text` spells in standard base64, padded or not.
pub(crate) fn decode_bytes(text: &[u8]) -> Result<Vec<u8>, Base64Error> {
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
