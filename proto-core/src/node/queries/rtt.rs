//! Round-trip times measured per peer, for adaptive query timeouts.
//!
//! Each peer keeps its last [`RTT_WINDOW`] samples (whole microseconds); the table holds at most
//! `Config::max_rtt_peers` peers and forgets the least recently updated one when full. All
//! arithmetic is on integers, so the timeouts are the same on every platform.

use alloc::collections::{BTreeMap, VecDeque};
use core::time::Duration;

use crate::identity::NodeId;
use crate::query::MIN_RTT_SAMPLES;

/// Samples kept per peer.
pub(crate) const RTT_WINDOW: usize = 16;

struct PeerRtt {
    samples: VecDeque<u64>,
    /// The table's clock when this peer was last updated (its key in `by_age`).
    age: u64,
}

/// Round-trip times of the peers we queried most recently.
#[derive(Default)]
pub(crate) struct RttTable {
    peers: BTreeMap<NodeId, PeerRtt>,
    by_age: BTreeMap<u64, NodeId>,
    clock: u64,
}

impl RttTable {
    /// Records a round trip of `rtt` with `peer`, keeping at most `capacity` peers.
    pub(crate) fn record(&mut self, peer: NodeId, rtt: Duration, capacity: usize) {
        if capacity == 0 {
            return;
        }
        self.clock = self.clock.wrapping_add(1);
        let micros = u64::try_from(rtt.as_micros()).unwrap_or(u64::MAX);
        if let Some(entry) = self.peers.get_mut(&peer) {
            self.by_age.remove(&entry.age);
            entry.age = self.clock;
            if entry.samples.len() >= RTT_WINDOW {
                entry.samples.pop_front();
            }
            entry.samples.push_back(micros);
        } else {
            while self.peers.len() >= capacity {
                let Some((_, oldest)) = self.by_age.pop_first() else {
                    break;
                };
                self.peers.remove(&oldest);
            }
            let mut samples = VecDeque::with_capacity(RTT_WINDOW);
            samples.push_back(micros);
            self.peers.insert(
                peer,
                PeerRtt {
                    samples,
                    age: self.clock,
                },
            );
        }
        self.by_age.insert(self.clock, peer);
    }

    /// Mean plus two standard deviations of `peer`'s samples, once it has
    /// [`MIN_RTT_SAMPLES`] of them.
    pub(crate) fn bound(&self, peer: &NodeId) -> Option<Duration> {
        let samples = &self.peers.get(peer)?.samples;
        if samples.len() < MIN_RTT_SAMPLES {
            return None;
        }
        let count = u128::try_from(samples.len()).ok()?;
        let sum: u128 = samples.iter().map(|&sample| u128::from(sample)).sum();
        let mean = sum / count;
        let variance = samples
            .iter()
            .map(|&sample| {
                let diff = u128::from(sample).abs_diff(mean);
                diff.saturating_mul(diff)
            })
            .fold(0u128, u128::saturating_add)
            / count;
        let bound = mean.saturating_add(isqrt(variance).saturating_mul(2));
        Some(Duration::from_micros(
            u64::try_from(bound).unwrap_or(u64::MAX),
        ))
    }

    /// Peers with samples.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.peers.len()
    }
}

/// The integer square root (rounded down), by Newton's method.
fn isqrt(value: u128) -> u128 {
    if value < 2 {
        return value;
    }
    let mut x = value;
    let mut y = x.div_ceil(2);
    while y < x {
        x = y;
        y = (x + value / x) / 2;
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(byte: u8) -> NodeId {
        NodeId::from_bytes([byte; 32])
    }

    #[test]
    fn square_roots_round_down() {
        for (value, root) in [
            (0, 0),
            (1, 1),
            (3, 1),
            (4, 2),
            (15, 3),
            (16, 4),
            (1 << 100, 1 << 50),
        ] {
            assert_eq!(isqrt(value), root, "{value}");
        }
        assert_eq!(isqrt(u128::MAX), u128::from(u64::MAX));
    }

    #[test]
    fn the_bound_is_mean_plus_two_deviations_after_enough_samples() {
        let mut table = RttTable::default();
        table.record(peer(1), Duration::from_millis(100), 8);
        table.record(peer(1), Duration::from_millis(300), 8);
        assert_eq!(table.bound(&peer(1)), None, "two samples are not enough");
        table.record(peer(1), Duration::from_millis(200), 8);
        // Mean 200 ms, population deviation sqrt(20 000/3) ms = 81.649 ms.
        assert_eq!(table.bound(&peer(1)), Some(Duration::from_micros(363_298)));
        assert_eq!(table.bound(&peer(2)), None);
        for _ in 0..RTT_WINDOW {
            table.record(peer(1), Duration::from_millis(50), 8);
        }
        assert_eq!(
            table.bound(&peer(1)),
            Some(Duration::from_millis(50)),
            "old samples leave the window"
        );
    }

    #[test]
    fn the_least_recently_updated_peer_is_forgotten() {
        let mut table = RttTable::default();
        for byte in 1..=3 {
            for _ in 0..3 {
                table.record(peer(byte), Duration::from_millis(10), 3);
            }
        }
        table.record(peer(1), Duration::from_millis(10), 3);
        table.record(peer(4), Duration::from_millis(10), 3);
        assert_eq!(table.len(), 3);
        assert!(table.bound(&peer(2)).is_none(), "peer 2 was the oldest");
        assert!(table.bound(&peer(1)).is_some());
        table.record(peer(5), Duration::from_millis(10), 0);
        assert_eq!(table.len(), 3, "capacity 0 records nothing");
    }
}
