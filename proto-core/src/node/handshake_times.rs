//! The freshness rule for Noise handshake message 1: a replay never replaces a session.
//!
//! Each message 1 carries the initiator's [`HandshakeTime`], encrypted and authenticated by its
//! static key. A responder takes one only if it is within the clock-skew window of its own wall
//! clock and newer than the last one it took from the same peer; WireGuard's TAI64N rule, with a
//! window added so that the memory can be bounded.
//!
//! The memory holds, per peer, the newest stamp taken and when. A stamp taken at our time `A`
//! was within `skew` of `A`, so a replay of it is refused by the window alone after `A + 2·skew`:
//! an entry may be forgotten then. Until then it is kept, up to [`MAX_HANDSHAKE_TIMES`] entries;
//! beyond that the entry taken longest ago is forgotten first, and only that peer's old message
//! 1 could then be taken once more within its window. Such a replay makes a responder session
//! that is never used for sending (the node waits for the initiator's first frame), but it can
//! end that peer's current session, so the bound is large: filling it takes that many distinct
//! identities completing handshakes within four minutes.

use alloc::collections::{BTreeMap, BTreeSet};
use core::time::Duration;

use crate::crypto::handshake::HandshakeTime;
use crate::identity::NodeId;
use crate::replay::ReplayError;
use crate::time::UnixMillis;

/// The most peers whose last handshake stamp is remembered at once (about 130 bytes each in the
/// two trees).
pub(crate) const MAX_HANDSHAKE_TIMES: usize = 16_384;

/// The newest handshake stamp taken from each peer, for [`MAX_HANDSHAKE_TIMES`] peers at most.
#[derive(Debug)]
pub(crate) struct HandshakeTimes {
    /// The clock-skew window, in whole milliseconds.
    skew: u64,
    capacity: usize,
    by_peer: BTreeMap<NodeId, (HandshakeTime, UnixMillis)>,
    /// The same entries by when they were taken, oldest first: pruning and eviction cost only
    /// what they forget.
    by_age: BTreeSet<(UnixMillis, NodeId)>,
}

impl HandshakeTimes {
    /// An empty memory for stamps within `skew` of the wall clock, holding at most `capacity`
    /// peers (at least one).
    pub(crate) fn new(skew: Duration, capacity: usize) -> Self {
        Self {
            skew: u64::try_from(skew.as_millis()).unwrap_or(u64::MAX),
            capacity: capacity.max(1),
            by_peer: BTreeMap::new(),
            by_age: BTreeSet::new(),
        }
    }

    /// Takes `stamp` from `peer` at wall time `now` if it is fresh, and remembers it.
    ///
    /// # Errors
    /// [`ReplayError::Stale`] for a stamp outside the window, [`ReplayError::Replay`] for one not
    /// newer than the last taken from `peer`. Nothing changes on error.
    pub(crate) fn take(
        &mut self,
        peer: NodeId,
        stamp: HandshakeTime,
        now: UnixMillis,
    ) -> Result<(), ReplayError> {
        if stamp.millis().0.abs_diff(now.0) > self.skew {
            return Err(ReplayError::Stale);
        }
        if self
            .by_peer
            .get(&peer)
            .is_some_and(|(last, _)| stamp <= *last)
        {
            return Err(ReplayError::Replay);
        }
        if !self.by_peer.contains_key(&peer) && self.by_peer.len() >= self.capacity {
            if let Some((_, oldest)) = self.by_age.pop_first() {
                self.by_peer.remove(&oldest);
            }
        }
        if let Some((_, taken)) = self.by_peer.insert(peer, (stamp, now)) {
            self.by_age.remove(&(taken, peer));
        }
        self.by_age.insert((now, peer));
        Ok(())
    }

    /// Forgets the entries whose stamps the window alone now refuses.
    pub(crate) fn prune(&mut self, now: UnixMillis) {
        let keep_for = self.skew.saturating_mul(2);
        while let Some(&(taken, peer)) = self.by_age.first() {
            if now.0.saturating_sub(taken.0) <= keep_for {
                break;
            }
            self.by_age.pop_first();
            self.by_peer.remove(&peer);
        }
    }

    /// The wall time at which [`Self::prune`] next forgets something, if anything is held. The
    /// node needs no timer for it (it prunes as handshakes arrive and on every wake-up), so
    /// only the tests ask.
    #[cfg(test)]
    pub(crate) fn next_expiry(&self) -> Option<UnixMillis> {
        let keep_for = self.skew.saturating_mul(2);
        self.by_age
            .first()
            .map(|(taken, _)| UnixMillis(taken.0.saturating_add(keep_for).saturating_add(1)))
    }

