//! One message being reassembled: its buffer and which pieces it has.

use alloc::vec;
use alloc::vec::Vec;

use super::wire::Fragment;
use crate::time::Instant;

/// What [`Partial::place`] did with a fragment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Placed {
    /// A new piece, and pieces are still missing.
    Stored,
    /// A piece already held: nothing changed.
    Duplicate,
    /// The last missing piece: the message is whole.
    Complete,
}

/// The fragment does not fit the message: another count or total, or a piece out of place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Mismatch;

/// An incomplete message.
///
/// The buffer is the whole message, allocated zeroed when the first fragment arrives, and
/// each piece is copied into its place as it comes: one copy a fragment, none at the end (the
/// buffer is the message returned).
#[derive(Debug)]
pub(super) struct Partial {
    /// When it is dropped if still incomplete.
    pub(super) deadline: Instant,
    count: u16,
    total_len: u32,
    /// Pieces held so far (bits set in `have`).
    received: u16,
    /// The highest piece held.
    highest: u16,
    /// Bit `i % 64` of word `i / 64` says whether piece `i` is held.
    have: Vec<u64>,
    buffer: Vec<u8>,
}

impl Partial {
    /// An empty message shaped by `first` (its count and total length), to be filled by
    /// [`place`](Self::place); `None` if the total length does not fit in memory at all.
    pub(super) fn new(deadline: Instant, first: &Fragment<'_>) -> Option<Self> {
        let len = usize::try_from(first.total_len()).ok()?;
        let words = usize::from(first.count()).div_ceil(64);
        Some(Self {
            deadline,
            count: first.count(),
            total_len: first.total_len(),
            received: 0,
            highest: 0,
            have: vec![0; words],
            // Zeroed memory from the allocator: `Reassembler`'s documentation says why the
            // whole buffer is taken at once.
            buffer: vec![0; len],
        })
    }

    /// The bytes of message data it holds (its declared total length, reserved up front).
    pub(super) fn reserved(&self) -> usize {
        self.buffer.len()
    }

    /// Copies `fragment`'s piece into place, unless it is held already.
    pub(super) fn place(&mut self, fragment: &Fragment<'_>) -> Result<Placed, Mismatch> {
        if fragment.count() != self.count || fragment.total_len() != self.total_len {
            return Err(Mismatch);
        }
        let index = usize::from(fragment.index());
        let bit = 1u64 << (index % 64);
        let word = self.have.get_mut(index / 64).ok_or(Mismatch)?;
        if *word & bit != 0 {
            return Ok(Placed::Duplicate);
        }
        let start = usize::try_from(fragment.offset()).map_err(|_| Mismatch)?;
        let end = start.checked_add(fragment.data().len()).ok_or(Mismatch)?;
        self.buffer
            .get_mut(start..end)
            .ok_or(Mismatch)?
            .copy_from_slice(fragment.data());
        *word |= bit;
        self.received = self.received.saturating_add(1);
        self.highest = self.highest.max(fragment.index());
        Ok(if self.received == self.count {
            Placed::Complete
        } else {
            Placed::Stored
        })
    }

    /// Whether piece `index` is held.
    fn has(&self, index: u16) -> bool {
        let index = usize::from(index);
        self.have
            .get(index / 64)
            .is_some_and(|word| word & (1u64 << (index % 64)) != 0)
    }

    /// What to acknowledge: the first missing piece `next` (every piece below it is held),
    /// bit `i` set for each piece `next + 1 + i` held, and the highest piece held.
    pub(super) fn progress(&self) -> (u16, u64, u16) {
        let next = self
            .have
            .iter()
            .enumerate()
            .find(|(_, word)| **word != u64::MAX)
            .map_or(usize::from(self.count), |(at, word)| {
                at * 64 + word.trailing_ones() as usize
            });
        let next = u16::try_from(next).unwrap_or(self.count).min(self.count);
        let mut held = 0u64;
        for bit in 0..64u16 {
            match next.checked_add(1 + bit) {
                Some(piece) if piece < self.count => {
                    if self.has(piece) {
                        held |= 1 << bit;
                    }
                }
                _ => break,
            }
        }
        (next, held, self.highest)
    }

    /// The whole message, once [`place`](Self::place) said [`Placed::Complete`].
    pub(super) fn into_message(self) -> Vec<u8> {
        self.buffer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_land_in_place_once() {
        let message = b"0123456789";
        let pieces = [
            Fragment::new(1, 0, 4, 10, &message[0..3]).unwrap(),
            Fragment::new(1, 1, 4, 10, &message[3..6]).unwrap(),
            Fragment::new(1, 2, 4, 10, &message[6..9]).unwrap(),
            Fragment::new(1, 3, 4, 10, &message[9..]).unwrap(),
        ];
        let mut partial = Partial::new(Instant::ZERO, &pieces[2]).unwrap();
        assert_eq!(partial.reserved(), 10);
        assert_eq!(partial.place(&pieces[2]), Ok(Placed::Stored));
        assert_eq!(partial.place(&pieces[2]), Ok(Placed::Duplicate));
        assert_eq!(partial.place(&pieces[3]), Ok(Placed::Stored));
        assert_eq!(partial.place(&pieces[0]), Ok(Placed::Stored));
        assert_eq!(partial.place(&pieces[1]), Ok(Placed::Complete));
        assert_eq!(partial.into_message(), message);
    }

    #[test]
    fn another_shape_is_a_mismatch() {
        let first = Fragment::new(1, 0, 2, 4, b"ab").unwrap();
        let mut partial = Partial::new(Instant::ZERO, &first).unwrap();
        let other_total = Fragment::new(1, 1, 2, 3, b"c").unwrap();
        assert_eq!(partial.place(&other_total), Err(Mismatch));
        let other_count = Fragment::new(1, 0, 4, 4, b"a").unwrap();
        assert_eq!(partial.place(&other_count), Err(Mismatch));
    }
}
