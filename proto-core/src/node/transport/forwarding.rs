//! The transport's side of relaying: an opened inner `r` frame for another node, sent on
//! towards its recipient.

use alloc::vec::Vec;

use super::Transport;
use crate::node::context::Context;
use crate::transport::TransportAddr;

impl Transport {
    /// Sends `frame` on: to `destination` if the recipient's address names one we can reach,
    /// else wrapped for the default route (one hop more, within `max_hops`). Each forward takes
    /// a token from the destination's bucket, or is dropped.
    pub(in crate::node) fn forward(
        &mut self,
        ctx: &mut Context,
        destination: Option<TransportAddr>,
        frame: &[u8],
        hops: u8,
    ) {
        if let Some(transport) = destination {
            self.forward_to(ctx, transport, frame.to_vec());
            return;
        }
        if hops >= ctx.config.max_hops {
            ctx.stats.transport.dropped_hop_limit += 1;
            return;
        }
        match self.wrap_for_default_route(ctx, hops, frame) {
            Some(Ok((transport, wrapped))) => self.forward_to(ctx, transport, wrapped),
            Some(Err(_)) | None => ctx.stats.transport.dropped_no_route += 1,
        }
    }

    /// Queues a forwarded frame for `to`, if its bucket has a token.
    fn forward_to(&mut self, ctx: &mut Context, to: TransportAddr, frame: Vec<u8>) {
        if !self.throttling.take(to, ctx.now) {
            ctx.stats.transport.dropped_throttled += 1;
        } else if self.queue_transmit(ctx, to, frame) {
            ctx.stats.transport.forwarded += 1;
        }
    }
}
