//! The node's CJP2P side: answering datagrams that start with `[`, discovery, serving content,
//! and the application's seam (`send_cjp2p`, `Event::Cjp2p`).
//!
//! The codec, cookies, amplification rule and content serving are pure functions in
//! [`crate::cjp2p`]; this file holds the state and decides who gets what.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::net::SocketAddr;

use super::Node;
use crate::address::Address;
use crate::cjp2p::amplification::limit_unverified_reply;
use crate::cjp2p::cookies::CookieSecret;
use crate::cjp2p::encode::{datagram_len, encode_datagram};
use crate::cjp2p::peers::{ContentHints, HINT_PEERS_PER_ID, PeerTable};
use crate::cjp2p::schema::supported_messages_schema;
use crate::cjp2p::serve::{Served, list_content, serve_content};
use crate::cjp2p::{Cjp2pMessage, Cjp2pPeer, Cjp2pSendError, Cookie, parse_datagram};
use crate::content::ContentStore;
use crate::error::CommandError;
use crate::event::Event;
use crate::time::Instant;
use crate::transport::{Protocol, TransportAddr};

/// Inner arrays of `SignedMessage` are opened one level deep only: a signed message inside a
/// signed message is not opened (it would only cost verification time).
const MAX_SIGNED_DEPTH: u8 = 1;

/// Signatures checked per datagram: each costs an ed25519 verification, and the public node
/// sends at most two in one datagram. More are skipped, so that a datagram cannot buy 128
/// verifications.
const MAX_SIGNATURES_PER_DATAGRAM: u8 = 2;

/// Everything the node keeps for CJP2P.
pub(super) struct Cjp2pState {
    secret: CookieSecret,
    peers: PeerTable,
    hints: ContentHints,
    store: Option<Box<dyn ContentStore + Send + Sync>>,
    /// Addresses found to be our own (our round-trip probe came back to us as a request).
    own: Vec<SocketAddr>,
    /// When the next maintenance round is due; `None` while the peer table is empty.
    next_round: Option<Instant>,
}

impl Cjp2pState {
    pub(super) fn new(seed: &[u8; 32]) -> Self {
        Self {
            secret: CookieSecret::from_node_seed(seed),
            peers: PeerTable::default(),
            hints: ContentHints::default(),
            store: None,
            own: Vec::new(),
            next_round: None,
        }
    }

    pub(super) fn next_round(&self) -> Option<Instant> {
        self.next_round
    }

    pub(super) fn store(&self) -> Option<&(dyn ContentStore + Send + Sync + 'static)> {
        self.store.as_deref()
    }

    pub(super) fn store_mut(&mut self) -> Option<&mut (dyn ContentStore + Send + Sync + 'static)> {
        self.store.as_deref_mut()
    }
}

/// What one datagram produced so far.
struct Answering {
    source: TransportAddr,
    verified: bool,
    answers: Vec<Cjp2pMessage>,
    /// Content bytes answered so far: past one datagram's worth, requests are not read.
    content_bytes: usize,
    /// Signatures checked so far (see [`MAX_SIGNATURES_PER_DATAGRAM`]).
    signatures: u8,
}

impl Node {
    // ----- public API (re-exported through `Node`) -----

    /// Gives the node the content it serves to CJP2P peers (`PleaseSendContent`,
    /// `PleaseListContent`), replacing and returning the previous store. `None` serves nothing.
    ///
    /// `Send + Sync` because adapters move the node between threads and share it behind
    /// locks. The store lives in the node because a sans-IO node answers requests synchronously
    /// inside [`handle_datagram`](Self::handle_datagram); reads must therefore be quick (a
    /// directory store reads a file at an offset).
    pub fn set_content_store(
        &mut self,
        store: Option<Box<dyn ContentStore + Send + Sync>>,
    ) -> Option<Box<dyn ContentStore + Send + Sync>> {
        core::mem::replace(&mut self.cjp2p.store, store)
    }

    /// The content store, for the application to add to it.
    pub fn content_store_mut(&mut self) -> Option<&mut (dyn ContentStore + Send + Sync + 'static)> {
        self.cjp2p.store.as_deref_mut()
    }

    /// The CJP2P peers the node knows, in address order.
    #[must_use]
    pub fn cjp2p_peers(&self) -> Vec<Cjp2pPeer> {
        self.cjp2p
            .peers
            .entries
            .values()
            .map(|entry| entry.info.clone())
            .collect()
    }

    /// Our cookie for a source IP: what a peer at `ip` must return for its datagrams to be
    /// verified. Mostly for tests and diagnostics.
    #[must_use]
    pub fn cjp2p_cookie_for(&self, ip: core::net::IpAddr) -> String {
        self.cjp2p.secret.cookie_for(ip)
    }

