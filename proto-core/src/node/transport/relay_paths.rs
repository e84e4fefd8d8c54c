//! The transport's view of relays and direct paths: a peer's direct path (a confirmed session's
//! address), the relay address a peer reaches us at, introductions and punch probes for hole
//! punching, and which session peer relayed a frame.

use alloc::vec::Vec;

use super::Transport;
use crate::address::Address;
use crate::event::Event;
use crate::event::TransportEvent;
use crate::identity::{NodeId, PublicIdentity, PublicKey};
use crate::node::context::Context;
use crate::node::punch::Due;
use crate::node::relay::Whence;
use crate::path_message::PathMessage;
use crate::relay_address::RelayAddress;
use crate::transport::{Protocol, TransportAddr};

/// How a message to a peer listed behind a relay goes.
// Made once per relayed send and matched at once: boxing would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub(in crate::node) enum RelayedRoute {
    /// As to any peer, at this identity: a direct path to it is open, or we are its relay.
    Direct(PublicIdentity),
    /// In one sealed layer for the relay `hop`, signing `sender` (our address through that
    /// relay, if it told us) so that answers come back the same way.
    Through {
        /// The peer, at the address the relay sees it at.
        target: PublicIdentity,
        /// The relay.
        hop: PublicIdentity,
        /// Our address through the relay.
        sender: Option<Address>,
    },
}

impl Transport {
    /// Where a peer is reached directly: the address its confirmed session last carried a
    /// frame from, within `observed_path_lifetime`. Session frames never cross a relay.
    pub(in crate::node) fn direct_path(
        &self,
        ctx: &Context,
        peer: &NodeId,
    ) -> Option<TransportAddr> {
        let index = self.sessions.by_peer.get(peer)?;
        let entry = self.sessions.sessions.get(index)?;
        let fresh =
            ctx.now.saturating_duration_since(entry.last_used) < ctx.config.observed_path_lifetime;
        (entry.confirmed && fresh && !entry.last_from.is_unspecified()).then_some(entry.last_from)
    }

    /// The default route's key and where its session is up now, if it is.
    pub(in crate::node) fn default_route_at(
        &self,
        ctx: &Context,
    ) -> Option<(PublicKey, TransportAddr)> {
        let route = self.default_route.as_ref()?;
        let at = self.direct_path(ctx, &route.key.node_id())?;
        Some((route.key, at))
    }

    /// Whether `key` is our default route's.
    pub(in crate::node) fn is_default_route(&self, key: &PublicKey) -> bool {
        self.default_route
            .as_ref()
            .is_some_and(|route| route.key == *key)
    }

    /// Our address through `relay`: where it sees us, if it has told us and our session with it
    /// is up. What we sign as our sender address when we send through it, and what our record
    /// lists for the relay we stay reachable through.
    pub(in crate::node) fn own_relay_address(&self, relay: &PublicKey) -> Option<RelayAddress> {
        let index = self.sessions.by_peer.get(&relay.node_id())?;
        let entry = self.sessions.sessions.get(index)?;
        let seen = self.reflexive.seen_by(&relay.node_id())?;
        (entry.confirmed && entry.last_from.protocol == Protocol::Udp).then_some(RelayAddress {
            relay: *relay,
            relay_at: entry.last_from,
            target: TransportAddr::udp(seen),
        })
    }

    /// Asks `relay` (if our session with it is up) to introduce us to `target`, at most once
    /// per `punch::REQUEST_INTERVAL`.
    pub(in crate::node) fn request_introduction(
        &mut self,
        ctx: &mut Context,
        relay: &PublicKey,
        target: &PublicKey,
    ) {
        if !ctx.config.hole_punching {
            return;
        }
        let Some(at) = self.direct_path(ctx, &relay.node_id()) else {
            return;
        };
        if !self.punching.should_request(target.node_id(), ctx.now) {
            return;
        }
        let request = PathMessage::PunchRequest {
            target: *target.node_id().as_bytes(),
        };
        self.send_path_message(ctx, relay, at, &request);
    }

    /// Sends the probes due now: our pending handshake with the peer, to every candidate.
    /// An attempt whose session is up ends with [`TransportEvent::DirectPath`].
    pub(in crate::node) fn send_punch_probes(&mut self, ctx: &mut Context) {
        for due in self.punching.due(ctx.now) {
            match due {
                Due::Probe(peer, candidates) => {
                    let id = peer.node_id();
                    if let Some(address) = self.direct_path(ctx, &id) {
                        self.punching.succeeded(&id);
                        ctx.push_event(Event::Transport(TransportEvent::DirectPath {
                            peer: id,
                            address,
                        }));
                        continue;
                    }
                    let frame = self
                        .sessions
                        .pending_by_peer
                        .get(&id)
                        .and_then(|index| self.sessions.pending.get(index))
                        .map(|pending| pending.frame.clone());
                    let Some(frame) = frame else {
                        // The peer's own handshake got here first: our answer is on its way,
                        // and the session starts when the peer uses it.
                        continue;
                    };
                    for candidate in candidates {
                        self.queue_transmit(ctx, candidate, frame.clone());
                    }
                }
                Due::GaveUp(peer) => {
                    ctx.push_event(Event::Transport(TransportEvent::PunchFailed {
                        peer: peer.node_id(),
                    }));
                }
            }
        }
    }

