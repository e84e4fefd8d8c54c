//! What the routing table answers and learns for the rest of the node: where to send to a
//! peer, the addresses it holds for one, the messages remembered for a re-send, and the
//! addresses learnt from what arrives.

use alloc::vec::Vec;

use super::Routing;
use crate::address::Address;
use crate::identity::{NodeId, PublicIdentity, PublicKey};
use crate::node::context::Context;
use crate::node::lookups::{PendingMessage, SentMessage, TAG_LEN};
use crate::node::routes::RouteAddress;
use crate::time::Instant;
use crate::transport::TransportAddr;

impl Routing {
    /// Learns `address` of the peer `key` into the table; `has_session` says which peers the
    /// table should rather keep when it is full. False if it could not take it.
    pub(in crate::node) fn learn(
        &mut self,
        ctx: &Context,
        key: PublicKey,
        address: &Address,
        (preference, reset): (Option<u8>, bool),
        has_session: &dyn Fn(&NodeId) -> bool,
    ) -> bool {
        self.routes
            .learn(key, address, preference, reset, ctx.now, has_session)
    }

    /// Where to send to `key`, whose address is `given` (`validated` if `given` proved it
    /// receives). If `given` is an address the peer signed as its own and it has not proved
    /// it receives, the address an authenticated frame from `key` came from within
    /// `observed_path_lifetime`: behind a NAT the signed address is private and the observed
    /// one crosses the NAT. Otherwise `given`: an address the application chose, or one that
    /// proved itself.
    pub(in crate::node) fn path_for(
        &self,
        ctx: &Context,
        key: &PublicKey,
        given: TransportAddr,
        validated: bool,
    ) -> TransportAddr {
        // A wildcard signed by a node bound to `0.0.0.0` reaches no one: never keep it.
        if !given.is_unspecified() && (validated || !self.routes.is_signed(&key.node_id(), given)) {
            return given;
        }
        self.routes
            .recently_heard(
                &key.node_id(),
                given.protocol,
                ctx.now,
                ctx.config.observed_path_lifetime,
            )
            .unwrap_or(given)
    }

    /// Whether a direct send to `to` goes through the table: it names a transport, or the
    /// table knows the peer.
    pub(in crate::node) fn applies_to(&self, to: &PublicIdentity) -> bool {
        to.location.transport().is_some() || self.routes.get(&to.key.node_id()).is_some()
    }

    /// The addresses held for `peer`, best first at `ctx.now`.
    pub(in crate::node) fn addresses_of(&self, ctx: &Context, peer: &NodeId) -> Vec<Address> {
        let Some(route) = self.routes.get(peer) else {
            return Vec::new();
        };
        let mut addresses: Vec<&RouteAddress> = route.addresses.iter().collect();
        let retry = ctx.config.route_retry_after;
        let now = ctx.now;
        addresses.sort_by_key(|known| {
            let usable = self.routes.is_usable(peer, known.transport, now, retry);
            (
                !usable,
                core::cmp::Reverse(known.preference),
                core::cmp::Reverse(known.last_success),
                known.consecutive_failures,
            )
        });
        addresses.into_iter().map(|known| known.address()).collect()
    }

    /// The remembered message whose transmit to `to` ended with `tag`, taken to be sent
    /// again, if it went within [`Config::resend_window`](crate::Config::resend_window).
    pub(in crate::node) fn take_resendable(
        &mut self,
        ctx: &Context,
        to: TransportAddr,
        tag: &[u8; TAG_LEN],
    ) -> Option<PendingMessage> {
        let window = u64::try_from(ctx.config.resend_window.as_micros()).unwrap_or(u64::MAX);
        let since = Instant::from_micros(ctx.now.as_micros().saturating_sub(window));
        self.resend.take_failed(to, tag, since)
    }

    /// Where `peer` may be reached: where we see it, then the UDP addresses it signed (its
    /// record's local and reflexive addresses).
    pub(in crate::node) fn punch_candidates(
        &self,
        peer: &NodeId,
        seen: TransportAddr,
    ) -> Vec<core::net::SocketAddr> {
        let mut candidates = alloc::vec![seen.addr];
        if let Some(route) = self.routes.get(peer) {
            for known in &route.addresses {
                if candidates.len() >= crate::path_message::MAX_PUNCH_CANDIDATES {
                    break;
                }
                if known.signed
                    && known.transport.protocol == crate::transport::Protocol::Udp
                    && !candidates.contains(&known.transport.addr)
                {
                    candidates.push(known.transport.addr);
                }
            }
        }
        candidates
    }

    /// Where to send to `peer`: a peer that lists a relay is reached on its direct path if
    /// one is open (`direct_path`), else through the relay (which introduces us, so that a direct path may
    /// open); any other peer on its best usable address.
    pub(in crate::node) fn best_location(
        &self,
        ctx: &Context,
        peer: &NodeId,
        direct_path: &dyn Fn() -> Option<TransportAddr>,
    ) -> Option<Address> {
        let route = self.routes.get(peer)?;
        if let Some(relay) = route.relays.first() {
            return Some(match direct_path() {
                Some(direct) => Address::from_transport(direct),
                None => relay.to_address(None),
            });
        }
        self.routes
            .best(peer, ctx.now, ctx.config.route_retry_after)
            .map(|best| best.address())
    }

    /// `message` went to `transport` in a datagram ending with `tag`: the peer's route is in
    /// use, and the message is remembered (within `max_resend_memory`) to send again if the
    /// adapter reports the transmit failed or a node under load challenges it.
    pub(in crate::node) fn remember_sent(
        &mut self,
        ctx: &Context,
        message: PendingMessage,
        transport: TransportAddr,
        tag: [u8; TAG_LEN],
    ) {
        self.routes.touch(&message.key.node_id(), ctx.now);
        self.resend.push(
            SentMessage {
                message,
                transport,
                tag,
                at: ctx.now,
            },
            ctx.config.max_resend_memory,
        );
    }
}
