//! The bytes of one fragment plaintext.
//!
//! ```text
//! Fragment = 'f' || message_id u32 BE || index u16 BE || count u16 BE || total_len u32 BE || data
//! ```
//!
//! [`HEADER_LEN`] (13) bytes of header, then the piece of the message. The pieces are cut the
//! one way [`piece_len`] says, from `total_len` and `count` alone, so that every fragment can
//! be checked on its own: a piece is [`piece_len`] bytes long, except the last one, which holds
//! what is left (at least one byte). A receiver thus knows where each piece goes whatever order
//! they arrive in, and refuses a fragment whose length does not match its header before it
//! stores anything.

use alloc::vec::Vec;
use core::fmt;

/// The first byte of every fragment plaintext.
///
/// Free among the first bytes of session plaintexts: [`frame::decode`](crate::frame::decode)
/// accepts only `j`, `s`, `r` and `c`; content messages start with
/// [`CONTENT_FRAME_TAG`](crate::content::session_frames::CONTENT_FRAME_TAG) (`b`); CJP2P
/// datagrams start with `[`. `f` (0x66) is none of them.
pub const FRAGMENT_TAG: u8 = b'f';

/// Bytes of a fragment before its data: tag (1), message id (4), index (2), count (2) and total
/// length (4).
pub const HEADER_LEN: usize = 1 + 4 + 2 + 2 + 4;

/// Most fragments one message can be cut into (the count is a `u16`).
///
/// A `u16` is enough: a 16 MiB message in pieces of 1 087 bytes (a 1 100-byte plaintext less
/// the header) takes 15 435 fragments, a quarter of the room. It saves 4 bytes a fragment
/// over two `u32`s, and it bounds what a receiver keeps per message to say which pieces it
/// has: one bit a fragment, at most 8 KiB.
pub const MAX_FRAGMENTS: u16 = u16::MAX;

/// One fragment, borrowing its data from the plaintext it was read from (or the message it was
/// cut from).
///
/// Every value is consistent: `index < count`, `count >= 1`, and `data` is exactly as long as
/// the piece at `index` of a `total_len`-byte message cut into `count` pieces. Made by
/// [`Fragment::decode`], [`Fragment::new`] or [`Splitter::fragment`](super::Splitter::fragment).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fragment<'a> {
    message_id: u32,
    index: u16,
    count: u16,
    total_len: u32,
    data: &'a [u8],
}

/// Why bytes are not a fragment, or why a header is inconsistent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FragmentError {
    /// It does not start with [`FRAGMENT_TAG`].
    NotFragment,
    /// Shorter than [`HEADER_LEN`].
    Truncated,
    /// The count is 0.
    ZeroCount,
    /// The index is not below the count.
    IndexOutOfRange,
    /// No cut of `total_len` bytes into `count` non-empty pieces exists (more pieces than
    /// bytes, or a count [`piece_len`] would not give); an empty message is one empty piece.
    InconsistentTotal,
    /// The data is not as long as the piece at its index.
    BadPieceLength,
}

impl fmt::Display for FragmentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotFragment => "not a fragment",
            Self::Truncated => "fragment shorter than its header",
            Self::ZeroCount => "fragment count of zero",
            Self::IndexOutOfRange => "fragment index not below the count",
            Self::InconsistentTotal => "message length that no fragment count matches",
            Self::BadPieceLength => "fragment data of the wrong length for its index",
        })
    }
}

impl core::error::Error for FragmentError {}

/// Whether a session plaintext is a fragment (its first byte is [`FRAGMENT_TAG`]).
#[must_use]
pub fn is_fragment(plaintext: &[u8]) -> bool {
    plaintext.first() == Some(&FRAGMENT_TAG)
}

/// The length of every piece but the last of a `total_len`-byte message cut into `count`
/// pieces: `ceil(total_len / count)`.
///
/// `None` when no such cut exists: `count` is 0, or the last piece would be empty (more pieces
/// than bytes, or a count that `ceil` does not give back, such as 6 pieces of 10 bytes: five
/// of 2 and an empty one). An empty message is one empty piece (`Some(0)` for a count of 1).
#[must_use]
pub fn piece_len(total_len: u32, count: u16) -> Option<u32> {
    let (total, count) = (u64::from(total_len), u64::from(count));
    if count == 0 {
        return None;
    }
    if total == 0 {
        return (count == 1).then_some(0);
    }
    let piece = total.div_ceil(count);
    // The pieces before the last leave at least one byte for it.
    if piece.checked_mul(count - 1)? < total {
        u32::try_from(piece).ok()
    } else {
        None
    }
}

