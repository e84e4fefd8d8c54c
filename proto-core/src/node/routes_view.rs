//! A borrowed view of the node's routing table: `node.routes()` adds routes, looks peers up,
//! and reads and sets record sequence numbers.

use alloc::vec::Vec;

use super::Node;
use crate::address::Address;
use crate::identity::{NodeId, PublicKey};
use crate::time::Instant;

/// The node's routing table and lookups, from [`Node::routes`].
pub struct Routes<'a> {
    node: &'a mut Node,
}

impl<'a> Routes<'a> {
    pub(super) const fn new(node: &'a mut Node) -> Self {
        Self { node }
    }

    /// Tells the routing table that the peer with `key` is reached at `address` (a callsign is
    /// ignored), with `preference` (higher is tried first; none keeps the address's current one,
    /// or 100 for a new address). An address given this way is considered working again even if
    /// it failed before. If no signed record of the peer is held yet, the node asks the peer for
    /// it (a lookup; its end is reported like any other).
    ///
    /// Returns false if the address has no transport this node speaks, or the table cannot take
    /// it (a bound of zero).
    pub fn add(
        &mut self,
        now: Instant,
        key: PublicKey,
        address: &Address,
        preference: Option<u8>,
    ) -> bool {
        self.node.ctx.advance(now);
        if key == self.node.ctx.public_key {
            return false;
        }
        let stored = self.node.learn_route(key, address, preference, true);
        let peer = key.node_id();
        if stored && self.node.routing.routes.record_seq(&peer).is_none() {
            self.node.start_lookup(peer);
        }
        stored
    }

    /// Looks `peer` up: asks the peers in the routing table (and `peer` itself, if it has a
    /// usable address) for its newest signed address record. Ends with [`RoutingEvent::PeerFound`](crate::RoutingEvent::PeerFound) or
    /// [`RoutingEvent::LookupFailed`](crate::RoutingEvent::LookupFailed). False if no lookup could be started (no peer to ask, or
    /// [`Config::max_pending_lookups`](crate::Config::max_pending_lookups) in flight); true also
    /// if one for `peer` is already in flight.
    pub fn lookup(&mut self, now: Instant, peer: NodeId) -> bool {
        self.node.ctx.advance(now);
        self.node.start_lookup(peer)
    }

    /// Sets the sequence number of this node's next address record. It starts at the wall clock
    /// reading (Unix ms) the node was built with and grows by one each time a local address is
    /// added, so records made after a restart are newer than those made before; an application
    /// that persists [`record_seq`](Self::record_seq) may restore it (plus one) instead.
    pub fn set_record_seq(&mut self, seq: u64) {
        self.node.routing.record_seq = seq;
    }

    /// The sequence number of this node's current address record.
    #[must_use]
    pub fn record_seq(&self) -> u64 {
        self.node.routing.record_seq
    }

    /// The sequence number of the signed address record held for `peer`, if any.
    #[must_use]
    pub fn peer_record_seq(&self, peer: &NodeId) -> Option<u64> {
        self.node.routing.routes.record_seq(peer)
    }

    /// The addresses the routing table holds for `peer`, best first at `now`, if it knows it.
    #[must_use]
    pub fn addresses_of(&self, peer: &NodeId) -> Vec<Address> {
        self.node.routing.addresses_of(&self.node.ctx, peer)
    }
}
