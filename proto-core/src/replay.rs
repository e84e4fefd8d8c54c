//! Replay protection, for both kinds of protected frames.
//!
//! - Session frames carry a counter: a [`ReplayWindow`] per session accepts each counter once,
//!   in any order, within [`REPLAY_WINDOW_BITS`] of the highest seen (the scheme of RFC 6479,
//!   as WireGuard and IPsec use it).
//! - Single (signed or sealed) frames carry a timestamp and a random nonce: a [`NonceMemory`]
//!   refuses frames outside a time window and remembers the nonces of those inside it, within
//!   a fixed capacity.

use alloc::collections::BinaryHeap;
use alloc::vec::Vec;
use core::cmp::Reverse;
use core::fmt;
use core::time::Duration;

use hashbrown::HashSet;

use crate::time::UnixMillis;

/// How far behind the highest counter seen a session frame may arrive and still be accepted.
pub const REPLAY_WINDOW_BITS: u64 = 1024;

const WORD_BITS: u64 = 64;
/// One word more than the window needs: the word holding the highest counter is only partly
/// inside the window, and a whole word is cleared at a time when the window slides.
const WORDS: usize = 17;
const _: () = assert!((WORDS as u64 - 1) * WORD_BITS >= REPLAY_WINDOW_BITS);

/// A sliding bitmap of the counters received on a session.
///
/// Accepts a counter if it is above the highest seen, or at most [`REPLAY_WINDOW_BITS`] − 1
/// below it and not seen before. Fixed size, no allocation: 144 bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplayWindow {
    /// The highest counter marked (0 before any: counter 0 is then still accepted, since its
    /// bit is clear).
    highest: u64,
    /// Bit `c % 64` of word `(c / 64) % WORDS` says whether counter `c` was marked.
    bits: [u64; WORDS],
}

impl Default for ReplayWindow {
    fn default() -> Self {
        Self::new()
    }
}

/// The slot of the bitmap that holds the word `word` (counters `64 * word ..`).
fn slot(word: u64) -> usize {
    // The remainder is below WORDS, so it fits any usize.
    usize::try_from(word % WORDS as u64).unwrap_or(0)
}

impl ReplayWindow {
    /// A window that has seen nothing.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            highest: 0,
            bits: [0; WORDS],
        }
    }

    fn bit(counter: u64) -> u64 {
        1 << (counter % WORD_BITS)
    }

    /// Whether `counter` would be accepted: not seen, and not too old to tell.
    #[must_use]
    pub fn check(&self, counter: u64) -> bool {
        if counter > self.highest {
            return true;
        }
        if self.highest - counter >= REPLAY_WINDOW_BITS {
            return false;
        }
        self.bits
            .get(slot(counter / WORD_BITS))
            .is_some_and(|word| word & Self::bit(counter) == 0)
    }

    /// Records `counter` as received, sliding the window forward if it is the new highest.
    /// Call it only for a frame that authenticated.
    pub fn mark(&mut self, counter: u64) {
        if counter > self.highest {
            let old_word = self.highest / WORD_BITS;
            let new_word = counter / WORD_BITS;
            if new_word - old_word >= WORDS as u64 {
                self.bits = [0; WORDS];
            } else {
                // The words between hold counters never seen; their slots held counters now
                // out of the window.
                for word in old_word + 1..=new_word {
                    if let Some(bits) = self.bits.get_mut(slot(word)) {
                        *bits = 0;
                    }
                }
            }
            self.highest = counter;
        } else if self.highest - counter >= REPLAY_WINDOW_BITS {
            return;
        }
        if let Some(bits) = self.bits.get_mut(slot(counter / WORD_BITS)) {
            *bits |= Self::bit(counter);
        }
    }
}

/// Why a single frame's nonce was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReplayError {
    /// The nonce was seen before.
    Replay,
    /// The timestamp is outside the window, or no newer than nonces already forgotten.
    Stale,
}

impl fmt::Display for ReplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Replay => "nonce already seen",
            Self::Stale => "timestamp outside the accepted window",
        })
    }
}

impl core::error::Error for ReplayError {}

