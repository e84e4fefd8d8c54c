//! Routing between the node and its store-and-forward [`Relay`](super::relay::Relay): the
//! relay decides, the node signs, sends and counts.

use super::Node;
use super::relay::{MailboxRequest, Whence};
use crate::address::Address;
use crate::error::SendError;
use crate::identity::{PublicIdentity, PublicKey};
use crate::mailbox::MailboxOp;
use crate::time::Instant;
use crate::transport::TransportAddr;

impl Node {
    /// Asks the store-and-forward relay `relay` to hold the frames it relays to this node
    /// ([`MailboxOp::Hold`]), to hand them over ([`MailboxOp::Fetch`]), or to hand them over
    /// and stop holding ([`MailboxOp::Release`]).
    ///
    /// The request is signed with this node's key and names this node's address of the relay's
    /// address type: the relay hands frames over to that address and no other. Senders reach a
    /// recipient through its mailbox with [`via`](Self::via) and the relay.
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
        self.ctx.advance(now);
        let (transport, frame, timestamp) = self.relay.mailbox_request(&self.ctx, relay, op)?;
        if !self
            .transport
            .queue_transmit(&mut self.ctx, transport, frame)
        {
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

    /// A mailbox request arrived from `from`: the relay checks it and says whose frames to
    /// hand over.
    pub(super) fn on_mailbox_request(&mut self, request: &MailboxRequest<'_>, from: TransportAddr) {
        let (now, wall) = (self.ctx.now, self.ctx.wall_now());
        let (local_addresses, stats) = (&self.ctx.local_addresses, &mut self.ctx.stats.transport);
        let is_local = |address: &Address| {
            address.kind() == "local" || local_addresses.contains(&address.without_callsign())
        };
        if let Some(owner) = self
            .relay
            .take_request(request, (now, wall), &is_local, stats)
        {
            self.hand_over(&owner, Whence::Asked(from));
        }
    }

    /// Holds `frame` (an inner `r` frame on its way to `recipient`) if a mailbox holds for that
    /// address. True if it was held (or dropped trying): the caller must not send it.
    pub(super) fn hold_if_away(&mut self, recipient: &Address, frame: &[u8]) -> bool {
        self.relay.hold_if_away(recipient, frame, self.ctx.now)
    }

    /// A frame authenticated by `key` reached us from `from`: if we hold frames for it, it is
    /// back.
    pub(super) fn on_authenticated(&mut self, key: &PublicKey, from: TransportAddr) {
        if self.relay.holds_frames_for(&key.node_id()) {
            self.hand_over(key, Whence::Heard(from));
        }
    }

    /// `peer` proved where it receives (its session is confirmed, or a path challenge came
    /// back): what was held back for lack of a proved address can go now.
    pub(super) fn on_peer_proved(&mut self, peer: &PublicKey) {
        if self.relay.holds_frames_for(&peer.node_id()) {
            self.hand_over(peer, Whence::Proved);
        }
    }

    /// Sends what is held for `owner`, oldest first, to `Transport::hand_over_target`,
    /// as far as the transmit queue and the amplification limit allow. Not throttled: the
    /// recipient asked for it, and it is at most `max_held_per_mailbox` frames.
    ///
    /// What the limit holds back stays held, and the relay starts a handshake with the owner
    /// there: its answer from that address proves the address (`on_peer_proved` then sends
    /// the rest). A handshake init is far smaller than what asked for it.
    fn hand_over(&mut self, owner: &PublicKey, whence: Whence) {
        let peer = owner.node_id();
        while let Some((signed, held)) = self.relay.take_oldest(&peer) {
            let target = self
                .transport
                .hand_over_target(&self.ctx, &peer, signed, whence);
            let Some((to, observed)) = target else {
                self.relay.put_back(&peer, held);
                return;
            };
            if self.ctx.out.is_full() {
                self.relay.put_back(&peer, held);
                return;
            }
            if observed && !self.transport.paths.admit(to, held.frame.len()) {
                self.relay.put_back(&peer, held);
                if self.ctx.config.sessions && !self.has_session(&peer) {
                    let identity = PublicIdentity {
                        name: alloc::string::String::new(),
                        location: Address::from_transport(to),
                        key: *owner,
                    };
                    self.start_handshake(&identity, to);
                    // Its retries stay under the limit: the address is still unproved.
                    if let Some(index) = self.transport.sessions.pending_by_peer.get(&peer) {
                        if let Some(pending) = self.transport.sessions.pending.get_mut(index) {
                            pending.observed = true;
                        }
                    }
                }
                return;
            }
            if self.transport.queue_transmit(&mut self.ctx, to, held.frame) {
                self.relay.handed_over();
            }
        }
    }
}
