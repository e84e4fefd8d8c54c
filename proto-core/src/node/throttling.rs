//! Throttling and backpressure per destination: the node's token buckets
//! ([`Throttle`](crate::throttle::Throttle)) and the [`Event::PeerWritable`] that follows a
//! throttled send.

use super::Node;
use crate::event::Event;
use crate::throttle::{Rate, Throttle};
use crate::time::Instant;
use crate::transport::TransportAddr;

impl Node {
    pub(super) fn new_throttle(config: &crate::config::Config, now: Instant) -> Throttle {
        Throttle::new(
            Rate {
                per_second: config.peer_rate,
                burst: config.peer_burst,
            },
            Rate {
                per_second: config.total_rate,
                burst: config.total_burst,
            },
            config.max_throttled_peers,
            now,
        )
    }

    /// Whether a frame to `peer` may go now; if not, `peer` is told when it may
    /// ([`Event::PeerWritable`]).
    pub(super) fn throttle_admits(&mut self, peer: TransportAddr) -> bool {
        if self.throttle.admits(peer, self.now) {
            return true;
        }
        // Bounded like the buckets: past the bound the send is still refused, only its later
        // event is lost (the application can retry on its own timer).
        if self.throttled_peers.len() < self.config.max_throttled_peers {
            self.throttled_peers.insert(peer);
        }
        false
    }

    /// Takes the tokens of one frame to `peer`; false if there are none.
    pub(super) fn throttle_take(&mut self, peer: TransportAddr) -> bool {
        self.throttle.take(peer, self.now)
    }

    /// Tells the application about throttled peers that have a token again.
    pub(super) fn release_throttled_peers(&mut self) {
        let now = self.now;
        let ready: alloc::vec::Vec<TransportAddr> = self
            .throttled_peers
            .iter()
            .copied()
            .filter(|peer| self.throttle.admits(*peer, now))
            .collect();
        for peer in ready {
            self.throttled_peers.remove(&peer);
            self.push_event(Event::PeerWritable { peer });
        }
    }

    /// When the first throttled peer has a token again.
    pub(super) fn next_peer_writable(&self) -> Option<Instant> {
        self.throttled_peers
            .iter()
            .map(|peer| self.throttle.next_admit_at(*peer))
            .min()
    }
}
