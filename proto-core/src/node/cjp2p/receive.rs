//! Answering a CJP2P datagram: verification, each message, and the one reply.

use alloc::string::String;
use alloc::vec::Vec;
use core::net::SocketAddr;

use super::Node;
use crate::cjp2p::amplification::limit_unverified_reply;
use crate::cjp2p::encode::{datagram_len, encode_datagram};
use crate::cjp2p::peers::HINT_PEERS_PER_ID;
use crate::cjp2p::schema::supported_messages_schema;
use crate::cjp2p::serve::{Served, list_content, serve_content};
use crate::cjp2p::{Cjp2pMessage, Cookie, parse_datagram};
use crate::event::Event;
use crate::transport::{Protocol, TransportAddr};

/// Inner arrays of `SignedMessage` are opened one level deep only: a signed message inside a
/// signed message is not opened (it would only cost verification time).
const MAX_SIGNED_DEPTH: u8 = 1;

/// Signatures checked per datagram: each costs an ed25519 verification, and the public node
/// sends at most two in one datagram. More are skipped, so that a datagram cannot buy 128
/// verifications.
const MAX_SIGNATURES_PER_DATAGRAM: u8 = 2;

/// What one datagram produced so far.
struct Answering {
    source: TransportAddr,
    verified: bool,
    answers: Vec<Cjp2pMessage>,
    /// Content bytes answered so far: past one datagram's worth, requests are not read.
    content_bytes: usize,
    /// Signatures checked so far (see [`MAX_SIGNATURES_PER_DATAGRAM`]).
    signatures: u8,
    /// Whether `answers` already holds our key announcement: one datagram says who we are
    /// once, however many of its requests (and the greeting) call for it.
    announced: bool,
}

impl Answering {
    /// Adds our key announcement unless the reply already carries it.
    fn announce(&mut self, announcement: impl FnOnce() -> Vec<Cjp2pMessage>) {
        if !self.announced {
            self.announced = true;
            self.answers.extend(announcement());
        }
    }
}

impl Node {
    // ----- receiving -----

    /// A datagram starting with `[`.
    pub(in crate::node) fn on_cjp2p(&mut self, from: TransportAddr, data: &[u8]) {
        if !self.ctx.config.cjp2p.enabled || from.protocol != Protocol::Udp {
            self.ctx.stats.dropped_unsupported += 1;
            return;
        }
        let Ok(parsed) = parse_datagram(data, self.ctx.config.cjp2p.max_elements) else {
            self.ctx.stats.cjp2p_dropped += 1;
            return;
        };
        self.ctx.stats.cjp2p_datagrams += 1;
        self.ctx.stats.cjp2p_skipped += parsed.skipped as u64;
        let source = from.addr;
        let ours = self.cjp2p.secret.cookie_for(source.ip());
        let returned = parsed.messages.iter().find_map(|message| match message {
            Cjp2pMessage::AlwaysReturned { cookie } => Some(cookie),
            _ => None,
        });
        let verified = returned.and_then(Cookie::as_text) == Some(ours.as_str());
        let offered = parsed
            .messages
            .iter()
            .find_map(|message| match message {
                Cjp2pMessage::PleaseAlwaysReturnThisMessage { cookie } => Some(cookie.clone()),
                _ => None,
            })
            .filter(|cookie| self.cookie_fits(cookie));
        let greet = self.note_sender(source, verified, offered.as_ref());
        let mut answering = Answering {
            source: from,
            verified,
            answers: Vec::new(),
            content_bytes: 0,
            signatures: 0,
            announced: false,
        };
        for message in parsed.messages {
            self.on_cjp2p_message(&mut answering, message, 0);
        }
        if greet {
            answering.announce(|| self.key_announcement(source));
            let questions = self.greeting_questions();
            answering.answers.extend(questions);
        }
        self.send_cjp2p_reply(answering, data.len(), offered);
    }

