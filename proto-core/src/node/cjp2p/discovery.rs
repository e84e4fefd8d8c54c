//! Finding and keeping peers: our datagrams to them, greetings, maintenance rounds, and our
//! own addresses.

use alloc::string::String;
use alloc::vec::Vec;
use core::net::SocketAddr;

use super::Cjp2pState;
use crate::address::Address;
use crate::cjp2p::encode::encode_datagram;
use crate::cjp2p::{Cjp2pMessage, Cookie};
use crate::node::context::Context;
use crate::transport::TransportAddr;

impl Cjp2pState {
    /// One datagram to `addr`: its cookie first if we have it, then `messages`, then ours if
    /// `ask` or it has not proved it receives our datagrams.
    pub(super) fn datagram_to(
        &self,
        addr: SocketAddr,
        messages: Vec<Cjp2pMessage>,
        ask: bool,
    ) -> Vec<u8> {
        let mut datagram: Vec<Cjp2pMessage> = self
            .stored_cookie(addr)
            .map(|cookie| Cjp2pMessage::AlwaysReturned { cookie })
            .into_iter()
            .collect();
        datagram.extend(messages);
        let verified_us = self
            .peers
            .entries
            .get(&addr)
            .is_some_and(|entry| entry.info.verified_us);
        if ask || !verified_us {
            datagram.push(Cjp2pMessage::PleaseAlwaysReturnThisMessage {
                cookie: Cookie::Text(self.secret.cookie_for(addr.ip())),
            });
        }
        encode_datagram(&datagram)
    }

    pub(super) fn stored_cookie(&self, addr: SocketAddr) -> Option<Cookie> {
        self.peers
            .entries
            .get(&addr)
            .and_then(|entry| entry.cookie.clone())
    }

    pub(super) fn cookie_fits(&self, ctx: &Context, cookie: &Cookie) -> bool {
        let probe = Cjp2pMessage::AlwaysReturned {
            cookie: cookie.clone(),
        };
        crate::cjp2p::encode::element_len(&probe) <= ctx.config.cjp2p.max_cookie_len
    }

    /// `SignedMessage` and `MyPublicKey`: our key, signed over an array that echoes the peer's
    /// cookie (so the signature is fresh for that peer), or over `[]` without one; then
    /// `EjtpSessions` if we accept sessions (our own nodes then fetch from us over one).
    pub(super) fn key_announcement(&self, ctx: &Context, to: SocketAddr) -> Vec<Cjp2pMessage> {
        let payload_json = match self.stored_cookie(to) {
            Some(cookie) => {
                String::from_utf8(encode_datagram(&[Cjp2pMessage::AlwaysReturned { cookie }]))
                    .unwrap_or_default()
            }
            None => String::from("[]"),
        };
        let signature = ctx.identity.sign(payload_json.as_bytes());
        let mut announcement = alloc::vec![
            Cjp2pMessage::SignedMessage {
                key: ctx.public_key,
                signature,
                payload_json,
            },
            Cjp2pMessage::MyPublicKey {
                key: ctx.public_key,
            },
        ];
        announcement.extend(ejtp_announcement(ctx));
        announcement
    }

    /// What we ask a peer the first time it proves its address (after our key announcement):
    /// questions that fill our table and measure the round trip.
    pub(super) fn greeting_questions(&self, ctx: &Context) -> [Cjp2pMessage; 2] {
        [
            Cjp2pMessage::PleaseSendPeers,
            Cjp2pMessage::PleaseReturnThisMessage {
                cookie: self.secret.rtt_cookie(ctx.now),
            },
        ]
    }

    /// A maintenance probe: ask for peers and measure the round trip, with our cookie.
    pub(super) fn probe(&mut self, ctx: &mut Context, addr: SocketAddr) {
        let messages = alloc::vec![
            Cjp2pMessage::PleaseSendPeers,
            Cjp2pMessage::PleaseReturnThisMessage {
                cookie: self.secret.rtt_cookie(ctx.now),
            },
        ];
        let datagram = self.datagram_to(addr, messages, true);
        ctx.queue(TransportAddr::udp(addr), datagram, false);
    }

    // ----- maintenance -----

    pub(super) fn schedule_round(&mut self, ctx: &Context) {
        if self.next_round.is_none() && !self.peers.entries.is_empty() {
            self.next_round = Some(ctx.now + ctx.config.cjp2p.maintenance_interval);
        }
    }

    /// Adds the configured bootstrap peers and schedules the first round now.
    pub(in crate::node) fn add_bootstrap_peers(&mut self, ctx: &Context) {
        let max = ctx.config.cjp2p.max_peers;
        for addr in ctx.config.cjp2p.bootstrap.clone() {
            if let Some(entry) = self.peers.entry(addr, ctx.now, max, true) {
                entry.info.pinned = true;
            }
        }
        if !self.peers.entries.is_empty() {
            self.next_round = Some(ctx.now);
        }
    }

