//! The other side of a mailbox: this node asking a relay to hold, hand over or release what
//! it relays to us.

use alloc::vec::Vec;

use super::Relay;
use crate::crypto::{body, mailbox};
use crate::error::SendError;
use crate::frame;
use crate::identity::PublicIdentity;
use crate::mailbox::MailboxOp;
use crate::node::context::Context;
use crate::transport::TransportAddr;

impl Relay {
    /// The signed request asking `relay` for `op`, and where to send it. It names this node's
    /// address of the relay's address type (else its first), which the relay hands frames
    /// over to and no other. Call [`request_sent`](Self::request_sent) once it is queued.
    ///
    /// # Errors
    /// [`SendError::NoRoute`] if the relay, or this node, has no address that can be sent to.
    pub(in crate::node) fn mailbox_request(
        &self,
        ctx: &Context,
        relay: &PublicIdentity,
        op: MailboxOp,
    ) -> Result<(TransportAddr, Vec<u8>, crate::time::UnixMillis), SendError> {
        let transport = relay.location.transport().ok_or(SendError::NoRoute)?;
        let own = ctx
            .local_addresses
            .iter()
            .find(|address| address.kind() == relay.location.kind())
            .or_else(|| ctx.local_addresses.first())
            .filter(|address| address.transport().is_some())
            .ok_or(SendError::NoRoute)?
            .to_strict_json();
        let relay_address = relay.location.without_callsign();
        let timestamp = self.next_request_timestamp(ctx.wall_now());
        let op = op.to_byte();
        let signature = mailbox::sign(
            &ctx.identity,
            relay_address.to_strict_json().as_bytes(),
            op,
            timestamp,
            own.as_bytes(),
        )
        .map_err(SendError::Crypto)?;
        let mut frame = frame::sealed_prefix(&relay_address);
        body::write_mailbox_request(
            &mut frame,
            op,
            timestamp,
            ctx.public_key.as_bytes(),
            &signature,
            own.as_bytes(),
        );
        Ok((transport, frame, timestamp))
    }
}