    /// Updates the peer table for a datagram from `source`; true when the peer is to be greeted:
    /// on its first verified datagram, and again on the first after which we hold its cookie, so
    /// that it can verify the greeting (who we are is only learned from verified datagrams).
    fn note_sender(
        &mut self,
        source: SocketAddr,
        verified: bool,
        offered: Option<&Cookie>,
    ) -> bool {
        if !verified {
            self.ctx.stats.cjp2p_unverified += 1;
            if let Some(entry) = self.cjp2p.peers.entries.get_mut(&source) {
                entry.info.verified_us = false;
            }
            return false;
        }
        if self.is_own_cjp2p(source) {
            return false;
        }
        let (now, max) = (self.ctx.now, self.ctx.config.cjp2p.max_peers);
        let Some(entry) = self.cjp2p.peers.entry(source, now, max, true) else {
            return false;
        };
        entry.info.heard = Some(now);
        entry.info.verified_us = true;
        entry.unanswered = 0;
        // Its address answers: the probe in flight needs no retry.
        entry.retry_at = None;
        // A peer's cookie is stored only from a verified datagram: an unverified one may be
        // forged to plant a cookie that would make our datagrams useless to the real peer.
        if let Some(cookie) = offered {
            if entry.cookie.as_ref() != Some(cookie) {
                // A new cookie of the peer's: our next datagram echoes it and so is the first
                // it can store our cookie from. It may have returned ours only in kind,
                // without storing it; offering ours once more costs a few bytes, while a peer
                // that never stores it would answer every request unverified, and we would
                // drop the answers until a retry timer fired.
                entry.info.verified_us = false;
            }
            entry.cookie = Some(cookie.clone());
        }
        // Greet on first verified contact, and once more as soon as the greeting can be verified.
        let verifiable = entry.cookie.is_some();
        let greet = !entry.greeted || (verifiable && !entry.greeted_verifiably);
        entry.greeted = true;
        entry.greeted_verifiably |= verifiable;
        self.schedule_round();
        greet
    }

    fn on_cjp2p_message(&mut self, answering: &mut Answering, message: Cjp2pMessage, depth: u8) {
        self.ctx.stats.cjp2p_messages += 1;
        let source = answering.source.addr;
        let verified = answering.verified;
        match message {
            Cjp2pMessage::PleaseSendPeers => {
                let limit = self.ctx.config.cjp2p.max_peers_per_reply;
                let peers = self.cjp2p.peers.heard_peers(source, limit);
                answering.answers.push(Cjp2pMessage::Peers { peers });
                if verified {
                    answering.announce(|| self.key_announcement(source));
                }
            }
            Cjp2pMessage::PleaseReturnThisMessage { cookie } => {
                if self.cjp2p.secret.rtt_sent_at(&cookie).is_some() {
                    // Our own probe came back to us as a request: `source` is our address.
                    self.note_own_address(source);
                } else {
                    answering
                        .answers
                        .push(Cjp2pMessage::ReturnedMessage { cookie });
                }
            }
            Cjp2pMessage::ReturnedMessage { cookie } => {
                if let Some(rtt) = self.cjp2p.secret.rtt(&cookie, self.ctx.now) {
                    if let Some(entry) = self.cjp2p.peers.entries.get_mut(&source) {
                        entry.info.rtt = Some(rtt);
                    }
                }
            }
            Cjp2pMessage::PleaseAlwaysReturnThisMessage { .. }
            | Cjp2pMessage::AlwaysReturned { .. } => {}
            Cjp2pMessage::PleaseSendContent { id, offset, length } => {
                self.answer_content_request(answering, id, offset, length);
            }
            Cjp2pMessage::PleaseListContent => {
                let max = self.ctx.config.cjp2p.max_content_list;
                let store = self.serving_store();
                answering.answers.push(list_content(store, max));
            }
            Cjp2pMessage::PleaseListSupportedMessages => {
                answering.answers.push(Cjp2pMessage::SupportedMessages {
                    schema: supported_messages_schema(),
                });
            }
            Cjp2pMessage::SignedMessage {
                key,
                signature,
                payload_json,
            } => {
                if depth >= MAX_SIGNED_DEPTH || answering.signatures >= MAX_SIGNATURES_PER_DATAGRAM
                {
                    self.ctx.stats.cjp2p_skipped += 1;
                    return;
                }
                answering.signatures += 1;
                if key.verify(payload_json.as_bytes(), &signature).is_err() {
                    self.ctx.stats.cjp2p_bad_signatures += 1;
                    return;
                }
                if verified {
                    if let Some(entry) = self.cjp2p.peers.entries.get_mut(&source) {
                        entry.info.key = Some(key);
                        entry.info.key_signed = true;
                    }
                }
                match parse_datagram(payload_json.as_bytes(), self.ctx.config.cjp2p.max_elements) {
                    Ok(inner) => {
                        self.ctx.stats.cjp2p_skipped += inner.skipped as u64;
                        for message in inner.messages {
                            self.on_cjp2p_message(answering, message, depth + 1);
                        }
                    }
                    Err(_) => self.ctx.stats.cjp2p_dropped += 1,
                }
            }
            other => {
                if verified {
                    self.learn(source, &other);
                }
                // Answers to one of our downloads go to it, not to the application.
                let Some(other) = self.feed_download(answering.source, verified, other) else {
                    return;
                };
                self.ctx.push_event(Event::Cjp2p {
                    from: answering.source,
                    verified,
                    message: other,
                });
            }
        }
    }

    /// Whether `addr` is one of this node's own CJP2P addresses: a `MaybeTheyHaveSome` fed to
    /// a download names whoever the sender served, the asker among them.
    pub(in crate::node) fn is_own_address(&self, addr: SocketAddr) -> bool {
        self.is_own_cjp2p(addr)
    }