    /// Maintenance, if due: a round (forget peers that stopped answering, then probe the next
    /// few peers in turn), and the retries of probes still unanswered.
    pub(in crate::node) fn maintain(&mut self, ctx: &mut Context) {
        if self.next_round.is_some_and(|due| due <= ctx.now) {
            self.maintenance_round(ctx);
        }
        self.retry_probes(ctx);
    }

    fn maintenance_round(&mut self, ctx: &mut Context) {
        let (limit, span, now) = (
            ctx.config.cjp2p.max_unanswered_probes,
            ctx.config.cjp2p.forget_heard_after,
            ctx.now,
        );
        self.peers.entries.retain(|_, entry| {
            let recently_heard = entry
                .info
                .heard
                .is_some_and(|at| now.saturating_duration_since(at) < span);
            entry.info.pinned || entry.unanswered < limit || recently_heard
        });
        let round = self.peers.next_round(ctx.config.cjp2p.probes_per_round);
        for addr in round {
            if let Some(entry) = self.peers.entries.get_mut(&addr) {
                entry.unanswered = entry.unanswered.saturating_add(1);
            }
            self.start_probe(ctx, addr);
        }
        self.next_round = if self.peers.entries.is_empty() {
            None
        } else {
            Some(ctx.now + ctx.config.cjp2p.maintenance_interval)
        };
    }

    /// Probes `addr` and arms the probe's first retry: a lost probe or answer is made up for
    /// within the round rather than counted as silence.
    pub(super) fn start_probe(&mut self, ctx: &mut Context, addr: SocketAddr) {
        let (retries, first_wait) = (
            ctx.config.cjp2p.probe_retries,
            ctx.config.cjp2p.probe_retry_interval,
        );
        let now = ctx.now;
        if let Some(entry) = self.peers.entries.get_mut(&addr) {
            entry.retries = 0;
            entry.retry_at = (retries > 0).then(|| now + first_wait);
        }
        self.probe(ctx, addr);
    }

    /// Sends again the probes whose retry is due, each retry waiting twice as long as the one
    /// before; a verified datagram from the peer cancels its retries (`note_sender`).
    fn retry_probes(&mut self, ctx: &mut Context) {
        let (max_retries, first_wait) = (
            ctx.config.cjp2p.probe_retries,
            ctx.config.cjp2p.probe_retry_interval,
        );
        let now = ctx.now;
        for addr in self.peers.due_retries(now) {
            let Some(entry) = self.peers.entries.get_mut(&addr) else {
                continue;
            };
            entry.retries = entry.retries.saturating_add(1);
            entry.retry_at = (entry.retries < max_retries).then(|| {
                // 2^retries times the first wait: bounded backoff (at most 2^7 times).
                now + first_wait.saturating_mul(1 << entry.retries.min(7))
            });
            self.probe(ctx, addr);
        }
    }

    // ----- our own addresses -----

    /// Whether `addr` is this node's: one it learned is its own, or one of its
    /// `local_addresses`.
    pub(in crate::node) fn is_own(&self, local_addresses: &[Address], addr: SocketAddr) -> bool {
        self.own.contains(&addr)
            || local_addresses.contains(&Address::udp(addr, None).without_callsign())
    }

    pub(super) fn note_own_address(&mut self, addr: SocketAddr) {
        self.peers.entries.remove(&addr);
        if !self.own.contains(&addr) {
            if self.own.len() >= crate::node::MAX_LOCAL_ADDRESSES {
                self.own.remove(0);
            }
            self.own.push(addr);
        }
    }

    pub(super) fn add_candidate(&mut self, ctx: &Context, addr: SocketAddr) {
        let ip = addr.ip();
        if addr.port() == 0
            || ip.is_unspecified()
            || ip.is_multicast()
            || self.is_own(&ctx.local_addresses, addr)
        {
            return;
        }
        let (now, max) = (ctx.now, ctx.config.cjp2p.max_peers);
        self.peers.entry(addr, now, max, false);
        self.schedule_round(ctx);
    }
}

/// `EjtpSessions`, if this node accepts sessions: our own nodes then fetch from us over one
/// (see `node/content_routing.rs`).
pub(in crate::node) fn ejtp_announcement(ctx: &Context) -> Option<Cjp2pMessage> {
    ctx.config.sessions.then_some(Cjp2pMessage::EjtpSessions {
        max_request: ctx.config.cjp2p.max_content_reply as u64,
    })
}
