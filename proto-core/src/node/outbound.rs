//! Building what a node sends: messages, onion layers, default-route wrapping and handshakes.

use alloc::vec::Vec;

use serde_json::Value;

use super::Node;
use super::large_messages::HeldForSession;
use super::lookups::{PendingMessage, TAG_LEN, transmit_tag};
use crate::address::Address;
use crate::error::SendError;
use crate::event::{Message, MessageId, Protection, Sender};
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
        let json = self.transport.check_sendable(from, &value)?;
        if self.ctx.out.is_full() {
            self.ctx.out.send_blocked = true;
            return Err(SendError::Blocked(value));
        }
        let value = self
            .transport
            .refuse_if_fragments_full(&mut self.ctx, &json, value)?;
        let local = via.is_empty()
            && to.key == self.ctx.public_key
            && self.transport.is_local(&self.ctx, &to.location);
        // Checked before anything is drawn or sealed, so a refused send changes nothing.
        let throttled_hop = via
            .first()
            .unwrap_or(to)
            .location
            .transport()
            .or_else(|| {
                self.transport
                    .default_route
                    .as_ref()
                    .and_then(|route| route.location.transport())
            })
            .filter(|_| !local);
        if let Some(peer) = throttled_hop {
            if !self.transport.throttling.admits(peer, self.ctx.now) {
                return Err(SendError::Throttled { peer, value });
            }
        }
        let id = MessageId(self.ctx.rng.array());

        if local {
            let sender = self.transport.sender_address(&self.ctx, from, &to.location);
            self.deliver_locally(id, sender, to, value, reference);
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
        // A peer reached through one of our relays (`crate::relay_address`).
        if via.is_empty() {
            if let Some(relay) = RelayAddress::from_address(&to.location) {
                return self.transmit_relayed(id, from, to, relay, (json, reference));
            }
        }
        self.transmit_through(id, from, None, to, via, json, reference)
    }

    /// As [`transmit_message`](Self::transmit_message), signing `sender` as our address if
    /// given (else our address toward the recipient's transport).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn transmit_through(
        &mut self,
        id: MessageId,
        from: &str,
        sender: Option<Address>,
        to: &PublicIdentity,
        via: &[PublicIdentity],
        json: &[u8],
        reference: Option<[u8; 32]>,
    ) -> Result<(TransportAddr, [u8; TAG_LEN]), SendError> {
        let sender =
            sender.unwrap_or_else(|| self.transport.sender_address(&self.ctx, from, &to.location));
        let direct = via.is_empty() && self.ctx.config.sessions;
        let first_hop = via.first().unwrap_or(to);
        let given = first_hop.location.transport();
        let path = given.map(|transport| self.path_for(&first_hop.key, transport));
        if let (true, Some(path)) = (direct, path) {
            if json.len() > self.ctx.config.max_message_len {
                return Err(SendError::TooLarge {
                    len: json.len(),
                    max: self.ctx.config.max_message_len,
                });
            }
            let observed = given != Some(path);
            if let Some(frames) = self.transport.seal_in_session(
                &mut self.ctx,
                to,
                &sender,
                json,
                (id, reference),
                (path, observed),
            ) {
                return Ok(self.transport.queue_datagrams(
                    &mut self.ctx,
                    &to.key.node_id(),
                    given,
                    path,
                    frames,
                ));
            }
            // Far too large to seal for one datagram: wait for the session, sealing nothing.
            if self
                .transport
                .needs_session(&self.ctx, to, path, json.len())
            {
                self.hold_for_session(id, from, to, json, reference)?;
                return Ok((path, [0; TAG_LEN]));
            }
        }
        let signed =
            self.transport
                .signed_frame(&self.ctx, &to.location, &sender, id, json, reference)?;
        let mut onion =
            self.transport
                .seal_layer(&mut self.ctx, &to.location, &to.key, 0, &signed)?;
        for relay in via.iter().rev() {
            onion =
                self.transport
                    .seal_layer(&mut self.ctx, &relay.location, &relay.key, 0, &onion)?;
        }
        let (destination, onion) = match path {
            Some(path) => (path, onion),
            None => self
                .transport
                .wrap_for_default_route(&mut self.ctx, 0, &onion)
                .ok_or(SendError::NoRoute)??,
        };
        // The peer signed this address while sending from elsewhere, and the address has not
        // proved it receives: what the claim does not cover waits for the handshake, whose
        // answer from there is the proof (`node/paths/claims.rs`). If no handshake can start,
        // the send goes on and the limit decides.
        if direct
            && given == Some(destination)
            && self
                .transport
                .paths
                .claim_room(&to.key.node_id(), destination)
                .is_some_and(|room| room < onion.len() as u64)
            && self.hold_for_session(id, from, to, json, reference).is_ok()
        {
            return Ok((destination, transmit_tag(&onion)));
        }
        if direct
            && path.is_some()
            && self
                .transport
                .needs_session(&self.ctx, to, destination, onion.len())
        {
            self.hold_for_session(id, from, to, json, reference)?;
            return Ok((destination, transmit_tag(&onion)));
        }
        if onion.len() > self.ctx.config.max_frame_len {
            return Err(SendError::TooLarge {
                len: onion.len(),
                max: self.ctx.config.max_frame_len,
            });
        }
        // The handshake goes first: a peer that restarted and still holds an old session with
        // us learns from it to stop using that session before it answers this message.
        if direct && !self.has_session(&to.key.node_id()) {
            if let Some(transport) = to.location.transport() {
                self.start_handshake(to, transport);
            }
        }
        // Not heard straight from the peer yet, but its last signed message came from
        // elsewhere: from behind a NAT (its handshake lost or late), or through a relay, which
        // drops what it cannot open. A copy goes there too, under the amplification limit.
        if direct && given == Some(destination) {
            let lifetime = self.ctx.config.observed_path_lifetime;
            if let Some(source) = self
                .transport
                .paths
                .signed_source(&to.key.node_id(), self.ctx.now, lifetime)
                .filter(|source| *source != destination)
            {
                self.transport
                    .queue_to_observed(&mut self.ctx, source, onion.clone());
            }
        }
        Ok(self.transport.queue_datagrams(
            &mut self.ctx,
            &first_hop.key.node_id(),
            given,
            destination,
            alloc::vec![onion],
        ))
    }

    fn deliver_locally(
        &mut self,
        id: MessageId,
        sender: Address,
        to: &PublicIdentity,
        value: Value,
        reference: Option<[u8; 32]>,
    ) {
        let Some(callsign) = to
            .location
            .callsign()
            .filter(|callsign| self.transport.clients.contains(*callsign))
        else {
            self.ctx.stats.queries.dropped_unknown_client += 1;
            return;
        };
        let from = Sender {
            key: self.ctx.public_key,
            node_id: self.node_id(),
            address: sender,
        };
        let message = Message {
            to: callsign.into(),
            from,
            id,
            value,
            sent_at: Some(self.ctx.wall_now()),
            protection: Protection::Local,
            relayed_by: None,
        };
        self.queries.deliver(&mut self.ctx, message, reference);
    }

    /// Starts a Noise IK handshake with `to` at `transport`, unless one is in flight or the
    /// table is full: to where the peer was last heard from, if that is not the address it
    /// signed (the way through its NAT; see `Routing::path_for`).
    pub(super) fn start_handshake(&mut self, to: &PublicIdentity, transport: TransportAddr) {
        let path = self.path_for(&to.key, transport);
        self.transport
            .start_handshake(&mut self.ctx, to, transport, path);
    }

    // ----- messages waiting for a session (`node/large_messages.rs`) -----

    /// Holds message `id` until the session with `to` is up, starting the handshake.
    pub(super) fn hold_for_session(
        &mut self,
        id: MessageId,
        from: &str,
        to: &PublicIdentity,
        json: &[u8],
        reference: Option<[u8; 32]>,
    ) -> Result<(), SendError> {
        if json.len() > self.ctx.config.max_message_len {
            return Err(SendError::TooLarge {
                len: json.len(),
                max: self.ctx.config.max_message_len,
            });
        }
        let peer = to.key.node_id();
        // The peer started a session with us and waits for our answer on it (a reply to its
        // query, say): waiting for its first frame could be forever, so use the session now.
        if self.transport.sessions.confirm_answered(&peer) {
            return self
                .transmit_message(id, from, to, &[], json, reference)
                .map(|_| ());
        }
        if let Some(transport) = to.location.transport() {
            self.start_handshake(to, transport);
        }
        if !self.transport.sessions.handshake_pending(&peer) {
            // No handshake could start (the tables are full, or handshakes are off): nothing
            // would ever send this message.
            return Err(SendError::TooLarge {
                len: json.len(),
                max: self.ctx.config.max_datagram_size,
            });
        }
        let held = HeldForSession {
            id,
            from: from.into(),
            to: to.clone(),
            json: json.to_vec(),
            reference,
        };
        if !self
            .transport
            .awaiting_session
            .hold(peer, held, self.ctx.config.max_waiting_messages)
        {
            return Err(SendError::Blocked(Value::Null));
        }
        self.ctx.stats.transport.held_for_session += 1;
        Ok(())
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