    /// What a verified datagram teaches: candidates, keys, who holds which content.
    fn learn(&mut self, source: SocketAddr, message: &Cjp2pMessage) {
        let now = self.ctx.now;
        let max_hints = self.ctx.config.cjp2p.max_content_hints;
        match message {
            Cjp2pMessage::Peers { peers } => {
                let limit = self.ctx.config.cjp2p.max_peers_per_reply;
                for peer in peers.iter().take(limit) {
                    self.add_candidate(*peer);
                }
            }
            Cjp2pMessage::MyPublicKey { key } => {
                if let Some(entry) = self.cjp2p.peers.entries.get_mut(&source) {
                    if !entry.info.key_signed {
                        entry.info.key = Some(*key);
                    }
                }
            }
            Cjp2pMessage::Content { id, .. } => self.cjp2p.hints.add(id, source, now, max_hints),
            Cjp2pMessage::MaybeTheyHaveSome { id, peers } => {
                for peer in peers.iter().take(HINT_PEERS_PER_ID) {
                    if !self.is_own_cjp2p(*peer) {
                        self.cjp2p.hints.add(id, *peer, now, max_hints);
                    }
                }
            }
            Cjp2pMessage::ContentList { results } => {
                for (id, _) in results.iter().take(max_hints) {
                    self.cjp2p.hints.add(id, source, now, max_hints);
                }
            }
            Cjp2pMessage::EjtpSessions { max_request } => {
                self.on_ejtp_sessions(source, *max_request);
            }
            _ => {}
        }
    }

    fn answer_content_request(
        &mut self,
        answering: &mut Answering,
        id: String,
        offset: u64,
        length: u64,
    ) {
        let source = answering.source.addr;
        if answering.content_bytes >= self.ctx.config.max_frame_len {
            // The reply is already a full datagram: do not read what could not be sent.
            self.ctx.stats.cjp2p_answers_dropped += 1;
            return;
        }
        // An unverified source gets at most 32 bytes: read no more than that.
        let max = if answering.verified {
            self.ctx.config.cjp2p.max_content_reply
        } else {
            crate::cjp2p::amplification::UNVERIFIED_CONTENT_BYTES
        };
        let store = self.serving_store_mut();
        match serve_content(store, &id, offset, length, max) {
            Served::Content(content) => {
                if let Cjp2pMessage::Content { data, .. } = &content {
                    answering.content_bytes += data.len();
                }
                self.ctx.stats.cjp2p_content_served += 1;
                answering.answers.push(content);
            }
            Served::Missing => {
                let mut peers = self.cjp2p.hints.peers_for(&id, source);
                let limit = HINT_PEERS_PER_ID;
                for peer in self.cjp2p.peers.heard_peers(source, limit) {
                    if peers.len() < limit && !peers.contains(&peer) {
                        peers.push(peer);
                    }
                }
                // An empty "nobody" is worth saying only to a verified peer.
                if answering.verified || !peers.is_empty() {
                    answering
                        .answers
                        .push(Cjp2pMessage::MaybeTheyHaveSome { id, peers });
                }
            }
            Served::Failed => self.ctx.stats.cjp2p_store_failures += 1,
        }
    }

    // ----- sending -----

    /// Sends the answers to one datagram back to its source, in one datagram.
    fn send_cjp2p_reply(
        &mut self,
        answering: Answering,
        request_len: usize,
        offered: Option<Cookie>,
    ) {
        let to = answering.source;
        // Echo the peer's cookie: the stored one, or the one this datagram offers (answering
        // in kind, without storing it when unverified).
        let echo = self
            .stored_cookie(to.addr)
            .or(offered)
            .map(|cookie| Cjp2pMessage::AlwaysReturned { cookie });
        let reply = if answering.verified {
            if answering.answers.is_empty() {
                return;
            }
            let mut reply: Vec<Cjp2pMessage> = echo.into_iter().collect();
            reply.extend(answering.answers);
            // Everything goes in one datagram: drop what does not fit (the asker asks again).
            while reply.len() > 1 && datagram_len(&reply) > self.ctx.config.max_frame_len {
                reply.pop();
                self.ctx.stats.cjp2p_answers_dropped += 1;
            }
            reply
        } else {
            let our_cookie = Cjp2pMessage::PleaseAlwaysReturnThisMessage {
                cookie: Cookie::Text(self.cjp2p.secret.cookie_for(to.addr.ip())),
            };
            let reply = limit_unverified_reply(answering.answers, echo, our_cookie, request_len);
            if reply.is_empty() {
                self.ctx.stats.cjp2p_withheld += 1;
                return;
            }
            reply
        };
        self.queue_transmit(to, encode_datagram(&reply));
    }
}
