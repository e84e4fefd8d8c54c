//! Hole-punching introductions as the transport sees them: as a coordinator, whether to
//! introduce a peer to another; as an end, whether a `Punch` is one to act on.

use alloc::vec::Vec;

use super::Transport;
use crate::address::Address;
use crate::identity::{NodeId, PublicIdentity, PublicKey};
use crate::node::context::Context;
use crate::transport::TransportAddr;

impl Transport {
    /// Coordinator side: `requester` asks to be introduced to `target`. The target's key and
    /// where its session is, if we have a confirmed one, hole punching is on and the rate
    /// limits allow; a missing session is counted as a refusal.
    pub(in crate::node) fn admit_introduction(
        &mut self,
        ctx: &Context,
        requester: &PublicKey,
        target: NodeId,
    ) -> Option<(PublicKey, TransportAddr)> {
        let requester_id = requester.node_id();
        let target_at = self.direct_path(ctx, &target);
        let target_key = self
            .sessions
            .by_peer
            .get(&target)
            .and_then(|index| self.sessions.sessions.get(index))
            .map(|entry| entry.peer);
        let (Some(target_at), Some(target_key)) = (target_at, target_key) else {
            self.punching.counters.introductions_refused += 1;
            return None;
        };
        let admitted = ctx.config.hole_punching
            && target != requester_id
            && target != ctx.public_key.node_id()
            && self
                .punching
                .admit_introduction(requester_id, target, ctx.now);
        admitted.then_some((target_key, target_at))
    }

    /// A coordinator (a peer in session) says `peer` is trying to reach us at once, at
    /// `candidates`. Accepted from our default route (it introduces others to us) or from a
    /// relay we asked to introduce us to `peer`, when no direct path is open yet: the attempt
    /// starts, and the handshake to send to its first candidate is returned.
    pub(in crate::node) fn accept_punch(
        &mut self,
        ctx: &mut Context,
        coordinator: &PublicKey,
        peer: [u8; 32],
        candidates: &[core::net::SocketAddr],
    ) -> Option<(PublicIdentity, TransportAddr)> {
        let Ok(peer) = PublicKey::from_bytes(&peer) else {
            ctx.stats.transport.dropped_malformed += 1;
            return None;
        };
        let id = peer.node_id();
        if !ctx.config.hole_punching || peer == ctx.public_key || peer == *coordinator {
            return None;
        }
        // Only the node we stay reachable through introduces others to us, and only a node we
        // asked introduces us to others: no one else can make us send probes.
        if !self.is_default_route(coordinator) && !self.punching.asked_for(&id) {
            ctx.stats.transport.dropped_unauthenticated += 1;
            return None;
        }
        let candidates: Vec<TransportAddr> = candidates
            .iter()
            .filter(|addr| !addr.ip().is_unspecified() && addr.port() != 0)
            .map(|addr| TransportAddr::udp(*addr))
            .collect();
        let first = candidates.first().copied()?;
        // Already direct: nothing to open.
        if self.direct_path(ctx, &id).is_some() {
            return None;
        }
        if !self.punching.start(peer, candidates, ctx.now) {
            return None;
        }
        let identity = PublicIdentity {
            name: alloc::string::String::new(),
            location: Address::from_transport(first),
            key: peer,
        };
        Some((identity, first))
    }
}
