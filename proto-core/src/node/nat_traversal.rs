//! Routing for NAT traversal between the transport, the routing table and the relay:
//! - path messages on a session (`crate::path_message`): what a peer tells us about the path,
//!   following a peer to a new address, keepalives (the transport's side is in
//!   `node/transport/path_probes.rs`);
//! - hole punching and relaying (`node/punch/`, `crate::relay_address`): sending through a
//!   relay while no direct path is open, asking the relay to introduce us, coordinating
//!   introductions for others, probing;
//! - publishing our record to the node we stay reachable through.

use super::Node;
use super::lookups::TAG_LEN;
use super::transport::{Outgoing, PathHandOn, RelayedRoute};
use crate::error::SendError;
use crate::identity::{NodeId, PublicKey};
use crate::path_message::PathMessage;
use crate::relay_address::RelayAddress;
use crate::transport::TransportAddr;

impl Node {
    /// Sends message `id` to `to`, whose location is `relay`: on the direct path if one is
    /// open, else in one sealed layer for the relay (asking it to introduce us, so that the
    /// next message may go directly).
    pub(super) fn transmit_relayed(
        &mut self,
        message: &Outgoing<'_>,
        relay: RelayAddress,
    ) -> Result<(TransportAddr, [u8; TAG_LEN]), SendError> {
        match self
            .transport
            .relayed_route(&mut self.ctx, message.from, message.to, relay)
        {
            RelayedRoute::Direct(to) => self.transmit(
                &Outgoing {
                    to: &to,
                    ..*message
                },
                None,
            ),
            RelayedRoute::Through {
                target,
                hop,
                sender,
            } => {
                let via = [hop];
                let through = Outgoing {
                    to: &target,
                    via: &via,
                    ..*message
                };
                self.transmit(&through, sender)
            }
        }
    }

    /// Coordinator side: `requester` (heard at `requester_at` on its session) asks to be
    /// introduced to `target`. Both get a [`PathMessage::Punch`] at once if the transport
    /// admits the introduction.
    pub(super) fn on_punch_request(
        &mut self,
        requester: PublicKey,
        requester_at: TransportAddr,
        target: NodeId,
    ) {
        let Some((target_key, target_at)) = self
            .transport
            .admit_introduction(&self.ctx, &requester, target)
        else {
            return;
        };
        let to_requester = PathMessage::Punch {
            peer: *target_key.as_bytes(),
            candidates: self.routing.punch_candidates(&target, target_at),
        };
        let to_target = PathMessage::Punch {
            peer: *requester.as_bytes(),
            candidates: self
                .routing
                .punch_candidates(&requester.node_id(), requester_at),
        };
        self.transport
            .send_path_message(&mut self.ctx, &target_key, target_at, &to_target);
        self.transport
            .send_path_message(&mut self.ctx, &requester, requester_at, &to_requester);
    }

    /// A coordinator says `peer` is trying to reach us at once: if the transport accepts
    /// the introduction, start probing its candidates with our handshake.
    pub(super) fn on_punch(
        &mut self,
        coordinator: &PublicKey,
        peer: [u8; 32],
        candidates: &[core::net::SocketAddr],
    ) {
        if let Some((identity, first)) =
            self.transport
                .accept_punch(&mut self.ctx, coordinator, peer, candidates)
        {
            self.start_handshake(&identity, first);
            self.transport.send_punch_probes(&mut self.ctx);
        }
    }

    /// Sends our signed address record to the default route when it changed or is half way
    /// to expiring (see `routing/publishing.rs`).
    pub(super) fn publish_record_if_due(&mut self) {
        let Some((route, at)) = self.transport.default_route_at(&self.ctx) else {
            return;
        };
        let record = self.own_record();
        if let Some(record) = self.routing.record_to_publish(&mut self.ctx, record) {
            self.transport.send_path_message(
                &mut self.ctx,
                &route,
                at,
                &PathMessage::Publish { record },
            );
        }
    }

    /// A peer in session published its record to us (from `from`): hold it, to answer
    /// lookups for it, and say so.
    pub(super) fn on_publish(&mut self, peer: &PublicKey, from: TransportAddr, bytes: &[u8]) {
        let sessions = &self.transport.sessions;
        let has_session = |peer: &NodeId| sessions.by_peer.contains_key(peer);
        if let Some(ack) = self
            .routing
            .on_publish(&mut self.ctx, peer, bytes, &has_session)
        {
            self.transport
                .send_path_message(&mut self.ctx, peer, from, &ack);
        }
    }

    /// A frame for `recipient` opened for relaying: if it names an address a peer in session
    /// with us signed but is not heard at (a private address behind its NAT), where that peer
    /// is heard instead.
    pub(super) fn relay_destination(&self, recipient: TransportAddr) -> TransportAddr {
        for (peer, index) in &self.transport.sessions.by_peer {
            let Some(entry) = self.transport.sessions.sessions.get(index) else {
                continue;
            };
            if entry.last_from == recipient {
                return recipient;
            }
            if self.routing.routes.is_signed(peer, recipient) {
                return self.path_for(&entry.peer, recipient);
            }
        }
        recipient
    }

    // ----- path messages -----

    /// A frame opened on session `index`, straight from `from`: the transport follows the
    /// address, and the routing table hears of it when due.
    pub(super) fn on_session_frame_from(
        &mut self,
        index: u32,
        from: TransportAddr,
        plaintext: &[u8],
    ) {
        if let Some(peer) =
            self.transport
                .on_session_frame_from(&mut self.ctx, index, from, plaintext)
        {
            self.heard_directly(peer, from);
        }
    }

    /// A path message that opened on session `index` with `peer`, straight from `from`: the
    /// transport handles what is its own, and the rest goes where it belongs.
    pub(super) fn on_path_message(
        &mut self,
        index: u32,
        peer: PublicKey,
        from: TransportAddr,
        plaintext: &[u8],
    ) {
        let Ok(message) = PathMessage::decode(plaintext) else {
            self.ctx.stats.transport.dropped_malformed += 1;
            return;
        };
        match self
            .transport
            .on_path_message(&mut self.ctx, index, &peer, from, message)
        {
            PathHandOn::Done => {}
            PathHandOn::SeenByRoute => self.publish_record_if_due(),
            PathHandOn::Proved => self.on_peer_proved(&peer),
            PathHandOn::Message(PathMessage::PunchRequest { target }) => {
                self.on_punch_request(peer, from, NodeId::from_bytes(target));
            }
            PathHandOn::Message(PathMessage::Punch {
                peer: other,
                candidates,
            }) => self.on_punch(&peer, other, &candidates),
            PathHandOn::Message(PathMessage::Publish { record }) => {
                self.on_publish(&peer, from, &record);
            }
            PathHandOn::Message(PathMessage::PublishAck { seq }) => {
                let from_route = self.transport.is_default_route(&peer);
                self.routing.on_publish_ack(from_route, seq);
            }
            PathHandOn::Message(_) => {}
        }
    }

    /// Sends the keepalives due now (after our record, if it is due too), and moves on the
    /// probes whose time is up.
    pub(super) fn send_keepalives(&mut self) {
        let Some(due) = self.transport.keepalives_due(&mut self.ctx) else {
            return;
        };
        self.publish_record_if_due();
        for index in due {
            let Some((peer, last_from)) = self.transport.keepalive_sent(&self.ctx, index) else {
                continue;
            };
            let to = self.path_for(&peer, last_from);
            self.transport
                .send_path_message(&mut self.ctx, &peer, to, &PathMessage::Keepalive);
            self.ctx.stats.transport.keepalives_sent += 1;
        }
    }
}
