//! Cutting a message into fragment plaintexts.

use alloc::vec::Vec;
use core::fmt;
use core::iter::FusedIterator;

use super::wire::{Fragment, HEADER_LEN, MAX_FRAGMENTS, piece_range};

/// Why a message cannot be cut into fragments of the size asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SplitError {
    /// The largest fragment plaintext allowed leaves no room for a data byte after the
    /// [`HEADER_LEN`] bytes of header.
    MaxTooSmall,
    /// The message is longer than a fragment's `u32` total length can say.
    MessageTooLong,
    /// The message would need more than [`MAX_FRAGMENTS`] fragments of this size.
    TooManyFragments,
}

impl fmt::Display for SplitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::MaxTooSmall => "fragment size leaves no room for data",
            Self::MessageTooLong => "message longer than a fragment header can say",
            Self::TooManyFragments => "message needs more fragments than the format allows",
        })
    }
}

impl core::error::Error for SplitError {}

/// How many fragments [`split`] cuts a `message_len`-byte message into when no fragment
/// plaintext may exceed `max_fragment_plaintext` bytes (header included): as few as fit, and
/// one for an empty message.
///
/// # Errors
/// As [`split`].
pub fn fragment_count(
    message_len: usize,
    max_fragment_plaintext: usize,
) -> Result<u16, SplitError> {
    let room = max_fragment_plaintext
        .checked_sub(HEADER_LEN)
        .filter(|&room| room > 0)
        .ok_or(SplitError::MaxTooSmall)?;
    let total = u32::try_from(message_len).map_err(|_| SplitError::MessageTooLong)?;
    let room = u64::try_from(room).unwrap_or(u64::MAX);
    let count = u64::from(total).div_ceil(room).max(1);
    if count > u64::from(MAX_FRAGMENTS) {
        return Err(SplitError::TooManyFragments);
    }
    u16::try_from(count).map_err(|_| SplitError::TooManyFragments)
}

/// Cuts `message` into fragment plaintexts of at most `max_fragment_plaintext` bytes each
/// (header included), all carrying `message_id`.
///
/// The message is cut into as few fragments as fit, and the pieces are as the format requires
/// (see [`piece_len`](super::piece_len)): all the same length but the last, which may be
/// shorter. The [`Splitter`] borrows the message and copies nothing until asked: each
/// fragment plaintext it yields is a fresh vector holding the header and the one copy of its
/// piece. A caller that builds the session plaintext in a buffer of its own can instead take
/// [`Splitter::fragment`] (a borrowed view) and [`Fragment::encode_into`] its buffer.
///
/// ```
/// use ejtp_proto::fragment::{split, Fragment, HEADER_LEN};
///
/// let message = [7u8; 2500];
/// let fragments: Vec<Vec<u8>> = split(&message, 42, 1000)?.collect();
/// assert_eq!(fragments.len(), 3);
/// assert!(fragments.iter().all(|plaintext| plaintext.len() <= 1000));
/// let last = Fragment::decode(&fragments[2])?;
/// assert_eq!((last.index(), last.count(), last.total_len()), (2, 3, 2500));
/// assert_eq!(last.data().len(), 2500 - 2 * 834);
/// # assert_eq!(fragments[0].len(), HEADER_LEN + 834);
/// # Ok::<(), Box<dyn core::error::Error>>(())
/// ```
///
/// # Errors
/// [`SplitError::MaxTooSmall`] if `max_fragment_plaintext` is at most [`HEADER_LEN`];
/// [`SplitError::MessageTooLong`] for a message of 4 GiB or more;
/// [`SplitError::TooManyFragments`] if it would take more than [`MAX_FRAGMENTS`] fragments.
pub fn split(
    message: &[u8],
    message_id: u32,
    max_fragment_plaintext: usize,
) -> Result<Splitter<'_>, SplitError> {
    let count = fragment_count(message.len(), max_fragment_plaintext)?;
    let total_len = u32::try_from(message.len()).map_err(|_| SplitError::MessageTooLong)?;
    Ok(Splitter {
        message,
        message_id,
        count,
        total_len,
        next: 0,
    })
}

/// The fragments of one message, in order: an iterator of fragment plaintexts (see [`split`]).
#[derive(Clone, Debug)]
pub struct Splitter<'a> {
    message: &'a [u8],
    message_id: u32,
    count: u16,
    total_len: u32,
    /// The index of the next fragment to yield (`count` when done).
    next: u32,
}

