//! Putting messages back together from their fragments, within fixed bounds.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;
use core::fmt;

use super::limits::ReassemblyLimits;
use super::partial::{Partial, Placed};
use super::wire::Fragment;
use crate::time::Instant;

/// Why a fragment was refused. Every refusal is also counted in [`ReassemblyStats`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReassemblyError {
    /// The message it starts is longer than
    /// [`max_message_len`](ReassemblyLimits::max_message_len).
    TooLarge,
    /// The message it starts would take the data held past
    /// [`max_memory`](ReassemblyLimits::max_memory).
    MemoryFull,
    /// It starts a message while [`max_in_flight`](ReassemblyLimits::max_in_flight) are
    /// incomplete.
    TooManyInFlight,
    /// Its count or total length differs from the first fragment of its message: the message
    /// was dropped.
    Inconsistent,
}

impl fmt::Display for ReassemblyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::TooLarge => "fragmented message longer than the limit",
            Self::MemoryFull => "no memory left to reassemble the message",
            Self::TooManyInFlight => "too many fragmented messages in flight",
            Self::Inconsistent => "fragment inconsistent with its message; message dropped",
        })
    }
}

impl core::error::Error for ReassemblyError {}

/// What a [`Reassembler`] has done, counted since it was made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReassemblyStats {
    /// Messages returned whole.
    pub completed: u64,
    /// Fragments ignored because their piece was held already, or their message was
    /// delivered already (within [`max_remembered`](ReassemblyLimits::max_remembered)).
    pub duplicates: u64,
    /// Incomplete messages dropped at their timeout.
    pub expired: u64,
    /// First fragments refused with [`ReassemblyError::MemoryFull`].
    pub refused_memory: u64,
    /// Messages dropped for an inconsistent fragment ([`ReassemblyError::Inconsistent`]).
    pub refused_inconsistent: u64,
    /// First fragments refused with [`ReassemblyError::TooLarge`].
    pub refused_too_large: u64,
    /// First fragments refused with [`ReassemblyError::TooManyInFlight`].
    pub refused_in_flight: u64,
}

/// Messages being reassembled from fragments, each under a key the caller chooses (a node
/// uses its session and the sender's message id).
///
/// [`insert`](Self::insert) each fragment as it arrives; the whole message comes back when
/// its last missing piece does, in any order, and never in part. Duplicates are ignored.
/// [`expire`](Self::expire) at [`next_timeout`](Self::next_timeout) drops what did not
/// complete in time. Nothing here reads a clock or draws randomness, and every table is a
/// `BTreeMap` or `BTreeSet`: the same calls give the same results.
///
/// ```
/// use ejtp_proto::Instant;
/// use ejtp_proto::fragment::{split, Fragment, Reassembler, ReassemblyLimits};
///
/// let message: Vec<u8> = (0..5000u32).map(|i| i as u8).collect();
/// let mut plaintexts: Vec<Vec<u8>> = split(&message, 7, 1200)?.collect();
/// plaintexts.reverse(); // any order will do
///
/// let mut reassembler = Reassembler::new(ReassemblyLimits::default());
/// let now = Instant::ZERO;
/// let mut delivered = Vec::new();
/// for plaintext in &plaintexts {
///     let fragment = Fragment::decode(plaintext)?;
///     let key = (1u32, fragment.message_id()); // (session, message id)
///     if let Some(whole) = reassembler.insert(now, key, &fragment)? {
///         delivered.push(whole);
///     }
/// }
/// assert_eq!(delivered, [message]);
/// assert_eq!(reassembler.memory_in_use(), 0);
/// assert_eq!(reassembler.stats().completed, 1);
/// # Ok::<(), Box<dyn core::error::Error>>(())
/// ```
///
/// # Bounds
///
/// - Message data: at most [`max_memory`](ReassemblyLimits::max_memory) bytes in all
///   ([`memory_in_use`](Self::memory_in_use)). A message reserves its declared total length
///   when its first fragment arrives, and is refused if that would pass the bound, so a peer
///   that declares large messages and never finishes them gets no more than the bound, and
///   the room comes back at the timeout.
/// - Messages: at most [`max_in_flight`](ReassemblyLimits::max_in_flight) incomplete, each
///   with a bitmap of one bit a fragment (at most 8 KiB) and some 100 bytes of entries;
///   at most [`max_remembered`](ReassemblyLimits::max_remembered) keys of completed ones.
/// - Time: an incomplete message lasts [`timeout`](ReassemblyLimits::timeout) from its first
///   fragment.
///
/// # Allocating the whole message at once
///
/// The reserved buffer is allocated, zeroed, with the first fragment, rather than piece by
/// piece as fragments come. Allocating lazily would spare the memory of a message that is
/// declared and never sent, but the bound must be affordable in full anyway (a peer that does
/// send the bytes fills it just the same), and lazy pieces cost either a second copy of every
/// byte when the message is joined, with pieces and message both alive at that moment (twice
/// the message's size, past the bound), or a per-piece overhead. Taking the buffer at once
/// keeps the bound exact and the copies to one a fragment, and the buffer is the message
/// returned. Where the allocator hands out large zeroed blocks as untouched pages of the
/// operating system (common on hosted targets), a buffer that is never filled is mostly never
/// backed by RAM either.
///
/// A message of one fragment is returned at once and never stored.
#[derive(Debug)]
pub struct Reassembler<K> {
    limits: ReassemblyLimits,
    partials: BTreeMap<K, Partial>,
    /// The incomplete messages by deadline (each also in `partials`, with the same deadline).
    deadlines: BTreeSet<(Instant, K)>,
    /// Keys of completed messages, with the time they are forgotten.
    remembered: BTreeMap<K, Instant>,
    /// The same keys by the time they are forgotten.
    forget_at: BTreeSet<(Instant, K)>,
    memory_in_use: usize,
    stats: ReassemblyStats,
}

