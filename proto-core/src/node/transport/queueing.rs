//! Where every transmit of the transport is queued: with the cookie a node under load gave us,
//! under the amplification limit toward addresses that have not proved they receive, and
//! within what a peer's claim to an address allows. Also whether an address is our own.

use super::Transport;
use crate::address::Address;
use crate::identity::NodeId;
use crate::node::context::Context;
use crate::transport::TransportAddr;
use alloc::vec::Vec;

impl Transport {
    /// Queues `frame`, the answer to a request of `request_len` bytes from `from` that came
    /// from an address nobody vouched for: no more than three times the request, so a forged
    /// source cannot make this node an amplifier, or within the address's own credit (three
    /// times all it sent us, less what we sent it; none needed once it proved it receives).
    /// Dropped otherwise, counted as an unanswered lookup.
    pub(in crate::node) fn queue_answer(
        &mut self,
        ctx: &mut Context,
        from: TransportAddr,
        request_len: usize,
        frame: Vec<u8>,
    ) {
        if frame.len() > request_len.saturating_mul(3) && !self.paths.admit(from, frame.len()) {
            ctx.stats.routing.lookups_unanswered += 1;
            return;
        }
        self.queue_transmit(ctx, from, frame);
    }

    /// Queues bytes for `to`, framed for its transport. False if the queue was full.
    pub(in crate::node) fn queue_transmit(
        &mut self,
        ctx: &mut Context,
        to: TransportAddr,
        frame: Vec<u8>,
    ) -> bool {
        self.queue_transmit_marked(ctx, to, frame, false)
    }

    /// As [`queue_transmit`](Self::queue_transmit), marked for the don't-fragment bit if
    /// `dont_fragment` (path MTU probes).
    pub(in crate::node) fn queue_transmit_marked(
        &mut self,
        ctx: &mut Context,
        to: TransportAddr,
        frame: Vec<u8>,
        dont_fragment: bool,
    ) -> bool {
        if to.is_unspecified() {
            ctx.stats.transport.dropped_no_route += 1;
            return false;
        }
        // Checked before the cookie is looked up (and counted as used).
        let frame = self.key_work.with_cookie(to, ctx.now, frame);
        ctx.out.transmit(to, frame, dont_fragment)
    }

    /// Queues a frame for `to`, an address a peer was only observed at (not one it signed or
    /// the application gave): under the amplification limit until `to` proves it receives
    /// (see `node/paths/`). False if refused (counted in `dropped_amplification`; the peer's
    /// next frame from there brings more credit) or the queue was full.
    pub(in crate::node) fn queue_to_observed(
        &mut self,
        ctx: &mut Context,
        to: TransportAddr,
        frame: Vec<u8>,
    ) -> bool {
        if !self.paths.admit(to, frame.len()) {
            return false;
        }
        self.queue_transmit(ctx, to, frame)
    }

    /// Queues a frame for `peer` at `to`: through [`queue_to_observed`](Self::queue_to_observed)
    /// if `observed` (the address was chosen because the peer was seen there), else within
    /// what the peer's claim to `to` allows if it signed `to` while sending from elsewhere
    /// (`node/paths/claims.rs`). False if refused or the queue was full.
    pub(in crate::node) fn queue_on_path(
        &mut self,
        ctx: &mut Context,
        peer: &NodeId,
        to: TransportAddr,
        frame: Vec<u8>,
        observed: bool,
    ) -> bool {
        if observed {
            return self.queue_to_observed(ctx, to, frame);
        }
        if !self.paths.admit_to_peer(peer, to, frame.len()) {
            return false;
        }
        self.queue_transmit(ctx, to, frame)
    }

    /// Whether `address` names this node (any callsign). A local address on the wildcard IP
    /// (a socket bound to `0.0.0.0` or `::`) is every IP of this host on that port.
    pub(in crate::node) fn is_local(&self, ctx: &Context, address: &Address) -> bool {
        if address.kind() == "local" || ctx.local_addresses.contains(&address.without_callsign()) {
            return true;
        }
        let Some(named) = address.transport() else {
            return false;
        };
        // Where peers see us (a NAT's mapping): a relay sends frames for us there.
        if named.protocol == crate::transport::Protocol::Udp && self.reflexive.contains(named.addr)
        {
            return true;
        }
        ctx.local_addresses
            .iter()
            .filter_map(Address::transport)
            .any(|local| {
                local.addr.ip().is_unspecified()
                    && local.protocol == named.protocol
                    && local.addr.port() == named.addr.port()
                    && local.addr.is_ipv4() == named.addr.is_ipv4()
            })
    }
}