    /// Adds a CJP2P peer that stays in the table (a bootstrap peer) and probes it now:
    /// `PleaseSendPeers`, `PleaseReturnThisMessage` and our cookie.
    pub fn add_cjp2p_peer(&mut self, now: Instant, addr: SocketAddr) {
        self.advance(now);
        if self.is_own_cjp2p(addr) {
            return;
        }
        let max = self.config.cjp2p.max_peers;
        if let Some(entry) = self.cjp2p.peers.entry(addr, self.now, max, true) {
            entry.info.pinned = true;
        }
        self.schedule_round();
        self.probe(addr);
    }

    /// Sends CJP2P `messages` to `to` in one datagram: the seam for downloaders and
    /// applications. The node puts the peer's cookie first (`AlwaysReturned`) when it has one,
    /// and ends with our `PleaseAlwaysReturnThisMessage` while the peer has not proved it gets
    /// our datagrams. The peer is added to the peer table as a candidate.
    ///
    /// # Errors
    /// [`Cjp2pSendError`] (inside [`CommandError::Cjp2p`]): not UDP, too large, or the transmit
    /// queue is full.
    pub fn send_cjp2p(
        &mut self,
        now: Instant,
        to: TransportAddr,
        messages: Vec<Cjp2pMessage>,
    ) -> Result<(), CommandError> {
        self.advance(now);
        if to.protocol != Protocol::Udp {
            return Err(CommandError::Cjp2p(Cjp2pSendError::NotUdp));
        }
        if !self.is_own_cjp2p(to.addr) {
            let max = self.config.cjp2p.max_peers;
            self.cjp2p.peers.entry(to.addr, self.now, max, false);
            self.schedule_round();
        }
        let datagram = self.datagram_to(to.addr, messages, false);
        let max = self.config.max_frame_len;
        if datagram.len() > max {
            return Err(CommandError::Cjp2p(Cjp2pSendError::TooLarge {
                len: datagram.len(),
                max,
            }));
        }
        if self.transmits.len() >= self.config.max_queued_transmits {
            self.send_blocked = true;
            return Err(CommandError::Cjp2p(Cjp2pSendError::Blocked));
        }
        self.queue_transmit(to, datagram);
        Ok(())
    }

    // ----- receiving -----

    /// A datagram starting with `[`.
    pub(super) fn on_cjp2p(&mut self, from: TransportAddr, data: &[u8]) {
        if !self.config.cjp2p.enabled || from.protocol != Protocol::Udp {
            self.stats.dropped_unsupported += 1;
            return;
        }
        let Ok(parsed) = parse_datagram(data, self.config.cjp2p.max_elements) else {
            self.stats.cjp2p_dropped += 1;
            return;
        };
        self.stats.cjp2p_datagrams += 1;
        self.stats.cjp2p_skipped += parsed.skipped as u64;
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
        let first_contact = self.note_sender(source, verified, offered.as_ref());
        let mut answering = Answering {
            source: from,
            verified,
            answers: Vec::new(),
            content_bytes: 0,
            signatures: 0,
        };
        for message in parsed.messages {
            self.on_cjp2p_message(&mut answering, message, 0);
        }
        if first_contact {
            let greeting = self.greeting(source);
            answering.answers.extend(greeting);
        }
        self.send_cjp2p_reply(answering, data.len(), offered);
    }

    /// Updates the peer table for a datagram from `source`; true on first verified contact.
    fn note_sender(
        &mut self,
        source: SocketAddr,
        verified: bool,
        offered: Option<&Cookie>,
    ) -> bool {
        if !verified {
            self.stats.cjp2p_unverified += 1;
            if let Some(entry) = self.cjp2p.peers.entries.get_mut(&source) {
                entry.info.verified_us = false;
            }
            return false;
        }
        if self.is_own_cjp2p(source) {
            return false;
        }
        let known = self.cjp2p.peers.entries.contains_key(&source);
        let (now, max) = (self.now, self.config.cjp2p.max_peers);
        let Some(entry) = self.cjp2p.peers.entry(source, now, max, true) else {
            return false;
        };
        entry.info.heard = Some(now);
        entry.info.verified_us = true;
        entry.unanswered = 0;
        // A peer's cookie is stored only from a verified datagram: an unverified one may be
        // forged to plant a cookie that would make our datagrams useless to the real peer.
        if let Some(cookie) = offered {
            entry.cookie = Some(cookie.clone());
        }
        self.schedule_round();
        !known
    }