impl<K: Ord + Copy> Reassembler<K> {
    /// A reassembler holding nothing, within `limits`.
    #[must_use]
    pub fn new(limits: ReassemblyLimits) -> Self {
        Self {
            limits,
            partials: BTreeMap::new(),
            deadlines: BTreeSet::new(),
            remembered: BTreeMap::new(),
            forget_at: BTreeSet::new(),
            memory_in_use: 0,
            stats: ReassemblyStats::default(),
        }
    }

    /// The bounds it was made with.
    #[must_use]
    pub fn limits(&self) -> &ReassemblyLimits {
        &self.limits
    }

    /// What it has done so far.
    #[must_use]
    pub fn stats(&self) -> &ReassemblyStats {
        &self.stats
    }

    /// Bytes of message data reserved by incomplete messages: never more than
    /// [`max_memory`](ReassemblyLimits::max_memory).
    #[must_use]
    pub fn memory_in_use(&self) -> usize {
        self.memory_in_use
    }

    /// How many messages are incomplete.
    #[must_use]
    pub fn in_flight(&self) -> usize {
        self.partials.len()
    }

    /// When the oldest incomplete message times out ([`expire`](Self::expire) then), or `None`
    /// if none is held. Forgetting the keys of completed messages needs no wake-up: any later
    /// call to `expire` or `insert` does it.
    #[must_use]
    pub fn next_timeout(&self) -> Option<Instant> {
        self.deadlines.first().map(|&(deadline, _)| deadline)
    }

    /// Drops every incomplete message whose first fragment arrived
    /// [`timeout`](ReassemblyLimits::timeout) or longer before `now` (counted in
    /// [`ReassemblyStats::expired`]), and forgets completed keys as old. Returns how many
    /// messages it dropped.
    pub fn expire(&mut self, now: Instant) -> usize {
        let mut dropped = 0;
        while let Some(&(deadline, key)) = self.deadlines.first() {
            if deadline > now {
                break;
            }
            self.deadlines.pop_first();
            if let Some(partial) = self.partials.remove(&key) {
                self.memory_in_use = self.memory_in_use.saturating_sub(partial.reserved());
                self.stats.expired = self.stats.expired.saturating_add(1);
                dropped += 1;
            }
        }
        while let Some(&(until, key)) = self.forget_at.first() {
            if until > now {
                break;
            }
            self.forget_at.pop_first();
            self.remembered.remove(&key);
        }
        dropped
    }

    /// Drops the incomplete message under `key`, if any (the node does so when the session
    /// it came on ends). Returns whether there was one.
    pub fn remove(&mut self, key: K) -> bool {
        self.drop_partial(key)
    }

    /// Takes one fragment of the message under `key` (first [`expire`](Self::expire)-ing what
    /// is due at `now`).
    ///
    /// Returns the whole message when this fragment was its last missing piece, and `None`
    /// otherwise: when pieces are still missing, or the fragment is a duplicate (of a piece
    /// held, or of a message already returned and still remembered), which changes nothing.
    /// The first fragment of a message fixes its count and total length and reserves its
    /// memory.
    ///
    /// # Errors
    /// For a first fragment: [`ReassemblyError::TooLarge`], then
    /// [`ReassemblyError::TooManyInFlight`], then [`ReassemblyError::MemoryFull`]; nothing is
    /// stored. For a later one: [`ReassemblyError::Inconsistent`] if its count or total length
    /// differs from the first, and the whole message is dropped (its sender is broken or
    /// hostile: nothing it sends for it can be trusted to fit).
    pub fn insert(
        &mut self,
        now: Instant,
        key: K,
        fragment: &Fragment<'_>,
    ) -> Result<Option<Vec<u8>>, ReassemblyError> {
        self.expire(now);
        if self.remembered.contains_key(&key) {
            self.stats.duplicates = self.stats.duplicates.saturating_add(1);
            return Ok(None);
        }
        let Some(partial) = self.partials.get_mut(&key) else {
            return self.start(now, key, fragment);
        };
        match partial.place(fragment) {
            Ok(Placed::Stored) => Ok(None),
            Ok(Placed::Duplicate) => {
                self.stats.duplicates = self.stats.duplicates.saturating_add(1);
                Ok(None)
            }
            Ok(Placed::Complete) => Ok(self.complete(now, key)),
            Err(_) => {
                self.drop_partial(key);
                self.stats.refused_inconsistent = self.stats.refused_inconsistent.saturating_add(1);
                Err(ReassemblyError::Inconsistent)
            }
        }
    }