/// The length of piece `index` of a `total_len`-byte message cut into `count` pieces (see
/// [`piece_len`]), and where it starts; `None` if there is no such piece.
#[must_use]
pub fn piece_range(total_len: u32, count: u16, index: u16) -> Option<(u32, u32)> {
    let piece = piece_len(total_len, count)?;
    if index >= count {
        return None;
    }
    let start = piece.checked_mul(u32::from(index))?;
    let len = if index + 1 == count {
        total_len.checked_sub(start)?
    } else {
        piece
    };
    Some((start, len))
}

impl<'a> Fragment<'a> {
    /// A fragment from its parts, if they are consistent (see [`FragmentError`]).
    ///
    /// # Errors
    /// [`FragmentError::ZeroCount`], [`FragmentError::IndexOutOfRange`],
    /// [`FragmentError::InconsistentTotal`] or [`FragmentError::BadPieceLength`].
    pub fn new(
        message_id: u32,
        index: u16,
        count: u16,
        total_len: u32,
        data: &'a [u8],
    ) -> Result<Self, FragmentError> {
        if count == 0 {
            return Err(FragmentError::ZeroCount);
        }
        if index >= count {
            return Err(FragmentError::IndexOutOfRange);
        }
        let (_, len) =
            piece_range(total_len, count, index).ok_or(FragmentError::InconsistentTotal)?;
        if usize::try_from(len).ok() != Some(data.len()) {
            return Err(FragmentError::BadPieceLength);
        }
        Ok(Self {
            message_id,
            index,
            count,
            total_len,
            data,
        })
    }

    /// Reads a fragment plaintext; any byte string gives a fragment or an error, never a
    /// panic. The data is borrowed, not copied.
    ///
    /// # Errors
    /// [`FragmentError::NotFragment`] or [`FragmentError::Truncated`] when the bytes are no
    /// fragment; the errors of [`Fragment::new`] when the header is inconsistent.
    pub fn decode(plaintext: &'a [u8]) -> Result<Self, FragmentError> {
        let Some((&FRAGMENT_TAG, rest)) = plaintext.split_first() else {
            return Err(FragmentError::NotFragment);
        };
        let (message_id, rest) = rest
            .split_first_chunk::<4>()
            .ok_or(FragmentError::Truncated)?;
        let (index, rest) = rest
            .split_first_chunk::<2>()
            .ok_or(FragmentError::Truncated)?;
        let (count, rest) = rest
            .split_first_chunk::<2>()
            .ok_or(FragmentError::Truncated)?;
        let (total_len, data) = rest
            .split_first_chunk::<4>()
            .ok_or(FragmentError::Truncated)?;
        Self::new(
            u32::from_be_bytes(*message_id),
            u16::from_be_bytes(*index),
            u16::from_be_bytes(*count),
            u32::from_be_bytes(*total_len),
            data,
        )
    }