/// The nonces of recently accepted single frames, to refuse replays inside the time window.
///
/// A frame is accepted if its timestamp is within `window` of `now`, above the *floor*, and its
/// nonce is not remembered. The floor is the newest timestamp of any nonce forgotten so far:
/// because nothing at or below it is accepted, forgetting (to stay within `capacity`, or because
/// the entry left the window) never lets a nonce in twice. Under a flood the memory fills, the
/// oldest entries go, and the floor rises: the flood costs freshness (older frames are refused
/// as stale), never safety or memory.
///
/// Check a frame only after its signature verified, so only authenticated peers can fill it.
///
/// Memory: each entry is 24 bytes in the age heap (a `Vec` that doubles as it grows) plus a
/// 17-byte bucket (16-byte nonce and a control byte) in the hash set, which keeps at least one
/// bucket in eight free and has a power-of-two number of them: from about 45 to about 90 bytes
/// an entry depending on where each table is in its growth, about 58 at the default capacity of
/// 16 384 when full. Both tables grow only as entries arrive.
#[derive(Clone, Debug)]
pub struct NonceMemory {
    capacity: usize,
    /// The window in whole milliseconds (timestamps are whole milliseconds).
    window: u64,
    floor: Option<UnixMillis>,
    nonces: HashSet<[u8; 16]>,
    by_age: BinaryHeap<Reverse<(UnixMillis, [u8; 16])>>,
}

impl NonceMemory {
    /// A memory of at most `capacity` nonces (at least one) for frames whose timestamps are
    /// within `window` of the current time (counted in whole milliseconds).
    #[must_use]
    pub fn new(capacity: usize, window: Duration) -> Self {
        Self {
            capacity: capacity.max(1),
            window: u64::try_from(window.as_millis()).unwrap_or(u64::MAX),
            floor: None,
            nonces: HashSet::new(),
            by_age: BinaryHeap::new(),
        }
    }

    /// Accepts a frame's nonce once: checks the timestamp against `now`, the window and the
    /// floor, checks the nonce is new, and remembers it (forgetting the oldest entry if full).
    ///
    /// # Errors
    /// [`ReplayError::Stale`] for a timestamp outside the window or at or below the floor (or,
    /// when full, no newer than every remembered entry); [`ReplayError::Replay`] for a nonce
    /// remembered. Nothing is remembered on error.
    pub fn check_and_insert(
        &mut self,
        nonce: [u8; 16],
        timestamp: UnixMillis,
        now: UnixMillis,
    ) -> Result<(), ReplayError> {
        if timestamp.0.abs_diff(now.0) > self.window || self.floor.is_some_and(|f| timestamp <= f) {
            return Err(ReplayError::Stale);
        }
        if self.nonces.contains(&nonce) {
            return Err(ReplayError::Replay);
        }
        if self.nonces.len() >= self.capacity {
            match self.oldest() {
                // Forget the oldest (with its ties) to make room; the floor keeps them out.
                Some(oldest) if oldest < timestamp => self.raise_floor(oldest),
                // This frame would itself be the oldest: refuse it rather than forget a newer
                // one. It was never remembered, so it may still be accepted later.
                _ => return Err(ReplayError::Stale),
            }
        }
        self.nonces.insert(nonce);
        self.by_age.push(Reverse((timestamp, nonce)));
        Ok(())
    }

    /// Forgets the entries that have left the window (timestamps before `now − window`): they
    /// would be refused as stale anyway, and the floor rises so they stay refused even if the
    /// caller's clock steps back.
    pub fn prune(&mut self, now: UnixMillis) {
        let cutoff = now.0.saturating_sub(self.window);
        // The heap yields entries oldest first, so this costs only what it forgets.
        let mut newest_stale = None;
        while let Some(Reverse((oldest, nonce))) = self.by_age.peek().copied() {
            if oldest.0 >= cutoff {
                break;
            }
            self.by_age.pop();
            self.nonces.remove(&nonce);
            newest_stale = Some(oldest);
        }
        if let Some(newest_stale) = newest_stale {
            self.raise_floor(newest_stale);
        }
    }

    /// Raises the floor to `timestamp` and forgets every entry at or below it.
    fn raise_floor(&mut self, timestamp: UnixMillis) {
        let floor = self.floor.map_or(timestamp, |floor| floor.max(timestamp));
        self.floor = Some(floor);
        while let Some(Reverse((oldest, nonce))) = self.by_age.peek().copied() {
            if oldest > floor {
                break;
            }
            self.by_age.pop();
            self.nonces.remove(&nonce);
        }
    }

