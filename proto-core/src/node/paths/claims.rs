//! Addresses that a peer signed as its own but sends from elsewhere: what this node may send
//! that peer there before the address proves it receives.
//!
//! **Why.** A signature binds an address to a key, not to the host that holds the address:
//! anyone can sign a victim's address as their own. Behind a NAT the signed address is private
//! and the datagrams come from the NAT's mapping; through a relay they come from the relay.
//! In both cases the node still tries the signed address (it may be the only way to the peer),
//! but everything sent to the peer there (handshakes, messages, replies) is bounded by what
//! the peer's datagrams were worth: at most [`CLAIM_FACTOR`] times the bytes of the messages
//! that signed the address, and each byte is also charged against the amplification limit of
//! the address those messages came from. So the victim of a false claim receives at most as
//! much as the attacker sent, and the attacker's own address and the victim's together at
//! most [`AMPLIFICATION_FACTOR`](super::AMPLIFICATION_FACTOR) times.
//!
//! Keyed by (peer, address): a false claim by one peer never limits what another peer (the
//! address's real owner, say) is sent there. UDP addresses only: nothing reaches a TCP
//! address unless its host accepts the connection, which proves it.
//!
//! **Bounds.** At most `max_entries` claims; a new one beyond the bound evicts the claim
//! heard least recently. Once the address proves it receives, its claims no longer limit it.

use alloc::collections::BTreeMap;

use crate::identity::NodeId;
use crate::time::Instant;
use crate::transport::TransportAddr;

/// Bytes sent to a peer at an address it claimed, per byte of the messages that claimed it.
pub(crate) const CLAIM_FACTOR: u64 = 1;

/// One peer's claim to one address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Claim {
    /// Bytes of the signed messages that named the address.
    pub(super) credit: u64,
    /// Bytes sent to the peer there since.
    pub(super) sent: u64,
    /// Where the latest of those messages came from: what it sends there is charged too.
    pub(super) source: TransportAddr,
    pub(super) last_heard: Instant,
}

/// The claims table (see the module documentation).
#[derive(Debug, Default)]
pub(super) struct Claims {
    entries: BTreeMap<(NodeId, TransportAddr), Claim>,
}

impl Claims {
    /// `peer` signed `claimed` as its own in `len` bytes that came from `source`.
    pub(super) fn on_claimed(
        &mut self,
        (peer, claimed): (NodeId, TransportAddr),
        source: TransportAddr,
        len: usize,
        now: Instant,
        max_entries: usize,
    ) {
        if max_entries == 0 {
            return;
        }
        let key = (peer, claimed);
        if !self.entries.contains_key(&key) {
            while self.entries.len() >= max_entries {
                let Some(oldest) = self
                    .entries
                    .iter()
                    .min_by_key(|(_, claim)| claim.last_heard)
                    .map(|(key, _)| *key)
                else {
                    break;
                };
                self.entries.remove(&oldest);
            }
        }
        let claim = self.entries.entry(key).or_insert(Claim {
            credit: 0,
            sent: 0,
            source,
            last_heard: now,
        });
        claim.credit = claim.credit.saturating_add(len as u64);
        claim.source = source;
        claim.last_heard = now;
    }

    /// The claim of `peer` to `to`, if it has one.
    pub(super) fn get_mut(&mut self, peer: &NodeId, to: TransportAddr) -> Option<&mut Claim> {
        self.entries.get_mut(&(*peer, to))
    }

    /// How many claims the table holds.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }
}