    /// What the receiver holds of the message under `key`, to acknowledge: the first
    /// missing piece, a bitmap of the 64 after it and the highest piece held (see
    /// [`SendWindow::on_ack`]), or
    /// [`COMPLETE`] for a message delivered within the timeout. None for a key it knows
    /// nothing of (refused, expired, or never seen).
    ///
    /// [`SendWindow::on_ack`]: super::SendWindow::on_ack
    /// [`COMPLETE`]: super::window::COMPLETE
    #[must_use]
    pub fn progress(&self, key: &K) -> Option<(u16, u64, u16)> {
        if self.remembered.contains_key(key) {
            return Some((super::window::COMPLETE, 0, super::window::COMPLETE));
        }
        self.partials.get(key).map(Partial::progress)
    }

    /// The first fragment of a message.
    fn start(
        &mut self,
        now: Instant,
        key: K,
        fragment: &Fragment<'_>,
    ) -> Result<Option<Vec<u8>>, ReassemblyError> {
        let total = usize::try_from(fragment.total_len()).unwrap_or(usize::MAX);
        if total > self.limits.max_message_len {
            self.stats.refused_too_large = self.stats.refused_too_large.saturating_add(1);
            return Err(ReassemblyError::TooLarge);
        }
        if fragment.count() == 1 {
            // The whole message in one piece: nothing to hold.
            self.remember(now, key);
            self.stats.completed = self.stats.completed.saturating_add(1);
            return Ok(Some(fragment.data().to_vec()));
        }
        if self.partials.len() >= self.limits.max_in_flight {
            self.stats.refused_in_flight = self.stats.refused_in_flight.saturating_add(1);
            return Err(ReassemblyError::TooManyInFlight);
        }
        let fits = self
            .memory_in_use
            .checked_add(total)
            .is_some_and(|after| after <= self.limits.max_memory);
        if !fits {
            self.stats.refused_memory = self.stats.refused_memory.saturating_add(1);
            return Err(ReassemblyError::MemoryFull);
        }
        let deadline = now.saturating_add(self.limits.timeout);
        let Some(mut partial) = Partial::new(deadline, fragment) else {
            self.stats.refused_memory = self.stats.refused_memory.saturating_add(1);
            return Err(ReassemblyError::MemoryFull);
        };
        // A fragment made by `Fragment::decode` or `Fragment::new` always fits the message it
        // shapes, and with two pieces or more it cannot complete it.
        if partial.place(fragment) != Ok(Placed::Stored) {
            self.stats.refused_inconsistent = self.stats.refused_inconsistent.saturating_add(1);
            return Err(ReassemblyError::Inconsistent);
        }
        self.memory_in_use = self.memory_in_use.saturating_add(partial.reserved());
        self.deadlines.insert((deadline, key));
        self.partials.insert(key, partial);
        Ok(None)
    }

    /// Takes the whole message under `key` out of the table.
    fn complete(&mut self, now: Instant, key: K) -> Option<Vec<u8>> {
        let partial = self.take_partial(key)?;
        self.remember(now, key);
        self.stats.completed = self.stats.completed.saturating_add(1);
        Some(partial.into_message())
    }

    /// Removes the incomplete message under `key` and gives its memory back.
    fn take_partial(&mut self, key: K) -> Option<Partial> {
        let partial = self.partials.remove(&key)?;
        self.deadlines.remove(&(partial.deadline, key));
        self.memory_in_use = self.memory_in_use.saturating_sub(partial.reserved());
        Some(partial)
    }

    fn drop_partial(&mut self, key: K) -> bool {
        self.take_partial(key).is_some()
    }

    /// Remembers that the message under `key` was delivered, for the timeout.
    fn remember(&mut self, now: Instant, key: K) {
        if self.limits.max_remembered == 0 {
            return;
        }
        while self.remembered.len() >= self.limits.max_remembered {
            let Some((_, oldest)) = self.forget_at.pop_first() else {
                break;
            };
            self.remembered.remove(&oldest);
        }
        let until = now.saturating_add(self.limits.timeout);
        if let Some(previous) = self.remembered.insert(key, until) {
            self.forget_at.remove(&(previous, key));
        }
        self.forget_at.insert((until, key));
    }
}