    /// Lifts the floor to `floor` if it is below (a node's start: nothing signed before it is
    /// taken, since what was taken before is not known).
    pub fn raise_floor_to(&mut self, floor: UnixMillis) {
        self.raise_floor(floor);
    }

    /// The floor and the remembered nonces, oldest first: what must be stored for
    /// [`Self::restore`] to refuse the same frames after a restart.
    #[must_use]
    pub fn snapshot(&self) -> (Option<UnixMillis>, Vec<(UnixMillis, [u8; 16])>) {
        let mut entries: Vec<_> = self.by_age.iter().map(|Reverse(entry)| *entry).collect();
        entries.sort_unstable();
        (self.floor, entries)
    }

    /// Takes back a stored state: the floor becomes `floor` (lowered from a start floor, or
    /// raised), and each entry is remembered again unless it is outside the window at `now`,
    /// at or below the floor, or already remembered. Capacity holds as in
    /// [`Self::check_and_insert`].
    pub fn restore(
        &mut self,
        floor: Option<UnixMillis>,
        entries: impl IntoIterator<Item = (UnixMillis, [u8; 16])>,
        now: UnixMillis,
    ) {
        self.floor = floor;
        // Remembered entries at or below the restored floor would be refused anyway.
        if let Some(floor) = floor {
            self.raise_floor(floor);
        }
        for (timestamp, nonce) in entries {
            let _ = self.check_and_insert(nonce, timestamp, now);
        }
    }

    fn oldest(&self) -> Option<UnixMillis> {
        self.by_age.peek().map(|Reverse((timestamp, _))| *timestamp)
    }

    /// How many nonces are remembered.
    #[must_use]
    pub fn len(&self) -> usize {
        self.nonces.len()
    }

