//! The node's CJP2P side: answering datagrams that start with `[`, discovery, serving content,
//! and the application's seam (`send_cjp2p`, `Event::Cjp2p`).
//!
//! The codec, cookies, amplification rule and content serving are pure functions in
//! [`crate::cjp2p`]; here the node keeps its state (this file, with the public API), answers
//! datagrams (`receive`) and finds and probes peers (`discovery`).

mod discovery;
mod receive;

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::net::SocketAddr;

use super::Node;
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

    pub(in crate::node) fn store(&self) -> Option<&(dyn ContentStore + Send + Sync + 'static)> {
        self.store.as_deref()
    }

    pub(in crate::node) fn store_mut(
        &mut self,
    ) -> Option<&mut (dyn ContentStore + Send + Sync + 'static)> {
        self.store.as_deref_mut()
    }
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
    /// `PleaseSendPeers`, `PleaseReturnThisMessage` and our cookie (sent again while
    /// unanswered, as maintenance probes are).
    pub fn add_cjp2p_peer(&mut self, now: Instant, addr: SocketAddr) {
        self.ctx.advance(now);
        if self.is_own_cjp2p(addr) {
            return;
        }
        let max = self.ctx.config.cjp2p.max_peers;
        if let Some(entry) = self.cjp2p.peers.entry(addr, self.ctx.now, max, true) {
            entry.info.pinned = true;
        }
        self.schedule_round();
        self.start_probe(addr);
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
        self.ctx.advance(now);
        if to.protocol != Protocol::Udp {
            return Err(CommandError::Cjp2p(Cjp2pSendError::NotUdp));
        }
        if !self.is_own_cjp2p(to.addr) {
            let max = self.ctx.config.cjp2p.max_peers;
            self.cjp2p.peers.entry(to.addr, self.ctx.now, max, false);
            self.schedule_round();
        }
        let datagram = self.datagram_to(to.addr, messages, false);
        let max = self.ctx.config.max_frame_len;
        if datagram.len() > max {
            return Err(CommandError::Cjp2p(Cjp2pSendError::TooLarge {
                len: datagram.len(),
                max,
            }));
        }
        if self.ctx.out.is_full() {
            self.send_blocked = true;
            return Err(CommandError::Cjp2p(Cjp2pSendError::Blocked));
        }
        self.queue_transmit(to, datagram);
        Ok(())
    }
}