    /// How many peers' stamps are remembered.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.by_peer.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SKEW: Duration = Duration::from_secs(120);
    const NOW: UnixMillis = UnixMillis(1_700_000_000_000);

    fn peer(n: u8) -> NodeId {
        NodeId::from_bytes([n; 32])
    }

    fn stamp(millis: u64) -> HandshakeTime {
        HandshakeTime(millis * 1000)
    }

    #[test]
    fn only_a_newer_stamp_from_the_same_peer_is_taken() {
        let mut times = HandshakeTimes::new(SKEW, 8);
        assert_eq!(times.take(peer(1), stamp(NOW.0), NOW), Ok(()));
        assert_eq!(
            times.take(peer(1), stamp(NOW.0), NOW),
            Err(ReplayError::Replay)
        );
        assert_eq!(
            times.take(peer(1), stamp(NOW.0 - 5), NOW),
            Err(ReplayError::Replay)
        );
        assert_eq!(times.take(peer(2), stamp(NOW.0 - 5), NOW), Ok(()));
        assert_eq!(
            times.take(peer(1), HandshakeTime(NOW.0 * 1000 + 1), NOW),
            Ok(())
        );
        assert_eq!((times.len(), times.by_age.len()), (2, 2));
    }

    #[test]
    fn stamps_outside_the_window_are_stale() {
        let mut times = HandshakeTimes::new(SKEW, 8);
        let edge = 120_000;
        assert_eq!(times.take(peer(1), stamp(NOW.0 - edge), NOW), Ok(()));
        assert_eq!(times.take(peer(2), stamp(NOW.0 + edge), NOW), Ok(()));
        assert_eq!(
            times.take(peer(3), stamp(NOW.0 - edge - 1), NOW),
            Err(ReplayError::Stale)
        );
        assert_eq!(
            times.take(peer(4), stamp(NOW.0 + edge + 1), NOW),
            Err(ReplayError::Stale)
        );
        assert_eq!(times.len(), 2);
    }

    #[test]
    fn an_entry_is_kept_until_the_window_alone_refuses_its_replay() {
        let mut times = HandshakeTimes::new(SKEW, 8);
        // Stamped at the far edge of the window ahead of our clock.
        let taken_at = NOW;
        let early = stamp(NOW.0 + 120_000);
        times.take(peer(1), early, taken_at).unwrap();
        let keep_until = UnixMillis(NOW.0 + 240_000);
        assert_eq!(times.next_expiry(), Some(UnixMillis(keep_until.0 + 1)));
        times.prune(keep_until);
        // Still within the window at that time: the entry must still refuse it.
        assert_eq!(
            times.take(peer(1), early, keep_until),
            Err(ReplayError::Replay)
        );
        let later = UnixMillis(keep_until.0 + 1);
        times.prune(later);
        assert_eq!(times.len(), 0);
        assert_eq!(times.take(peer(1), early, later), Err(ReplayError::Stale));
        assert_eq!(times.next_expiry(), None);
    }

    #[test]
    fn a_full_memory_forgets_the_entry_taken_longest_ago() {
        let mut times = HandshakeTimes::new(SKEW, 2);
        times.take(peer(1), stamp(NOW.0), NOW).unwrap();
        let later = UnixMillis(NOW.0 + 10);
        times.take(peer(2), stamp(later.0), later).unwrap();
        times.take(peer(3), stamp(later.0), later).unwrap();
        assert_eq!(times.len(), 2);
        // Peer 1 was forgotten; peer 2 is still held.
        assert_eq!(times.take(peer(1), stamp(NOW.0), later), Ok(()));
        assert_eq!(
            times.take(peer(3), stamp(later.0), later),
            Err(ReplayError::Replay)
        );
        assert_eq!(times.len(), 2);
    }

    #[test]
    fn extreme_times_do_not_overflow() {
        let mut times = HandshakeTimes::new(Duration::MAX, 2);
        times
            .take(peer(1), HandshakeTime(u64::MAX), UnixMillis(u64::MAX))
            .unwrap();
        assert_eq!(times.next_expiry(), Some(UnixMillis(u64::MAX)));
        times.prune(UnixMillis(0));
        times.prune(UnixMillis(u64::MAX));
        assert_eq!(times.len(), 1);
    }
}
