//! What a node does with received frames: open, verify, deliver, relay.
//!
//! Every failure here is counted in [`Stats`](super::Stats) and dropped: nothing from the
//! network can make the node return an error or panic.

use alloc::vec::Vec;

use super::Node;
use super::cjp2p::HandOn;
use super::relay::MailboxRequest;
use super::transport::{Layer, SessionFrame, associated_data};
use super::transport::{SignedFrame, json_payload};
use crate::address::Address;
use crate::content::ContentStore;
use crate::crypto::body::RBody;
use crate::event::Event;
use crate::frame::{self, Frame};
use crate::transport::TransportAddr;

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
