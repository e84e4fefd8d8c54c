//! The node's CJP2P side as a sub-machine: answering datagrams that start with `[`, discovery,
//! serving content, and the application's seam (`send_cjp2p`, `Event::Cjp2p`).
//!
//! The codec, cookies, amplification rule and content serving are pure functions in
//! [`crate::cjp2p`]; here [`Cjp2pState`] keeps its state (this file), answers datagrams
//! (`receive`) and finds and probes peers (`discovery`). It is handed the node's
//! [`Context`] and the store to serve from, queues its datagrams there, and hands on what is
//! not its own ([`HandOn`]: answers for downloads and the application, peers that take EJTP
//! sessions), which the node routes. It never reaches into another concern.

mod discovery;
mod our_nodes;
mod receive;

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::net::SocketAddr;

use super::context::Context;
use crate::cjp2p::cookies::CookieSecret;
use crate::cjp2p::peers::{ContentHints, PeerEntry, PeerTable};
use crate::cjp2p::{Cjp2pMessage, Cjp2pPeer, Cjp2pSendError};
use crate::content::ContentStore;
use crate::error::CommandError;
use crate::time::Instant;
use crate::transport::{Protocol, TransportAddr};

/// Everything the node keeps for CJP2P.
pub(in crate::node) struct Cjp2pState {
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
    /// What we know of the peer at `addr`, if it is in the table.
    pub(in crate::node) fn peer(&self, addr: &SocketAddr) -> Option<&Cjp2pPeer> {
        self.peers.entries.get(addr).map(|entry| &entry.info)
    }

    /// The same, to update.
    pub(in crate::node) fn peer_mut(&mut self, addr: &SocketAddr) -> Option<&mut Cjp2pPeer> {
        self.peers
            .entries
            .get_mut(addr)
            .map(|entry| &mut entry.info)
    }

    /// The whole table entry of the peer at `addr`.
    pub(in crate::node) fn entry_mut(&mut self, addr: &SocketAddr) -> Option<&mut PeerEntry> {
        self.peers.entries.get_mut(addr)
    }

    pub(in crate::node) fn new(seed: &[u8; 32]) -> Self {
        Self {
            secret: CookieSecret::from_node_seed(seed),
            peers: PeerTable::default(),
            hints: ContentHints::default(),
            store: None,
            own: Vec::new(),
            next_round: None,
        }
    }

    /// When maintenance next has work: a round, or the retry of an unanswered probe.
    pub(in crate::node) fn next_maintenance(&self) -> Option<Instant> {
        [self.next_round, self.peers.next_retry()]
            .into_iter()
            .flatten()
            .min()
    }

    pub(in crate::node) fn store_mut(
        &mut self,
    ) -> Option<&mut (dyn ContentStore + Send + Sync + 'static)> {
        self.store.as_deref_mut()
    }
}

/// What a CJP2P datagram hands on to the rest of the node, in the order it came.
pub(in crate::node) enum HandOn {
    /// A message that is not the CJP2P side's own (content, content hints, anything an
    /// application may want): for the download it answers, or else [`Event::Cjp2p`](crate::Event).
    Message {
        from: TransportAddr,
        verified: bool,
        message: Cjp2pMessage,
    },
    /// A verified peer said it takes EJTP sessions, for content requests up to `max_request`.
    EjtpSessions {
        source: SocketAddr,
        max_request: u64,
    },
}

impl Cjp2pState {
    /// Replaces the content store it serves from, returning the previous one.
    pub(in crate::node) fn replace_store(
        &mut self,
        store: Option<Box<dyn ContentStore + Send + Sync>>,
    ) -> Option<Box<dyn ContentStore + Send + Sync>> {
        core::mem::replace(&mut self.store, store)
    }

    /// The peers it knows, in address order.
    pub(in crate::node) fn peers(&self) -> Vec<Cjp2pPeer> {
        self.peers
            .entries
            .values()
            .map(|entry| entry.info.clone())
            .collect()
    }

    /// Our cookie for a source IP.
    pub(in crate::node) fn cookie_for(&self, ip: core::net::IpAddr) -> String {
        self.secret.cookie_for(ip)
    }

    /// Adds a peer that stays in the table, and probes it now.
    pub(in crate::node) fn add_pinned(&mut self, ctx: &mut Context, addr: SocketAddr) {
        if self.is_own(&ctx.local_addresses, addr) {
            return;
        }
        let max = ctx.config.cjp2p.max_peers;
        if let Some(entry) = self.peers.entry(addr, ctx.now, max, true) {
            entry.info.pinned = true;
        }
        self.schedule_round(ctx);
        self.start_probe(ctx, addr);
    }

    /// Sends `messages` to `to` in one datagram, with the cookies, adding `to` as a candidate.
    pub(in crate::node) fn send(
        &mut self,
        ctx: &mut Context,
        to: TransportAddr,
        messages: Vec<Cjp2pMessage>,
    ) -> Result<(), CommandError> {
        if to.protocol != Protocol::Udp {
            return Err(CommandError::Cjp2p(Cjp2pSendError::NotUdp));
        }
        if !self.is_own(&ctx.local_addresses, to.addr) {
            let max = ctx.config.cjp2p.max_peers;
            self.peers.entry(to.addr, ctx.now, max, false);
            self.schedule_round(ctx);
        }
        let datagram = self.datagram_to(to.addr, messages, false);
        let max = ctx.config.max_frame_len;
        if datagram.len() > max {
            return Err(CommandError::Cjp2p(Cjp2pSendError::TooLarge {
                len: datagram.len(),
                max,
            }));
        }
        if ctx.out.is_full() {
            ctx.out.send_blocked = true;
            return Err(CommandError::Cjp2p(Cjp2pSendError::Blocked));
        }
        ctx.queue(to, datagram, false);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