    fn on_cjp2p_message(&mut self, answering: &mut Answering, message: Cjp2pMessage, depth: u8) {
        self.stats.cjp2p_messages += 1;
        let source = answering.source.addr;
        let verified = answering.verified;
        match message {
            Cjp2pMessage::PleaseSendPeers => {
                let limit = self.config.cjp2p.max_peers_per_reply;
                let peers = self.cjp2p.peers.heard_peers(source, limit);
                answering.answers.push(Cjp2pMessage::Peers { peers });
                if verified {
                    let announcement = self.key_announcement(source);
                    answering.answers.extend(announcement);
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
                if let Some(rtt) = self.cjp2p.secret.rtt(&cookie, self.now) {
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
                let max = self.config.cjp2p.max_content_list;
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
                    self.stats.cjp2p_skipped += 1;
                    return;
                }
                answering.signatures += 1;
                if key.verify(payload_json.as_bytes(), &signature).is_err() {
                    self.stats.cjp2p_bad_signatures += 1;
                    return;
                }
                if verified {
                    if let Some(entry) = self.cjp2p.peers.entries.get_mut(&source) {
                        entry.info.key = Some(key);
                        entry.info.key_signed = true;
                    }
                }
                match parse_datagram(payload_json.as_bytes(), self.config.cjp2p.max_elements) {
                    Ok(inner) => {
                        self.stats.cjp2p_skipped += inner.skipped as u64;
                        for message in inner.messages {
                            self.on_cjp2p_message(answering, message, depth + 1);
                        }
                    }
                    Err(_) => self.stats.cjp2p_dropped += 1,
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
                self.push_event(Event::Cjp2p {
                    from: answering.source,
                    verified,
                    message: other,
                });
            }
        }
    }

    /// What a verified datagram teaches: candidates, keys, who holds which content.
    fn learn(&mut self, source: SocketAddr, message: &Cjp2pMessage) {
        let now = self.now;
        let max_hints = self.config.cjp2p.max_content_hints;
        match message {
            Cjp2pMessage::Peers { peers } => {
                let limit = self.config.cjp2p.max_peers_per_reply;
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
        if answering.content_bytes >= self.config.max_frame_len {
            // The reply is already a full datagram: do not read what could not be sent.
            self.stats.cjp2p_answers_dropped += 1;
            return;
        }
        // An unverified source gets at most 32 bytes: read no more than that.
        let max = if answering.verified {
            self.config.cjp2p.max_content_reply
        } else {
            crate::cjp2p::amplification::UNVERIFIED_CONTENT_BYTES
        };
        let store = self.serving_store_mut();
        match serve_content(store, &id, offset, length, max) {
            Served::Content(content) => {
                if let Cjp2pMessage::Content { data, .. } = &content {
                    answering.content_bytes += data.len();
                }
                self.stats.cjp2p_content_served += 1;
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
            Served::Failed => self.stats.cjp2p_store_failures += 1,
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
            while reply.len() > 1 && datagram_len(&reply) > self.config.max_frame_len {
                reply.pop();
                self.stats.cjp2p_answers_dropped += 1;
            }
            reply
        } else {
            let our_cookie = Cjp2pMessage::PleaseAlwaysReturnThisMessage {
                cookie: Cookie::Text(self.cjp2p.secret.cookie_for(to.addr.ip())),
            };
            let reply = limit_unverified_reply(answering.answers, echo, our_cookie, request_len);
            if reply.is_empty() {
                self.stats.cjp2p_withheld += 1;
                return;
            }
            reply
        };
        self.queue_transmit(to, encode_datagram(&reply));
    }

    /// One datagram to `addr`: its cookie first if we have it, then `messages`, then ours if
    /// `ask` or it has not proved it receives our datagrams.
    fn datagram_to(&self, addr: SocketAddr, messages: Vec<Cjp2pMessage>, ask: bool) -> Vec<u8> {
        let mut datagram: Vec<Cjp2pMessage> = self
            .stored_cookie(addr)
            .map(|cookie| Cjp2pMessage::AlwaysReturned { cookie })
            .into_iter()
            .collect();
        datagram.extend(messages);
        let verified_us = self
            .cjp2p
            .peers
            .entries
            .get(&addr)
            .is_some_and(|entry| entry.info.verified_us);
        if ask || !verified_us {
            datagram.push(Cjp2pMessage::PleaseAlwaysReturnThisMessage {
                cookie: Cookie::Text(self.cjp2p.secret.cookie_for(addr.ip())),
            });
        }
        encode_datagram(&datagram)
    }

    fn stored_cookie(&self, addr: SocketAddr) -> Option<Cookie> {
        self.cjp2p
            .peers
            .entries
            .get(&addr)
            .and_then(|entry| entry.cookie.clone())
    }

    fn cookie_fits(&self, cookie: &Cookie) -> bool {
        let probe = Cjp2pMessage::AlwaysReturned {
            cookie: cookie.clone(),
        };
        crate::cjp2p::encode::element_len(&probe) <= self.config.cjp2p.max_cookie_len
    }

    /// `SignedMessage` and `MyPublicKey`: our key, signed over an array that echoes the peer's
    /// cookie (so the signature is fresh for that peer), or over `[]` without one.
    fn key_announcement(&self, to: SocketAddr) -> [Cjp2pMessage; 2] {
        let payload_json = match self.stored_cookie(to) {
            Some(cookie) => {
                String::from_utf8(encode_datagram(&[Cjp2pMessage::AlwaysReturned { cookie }]))
                    .unwrap_or_default()
            }
            None => String::from("[]"),
        };
        let signature = self.identity.sign(payload_json.as_bytes());
        [
            Cjp2pMessage::SignedMessage {
                key: self.public_key,
                signature,
                payload_json,
            },
            Cjp2pMessage::MyPublicKey {
                key: self.public_key,
            },
        ]
    }

    /// What we say to a peer the first time it proves its address: who we are, and questions
    /// that fill our table and measure the round trip.
    fn greeting(&self, to: SocketAddr) -> Vec<Cjp2pMessage> {
        let mut greeting = Vec::from(self.key_announcement(to));
        greeting.push(Cjp2pMessage::PleaseSendPeers);
        greeting.push(Cjp2pMessage::PleaseReturnThisMessage {
            cookie: self.cjp2p.secret.rtt_cookie(self.now),
        });
        greeting
    }

    /// A maintenance probe: ask for peers and measure the round trip, with our cookie.
    fn probe(&mut self, addr: SocketAddr) {
        let messages = alloc::vec![
            Cjp2pMessage::PleaseSendPeers,
            Cjp2pMessage::PleaseReturnThisMessage {
                cookie: self.cjp2p.secret.rtt_cookie(self.now),
            },
        ];
        let datagram = self.datagram_to(addr, messages, true);
        self.queue_transmit(TransportAddr::udp(addr), datagram);
    }

    // ----- maintenance -----

    fn schedule_round(&mut self) {
        if self.cjp2p.next_round.is_none() && !self.cjp2p.peers.entries.is_empty() {
            self.cjp2p.next_round = Some(self.now + self.config.cjp2p.maintenance_interval);
        }
    }

    /// Adds the configured bootstrap peers and schedules the first round now.
    pub(super) fn add_bootstrap_peers(&mut self) {
        let max = self.config.cjp2p.max_peers;
        for addr in self.config.cjp2p.bootstrap.clone() {
            if let Some(entry) = self.cjp2p.peers.entry(addr, self.now, max, true) {
                entry.info.pinned = true;
            }
        }
        if !self.cjp2p.peers.entries.is_empty() {
            self.cjp2p.next_round = Some(self.now);
        }
    }

    /// A maintenance round, if due: forget candidates that never answer, then probe the next
    /// few peers in turn.
    pub(super) fn cjp2p_maintenance(&mut self) {
        let Some(due) = self.cjp2p.next_round else {
            return;
        };
        if due > self.now {
            return;
        }
        let limit = self.config.cjp2p.max_unanswered_probes;
        self.cjp2p
            .peers
            .entries
            .retain(|_, entry| entry.info.pinned || entry.unanswered < limit);
        let round = self
            .cjp2p
            .peers
            .next_round(self.config.cjp2p.probes_per_round);
        for addr in round {
            if let Some(entry) = self.cjp2p.peers.entries.get_mut(&addr) {
                entry.unanswered = entry.unanswered.saturating_add(1);
            }
            self.probe(addr);
        }
        self.cjp2p.next_round = if self.cjp2p.peers.entries.is_empty() {
            None
        } else {
            Some(self.now + self.config.cjp2p.maintenance_interval)
        };
    }

    // ----- our own addresses -----

    fn is_own_cjp2p(&self, addr: SocketAddr) -> bool {
        self.cjp2p.own.contains(&addr)
            || self
                .local_addresses
                .contains(&Address::udp(addr, None).without_callsign())
    }

    fn note_own_address(&mut self, addr: SocketAddr) {
        self.cjp2p.peers.entries.remove(&addr);
        if !self.cjp2p.own.contains(&addr) {
            if self.cjp2p.own.len() >= super::MAX_LOCAL_ADDRESSES {
                self.cjp2p.own.remove(0);
            }
            self.cjp2p.own.push(addr);
        }
    }

    fn add_candidate(&mut self, addr: SocketAddr) {
        let ip = addr.ip();
        if addr.port() == 0 || ip.is_unspecified() || ip.is_multicast() || self.is_own_cjp2p(addr) {
            return;
        }
        let (now, max) = (self.now, self.config.cjp2p.max_peers);
        self.cjp2p.peers.entry(addr, now, max, false);
        self.schedule_round();
    }
}
