//! What a node does with what it receives: frames opened, verified and handed to the
//! sub-machine they concern (delivered, relayed, held); CJP2P datagrams; path messages,
//! introductions and our published record; mailbox requests and hand-overs.
//!
//! Every failure here is counted in [`Stats`](super::Stats) and dropped: nothing from the
//! network can make the node return an error or panic.

use super::Node;
use super::cjp2p::HandOn;
use super::lookups::TAG_LEN;
use super::relay::{MailboxRequest, Whence};
use super::transport::{
    Layer, Outgoing, PathHandOn, RelayedRoute, SessionFrame, SignedFrame, associated_data,
    json_payload,
};
use crate::address::Address;
use crate::content::ContentStore;
use crate::crypto::body::RBody;
use crate::error::SendError;
use crate::event::Event;
use crate::frame::{self, Frame};
use crate::identity::{NodeId, PublicIdentity, PublicKey};
use crate::mailbox::MailboxOp;
use crate::path_message::PathMessage;
use crate::relay_address::RelayAddress;
use crate::time::Instant;
use crate::transport::TransportAddr;
use alloc::vec::Vec;

impl Node {
    /// A frame from the network, from a datagram or a stream.
    pub(super) fn on_frame(&mut self, from: TransportAddr, data: &[u8]) {
        if data.first() == Some(&b'[') {
            // CJP2P shares the socket: its datagrams are JSON arrays, EJTP frames never are.
            self.on_cjp2p(from, data);
            return;
        }
        if data.len() > self.ctx.config.max_frame_len {
            self.ctx.stats.transport.dropped_too_large += 1;
            return;
        }
        self.transport.arriving_len = data.len();
        self.on_outer_frame(from, data, 0);
    }

    fn on_outer_frame(&mut self, from: TransportAddr, data: &[u8], depth: u8) {
        match frame::decode(data) {
            Ok(Frame::Sealed {
                recipient,
                header,
                body,
            }) => {
                let prefix_len = data.len().saturating_sub(body.len());
                let prefix = data.get(..prefix_len).unwrap_or_default();
                self.on_sealed(from, prefix, header, &recipient, body, depth);
            }
            Ok(Frame::Compressed { method, body }) => {
                if let Some(inner) = self
                    .transport
                    .decompress(&mut self.ctx, method, body, depth)
                {
                    self.on_outer_frame(from, &inner, depth.saturating_add(1));
                }
            }
            // A bare `j` or `s` frame says nothing about who sent it to whom.
            Ok(_) => self.ctx.stats.transport.dropped_unauthenticated += 1,
            Err(_) => self.ctx.stats.transport.dropped_malformed += 1,
        }
    }

