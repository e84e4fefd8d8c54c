//! A borrowed view of the node's CJP2P side: `node.cjp2p()` gives its peers, its content
//! store and sending CJP2P messages, so that the interop API stays apart from EJTP's.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::net::SocketAddr;

use super::Node;
use crate::cjp2p::{Cjp2pMessage, Cjp2pPeer};
use crate::content::ContentStore;
use crate::error::CommandError;
use crate::time::Instant;
use crate::transport::TransportAddr;

/// The node's CJP2P side, from [`Node::cjp2p`].
///
/// # Example
/// ```
/// use ejtp_proto::{Config, Identity, Instant, Node, UnixMillis};
///
/// let now = Instant::from_micros(0);
/// let mut node = Node::new(Config::default(), Identity::from_secret_bytes(&[1; 32]), [0; 32], now, UnixMillis(1_700_000_000_000));
/// node.cjp2p().add_peer(now, "127.0.0.1:24254".parse().unwrap());
/// assert_eq!(node.cjp2p().peers().len(), 1);
/// ```
pub struct Cjp2p<'a> {
    node: &'a mut Node,
}

impl<'a> Cjp2p<'a> {
    pub(super) const fn new(node: &'a mut Node) -> Self {
        Self { node }
    }

    /// Gives the node the content it serves to CJP2P peers (`PleaseSendContent`,
    /// `PleaseListContent`), replacing and returning the previous store. `None` serves nothing.
    ///
    /// `Send + Sync` because adapters move the node between threads and share it behind
    /// locks. The store lives in the node because a sans-IO node answers requests synchronously
    /// inside [`handle_datagram`](Node::handle_datagram); reads must therefore be quick (a
    /// directory store reads a file at an offset).
    pub fn set_store(
        &mut self,
        store: Option<Box<dyn ContentStore + Send + Sync>>,
    ) -> Option<Box<dyn ContentStore + Send + Sync>> {
        self.node.cjp2p.replace_store(store)
    }

    /// The content store, for the application to add to it.
    pub fn store_mut(self) -> Option<&'a mut (dyn ContentStore + Send + Sync + 'static)> {
        self.node.cjp2p.store_mut()
    }

    /// The CJP2P peers the node knows, in address order.
    #[must_use]
    pub fn peers(&self) -> Vec<Cjp2pPeer> {
        self.node.cjp2p.peers()
    }

    /// Our cookie for a source IP: what a peer at `ip` must return for its datagrams to be
    /// verified. Mostly for tests and diagnostics.
    #[must_use]
    pub fn cookie_for(&self, ip: core::net::IpAddr) -> String {
        self.node.cjp2p.cookie_for(ip)
    }

    /// Adds a CJP2P peer that stays in the table (a bootstrap peer) and probes it now:
    /// `PleaseSendPeers`, `PleaseReturnThisMessage` and our cookie (sent again while
    /// unanswered, as maintenance probes are).
    pub fn add_peer(&mut self, now: Instant, addr: SocketAddr) {
        self.node.ctx.advance(now);
        self.node.cjp2p.add_pinned(&mut self.node.ctx, addr);
    }

    /// Sends CJP2P `messages` to `to` in one datagram: the seam for downloaders and
    /// applications. The node puts the peer's cookie first (`AlwaysReturned`) when it has one,
    /// and ends with our `PleaseAlwaysReturnThisMessage` while the peer has not proved it gets
    /// our datagrams. The peer is added to the peer table as a candidate.
    ///
    /// # Errors
    /// [`Cjp2pSendError`](crate::cjp2p::Cjp2pSendError) (inside [`CommandError::Cjp2p`]): not UDP, too large, or the transmit
    /// queue is full.
    pub fn send(
        &mut self,
        now: Instant,
        to: TransportAddr,
        messages: Vec<Cjp2pMessage>,
    ) -> Result<(), CommandError> {
        self.node.ctx.advance(now);
        self.node.cjp2p.send(&mut self.node.ctx, to, messages)
    }
}
