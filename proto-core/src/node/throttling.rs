//! Throttling and backpressure per destination: the node's token buckets
//! ([`Throttle`](crate::throttle::Throttle)) and the [`TransportEvent::PeerWritable`] that follows a
//! throttled send.

use alloc::collections::BTreeSet;
use alloc::vec::Vec;

use super::context::Context;
use crate::config::Config;
use crate::event::Event;
use crate::event::TransportEvent;
use crate::throttle::{Rate, Throttle};
use crate::time::Instant;
use crate::transport::TransportAddr;

/// The token buckets, and the destinations owed an [`TransportEvent::PeerWritable`].
///
/// Bounded by [`Config::max_throttled_peers`]: the buckets keep at most that many peers, and
/// at most that many refused destinations wait for their event.
pub(super) struct Throttling {
    throttle: Throttle,
    /// Destinations a send was refused for: each gets [`TransportEvent::PeerWritable`] once it has a
    /// token.
    refused: BTreeSet<TransportAddr>,
    max_refused: usize,
}

impl Throttling {
    pub(super) fn new(config: &Config, now: Instant) -> Self {
        let throttle = Throttle::new(
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
        );
        Self {
            throttle,
            refused: BTreeSet::new(),
            max_refused: config.max_throttled_peers,
        }
    }

    /// Whether a frame to `peer` may go at `now`; if not, `peer` is told when it may
    /// ([`TransportEvent::PeerWritable`], from [`release`](Self::release)).
    pub(super) fn admits(&mut self, peer: TransportAddr, now: Instant) -> bool {
        if self.throttle.admits(peer, now) {
            return true;
        }
        // Bounded like the buckets: past the bound the send is still refused, only its later
        // event is lost (the application can retry on its own timer).
        if self.refused.len() < self.max_refused {
            self.refused.insert(peer);
        }
        false
    }

    /// Takes the tokens of one frame to `peer` at `now`; false if there are none.
    pub(super) fn take(&mut self, peer: TransportAddr, now: Instant) -> bool {
        self.throttle.take(peer, now)
    }

    /// Tells the application about refused destinations that have a token again.
    pub(super) fn release(&mut self, ctx: &mut Context) {
        let now = ctx.now;
        let ready: Vec<TransportAddr> = self
            .refused
            .iter()
            .copied()
            .filter(|peer| self.throttle.admits(*peer, now))
            .collect();
        for peer in ready {
            self.refused.remove(&peer);
            ctx.push_event(Event::Transport(TransportEvent::PeerWritable { peer }));
        }
    }

    /// When the first refused destination has a token again.
    pub(super) fn next_writable(&self) -> Option<Instant> {
        self.refused
            .iter()
            .map(|peer| self.throttle.next_admit_at(*peer))
            .min()
    }
}