    /// Appends the fragment plaintext to `out`: the header, then one copy of the data.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.reserve(self.encoded_len());
        out.push(FRAGMENT_TAG);
        out.extend_from_slice(&self.message_id.to_be_bytes());
        out.extend_from_slice(&self.index.to_be_bytes());
        out.extend_from_slice(&self.count.to_be_bytes());
        out.extend_from_slice(&self.total_len.to_be_bytes());
        out.extend_from_slice(self.data);
    }

    /// The fragment plaintext, in a vector of exactly [`encoded_len`](Self::encoded_len)
    /// bytes.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.encode_into(&mut out);
        out
    }

    /// How many bytes [`encode`](Self::encode) writes: [`HEADER_LEN`] plus the data.
    #[must_use]
    pub fn encoded_len(&self) -> usize {
        HEADER_LEN.saturating_add(self.data.len())
    }

    /// The id the sender gave the message.
    #[must_use]
    pub fn message_id(&self) -> u32 {
        self.message_id
    }

    /// Which piece of the message this is, from 0.
    #[must_use]
    pub fn index(&self) -> u16 {
        self.index
    }

    /// How many pieces the message was cut into.
    #[must_use]
    pub fn count(&self) -> u16 {
        self.count
    }

    /// The whole message's length in bytes.
    #[must_use]
    pub fn total_len(&self) -> u32 {
        self.total_len
    }

    /// Where this piece starts in the message.
    #[must_use]
    pub fn offset(&self) -> u32 {
        // Consistent by construction: the piece exists.
        piece_range(self.total_len, self.count, self.index).map_or(0, |(start, _)| start)
    }

    /// The piece's bytes.
    #[must_use]
    pub fn data(&self) -> &'a [u8] {
        self.data
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use proptest::prelude::*;

    #[test]
    fn layout_is_as_documented() {
        let fragment = Fragment::new(0x0102_0304, 2, 3, 10, b"ab").unwrap();
        let bytes = fragment.encode();
        assert_eq!(bytes.len(), HEADER_LEN + 2);
        assert_eq!(
            bytes,
            [b'f', 1, 2, 3, 4, 0, 2, 0, 3, 0, 0, 0, 10, b'a', b'b']
        );
        assert_eq!(Fragment::decode(&bytes), Ok(fragment));
        assert_eq!(fragment.offset(), 8);
        assert!(is_fragment(&bytes));
    }

    #[test]
    fn the_tag_is_no_other_first_byte() {
        use crate::content::session_frames::CONTENT_FRAME_TAG;
        use crate::frame::{TYPE_COMPRESSED, TYPE_JSON, TYPE_SEALED, TYPE_SIGNED};
        for taken in [
            TYPE_JSON,
            TYPE_SIGNED,
            TYPE_SEALED,
            TYPE_COMPRESSED,
            CONTENT_FRAME_TAG,
            b'[',
        ] {
            assert_ne!(FRAGMENT_TAG, taken);
        }
        // The frame decoder refuses it at once.
        assert_eq!(
            crate::frame::decode(b"f\0"),
            Err(crate::frame::FrameError::UnknownType(FRAGMENT_TAG))
        );
    }

    #[test]
    fn pieces_are_cut_one_way() {
        assert_eq!(piece_len(10, 4), Some(3)); // 3 3 3 1
        assert_eq!(piece_len(10, 5), Some(2)); // 2 2 2 2 2
        assert_eq!(piece_len(10, 6), None); // 2 2 2 2 2 0
        assert_eq!(piece_len(10, 11), None);
        assert_eq!(piece_len(0, 1), Some(0));
        assert_eq!(piece_len(0, 2), None);
        assert_eq!(piece_len(5, 0), None);
        assert_eq!(piece_len(u32::MAX, u16::MAX), Some(65_537));
        assert_eq!(piece_range(10, 4, 3), Some((9, 1)));
        assert_eq!(piece_range(10, 4, 4), None);
    }

    #[test]
    fn inconsistent_headers_are_refused() {
        let header = |index: u16, count: u16, total: u32| {
            let mut bytes = vec![FRAGMENT_TAG, 0, 0, 0, 7];
            bytes.extend_from_slice(&index.to_be_bytes());
            bytes.extend_from_slice(&count.to_be_bytes());
            bytes.extend_from_slice(&total.to_be_bytes());
            bytes
        };
        assert_eq!(
            Fragment::decode(&header(0, 0, 0)),
            Err(FragmentError::ZeroCount)
        );
        assert_eq!(
            Fragment::decode(&header(3, 3, 9)),
            Err(FragmentError::IndexOutOfRange)
        );
        assert_eq!(
            Fragment::decode(&header(0, 6, 10)),
            Err(FragmentError::InconsistentTotal)
        );
        assert_eq!(
            Fragment::decode(&header(0, 2, 0)),
            Err(FragmentError::InconsistentTotal)
        );
        let mut short = header(0, 3, 9);
        short.extend_from_slice(b"ab");
        assert_eq!(Fragment::decode(&short), Err(FragmentError::BadPieceLength));
        short.extend_from_slice(b"cd");
        assert_eq!(Fragment::decode(&short), Err(FragmentError::BadPieceLength));
        assert!(Fragment::decode(&header(0, 1, 0)).is_ok());
        assert_eq!(
            Fragment::decode(&header(0, 1, 0)[..HEADER_LEN - 1]),
            Err(FragmentError::Truncated)
        );
        assert_eq!(Fragment::decode(b""), Err(FragmentError::NotFragment));
        assert_eq!(Fragment::decode(b"b\x01"), Err(FragmentError::NotFragment));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = Fragment::decode(&bytes);
        }

        #[test]
        fn tagged_bytes_round_trip_when_they_decode(
            header in any::<[u8; 12]>(),
            data in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let mut bytes = vec![FRAGMENT_TAG];
            bytes.extend_from_slice(&header);
            bytes.extend_from_slice(&data);
            if let Ok(fragment) = Fragment::decode(&bytes) {
                prop_assert!(fragment.index() < fragment.count());
                prop_assert_eq!(fragment.encoded_len(), bytes.len());
                prop_assert_eq!(fragment.encode(), bytes);
            }
        }

        #[test]
        fn small_headers_decode_exactly_when_consistent(
            index in 0u16..8,
            count in 0u16..8,
            total in 0u32..40,
            len in 0usize..40,
        ) {
            let data = vec![0x5a; len];
            let fragment = Fragment::new(9, index, count, total, &data);
            let valid = piece_range(total, count, index)
                .is_some_and(|(_, piece)| piece as usize == len);
            prop_assert_eq!(fragment.is_ok(), valid);
            if let Ok(fragment) = fragment {
                let bytes = fragment.encode();
                prop_assert_eq!(Fragment::decode(&bytes), Ok(fragment));
            }
        }
    }
}
