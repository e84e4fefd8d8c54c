//! Answering a CJP2P datagram: verification, each message, and the one reply.

use alloc::string::String;
use alloc::vec::Vec;
use core::net::SocketAddr;

use super::{Cjp2pState, HandOn};
use crate::cjp2p::amplification::limit_unverified_reply;
use crate::cjp2p::encode::{datagram_len, encode_datagram};
use crate::cjp2p::peers::HINT_PEERS_PER_ID;
use crate::cjp2p::schema::supported_messages_schema;
use crate::cjp2p::serve::{Served, list_content, serve_content};
use crate::cjp2p::{Cjp2pMessage, Cookie, parse_datagram};
use crate::content::ContentStore;
use crate::node::context::Context;
use crate::transport::{Protocol, TransportAddr};

/// Inner arrays of `SignedMessage` are opened one level deep only: a signed message inside a
/// signed message is not opened (it would only cost verification time).
const MAX_SIGNED_DEPTH: u8 = 1;

/// Signatures checked per datagram: each costs an ed25519 verification, and the public node
/// sends at most two in one datagram. More are skipped, so that a datagram cannot buy 128
/// verifications.
const MAX_SIGNATURES_PER_DATAGRAM: u8 = 2;

/// One datagram being answered: opened by [`Cjp2pState::open_datagram`], fed its messages one
/// at a time by [`Cjp2pState::on_message`], and answered by [`Cjp2pState::answer`].
pub(in crate::node) struct Answering {
    /// The messages not yet handled, in order.
    pending: alloc::vec::IntoIter<Cjp2pMessage>,
    /// The datagram's length: what an unverified source's reply is limited by.
    request_len: usize,
    /// The cookie the datagram offers (echoed in the reply, stored only when verified).
    offered: Option<Cookie>,
    /// Whether the sender is to be greeted once its messages are handled.
    greet: bool,
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
    /// The next message of the datagram to handle, in order.
    pub(in crate::node) fn next_message(&mut self) -> Option<Cjp2pMessage> {
        self.pending.next()
    }

    /// Adds our key announcement unless the reply already carries it.
    fn announce(&mut self, announcement: impl FnOnce() -> Vec<Cjp2pMessage>) {
        if !self.announced {
            self.announced = true;
            self.answers.extend(announcement());
        }
    }
}

impl Cjp2pState {
    // ----- receiving -----

    /// A datagram starting with `[` arrived from `from`: the answer to build, or `None` if it
    /// is dropped (CJP2P off, not UDP, or it does not parse; counted).
    ///
    /// The node hands each of its messages to [`on_message`](Self::on_message) and routes
    /// what that hands on, then has [`answer`](Self::answer) send the one reply: what a
    /// message hands on (to a download, or to the application) is dealt with before the next
    /// message is read, as the messages come.
    pub(in crate::node) fn open_datagram(
        &mut self,
        ctx: &mut Context,
        from: TransportAddr,
        data: &[u8],
    ) -> Option<Answering> {
        if !ctx.config.cjp2p.enabled || from.protocol != Protocol::Udp {
            ctx.stats.transport.dropped_unsupported += 1;
            return None;
        }
        let Ok(parsed) = parse_datagram(data, ctx.config.cjp2p.max_elements) else {
            ctx.stats.cjp2p.cjp2p_dropped += 1;
            return None;
        };
        ctx.stats.cjp2p.cjp2p_datagrams += 1;
        ctx.stats.cjp2p.cjp2p_skipped += parsed.skipped as u64;
        let source = from.addr;
        let ours = self.secret.cookie_for(source.ip());
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
            .filter(|cookie| self.cookie_fits(ctx, cookie));
        let greet = self.note_sender(ctx, source, verified, offered.as_ref());
        Some(Answering {
            pending: parsed.messages.into_iter(),
            request_len: data.len(),
            offered,
            greet,
            source: from,
            verified,
            answers: Vec::new(),
            content_bytes: 0,
            signatures: 0,
            announced: false,
        })
    }