    /// An `r` frame addressed to this node. `prefix` is `r || header || 0x00`.
    fn on_sealed(
        &mut self,
        from: TransportAddr,
        prefix: &[u8],
        header: &[u8],
        recipient: &Address,
        body: &[u8],
        depth: u8,
    ) {
        if crate::routing::wire::is_lookup_body(body) {
            // Lookups come in the clear: only an outer frame can carry one.
            if depth == 0 {
                self.on_lookup_body(from, prefix.len() + body.len(), body);
            } else {
                self.ctx.stats.transport.dropped_unauthenticated += 1;
            }
            return;
        }
        let Ok(parsed) = RBody::decode(body) else {
            self.ctx.stats.transport.dropped_malformed += 1;
            return;
        };
        if !self
            .transport
            .admit_key_work(&mut self.ctx, from, body, depth)
        {
            return;
        }
        let aad = associated_data(prefix, body, &parsed);
        match parsed {
            RBody::Sealed {
                hops,
                timestamp,
                enc,
                ciphertext,
            } => {
                let Some(plaintext) =
                    self.transport
                        .open_sealed(&mut self.ctx, &aad, enc, ciphertext, timestamp)
                else {
                    return;
                };
                let layer = Layer {
                    recipient_header: header,
                    recipient,
                    hops,
                    session_peer: None,
                    session_index: None,
                };
                self.on_opened(from, &plaintext, &layer, depth);
            }
            RBody::Session {
                hops,
                receiver_index,
                counter,
                ciphertext,
            } => {
                let frame = SessionFrame {
                    receiver_index,
                    counter,
                    aad: &aad,
                    ciphertext,
                    received_len: prefix.len() + body.len(),
                };
                let Some(opened) =
                    self.transport
                        .open_session_frame(&mut self.ctx, from, &frame, depth)
                else {
                    return;
                };
                let (peer, plaintext) = (opened.peer, opened.plaintext);
                let newly_confirmed = opened.newly_confirmed;
                if newly_confirmed {
                    self.send_held_for_session(&peer.node_id());
                    self.on_peer_proved(&peer);
                }
                let layer = Layer {
                    recipient_header: header,
                    recipient,
                    hops,
                    session_peer: Some(peer),
                    session_index: Some(receiver_index),
                };
                if depth == 0 {
                    self.on_session_frame_from(receiver_index, from, &plaintext);
                    if newly_confirmed {
                        self.transport
                            .on_direct_session(&mut self.ctx, &peer.node_id());
                    }
                }
                self.on_opened(from, &plaintext, &layer, depth);
            }
            RBody::HandshakeInit {
                sender_index,
                message,
            } => self.on_handshake_init(from, sender_index, message),
            RBody::SessionReset {
                receiver_index,
                timestamp,
                key,
                signature,
            } => {
                let notice = super::reset::ResetNotice {
                    header,
                    receiver_index,
                    timestamp,
                    key,
                    signature,
                };
                self.transport.sessions.on_reset(&mut self.ctx, &notice);
            }
            RBody::HandshakeResponse {
                sender_index,
                receiver_index,
                message,
            } => {
                self.on_handshake_response(from, sender_index, receiver_index, message);
            }
            // Both only straight from the address they concern.
            RBody::CookieChallenge { echoed, cookie } if depth == 0 => {
                self.on_cookie_challenge(from, echoed, cookie);
            }
            RBody::CookieEcho { cookie, frame } if depth == 0 => {
                self.on_cookie_echo(from, cookie, frame);
            }
            RBody::CookieChallenge { .. } | RBody::CookieEcho { .. } => {
                self.ctx.stats.transport.dropped_unauthenticated += 1;
            }
            RBody::MailboxRequest {
                op,
                timestamp,
                key,
                signature,
                address,
            } => self.on_mailbox_request(
                &MailboxRequest {
                    header,
                    recipient,
                    op,
                    timestamp,
                    key,
                    signature,
                    address,
                },
                from,
            ),
        }
    }

    fn on_handshake_init(&mut self, from: TransportAddr, sender_index: u32, message: &[u8]) {
        let Some(accepted) = self
            .transport
            .accept_handshake_init(&mut self.ctx, from, message)
        else {
            return;
        };
        self.heard_directly(accepted.peer(), from);
        self.transport
            .answer_handshake_init(&mut self.ctx, from, sender_index, message, accepted);
    }

    fn on_handshake_response(
        &mut self,
        from: TransportAddr,
        sender_index: u32,
        receiver_index: u32,
        message: &[u8],
    ) {
        let Some(peer) = self.transport.finish_handshake(
            &mut self.ctx,
            from,
            sender_index,
            receiver_index,
            message,
        ) else {
            return;
        };
        self.send_held_for_session(&peer.node_id());
        self.on_peer_proved(&peer);
    }