    /// A session with `peer` just became usable: if we were punching toward it, the direct
    /// path is open.
    pub(in crate::node) fn on_direct_session(&mut self, ctx: &mut Context, peer: &NodeId) {
        if !self.punching.in_progress(peer) {
            return;
        }
        if let Some(address) = self.direct_path(ctx, peer) {
            self.punching.succeeded(peer);
            ctx.push_event(Event::Transport(TransportEvent::DirectPath {
                peer: *peer,
                address,
            }));
        }
    }

    /// The peer in session with us that frames from `from` come from, if it is not `sender`:
    /// a message from `sender` that arrived from there came through that relay.
    pub(in crate::node) fn relayed_by(
        &self,
        from: TransportAddr,
        sender: &PublicKey,
    ) -> Option<NodeId> {
        self.sessions
            .sessions
            .values()
            .find(|entry| entry.confirmed && entry.last_from == from && entry.peer != *sender)
            .map(|entry| entry.peer.node_id())
    }

    /// Where `owner`'s held frames go, if anywhere now, and whether that address has yet to
    /// prove it receives (then the amplification limit applies).
    ///
    /// Never an address that only a signature names: anyone can sign any address, and a
    /// mailbox's frames are up to `max_held_per_mailbox` datagrams, so handing them to the
    /// signed address unproved would reflect them onto whoever holds it. In order:
    /// 1. the address of a confirmed session with the owner's key, once proved;
    /// 2. the mailbox's signed address, once proved;
    /// 3. where the owner's request came from, or its signed address if an authenticated frame
    ///    came from there, within the amplification limit.
    pub(in crate::node) fn hand_over_target(
        &self,
        ctx: &Context,
        owner: &NodeId,
        signed: TransportAddr,
        whence: Whence,
    ) -> Option<(TransportAddr, bool)> {
        if let Some(path) = self
            .direct_path(ctx, owner)
            .filter(|path| self.paths.is_validated(path))
        {
            return Some((path, false));
        }
        if self.paths.is_validated(&signed) {
            return Some((signed, false));
        }
        match whence {
            Whence::Asked(from) => Some((from, true)),
            Whence::Heard(from) if from == signed => Some((from, true)),
            Whence::Heard(_) | Whence::Proved => None,
        }
    }

    /// The addresses our record offers, best first: our own specific addresses, then the node
    /// we stay reachable through (once it has told us where it sees us), then where peers see
    /// us (behind a NAT, its mappings), most agreed first. Never a wildcard: it names no host.
    pub(in crate::node) fn record_candidates(&self, ctx: &Context) -> Vec<Address> {
        let relayed = self
            .default_route
            .as_ref()
            .and_then(|route| self.own_relay_address(&route.key))
            .map(|relay| relay.to_address(None));
        let reflexive = self
            .reflexive
            .addresses()
            .into_iter()
            .map(|(seen, _)| Address::udp(seen, None));
        ctx.local_addresses
            .iter()
            .filter(|address| {
                address
                    .transport()
                    .is_some_and(|transport| !transport.is_unspecified())
            })
            .cloned()
            .chain(relayed)
            .chain(reflexive)
            .collect()
    }

    /// How to send from our client `from` to `to`, whose location is `relay`: on the direct
    /// path if one is open, else through the relay, asking it to introduce us so that the
    /// next message may go directly (counted as a relayed send).
    pub(in crate::node) fn relayed_route(
        &mut self,
        ctx: &mut Context,
        from: &str,
        to: &PublicIdentity,
        relay: RelayAddress,
    ) -> RelayedRoute {
        let callsign = to.location.callsign();
        if let Some(direct) = self.direct_path(ctx, &to.key.node_id()) {
            return RelayedRoute::Direct(PublicIdentity {
                name: to.name.clone(),
                location: Address::from_transport(direct).naming(callsign),
                key: to.key,
            });
        }
        let target = PublicIdentity {
            name: to.name.clone(),
            location: Address::from_transport(relay.target).naming(callsign),
            key: to.key,
        };
        if relay.relay == ctx.public_key {
            // We are the relay: the target is where we see it.
            return RelayedRoute::Direct(target);
        }
        self.request_introduction(ctx, &relay.relay, &to.key);
        let hop = PublicIdentity {
            name: alloc::string::String::new(),
            location: Address::from_transport(relay.relay_at),
            key: relay.relay,
        };
        let sender = self
            .own_relay_address(&relay.relay)
            .map(|ours| ours.to_address(Some(from)));
        ctx.stats.routing.relayed_sends += 1;
        RelayedRoute::Through {
            target,
            hop,
            sender,
        }
    }
}