    /// Handles one message of the datagram `answering` is for, reading content requests from
    /// `store` (the downloads' storage, which serves while it downloads), or else from its own
    /// store. What is not for the CJP2P side is pushed
    /// to `hand_on`, in order.
    pub(in crate::node) fn on_message(
        &mut self,
        ctx: &mut Context,
        store: Option<&mut (dyn ContentStore + 'static)>,
        answering: &mut Answering,
        message: Cjp2pMessage,
        hand_on: &mut Vec<HandOn>,
    ) {
        // Its own store is taken out for the call, so that it can be read while the state
        // changes; it is put back whatever happens.
        let mut own = self.store.take();
        let mut store = match store {
            Some(store) => Some(store),
            None => own
                .as_deref_mut()
                .map(|store| store as &mut (dyn ContentStore + 'static)),
        };
        self.on_cjp2p_message(ctx, &mut store, answering, message, 0, hand_on);
        self.store = own;
    }

    /// Greets the sender if it is due, and sends the answers to the datagram back to it, in
    /// one datagram.
    pub(in crate::node) fn answer(&mut self, ctx: &mut Context, mut answering: Answering) {
        let source = answering.source.addr;
        if answering.greet {
            answering.announce(|| self.key_announcement(ctx, source));
            let questions = self.greeting_questions(ctx);
            answering.answers.extend(questions);
        }
        self.send_cjp2p_reply(ctx, answering);
    }

    /// Updates the peer table for a datagram from `source`; true when the peer is to be greeted:
    /// on its first verified datagram, and again on the first after which we hold its cookie, so
    /// that it can verify the greeting (who we are is only learned from verified datagrams).
    fn note_sender(
        &mut self,
        ctx: &mut Context,
        source: SocketAddr,
        verified: bool,
        offered: Option<&Cookie>,
    ) -> bool {
        if !verified {
            ctx.stats.cjp2p.cjp2p_unverified += 1;
            if let Some(entry) = self.peers.entries.get_mut(&source) {
                entry.info.verified_us = false;
            }
            return false;
        }
        if self.is_own(&ctx.local_addresses, source) {
            return false;
        }
        let (now, max) = (ctx.now, ctx.config.cjp2p.max_peers);
        let Some(entry) = self.peers.entry(source, now, max, true) else {
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
        self.schedule_round(ctx);
        greet
    }

    fn on_cjp2p_message(
        &mut self,
        ctx: &mut Context,
        store: &mut Option<&mut (dyn ContentStore + 'static)>,
        answering: &mut Answering,
        message: Cjp2pMessage,
        depth: u8,
        hand_on: &mut Vec<HandOn>,
    ) {
        ctx.stats.cjp2p.cjp2p_messages += 1;
        let source = answering.source.addr;
        let verified = answering.verified;
        match message {
            Cjp2pMessage::PleaseSendPeers => {
                let limit = ctx.config.cjp2p.max_peers_per_reply;
                let peers = self.peers.heard_peers(source, limit);
                answering.answers.push(Cjp2pMessage::Peers { peers });
                if verified {
                    answering.announce(|| self.key_announcement(ctx, source));
                }
            }
            Cjp2pMessage::PleaseReturnThisMessage { cookie } => {
                if self.secret.rtt_sent_at(&cookie).is_some() {
                    // Our own probe came back to us as a request: `source` is our address.
                    self.note_own_address(source);
                } else {
                    answering
                        .answers
                        .push(Cjp2pMessage::ReturnedMessage { cookie });
                }
            }
            Cjp2pMessage::ReturnedMessage { cookie } => {
                if let Some(rtt) = self.secret.rtt(&cookie, ctx.now) {
                    if let Some(entry) = self.peers.entries.get_mut(&source) {
                        entry.info.rtt = Some(rtt);
                    }
                }
            }
            Cjp2pMessage::PleaseAlwaysReturnThisMessage { .. }
            | Cjp2pMessage::AlwaysReturned { .. } => {}
            Cjp2pMessage::PleaseSendContent { id, offset, length } => {
                self.answer_content_request(
                    ctx,
                    store.as_deref_mut(),
                    answering,
                    id,
                    offset,
                    length,
                );
            }
            Cjp2pMessage::PleaseListContent => {
                let max = ctx.config.cjp2p.max_content_list;
                answering.answers.push(list_content(store.as_deref(), max));
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
                    ctx.stats.cjp2p.cjp2p_skipped += 1;
                    return;
                }
                answering.signatures += 1;
                if key.verify(payload_json.as_bytes(), &signature).is_err() {
                    ctx.stats.cjp2p.cjp2p_bad_signatures += 1;
                    return;
                }
                if verified {
                    if let Some(entry) = self.peers.entries.get_mut(&source) {
                        entry.info.key = Some(key);
                        entry.info.key_signed = true;
                    }
                }
                match parse_datagram(payload_json.as_bytes(), ctx.config.cjp2p.max_elements) {
                    Ok(inner) => {
                        ctx.stats.cjp2p.cjp2p_skipped += inner.skipped as u64;
                        for message in inner.messages {
                            self.on_cjp2p_message(
                                ctx,
                                store,
                                answering,
                                message,
                                depth + 1,
                                hand_on,
                            );
                        }
                    }
                    Err(_) => ctx.stats.cjp2p.cjp2p_dropped += 1,
                }
            }
            other => {
                if verified {
                    self.learn(ctx, source, &other, hand_on);
                }
                // Answers to one of our downloads go to it, the rest to the application.
                hand_on.push(HandOn::Message {
                    from: answering.source,
                    verified,
                    message: other,
                });
            }
        }
    }

    /// What a verified datagram teaches: candidates, keys, who holds which content.
    fn learn(
        &mut self,
        ctx: &Context,
        source: SocketAddr,
        message: &Cjp2pMessage,
        hand_on: &mut Vec<HandOn>,
    ) {
        let now = ctx.now;
        let max_hints = ctx.config.cjp2p.max_content_hints;
        match message {
            Cjp2pMessage::Peers { peers } => {
                let limit = ctx.config.cjp2p.max_peers_per_reply;
                for peer in peers.iter().take(limit) {
                    self.add_candidate(ctx, *peer);
                }
            }
            Cjp2pMessage::MyPublicKey { key } => {
                if let Some(entry) = self.peers.entries.get_mut(&source) {
                    if !entry.info.key_signed {
                        entry.info.key = Some(*key);
                    }
                }
            }
            Cjp2pMessage::Content { id, .. } => self.hints.add(id, source, now, max_hints),
            Cjp2pMessage::MaybeTheyHaveSome { id, peers } => {
                for peer in peers.iter().take(HINT_PEERS_PER_ID) {
                    if !self.is_own(&ctx.local_addresses, *peer) {
                        self.hints.add(id, *peer, now, max_hints);
                    }
                }
            }
            Cjp2pMessage::ContentList { results } => {
                for (id, _) in results.iter().take(max_hints) {
                    self.hints.add(id, source, now, max_hints);
                }
            }
            Cjp2pMessage::EjtpSessions { max_request } => {
                hand_on.push(HandOn::EjtpSessions {
                    source,
                    max_request: *max_request,
                });
            }
            _ => {}
        }
    }

    fn answer_content_request(
        &mut self,
        ctx: &mut Context,
        store: Option<&mut (dyn ContentStore + 'static)>,
        answering: &mut Answering,
        id: String,
        offset: u64,
        length: u64,
    ) {
        let source = answering.source.addr;
        if answering.content_bytes >= ctx.config.max_frame_len {
            // The reply is already a full datagram: do not read what could not be sent.
            ctx.stats.cjp2p.cjp2p_answers_dropped += 1;
            return;
        }
        // An unverified source gets at most 32 bytes: read no more than that.
        let max = if answering.verified {
            ctx.config.cjp2p.max_content_reply
        } else {
            crate::cjp2p::amplification::UNVERIFIED_CONTENT_BYTES
        };
        match serve_content(store, &id, offset, length, max) {
            Served::Content(content) => {
                if let Cjp2pMessage::Content { data, .. } = &content {
                    answering.content_bytes += data.len();
                }
                ctx.stats.cjp2p.cjp2p_content_served += 1;
                answering.answers.push(content);
            }
            Served::Missing => {
                let mut peers = self.hints.peers_for(&id, source);
                let limit = HINT_PEERS_PER_ID;
                for peer in self.peers.heard_peers(source, limit) {
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
            Served::Failed => ctx.stats.cjp2p.cjp2p_store_failures += 1,
        }
    }

    // ----- sending -----

    /// Sends the answers to one datagram back to its source, in one datagram.
    fn send_cjp2p_reply(&mut self, ctx: &mut Context, answering: Answering) {
        let (request_len, offered) = (answering.request_len, answering.offered);
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
            while reply.len() > 1 && datagram_len(&reply) > ctx.config.max_frame_len {
                reply.pop();
                ctx.stats.cjp2p.cjp2p_answers_dropped += 1;
            }
            reply
        } else {
            let our_cookie = Cjp2pMessage::PleaseAlwaysReturnThisMessage {
                cookie: Cookie::Text(self.secret.cookie_for(to.addr.ip())),
            };
            let reply = limit_unverified_reply(answering.answers, echo, our_cookie, request_len);
            if reply.is_empty() {
                ctx.stats.cjp2p.cjp2p_withheld += 1;
                return;
            }
            reply
        };
        ctx.queue(to, encode_datagram(&reply), false);
    }
}