    /// The plaintext of an `r` frame addressed to us: a signed message, another `r` frame to
    /// open or send on, or a compressed frame.
    fn on_opened(&mut self, from: TransportAddr, inner: &[u8], layer: &Layer<'_>, depth: u8) {
        // What the peer says about the path: only straight from it in its session.
        if crate::path_message::is_path_message(inner) {
            match (layer.session_index, layer.session_peer) {
                (Some(index), Some(peer)) if depth == 0 => {
                    self.on_path_message(index, peer, from, inner);
                }
                _ => self.ctx.stats.transport.dropped_unauthenticated += 1,
            }
            return;
        }
        // A piece of a larger plaintext: only straight from the peer in its session.
        if crate::fragment::is_fragment(inner) {
            match (layer.session_index, layer.session_peer) {
                (Some(index), Some(peer)) if depth == 0 => {
                    if let Some(whole) =
                        self.transport
                            .on_fragment(&mut self.ctx, index, peer, from, inner)
                    {
                        self.on_opened(from, &whole, layer, depth);
                    }
                }
                _ => self.ctx.stats.transport.fragments_dropped += 1,
            }
            return;
        }
        // Content between our nodes: binary, and only straight from the peer in its session.
        if crate::content::is_session_content(inner) {
            match layer.session_peer {
                Some(peer) if depth == 0 => self.on_session_content(from, &peer, inner),
                _ => self.ctx.stats.fetch.session_content_dropped += 1,
            }
            return;
        }
        match frame::decode(inner) {
            Ok(Frame::Signed {
                sender,
                header,
                signature,
                inner: payload,
            }) => {
                self.on_signed(from, &sender, header, signature, payload, layer);
            }
            Ok(Frame::Sealed {
                recipient,
                header,
                body,
            }) => {
                if depth.saturating_add(1) >= self.ctx.config.max_nesting {
                    self.ctx.stats.transport.dropped_hop_limit += 1;
                } else if self.transport.is_local(&self.ctx, &recipient) {
                    let prefix_len = inner.len().saturating_sub(body.len());
                    let prefix = inner.get(..prefix_len).unwrap_or_default();
                    self.on_sealed(
                        from,
                        prefix,
                        header,
                        &recipient,
                        body,
                        depth.saturating_add(1),
                    );
                } else {
                    self.relay(&recipient, inner, layer.hops);
                }
            }
            Ok(Frame::Compressed { method, body }) => {
                if let Some(decompressed) =
                    self.transport
                        .decompress(&mut self.ctx, method, body, depth)
                {
                    self.on_opened(from, &decompressed, layer, depth.saturating_add(1));
                }
            }
            Ok(Frame::Json { .. }) => self.ctx.stats.transport.dropped_unauthenticated += 1,
            Err(_) => self.ctx.stats.transport.dropped_malformed += 1,
        }
    }

    /// Sends on an `r` frame for `recipient` that is not for us: held if the recipient's
    /// mailbox holds, else forwarded by the transport (to where the routing table says a NAT'd
    /// session peer is reached).
    fn relay(&mut self, recipient: &Address, frame: &[u8], hops: u8) {
        if self.hold_if_away(recipient, frame) {
            return;
        }
        let destination = recipient
            .transport()
            .map(|transport| self.relay_destination(transport));
        self.transport
            .forward(&mut self.ctx, destination, frame, hops);
    }

    /// A signed frame `S(sender)[payload]` that opened in `layer`, from `from`: the transport
    /// checks its sender proof, the relay hears the sender is back, the routing table learns
    /// the sender's address, and the message goes to the application or answers a query.
    fn on_signed(
        &mut self,
        from: TransportAddr,
        sender: &Address,
        sender_header: &[u8],
        proof: &[u8],
        payload: &[u8],
        layer: &Layer<'_>,
    ) {
        let signed = SignedFrame {
            recipient_header: layer.recipient_header,
            sender_header,
            proof,
            payload,
            session_peer: layer.session_peer,
        };
        let Some(proved) = self.transport.check_sender(&mut self.ctx, &signed) else {
            return;
        };
        // Whoever holds frames for us is told we are back by any frame we authenticate.
        self.on_authenticated(&proved.key, from);
        let Some(value) = json_payload(&mut self.ctx, payload) else {
            return;
        };
        // The sender signed this address as its own (or its session vouches for it).
        // What a claim to the sender address is worth: the frame as it arrived.
        self.learn_from_inbound(proved.key, sender, from, self.transport.arriving_len);
        let reference = proved.reference;
        let Some(message) = self.transport.addressed_message(
            &mut self.ctx,
            from,
            layer.recipient,
            sender,
            proved,
            value,
        ) else {
            return;
        };
        self.queries.deliver(&mut self.ctx, message, reference);
    }

    // ----- CJP2P datagrams -----