impl<'a> Splitter<'a> {
    /// How many fragments the message is cut into.
    #[must_use]
    pub fn fragment_count(&self) -> u16 {
        self.count
    }

    /// The id every fragment carries.
    #[must_use]
    pub fn message_id(&self) -> u32 {
        self.message_id
    }

    /// Fragment `index` as a borrowed view of the message, without copying; `None` past the
    /// last.
    #[must_use]
    pub fn fragment(&self, index: u16) -> Option<Fragment<'a>> {
        let (start, len) = piece_range(self.total_len, self.count, index)?;
        let start = usize::try_from(start).ok()?;
        let end = start.checked_add(usize::try_from(len).ok()?)?;
        let data = self.message.get(start..end)?;
        Fragment::new(self.message_id, index, self.count, self.total_len, data).ok()
    }
}

impl Iterator for Splitter<'_> {
    type Item = Vec<u8>;

    fn next(&mut self) -> Option<Vec<u8>> {
        let index = u16::try_from(self.next).ok()?;
        let fragment = self.fragment(index)?;
        self.next = self.next.saturating_add(1);
        Some(fragment.encode())
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = u32::from(self.count).saturating_sub(self.next);
        let left = usize::try_from(left).unwrap_or(usize::MAX);
        (left, Some(left))
    }
}

impl ExactSizeIterator for Splitter<'_> {}

impl FusedIterator for Splitter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn every_fragment_fits_and_the_pieces_cover_the_message() {
        let message: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
        let splitter = split(&message, 5, 1100).unwrap();
        assert_eq!(splitter.len(), 10);
        assert_eq!(splitter.fragment_count(), 10);
        let mut joined = Vec::new();
        for (index, plaintext) in splitter.enumerate() {
            assert!(plaintext.len() <= 1100);
            let fragment = Fragment::decode(&plaintext).unwrap();
            assert_eq!(usize::from(fragment.index()), index);
            assert_eq!(fragment.message_id(), 5);
            assert_eq!(fragment.offset() as usize, joined.len());
            joined.extend_from_slice(fragment.data());
        }
        assert_eq!(joined, message);
    }

    #[test]
    fn an_empty_message_is_one_empty_fragment() {
        let fragments: Vec<_> = split(b"", 1, HEADER_LEN + 1).unwrap().collect();
        assert_eq!(fragments.len(), 1);
        let fragment = Fragment::decode(&fragments[0]).unwrap();
        assert_eq!((fragment.count(), fragment.total_len()), (1, 0));
        assert!(fragment.data().is_empty());
    }

    #[test]
    fn sizes_too_small_or_messages_too_long_are_errors() {
        assert_eq!(
            split(b"x", 1, HEADER_LEN).err(),
            Some(SplitError::MaxTooSmall)
        );
        assert_eq!(split(b"x", 1, 0).err(), Some(SplitError::MaxTooSmall));
        assert!(split(b"x", 1, HEADER_LEN + 1).is_ok());
        let message = vec![0; usize::from(MAX_FRAGMENTS) + 1];
        assert_eq!(
            split(&message, 1, HEADER_LEN + 1).err(),
            Some(SplitError::TooManyFragments)
        );
        assert_eq!(fragment_count(message.len(), HEADER_LEN + 2), Ok(32_768));
        if usize::BITS > 32 {
            assert_eq!(
                fragment_count(usize::MAX, 1 << 20).err(),
                Some(SplitError::MessageTooLong)
            );
        }
    }

    #[test]
    fn sixteen_mib_fits_in_fragments_of_1100_bytes() {
        assert_eq!(fragment_count(16 << 20, 1100), Ok(15_435));
        // The smallest fragment that still carries 16 MiB.
        assert_eq!(fragment_count(16 << 20, HEADER_LEN + 257), Ok(65_281));
        assert_eq!(
            fragment_count(16 << 20, HEADER_LEN + 256).err(),
            Some(SplitError::TooManyFragments)
        );
    }

    #[test]
    fn borrowed_views_match_the_plaintexts() {
        let message = [3u8; 95];
        let splitter = split(&message, 9, HEADER_LEN + 10).unwrap();
        let views: Vec<_> = (0..splitter.fragment_count())
            .map(|index| splitter.fragment(index).unwrap().encode())
            .collect();
        assert_eq!(views, splitter.clone().collect::<Vec<_>>());
        assert!(splitter.fragment(splitter.fragment_count()).is_none());
    }
}
