//! What the CJP2P side knows of our own nodes among its peers: the key of a peer that said it
//! takes EJTP sessions, and the question that makes a peer say who it is.

use core::net::SocketAddr;

use super::Cjp2pState;
use crate::cjp2p::Cjp2pMessage;
use crate::identity::PublicKey;
use crate::time::Instant;
use crate::transport::TransportAddr;

/// Times a download asks a source that has not said who it is (see
/// [`Cjp2pState::identity_question`]): the greeting that says it can be lost, and a public CJP2P node
/// never says it.
const IDENTITY_ASKS: u8 = 3;

/// Time between two such questions to the same peer.
const IDENTITY_ASK_INTERVAL: core::time::Duration = core::time::Duration::from_secs(1);

impl Cjp2pState {
    /// The key of our own node at `addr`, if it said it is one and told its key.
    pub(in crate::node) fn our_node_key(&self, addr: TransportAddr) -> Option<PublicKey> {
        let peer = self.peer(&addr.addr)?;
        peer.ejtp_max_request?;
        peer.key
    }

    /// `PleaseSendPeers` to add to a download's requests to `addr` when it is verified but has
    /// not said whether it is one of our nodes: our nodes answer it with their key and
    /// `EjtpSessions` (in a datagram we can verify). Asked at most [`IDENTITY_ASKS`] times, and
    /// [`IDENTITY_ASK_INTERVAL`] apart.
    pub(in crate::node) fn identity_question(
        &mut self,
        now: Instant,
        addr: SocketAddr,
    ) -> Option<Cjp2pMessage> {
        let entry = self.entry_mut(&addr)?;
        let due = entry
            .identity_asked
            .is_none_or(|at| now >= at + IDENTITY_ASK_INTERVAL);
        let unknown = entry.info.ejtp_max_request.is_none() || entry.info.key.is_none();
        if !(entry.info.verified_us && entry.cookie.is_some() && unknown && due)
            || entry.identity_asks >= IDENTITY_ASKS
        {
            return None;
        }
        entry.identity_asks += 1;
        entry.identity_asked = Some(now);
        Some(Cjp2pMessage::PleaseSendPeers)
    }
}
