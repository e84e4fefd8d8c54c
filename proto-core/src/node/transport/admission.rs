//! What the transport checks before a message is given an id: that it can be sent at all,
//! and whether it is for a local client.

use alloc::vec::Vec;

use serde_json::Value;

use super::Transport;
use crate::error::SendError;
use crate::event::{Message, MessageId, Protection, Sender};
use crate::identity::PublicIdentity;
use crate::node::context::Context;

impl Transport {
    /// Checks a send from the local client `from` to `to` (through `via`) before anything is
    /// drawn or sealed, so that a refused send changes nothing: its JSON bytes, the value
    /// (handed back in the error when refused), and whether it is for a local client of ours.
    ///
    /// # Errors
    /// An unknown client or a value that is not strict JSON; [`SendError::Blocked`] when the
    /// transmit queue or the fragment memory is full; [`SendError::Throttled`] when the first
    /// hop's token bucket is empty.
    pub(in crate::node) fn admit_send(
        &mut self,
        ctx: &mut Context,
        from: &str,
        to: &PublicIdentity,
        via: &[PublicIdentity],
        value: Value,
    ) -> Result<(Vec<u8>, Value, bool), SendError> {
        let json = self.check_sendable(from, &value)?;
        if ctx.out.is_full() {
            ctx.out.send_blocked = true;
            return Err(SendError::Blocked(value));
        }
        let value = self.refuse_if_fragments_full(ctx, &json, value)?;
        let local = via.is_empty() && to.key == ctx.public_key && self.is_local(ctx, &to.location);
        let throttled_hop = via
            .first()
            .unwrap_or(to)
            .location
            .transport()
            .or_else(|| {
                self.default_route
                    .as_ref()
                    .and_then(|route| route.location.transport())
            })
            .filter(|_| !local);
        if let Some(peer) = throttled_hop {
            if !self.throttling.admits(peer, ctx.now) {
                return Err(SendError::Throttled { peer, value });
            }
        }
        Ok((json, value, local))
    }

    /// Message `id` from our client `from` to our own client named by `to`: delivered without
    /// leaving the node. `None`, counted, if no local client has that callsign.
    pub(in crate::node) fn local_message(
        &self,
        ctx: &mut Context,
        id: MessageId,
        from: &str,
        to: &PublicIdentity,
        value: Value,
    ) -> Option<Message> {
        let sender = self.sender_address(ctx, from, &to.location);
        let Some(callsign) = to
            .location
            .callsign()
            .filter(|callsign| self.clients.contains(*callsign))
        else {
            ctx.stats.queries.dropped_unknown_client += 1;
            return None;
        };
        Some(Message {
            to: callsign.into(),
            from: Sender {
                key: ctx.public_key,
                node_id: ctx.public_key.node_id(),
                address: sender,
            },
            id,
            value,
            sent_at: Some(ctx.wall_now()),
            protection: Protection::Local,
            relayed_by: None,
        })
    }
}
