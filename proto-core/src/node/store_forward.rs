//! Routing between the node and its store-and-forward [`Relay`](super::relay::Relay): the
//! relay decides, the node signs, sends and counts.

use super::Node;
use super::relay::{Dropped, MailboxRequest};
use crate::address::Address;
use crate::crypto::{body, mailbox};
use crate::error::SendError;
use crate::frame;
use crate::identity::{NodeId, PublicIdentity, PublicKey};
use crate::mailbox::MailboxOp;
use crate::time::Instant;

impl Node {
    /// Asks the store-and-forward relay `relay` to hold the frames it relays to this node
    /// ([`MailboxOp::Hold`]), to hand them over ([`MailboxOp::Fetch`]), or to hand them over
    /// and stop holding ([`MailboxOp::Release`]).
    ///
    /// The request is signed with this node's key and names this node's address of the relay's
    /// address type: the relay hands frames over to that address and no other. Senders reach a
    /// recipient through its mailbox with [`send_via`](Self::send_via) and the relay in `via`.
    ///
    /// # Errors
    /// [`SendError::NoRoute`] if the relay, or this node, has no address that can be sent to;
    /// [`SendError::Blocked`] (with `null`) if the transmit queue is full.
    pub fn request_mailbox(
        &mut self,
        now: Instant,
        relay: &PublicIdentity,
        op: MailboxOp,
    ) -> Result<(), SendError> {
        self.advance(now);
        let transport = relay.location.transport().ok_or(SendError::NoRoute)?;
        let own = self
            .local_addresses
            .iter()
            .find(|address| address.kind() == relay.location.kind())
            .or_else(|| self.local_addresses.first())
            .filter(|address| address.transport().is_some())
            .ok_or(SendError::NoRoute)?
            .to_strict_json();
        let relay_address = relay.location.without_callsign();
        let timestamp = self.relay.next_request_timestamp(self.wall_now());
        let op = op.to_byte();
        let signature = mailbox::sign(
            &self.identity,
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
            self.public_key.as_bytes(),
            &signature,
            own.as_bytes(),
        );
        if !self.queue_transmit(transport, frame) {
            return Err(SendError::Blocked(serde_json::Value::Null));
        }
        self.relay.request_sent(timestamp);
        Ok(())
    }

    /// Frames held for recipients, in all.
    #[must_use]
    pub fn held_frames(&self) -> usize {
        self.relay.held_frames()
    }

    /// A mailbox request arrived: the relay checks it and says whose frames to hand over.
    pub(super) fn on_mailbox_request(&mut self, request: &MailboxRequest<'_>) {
        let (now, wall) = (self.now, self.wall_now());
        let local_addresses = &self.local_addresses;
        let is_local = |address: &Address| {
            address.kind() == "local" || local_addresses.contains(&address.without_callsign())
        };
        match self.relay.on_request(request, now, wall, &is_local) {
            Ok(Some(owner)) => self.hand_over(&owner),
            Ok(None) | Err(Dropped::Refused) => {}
            Err(Dropped::Crypto) => self.stats.dropped_crypto += 1,
            Err(Dropped::Stale) => self.stats.dropped_stale += 1,
            Err(Dropped::Malformed) => self.stats.dropped_malformed += 1,
        }
    }

    /// Holds `frame` (an inner `r` frame on its way to `recipient`) if a mailbox holds for that
    /// address. True if it was held (or dropped trying): the caller must not send it.
    pub(super) fn hold_if_away(&mut self, recipient: &Address, frame: &[u8]) -> bool {
        self.relay.hold_if_away(recipient, frame, self.now)
    }

    /// An authenticated frame from `key` reached us: if we hold frames for it, it is back.
    pub(super) fn on_authenticated(&mut self, key: &PublicKey) {
        let owner = key.node_id();
        if self.relay.holds_frames_for(&owner) {
            self.hand_over(&owner);
        }
    }

    /// Sends everything held for `owner` to its mailbox's address, oldest first, as far as
    /// the transmit queue has room (the rest stays held). Not throttled: the recipient asked
    /// for it, and it is at most `max_held_per_mailbox` frames.
    fn hand_over(&mut self, owner: &NodeId) {
        while let Some((transport, held)) = self.relay.take_oldest(owner) {
            if self.out.is_full() {
                self.relay.put_back(owner, held);
                return;
            }
            if self.queue_transmit(transport, held.frame) {
                self.relay.handed_over();
            }
        }
    }
}