    /// Whether no nonce is remembered.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.nonces.is_empty()
    }

    /// The most nonces remembered at once.
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The newest timestamp forgotten so far: frames at or below it are refused.
    #[must_use]
    pub fn floor(&self) -> Option<UnixMillis> {
        self.floor
    }

    /// The wall-clock time at which [`Self::prune`] would next forget something (for the node's
    /// timer), or `None` when nothing is remembered.
    #[must_use]
    pub fn next_expiry(&self) -> Option<UnixMillis> {
        self.oldest()
            .map(|oldest| UnixMillis(oldest.0.saturating_add(self.window).saturating_add(1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_accepts_each_counter_once_in_any_order() {
        let mut window = ReplayWindow::new();
        for counter in [0, 5, 3, 1000, 4, 2, 1] {
            assert!(window.check(counter), "{counter}");
            window.mark(counter);
            assert!(!window.check(counter), "{counter}");
        }
        for counter in [0, 5, 3, 1000, 4, 2, 1] {
            assert!(!window.check(counter));
        }
        assert!(window.check(6));
    }

    #[test]
    fn window_refuses_counters_that_fell_behind() {
        let mut window = ReplayWindow::new();
        window.mark(2000);
        assert!(!window.check(2000 - REPLAY_WINDOW_BITS));
        assert!(window.check(2000 - REPLAY_WINDOW_BITS + 1));
        window.mark(2000 - REPLAY_WINDOW_BITS);
        assert!(!window.check(2000 - REPLAY_WINDOW_BITS));
        assert!(window.check(2001));
    }

    #[test]
    fn window_slides_by_whole_jumps_without_stale_bits() {
        let mut window = ReplayWindow::new();
        for counter in 0..64 {
            window.mark(counter);
        }
        // Jump so that the slot of word 0 is reused by word 17.
        window.mark(17 * 64 + 3);
        for counter in 17 * 64..17 * 64 + 64 {
            assert_eq!(window.check(counter), counter != 17 * 64 + 3, "{counter}");
        }
        window.mark(u64::MAX - 1);
        assert!(window.check(u64::MAX));
        assert!(!window.check(u64::MAX - 1));
        assert!(window.check(u64::MAX - 2));
        assert!(!window.check(0));
    }

    #[test]
    fn marking_a_counter_behind_the_window_changes_nothing() {
        let mut window = ReplayWindow::new();
        window.mark(2000);
        // Counter 900 shares its bitmap slot and bit with counter 1988, which is in the window.
        let before = window.clone();
        window.mark(900);
        assert_eq!(window, before);
        assert!(window.check(1988));
    }

    #[test]
    fn window_is_small() {
        assert_eq!(size_of::<ReplayWindow>(), 144);
    }

    const MINUTE: Duration = Duration::from_secs(60);

    #[test]
    fn nonces_are_accepted_once() {
        let mut memory = NonceMemory::new(8, MINUTE);
        let now = UnixMillis(1_000_000);
        assert_eq!(memory.check_and_insert([1; 16], now, now), Ok(()));
        assert_eq!(
            memory.check_and_insert([1; 16], now, now),
            Err(ReplayError::Replay)
        );
        assert_eq!(memory.check_and_insert([2; 16], now, now), Ok(()));
        assert_eq!(memory.len(), 2);
    }

    #[test]
    fn timestamps_outside_the_window_are_stale() {
        let mut memory = NonceMemory::new(8, MINUTE);
        let now = UnixMillis(1_000_000);
        let edge = 60_000;
        assert_eq!(
            memory.check_and_insert([1; 16], UnixMillis(now.0 - edge), now),
            Ok(())
        );
        assert_eq!(
            memory.check_and_insert([2; 16], UnixMillis(now.0 + edge), now),
            Ok(())
        );
        assert_eq!(
            memory.check_and_insert([3; 16], UnixMillis(now.0 - edge - 1), now),
            Err(ReplayError::Stale)
        );
        assert_eq!(
            memory.check_and_insert([4; 16], UnixMillis(now.0 + edge + 1), now),
            Err(ReplayError::Stale)
        );
        assert_eq!(memory.len(), 2);
    }

    #[test]
    fn eviction_raises_the_floor_so_evicted_nonces_stay_refused() {
        let mut memory = NonceMemory::new(2, MINUTE);
        let now = UnixMillis(100_000);
        memory
            .check_and_insert([1; 16], UnixMillis(99_000), now)
            .unwrap();
        memory
            .check_and_insert([2; 16], UnixMillis(99_500), now)
            .unwrap();
        memory
            .check_and_insert([3; 16], UnixMillis(99_700), now)
            .unwrap();
        assert_eq!(memory.len(), 2);
        assert_eq!(memory.floor(), Some(UnixMillis(99_000)));
        assert_eq!(
            memory.check_and_insert([1; 16], UnixMillis(99_000), now),
            Err(ReplayError::Stale)
        );
        // A frame no newer than everything remembered is refused while full, and not remembered.
        assert_eq!(
            memory.check_and_insert([4; 16], UnixMillis(99_200), now),
            Err(ReplayError::Stale)
        );
        assert_eq!(memory.len(), 2);
        assert_eq!(memory.floor(), Some(UnixMillis(99_000)));
    }

    #[test]
    fn ties_with_the_oldest_are_forgotten_together() {
        let mut memory = NonceMemory::new(3, MINUTE);
        let now = UnixMillis(100_000);
        memory
            .check_and_insert([1; 16], UnixMillis(99_000), now)
            .unwrap();
        memory
            .check_and_insert([2; 16], UnixMillis(99_000), now)
            .unwrap();
        memory
            .check_and_insert([3; 16], UnixMillis(99_500), now)
            .unwrap();
        memory
            .check_and_insert([4; 16], UnixMillis(99_600), now)
            .unwrap();
        assert_eq!(memory.len(), 2);
        assert_eq!(
            memory.check_and_insert([2; 16], UnixMillis(99_000), now),
            Err(ReplayError::Stale)
        );
        // Full again: a frame as old as the oldest entry is refused, not swapped in for it.
        memory
            .check_and_insert([5; 16], UnixMillis(99_700), now)
            .unwrap();
        assert_eq!(
            memory.check_and_insert([6; 16], UnixMillis(99_500), now),
            Err(ReplayError::Stale)
        );
        assert_eq!(memory.len(), 3);
    }

    #[test]
    fn prune_forgets_what_left_the_window_and_keeps_it_refused() {
        let mut memory = NonceMemory::new(8, MINUTE);
        let start = UnixMillis(1_000_000);
        memory.check_and_insert([1; 16], start, start).unwrap();
        memory
            .check_and_insert([2; 16], UnixMillis(start.0 + 10_000), start)
            .unwrap();
        assert_eq!(memory.next_expiry(), Some(UnixMillis(start.0 + 60_001)));
        memory.prune(UnixMillis(start.0 + 60_000));
        assert_eq!(memory.len(), 2);
        memory.prune(UnixMillis(start.0 + 60_001));
        assert_eq!(memory.len(), 1);
        assert_eq!(memory.next_expiry(), Some(UnixMillis(start.0 + 70_001)));
        // Even with the clock stepped back, the forgotten nonce stays refused.
        assert_eq!(
            memory.check_and_insert([1; 16], start, start),
            Err(ReplayError::Stale)
        );
        memory.prune(UnixMillis(u64::MAX));
        assert!(memory.is_empty());
        assert_eq!(memory.next_expiry(), None);
    }

    #[test]
    fn zero_capacity_still_remembers_one() {
        let mut memory = NonceMemory::new(0, MINUTE);
        assert_eq!(memory.capacity(), 1);
        let now = UnixMillis(5_000);
        memory.check_and_insert([1; 16], now, now).unwrap();
        assert_eq!(
            memory.check_and_insert([1; 16], now, now),
            Err(ReplayError::Replay)
        );
    }

    #[test]
    fn extreme_times_do_not_overflow() {
        let mut memory = NonceMemory::new(4, Duration::MAX);
        memory
            .check_and_insert([1; 16], UnixMillis(u64::MAX), UnixMillis(0))
            .unwrap();
        assert_eq!(memory.next_expiry(), Some(UnixMillis(u64::MAX)));
        memory.prune(UnixMillis(u64::MAX));
        assert_eq!(memory.len(), 1);
    }

    #[test]
    fn a_snapshot_restored_refuses_what_the_memory_refused() {
        let mut memory = NonceMemory::new(8, MINUTE);
        let now = UnixMillis(1_000_000);
        memory.raise_floor_to(UnixMillis(now.0 - 1));
        assert_eq!(
            memory.check_and_insert([9; 16], UnixMillis(now.0 - 1), now),
            Err(ReplayError::Stale),
            "signed before the start"
        );
        memory.check_and_insert([1; 16], now, now).unwrap();
        memory
            .check_and_insert([2; 16], UnixMillis(now.0 + 5), now)
            .unwrap();
        let (floor, entries) = memory.snapshot();
        assert_eq!(floor, Some(UnixMillis(now.0 - 1)));
        assert_eq!(entries, [(now, [1; 16]), (UnixMillis(now.0 + 5), [2; 16])]);

        // A new memory, started later: its own start floor refuses the held message signed
        // between, until the stored state is restored.
        let later = UnixMillis(now.0 + 10_000);
        let mut restarted = NonceMemory::new(8, MINUTE);
        restarted.raise_floor_to(UnixMillis(later.0 - 1));
        restarted.restore(floor, entries, later);
        assert_eq!(restarted.len(), 2);
        assert_eq!(
            restarted.check_and_insert([1; 16], now, later),
            Err(ReplayError::Replay)
        );
        assert_eq!(
            restarted.check_and_insert([3; 16], UnixMillis(now.0 + 7), later),
            Ok(()),
            "signed before this start, never taken: taken once"
        );
        assert_eq!(
            restarted.check_and_insert([9; 16], UnixMillis(now.0 - 1), later),
            Err(ReplayError::Stale)
        );
    }

    #[test]
    fn restoring_skips_what_left_the_window_and_keeps_the_capacity() {
        let mut memory = NonceMemory::new(2, MINUTE);
        let now = UnixMillis(1_000_000);
        let entries = [
            (UnixMillis(now.0 - 61_000), [1; 16]),
            (UnixMillis(now.0 - 10), [2; 16]),
            (UnixMillis(now.0 - 5), [3; 16]),
            (now, [4; 16]),
        ];
        memory.restore(None, entries, now);
        assert_eq!(memory.len(), 2);
        assert_eq!(
            memory.check_and_insert([2; 16], UnixMillis(now.0 - 10), now),
            Err(ReplayError::Stale),
            "forgotten for room, kept out by the floor"
        );
        assert_eq!(
            memory.check_and_insert([4; 16], now, now),
            Err(ReplayError::Replay)
        );
    }
}
