//! Building what a node sends: messages, onion layers, default-route wrapping and handshakes.

use alloc::vec::Vec;

use serde_json::Value;

use super::Node;
use super::lookups::{PendingMessage, TAG_LEN, transmit_tag};
use super::sessions::PendingHandshake;
use crate::address::Address;
use crate::crypto::body;
use crate::crypto::handshake::{HandshakeTime, InitiatorHandshake};
use crate::crypto::proof::SenderProof;
use crate::crypto::sealed;
use crate::crypto::session::SESSION_OVERHEAD;
use crate::crypto::signature::SignatureBlob;
use crate::error::SendError;
use crate::event::{Message, MessageId, Protection, Sender};
use crate::frame::{self, FrameError};
use crate::identity::{PublicIdentity, PublicKey};
use crate::json::JsonError;
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
        let json = self.check_sendable(from, &value)?;
        if self.ctx.out.is_full() {
            self.ctx.out.send_blocked = true;
            return Err(SendError::Blocked(value));
        }
        let value = self.refuse_if_fragments_full(&json, value)?;
        let local = via.is_empty() && to.key == self.ctx.public_key && self.is_local(&to.location);
        // Checked before anything is drawn or sealed, so a refused send changes nothing.
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
            if !self.transport.throttling.admits(peer, self.ctx.now) {
                return Err(SendError::Throttled { peer, value });
            }
        }
        let id = MessageId(self.ctx.rng.array());

        if local {
            let sender = self.sender_address(from, &to.location);
            self.deliver_locally(id, sender, to, value, reference);
            return Ok((id, json));
        }
        if via.is_empty() && self.routes_apply(to) {
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

    /// The JSON bytes of `value`, if `from` is a local client and the value is strict JSON.
    pub(super) fn check_sendable(&self, from: &str, value: &Value) -> Result<Vec<u8>, SendError> {
        if !self.clients.contains(from) {
            return Err(SendError::UnknownClient(from.into()));
        }
        frame::encode_json(value).map_err(|err| match err {
            FrameError::Json(err) => SendError::InvalidValue(err),
            _ => SendError::InvalidValue(JsonError::Syntax),
        })
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
        let sender = sender.unwrap_or_else(|| self.sender_address(from, &to.location));
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
            if let Some(frames) =
                self.seal_in_session(to, &sender, id, json, reference, (path, observed))
            {
                return Ok(self.queue_datagrams(&to.key.node_id(), given, path, frames));
            }
            // Far too large to seal for one datagram: wait for the session, sealing nothing.
            if self.needs_session(to, path, json.len()) {
                self.hold_for_session(id, from, to, json, reference)?;
                return Ok((path, [0; TAG_LEN]));
            }
        }
        let signed = self.signed_frame(&to.location, &sender, id, json, reference)?;
        let mut onion = self.seal_layer(&to.location, &to.key, 0, &signed)?;
        for relay in via.iter().rev() {
            onion = self.seal_layer(&relay.location, &relay.key, 0, &onion)?;
        }
        let (destination, onion) = match path {
            Some(path) => (path, onion),
            None => self
                .wrap_for_default_route(0, &onion)
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
        if direct && path.is_some() && self.needs_session(to, destination, onion.len()) {
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
                self.queue_to_observed(source, onion.clone());
            }
        }
        Ok(self.queue_datagrams(
            &first_hop.key.node_id(),
            given,
            destination,
            alloc::vec![onion],
        ))
    }

    /// Queues the datagrams of one message for `destination` (under the amplification limit if
    /// it is not the `given` address but one the peer was only observed at). Returns where they
    /// went and the first one's tag, by which a failed transmit is matched to the message.
    fn queue_datagrams(
        &mut self,
        peer: &crate::identity::NodeId,
        given: Option<TransportAddr>,
        destination: TransportAddr,
        frames: Vec<Vec<u8>>,
    ) -> (TransportAddr, [u8; TAG_LEN]) {
        self.transport.throttling.take(destination, self.ctx.now);
        let tag = frames
            .first()
            .map_or([0; TAG_LEN], |frame| transmit_tag(frame));
        let observed = given.is_some_and(|given| given != destination);
        for frame in frames {
            self.queue_on_path(peer, destination, frame, observed);
        }
        (destination, tag)
    }

    /// Our address for client `from`, on the transport type the recipient uses if we have one;
    /// a specific address before a wildcard one (which names no host: the recipient answers
    /// where our frames come from instead).
    fn sender_address(&self, from: &str, recipient: &Address) -> Address {
        let specific = |address: &&Address| {
            address
                .transport()
                .is_none_or(|transport| !transport.is_unspecified())
        };
        let same_kind = |address: &&Address| address.kind() == recipient.kind();
        let chosen = self
            .ctx
            .local_addresses
            .iter()
            .find(|address| same_kind(address) && specific(address))
            .or_else(|| self.ctx.local_addresses.iter().find(same_kind));
        chosen
            .or_else(|| self.ctx.local_addresses.first())
            .map_or_else(
                || Address::local(from),
                |address| address.with_callsign(from),
            )
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
            .filter(|callsign| self.clients.contains(*callsign))
        else {
            self.ctx.stats.dropped_unknown_client += 1;
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

    /// `S(sender)[J]` signed for `recipient` with a fresh timestamp and the message nonce.
    fn signed_frame(
        &self,
        recipient: &Address,
        sender: &Address,
        id: MessageId,
        json: &[u8],
        reference: Option<[u8; 32]>,
    ) -> Result<Vec<u8>, SendError> {
        let (recipient, sender_json) = (recipient.to_strict_json(), sender.to_strict_json());
        let (recipient, sender_json) = (recipient.as_bytes(), sender_json.as_bytes());
        let proof = match reference {
            None => SignatureBlob::sign(
                &self.ctx.identity,
                recipient,
                sender_json,
                self.ctx.wall_now(),
                id.0,
                json,
            )
            .map(SenderProof::Signed),
            Some(reference) => SignatureBlob::sign_reply(
                &self.ctx.identity,
                recipient,
                sender_json,
                self.ctx.wall_now(),
                id.0,
                json,
                &reference,
            )
            .map(|blob| SenderProof::SignedReply { blob, reference }),
        }
        .map_err(SendError::Crypto)?;
        frame::encode_signed(sender, &proof.to_bytes(), json).map_err(|_| SendError::TooLarge {
            len: json.len(),
            max: self.ctx.config.max_frame_len,
        })
    }

    /// `R(recipient)[plaintext]` sealed to `key` with HPKE.
    pub(super) fn seal_layer(
        &mut self,
        recipient: &Address,
        key: &PublicKey,
        hops: u8,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, SendError> {
        let mut frame = frame::sealed_prefix(recipient);
        let timestamp = self.ctx.wall_now();
        let aad_len = body::write_sealed_aad_part(&mut frame, hops, timestamp);
        let (enc, ciphertext) = sealed::seal(
            &mut self.ctx.rng,
            key,
            frame.get(..aad_len).unwrap_or_default(),
            plaintext,
        )
        .map_err(SendError::Crypto)?;
        frame.extend_from_slice(&enc);
        frame.extend_from_slice(&ciphertext);
        Ok(frame)
    }

    /// `R(to)[S(sender)[J]]` on the confirmed session with `to`, if there is one, as the
    /// datagrams to send to `path` (fragments if it does not fit in one; `observed` if `path`
    /// is an address the peer was only seen at). The `s` frame carries only the message nonce:
    /// the session authenticates the sender.
    fn seal_in_session(
        &mut self,
        to: &PublicIdentity,
        sender: &Address,
        id: MessageId,
        json: &[u8],
        reference: Option<[u8; 32]>,
        (path, observed): (TransportAddr, bool),
    ) -> Option<Vec<Vec<u8>>> {
        let proof = match reference {
            None => SenderProof::Session { nonce: id.0 },
            Some(reference) => SenderProof::SessionReply {
                nonce: id.0,
                reference,
            },
        };
        if !self.has_session(&to.key.node_id()) {
            return None;
        }
        let inner = frame::encode_signed(sender, &proof.to_bytes(), json).ok()?;
        self.seal_session_datagrams(&to.key, &to.location, &inner, path, observed)
    }

    /// `R(recipient)[plaintext]` on the confirmed session with `key`, if there is one.
    pub(super) fn seal_session_plaintext(
        &mut self,
        key: &PublicKey,
        recipient: &Address,
        plaintext: &[u8],
    ) -> Option<Vec<u8>> {
        self.seal_session_after(key, &frame::sealed_prefix(recipient), plaintext)
    }

    /// As [`seal_session_plaintext`](Self::seal_session_plaintext), with the frame's
    /// `r || header || NUL` already built (a fragmented send builds it once for all pieces).
    pub(super) fn seal_session_after(
        &mut self,
        key: &PublicKey,
        prefix: &[u8],
        plaintext: &[u8],
    ) -> Option<Vec<u8>> {
        let now = self.ctx.now;
        let (_, entry) = self.transport.sessions.sending_session(&key.node_id())?;
        if entry.peer != *key {
            return None;
        }
        let epoch = entry.session.send_epoch();
        let counter = entry.session.next_send_counter(now, plaintext.len()).ok()?;
        if entry.session.send_epoch() != epoch {
            self.ctx.stats.session_rekeys += 1;
        }
        let mut frame = Vec::with_capacity(
            prefix.len() + body::SESSION_HEADER_LEN + plaintext.len() + SESSION_OVERHEAD,
        );
        frame.extend_from_slice(prefix);
        body::write_session_header(&mut frame, 0, entry.remote_index, counter);
        let aad = frame.clone();
        entry
            .session
            .seal(counter, &aad, plaintext, &mut frame)
            .ok()?;
        entry.last_used = now;
        entry.last_sent = now;
        if !crate::path_message::is_path_message(plaintext) {
            entry.last_activity = now;
        }
        Some(frame)
    }

    /// Wraps `frame` in a layer sealed to the default route, one hop further than `hops`.
    /// `None` if there is no default route; `Some(Err)` if it cannot be reached or sealed to.
    pub(super) fn wrap_for_default_route(
        &mut self,
        hops: u8,
        frame: &[u8],
    ) -> Option<Result<(TransportAddr, Vec<u8>), SendError>> {
        let route = self.default_route.clone()?;
        let Some(transport) = route.location.transport() else {
            return Some(Err(SendError::NoRoute));
        };
        let hops = hops.saturating_add(1);
        Some(
            self.seal_layer(&route.location, &route.key, hops, frame)
                .map(|wrapped| (transport, wrapped)),
        )
    }

    /// Starts a Noise IK handshake with `to`, unless one is in flight or the table is full.
    pub(super) fn start_handshake(&mut self, to: &PublicIdentity, transport: TransportAddr) {
        let peer = to.key.node_id();
        if self.transport.sessions.handshake_pending(&peer)
            || self.transport.sessions.awaiting_peer(&peer)
            || self.transport.sessions.pending.len() >= self.ctx.config.max_pending_handshakes
            || self.ctx.config.handshake_attempts == 0
        {
            return;
        }
        let Some(index) = self.fresh_index() else {
            return;
        };
        let stamp = HandshakeTime::after(self.transport.last_handshake_stamp, self.ctx.wall_now());
        let Ok((handshake, message)) =
            InitiatorHandshake::start(&mut self.ctx.rng, &self.ctx.identity, &to.key, stamp)
        else {
            return;
        };
        self.transport.last_handshake_stamp = stamp;
        let mut frame = frame::sealed_prefix(&to.location.without_callsign());
        body::write_handshake_init(&mut frame, index, &message);
        // To where the peer was last heard from, if that is not the address it signed: the
        // way through its NAT.
        let path = self.path_for(&to.key, transport);
        let observed = path != transport;
        if !self.queue_on_path(&peer, path, frame.clone(), observed) {
            return;
        }
        let pending = PendingHandshake {
            peer: to.key,
            handshake,
            to: path,
            observed,
            frame,
            next_retry: self.ctx.now + self.ctx.config.handshake_timeout,
            attempts_left: self.ctx.config.handshake_attempts.saturating_sub(1),
        };
        self.transport.sessions.insert_pending(index, pending);
    }

    /// A random session index not in use (zero is never used, so it can mean "none" in logs).
    pub(super) fn fresh_index(&mut self) -> Option<u32> {
        (0..16)
            .map(|_| self.ctx.rng.next_u32())
            .find(|&index| index != 0 && self.transport.sessions.index_free(index))
    }
}