    /// A datagram starting with `[`: the CJP2P side answers it, and what it hands on goes to
    /// the downloads or the application, message by message, before the next is read.
    fn on_cjp2p(&mut self, from: TransportAddr, data: &[u8]) {
        let Some(mut answering) = self.cjp2p.open_datagram(&mut self.ctx, from, data) else {
            return;
        };
        let mut hand_on = Vec::new();
        while let Some(message) = answering.next_message() {
            let store = self
                .downloads
                .storage_mut()
                .map(|storage| storage as &mut (dyn ContentStore + 'static));
            self.cjp2p
                .on_message(&mut self.ctx, store, &mut answering, message, &mut hand_on);
            for item in hand_on.drain(..) {
                match item {
                    HandOn::Message {
                        from,
                        verified,
                        message,
                    } => {
                        // Answers to one of our downloads go to it, not to the application.
                        if let Some(message) = self.feed_download(from, verified, message) {
                            self.ctx.push_event(Event::Cjp2p {
                                from,
                                verified,
                                message,
                            });
                        }
                    }
                    HandOn::EjtpSessions {
                        source,
                        max_request,
                    } => self.on_ejtp_sessions(source, max_request),
                }
            }
        }
        self.cjp2p.answer(&mut self.ctx, answering);
    }

    /// A cookie echo arrived from `from`: if the cookie is ours for that address, the address
    /// proved it receives, and the frame it carries is handled as if it had come alone.
    fn on_cookie_echo(&mut self, from: TransportAddr, cookie: &[u8; 16], inner: &[u8]) {
        if self.transport.key_work.in_echo
            || !self
                .transport
                .key_work
                .take_echo(self.ctx.now, from, cookie)
        {
            return;
        }
        self.transport.paths.validate(from, self.ctx.now);
        self.transport.key_work.in_echo = true;
        self.on_frame(from, inner);
        self.transport.key_work.in_echo = false;
    }

    // ----- relayed sends, introductions and our record -----

    /// Sends message `id` to `to`, whose location is `relay`: on the direct path if one is
    /// open, else in one sealed layer for the relay (asking it to introduce us, so that the
    /// next message may go directly).
    pub(super) fn transmit_relayed(
        &mut self,
        message: &Outgoing<'_>,
        relay: RelayAddress,
    ) -> Result<(TransportAddr, [u8; TAG_LEN]), SendError> {
        match self
            .transport
            .relayed_route(&mut self.ctx, message.from, message.to, relay)
        {
            RelayedRoute::Direct(to) => self.transmit(
                &Outgoing {
                    to: &to,
                    ..*message
                },
                None,
            ),
            RelayedRoute::Through {
                target,
                hop,
                sender,
            } => {
                let via = [hop];
                let through = Outgoing {
                    to: &target,
                    via: &via,
                    ..*message
                };
                self.transmit(&through, sender)
            }
        }
    }

    /// Coordinator side: `requester` (heard at `requester_at` on its session) asks to be
    /// introduced to `target`. Both get a [`PathMessage::Punch`] at once if the transport
    /// admits the introduction.
    pub(super) fn on_punch_request(
        &mut self,
        requester: PublicKey,
        requester_at: TransportAddr,
        target: NodeId,
    ) {
        let Some((target_key, target_at)) = self
            .transport
            .admit_introduction(&self.ctx, &requester, target)
        else {
            return;
        };
        let to_requester = PathMessage::Punch {
            peer: *target_key.as_bytes(),
            candidates: self.routing.punch_candidates(&target, target_at),
        };
        let to_target = PathMessage::Punch {
            peer: *requester.as_bytes(),
            candidates: self
                .routing
                .punch_candidates(&requester.node_id(), requester_at),
        };
        self.transport
            .send_path_message(&mut self.ctx, &target_key, target_at, &to_target);
        self.transport
            .send_path_message(&mut self.ctx, &requester, requester_at, &to_requester);
    }

    /// A coordinator says `peer` is trying to reach us at once: if the transport accepts
    /// the introduction, start probing its candidates with our handshake.
    pub(super) fn on_punch(
        &mut self,
        coordinator: &PublicKey,
        peer: [u8; 32],
        candidates: &[core::net::SocketAddr],
    ) {
        if let Some((identity, first)) =
            self.transport
                .accept_punch(&mut self.ctx, coordinator, peer, candidates)
        {
            self.start_handshake(&identity, first);
            self.transport.send_punch_probes(&mut self.ctx);
        }
    }

    /// Sends our signed address record to the default route when it changed or is half way
    /// to expiring (see `routing/publishing.rs`).
    pub(super) fn publish_record_if_due(&mut self) {
        let Some((route, at)) = self.transport.default_route_at(&self.ctx) else {
            return;
        };
        let record = self.own_record();
        if let Some(record) = self.routing.record_to_publish(&mut self.ctx, record) {
            self.transport.send_path_message(
                &mut self.ctx,
                &route,
                at,
                &PathMessage::Publish { record },
            );
        }
    }

    /// A peer in session published its record to us (from `from`): hold it, to answer
    /// lookups for it, and say so.
    pub(super) fn on_publish(&mut self, peer: &PublicKey, from: TransportAddr, bytes: &[u8]) {
        let sessions = &self.transport.sessions;
        let has_session = |peer: &NodeId| sessions.by_peer.contains_key(peer);
        if let Some(ack) = self
            .routing
            .on_publish(&mut self.ctx, peer, bytes, &has_session)
        {
            self.transport
                .send_path_message(&mut self.ctx, peer, from, &ack);
        }
    }

    /// A frame for `recipient` opened for relaying: if it names an address a peer in session
    /// with us signed but is not heard at (a private address behind its NAT), where that peer
    /// is heard instead.
    pub(super) fn relay_destination(&self, recipient: TransportAddr) -> TransportAddr {
        for (peer, index) in &self.transport.sessions.by_peer {
            let Some(entry) = self.transport.sessions.sessions.get(index) else {
                continue;
            };
            if entry.last_from == recipient {
                return recipient;
            }
            if self.routing.routes.is_signed(peer, recipient) {
                return self.path_for(&entry.peer, recipient);
            }
        }
        recipient
    }

    // ----- path messages -----

    /// A frame opened on session `index`, straight from `from`: the transport follows the
    /// address, and the routing table hears of it when due.
    pub(super) fn on_session_frame_from(
        &mut self,
        index: u32,
        from: TransportAddr,
        plaintext: &[u8],
    ) {
        if let Some(peer) =
            self.transport
                .on_session_frame_from(&mut self.ctx, index, from, plaintext)
        {
            self.heard_directly(peer, from);
        }
    }

    /// A path message that opened on session `index` with `peer`, straight from `from`: the
    /// transport handles what is its own, and the rest goes where it belongs.
    pub(super) fn on_path_message(
        &mut self,
        index: u32,
        peer: PublicKey,
        from: TransportAddr,
        plaintext: &[u8],
    ) {
        let Ok(message) = PathMessage::decode(plaintext) else {
            self.ctx.stats.transport.dropped_malformed += 1;
            return;
        };
        match self
            .transport
            .on_path_message(&mut self.ctx, index, &peer, from, message)
        {
            PathHandOn::Done => {}
            PathHandOn::SeenByRoute => self.publish_record_if_due(),
            PathHandOn::Proved => self.on_peer_proved(&peer),
            PathHandOn::Message(PathMessage::PunchRequest { target }) => {
                self.on_punch_request(peer, from, NodeId::from_bytes(target));
            }
            PathHandOn::Message(PathMessage::Punch {
                peer: other,
                candidates,
            }) => self.on_punch(&peer, other, &candidates),
            PathHandOn::Message(PathMessage::Publish { record }) => {
                self.on_publish(&peer, from, &record);
            }
            PathHandOn::Message(PathMessage::PublishAck { seq }) => {
                let from_route = self.transport.is_default_route(&peer);
                self.routing.on_publish_ack(from_route, seq);
            }
            PathHandOn::Message(_) => {}
        }
    }

    /// Sends the keepalives due now (after our record, if it is due too), and moves on the
    /// probes whose time is up.
    pub(super) fn send_keepalives(&mut self) {
        let Some(due) = self.transport.keepalives_due(&mut self.ctx) else {
            return;
        };
        self.publish_record_if_due();
        for index in due {
            let Some((peer, last_from)) = self.transport.keepalive_sent(&self.ctx, index) else {
                continue;
            };
            let to = self.path_for(&peer, last_from);
            self.transport
                .send_path_message(&mut self.ctx, &peer, to, &PathMessage::Keepalive);
            self.ctx.stats.transport.keepalives_sent += 1;
        }
    }

    // ----- mailboxes -----

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
