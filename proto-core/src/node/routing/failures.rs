//! What routing makes of a transmit the adapter could not deliver: the address is marked
//! failed for every peer that has it, and a message we remember sending there is sent again
//! or waits for the lookup that may bring a newer record.

use alloc::vec::Vec;

use super::Routing;
use crate::identity::NodeId;
use crate::node::context::Context;
use crate::node::lookups::{PendingMessage, TAG_LEN};
use crate::transport::TransportAddr;

/// A failed transmit, as routing sees it.
pub(in crate::node) struct TransmitFailure {
    /// The message it carried, to send again on its peer's best address (unless it waits).
    pub(in crate::node) resend: Option<PendingMessage>,
    /// The peer whose message went to wait for a lookup in flight, if one did.
    pub(in crate::node) waiting: Option<NodeId>,
    /// Every peer the failed address concerns, sorted and without repeats.
    pub(in crate::node) peers: Vec<NodeId>,
}

impl Routing {
    /// The transmit ending with `tag` to `to` failed: mark the address failed, and take the
    /// message it carried if it went within `resend_window`. A message sent on a record a
    /// lookup found, while that lookup still takes newer answers, waits for them rather than
    /// give up on the first (maybe stale) one.
    pub(in crate::node) fn on_transmit_failed(
        &mut self,
        ctx: &mut Context,
        to: TransportAddr,
        tag: &[u8; TAG_LEN],
    ) -> TransmitFailure {
        ctx.stats.routing.transmits_failed += 1;
        let mut peers = self.routes.mark_failed(to, ctx.now);
        let mut failure = TransmitFailure {
            resend: None,
            waiting: None,
            peers: Vec::new(),
        };
        if let Some(message) = self.take_resendable(ctx, to, tag) {
            let peer = message.key.node_id();
            if !peers.contains(&peer) {
                peers.push(peer);
            }
            let lookup_open = self.lookups.by_target.contains_key(&peer);
            let room = self.waiting.len() < ctx.config.max_waiting_messages;
            let retry = ctx.config.route_retry_after;
            if lookup_open && room && self.routes.best(&peer, ctx.now, retry).is_none() {
                self.waiting.push(message);
                failure.waiting = Some(peer);
            } else {
                failure.resend = Some(message);
            }
        }
        peers.sort();
        peers.dedup();
        failure.peers = peers;
        failure
    }

    /// Whether `peer` is left with no usable address and no lookup in flight (which may still
    /// bring a newer record: its end decides).
    pub(in crate::node) fn is_stranded(&self, ctx: &Context, peer: &NodeId) -> bool {
        self.routes
            .best(peer, ctx.now, ctx.config.route_retry_after)
            .is_none()
            && !self.lookups.by_target.contains_key(peer)
    }
}
