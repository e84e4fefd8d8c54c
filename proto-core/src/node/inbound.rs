//! What a node does with received frames: open, verify, deliver, relay.
//!
//! Every failure here is counted in [`Stats`](super::Stats) and dropped: nothing from the
//! network can make the node return an error or panic.

use alloc::vec::Vec;

use super::Node;
use super::cjp2p::HandOn;
use super::relay::MailboxRequest;
use crate::address::Address;
use crate::content::ContentStore;
use crate::crypto::body::{self, RBody};
use crate::crypto::proof::SenderProof;
use crate::crypto::sealed;
use crate::event::{Event, Message, MessageId, Protection, Sender};
use crate::frame::{self, Frame};
use crate::identity::PublicKey;
use crate::transport::TransportAddr;

/// Where an opened frame came from, for the checks on what it holds.
struct Layer<'a> {
    /// The strict JSON header of the `r` frame that held it: what signatures must name.
    recipient_header: &'a [u8],
    recipient: &'a Address,
    hops: u8,
    /// The peer whose session authenticated the layer, if it came on a session.
    session_peer: Option<PublicKey>,
    /// Our index of that session.
    session_index: Option<u32>,
}

impl Node {
    /// A frame from the network, from a datagram or a stream.
    pub(super) fn on_frame(&mut self, from: TransportAddr, data: &[u8]) {
        if data.first() == Some(&b'[') {
            // CJP2P shares the socket: its datagrams are JSON arrays, EJTP frames never are.
            self.on_cjp2p(from, data);
            return;
        }
        if data.len() > self.ctx.config.max_frame_len {
            self.ctx.stats.dropped_too_large += 1;
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
            Ok(_) => self.ctx.stats.dropped_unauthenticated += 1,
            Err(_) => self.ctx.stats.dropped_malformed += 1,
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
                self.ctx.stats.dropped_unauthenticated += 1;
            }
            return;
        }
        let Ok(parsed) = RBody::decode(body) else {
            self.ctx.stats.dropped_malformed += 1;
            return;
        };
        // Under load, key work is done only for addresses that proved they receive
        // (`node/key_work.rs`); only an outer frame is judged: its layers are its own cost.
        let needs_key_work = body.first().copied().is_some_and(body::kind_needs_key_work);
        if depth == 0 && needs_key_work {
            let validated = self.transport.paths.is_validated(&from);
            if let Err(challenge) =
                self.transport
                    .key_work
                    .admit(self.ctx.now, from, body, validated)
            {
                self.transport
                    .queue_to_observed(&mut self.ctx, from, challenge);
                return;
            }
        }
        // The associated data is everything before the ciphertext (or before `enc`).
        let aad_len = prefix.len() + body.len() - parsed.ciphertext_len();
        let mut aad = Vec::with_capacity(aad_len);
        aad.extend_from_slice(prefix);
        aad.extend_from_slice(
            body.get(..aad_len.saturating_sub(prefix.len()))
                .unwrap_or_default(),
        );
        match parsed {
            RBody::Sealed {
                hops,
                timestamp,
                enc,
                ciphertext,
            } => {
                let aad = aad
                    .get(..aad.len().saturating_sub(enc.len()))
                    .unwrap_or_default();
                let Ok(plaintext) = sealed::open(&self.ctx.identity, enc, aad, ciphertext) else {
                    self.ctx.stats.dropped_crypto += 1;
                    return;
                };
                let mut key = [0u8; 16];
                key.copy_from_slice(enc.get(..16).unwrap_or(&[0; 16]));
                if !self.transport.check_fresh(
                    &mut self.ctx,
                    SealedOrSigned::Sealed,
                    key,
                    timestamp,
                ) {
                    return;
                }
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
                let now = self.ctx.now;
                let Some(entry) = self.transport.sessions.sessions.get_mut(&receiver_index) else {
                    self.ctx.stats.dropped_unknown_session += 1;
                    if depth == 0 {
                        let received = prefix.len() + body.len();
                        if let Some(reset) =
                            self.transport
                                .resets
                                .answer(&self.ctx, from, receiver_index, received)
                        {
                            self.transport.queue_transmit(&mut self.ctx, from, reset);
                        }
                    }
                    return;
                };
                let plaintext = match entry.session.open(now, counter, &aad, ciphertext) {
                    Ok(plaintext) => plaintext,
                    Err(crate::crypto::CryptoError::Replay) => {
                        self.ctx.stats.dropped_replay += 1;
                        return;
                    }
                    Err(_) => {
                        self.ctx.stats.dropped_crypto += 1;
                        return;
                    }
                };
                entry.last_used = now;
                let peer = entry.peer;
                if entry.handshake_path == from {
                    self.transport.paths.validate(from, now);
                }
                let newly_confirmed = self.transport.sessions.confirm(receiver_index);
                if newly_confirmed {
                    self.ctx.push_event(Event::SessionEstablished {
                        peer: peer.node_id(),
                    });
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
                self.ctx.stats.dropped_unauthenticated += 1;
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
                _ => self.ctx.stats.dropped_unauthenticated += 1,
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
                _ => self.ctx.stats.fragments_dropped += 1,
            }
            return;
        }
        // Content between our nodes: binary, and only straight from the peer in its session.
        if crate::content::is_session_content(inner) {
            match layer.session_peer {
                Some(peer) if depth == 0 => self.on_session_content(from, &peer, inner),
                _ => self.ctx.stats.session_content_dropped += 1,
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
                    self.ctx.stats.dropped_hop_limit += 1;
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
            Ok(Frame::Json { .. }) => self.ctx.stats.dropped_unauthenticated += 1,
            Err(_) => self.ctx.stats.dropped_malformed += 1,
        }
    }

    /// Sends an opened inner `r` frame on towards its recipient: directly if we can reach its
    /// address, else wrapped for the default route (one hop more, within `max_hops`).
    fn relay(&mut self, recipient: &Address, frame: &[u8], hops: u8) {
        if self.hold_if_away(recipient, frame) {
            return;
        }
        if let Some(transport) = recipient.transport() {
            let transport = self.relay_destination(transport);
            if !self.transport.throttling.take(transport, self.ctx.now) {
                self.ctx.stats.dropped_throttled += 1;
            } else if self
                .transport
                .queue_transmit(&mut self.ctx, transport, frame.to_vec())
            {
                self.ctx.stats.forwarded += 1;
            }
            return;
        }
        if hops >= self.ctx.config.max_hops {
            self.ctx.stats.dropped_hop_limit += 1;
            return;
        }
        match self
            .transport
            .wrap_for_default_route(&mut self.ctx, hops, frame)
        {
            Some(Ok((transport, wrapped))) => {
                if !self.transport.throttling.take(transport, self.ctx.now) {
                    self.ctx.stats.dropped_throttled += 1;
                } else if self
                    .transport
                    .queue_transmit(&mut self.ctx, transport, wrapped)
                {
                    self.ctx.stats.forwarded += 1;
                }
            }
            Some(Err(_)) | None => self.ctx.stats.dropped_no_route += 1,
        }
    }

    /// `S(sender)[J]` inside a layer addressed to us: authenticate, refuse replays, deliver.
    fn on_signed(
        &mut self,
        from: TransportAddr,
        sender: &Address,
        sender_header: &[u8],
        proof: &[u8],
        payload: &[u8],
        layer: &Layer<'_>,
    ) {
        let Ok(proof) = SenderProof::from_bytes(proof) else {
            self.ctx.stats.dropped_malformed += 1;
            return;
        };
        let reference = match proof {
            SenderProof::SignedReply { reference, .. }
            | SenderProof::SessionReply { reference, .. } => Some(reference),
            SenderProof::Signed(_) | SenderProof::Session { .. } => None,
        };
        let (key, id, sent_at, protection) = match proof {
            SenderProof::Signed(blob) | SenderProof::SignedReply { blob, .. } => {
                let verified = match reference {
                    None => blob.verify(layer.recipient_header, sender_header, payload),
                    Some(reference) => blob.verify_reply(
                        layer.recipient_header,
                        sender_header,
                        payload,
                        &reference,
                    ),
                };
                if verified.is_err() {
                    self.ctx.stats.dropped_crypto += 1;
                    return;
                }
                if !self.transport.check_fresh(
                    &mut self.ctx,
                    SealedOrSigned::Signed,
                    blob.nonce,
                    blob.timestamp,
                ) {
                    return;
                }
                let protection = if layer.session_peer.is_some() {
                    Protection::Session
                } else {
                    Protection::Sealed
                };
                (
                    blob.key,
                    MessageId(blob.nonce),
                    Some(blob.timestamp),
                    protection,
                )
            }
            SenderProof::Session { nonce } | SenderProof::SessionReply { nonce, .. } => {
                match layer.session_peer {
                    // The session's counter window already refused replays of this frame.
                    Some(peer) => (peer, MessageId(nonce), None, Protection::Session),
                    None => {
                        self.ctx.stats.dropped_unauthenticated += 1;
                        return;
                    }
                }
            }
        };
        // Whoever holds frames for us is told we are back by any frame we authenticate.
        self.on_authenticated(&key, from);
        let value = match frame::decode(payload) {
            Ok(frame @ Frame::Json { .. }) => match frame.json_value() {
                Some(Ok(value)) => value,
                _ => {
                    self.ctx.stats.dropped_malformed += 1;
                    return;
                }
            },
            _ => {
                self.ctx.stats.dropped_malformed += 1;
                return;
            }
        };
        // The sender signed this address as its own (or its session vouches for it).
        // What a claim to the sender address is worth: the frame as it arrived.
        self.learn_from_inbound(key, sender, from, self.transport.arriving_len);
        let Some(callsign) = layer
            .recipient
            .callsign()
            .filter(|callsign| self.transport.clients.contains(*callsign))
        else {
            self.ctx.stats.dropped_unknown_client += 1;
            let callsign = layer
                .recipient
                .callsign()
                .map(|named| truncated(named, Event::MAX_UNKNOWN_CALLSIGN).into());
            self.ctx.push_event(Event::UnknownClient {
                from: key.node_id(),
                callsign,
                message: id,
            });
            return;
        };
        let relayed_by = match layer.session_peer {
            Some(_) => None,
            None => self.transport.relayed_by(from, &key),
        };
        let message = Message {
            to: callsign.into(),
            from: Sender {
                key,
                node_id: key.node_id(),
                address: sender.clone(),
            },
            id,
            value,
            sent_at,
            protection,
            relayed_by,
        };
        self.queries.deliver(&mut self.ctx, message, reference);
    }
}

#[derive(Clone, Copy)]
pub(in crate::node) enum SealedOrSigned {
    Sealed,
    Signed,
}

/// The longest prefix of `text` of at most `max` bytes that ends on a character boundary.
fn truncated(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or_default()
}

impl Node {
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
}
