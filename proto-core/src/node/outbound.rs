//! Building what a node sends: messages, onion layers, default-route wrapping and handshakes.

use alloc::vec::Vec;

use serde_json::Value;

use super::Node;
use super::lookups::{PendingMessage, TAG_LEN};
use super::transport::Outgoing;
use crate::address::Address;
use crate::error::SendError;
use crate::event::MessageId;
use crate::identity::{NodeId, PublicIdentity};
use crate::relay_address::RelayAddress;
use crate::transport::TransportAddr;

impl Node {
    /// Sends a new message: checks it, gives it an id, and sends it on the best route (see
    /// [`send_prepared`](Self::send_prepared)). Returns its id and its JSON bytes.
    pub(super) fn send_message(
        &mut self,
        from: &str,
        to: &PublicIdentity,
        via: &[PublicIdentity],
        value: Value,
        reference: Option<[u8; 32]>,
    ) -> Result<(MessageId, Vec<u8>), SendError> {
        let (json, value, local) =
            self.transport
                .admit_send(&mut self.ctx, from, to, via, value)?;
        let id = MessageId(self.ctx.rng.array());

        if local {
            if let Some(message) = self
                .transport
                .local_message(&mut self.ctx, id, from, to, value)
            {
                self.queries.deliver(&mut self.ctx, message, reference);
            }
            return Ok((id, json));
        }
        if via.is_empty() && self.routing.applies_to(to) {
            let message = PendingMessage {
                id,
                from: from.into(),
                key: to.key,
                callsign: to.location.callsign().map(Into::into),
                json,
                reference,
            };
            self.send_routed(message.clone(), Some(&to.location))?;
            return Ok((id, message.json));
        }
        self.transmit_message(id, from, to, via, &json, reference)?;
        Ok((id, json))
    }

    /// Encodes message `id` for `to` (through `via`) and queues it: in the session with `to`
    /// if there is one (in fragments if it does not fit in a datagram), else signed and sealed
    /// (held for the session if that would not fit); each relay adds a sealed layer.
    pub(super) fn transmit_message(
        &mut self,
        id: MessageId,
        from: &str,
        to: &PublicIdentity,
        via: &[PublicIdentity],
        json: &[u8],
        reference: Option<[u8; 32]>,
    ) -> Result<(TransportAddr, [u8; TAG_LEN]), SendError> {
        let message = Outgoing {
            id,
            from,
            to,
            via,
            json,
            reference,
        };
        self.transmit(&message, None)
    }

    /// Sends `message`, signing `sender` as our address if given (else our address toward the
    /// recipient's transport): to a peer behind one of our relays as `transmit_relayed` says,
    /// else through the transport on the path the routing table chooses to the first hop.
    pub(super) fn transmit(
        &mut self,
        message: &Outgoing<'_>,
        sender: Option<Address>,
    ) -> Result<(TransportAddr, [u8; TAG_LEN]), SendError> {
        // A peer reached through one of our relays (`crate::relay_address`).
        if message.via.is_empty() {
            if let Some(relay) = RelayAddress::from_address(&message.to.location) {
                return self.transmit_relayed(message, relay);
            }
        }
        let first_hop = message.via.first().unwrap_or(message.to);
        let path = first_hop
            .location
            .transport()
            .map(|transport| self.path_for(&first_hop.key, transport));
        self.transport
            .transmit_through(&mut self.ctx, message, sender, path)
    }

    /// Starts a Noise IK handshake with `to` at `transport`, unless one is in flight or the
    /// table is full: to where the peer was last heard from, if that is not the address it
    /// signed (the way through its NAT; see `Routing::path_for`).
    pub(super) fn start_handshake(&mut self, to: &PublicIdentity, transport: TransportAddr) {
        let path = self.path_for(&to.key, transport);
        self.transport
            .start_handshake(&mut self.ctx, to, transport, path);
    }

    /// The session with `peer` is confirmed: send what waited for it.
    pub(super) fn send_held_for_session(&mut self, peer: &NodeId) {
        for held in self.transport.awaiting_session.take(peer) {
            // A failure now is the same as at send time (queue full, too large): counted
            // there, and the application holds the id.
            let _ = self.transmit_message(
                held.id,
                &held.from,
                &held.to,
                &[],
                &held.json,
                held.reference,
            );
        }
    }

    /// The handshake with `peer` failed: what waited for it will not be sent.
    pub(super) fn fail_held_for_session(&mut self, peer: NodeId) {
        for held in self.transport.awaiting_session.take(&peer) {
            self.report_unreachable(peer, Some(held.id));
        }
    }
}
