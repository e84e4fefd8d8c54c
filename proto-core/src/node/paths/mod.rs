//! Address validation: which transport addresses have proved that they receive what this node
//! sends there, and how much an address that has not may still be sent.
//!
//! **Why.** A UDP source address is not evidence of anything: an attacker can put a victim's
//! address on a datagram. A node that answers where packets come from (what lets it talk to
//! peers behind NATs) must not become an amplifier toward such an address. As QUIC does
//! (RFC 9000 §8), a node sends an address that has not proved it receives at most
//! [`AMPLIFICATION_FACTOR`] times the bytes it received from there.
//!
//! **What proves an address.** A frame from there that its sender could only have made after
//! receiving something this node sent to that same address:
//! - a Noise handshake response, from the address our handshake went to;
//! - a frame on a session, from the address our handshake response went to, or the echo of a
//!   path challenge this node sent there (see `node/reflexive/`);
//! - any byte on a TCP connection (its handshake proved the address).
//!
//! **Addresses never heard from** are not tracked: what this node sends there was asked for by
//! its application or named in a record its owner signed, not triggered by a forged packet.
//!
//! **Bounds.** At most [`Config::max_paths`](crate::Config::max_paths) addresses. A new one
//! beyond the bound evicts the unvalidated address heard from least recently (the least
//! recently heard of all if every address is validated). An evicted address starts again with
//! no credit, so eviction never widens the limit for the bytes already received. BTree
//! collections only: iteration order is part of the node's determinism.

mod claims;
#[cfg(test)]
mod tests;

use claims::{CLAIM_FACTOR, Claims};

use super::bounded::insert_evicting_oldest;

use alloc::collections::BTreeMap;

use crate::identity::NodeId;
use crate::time::Instant;
use crate::transport::{Protocol, TransportAddr};

/// Bytes sent to an address that has not proved it receives, per byte received from it.
pub(crate) const AMPLIFICATION_FACTOR: u64 = 3;

/// What the table knows about one remote transport address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct PathState {
    /// Bytes received from there (datagrams whole, as they arrived).
    received: u64,
    /// Bytes sent there while it was unvalidated.
    sent: u64,
    validated: bool,
    last_heard: Instant,
}

/// What the table counted; merged into the node's [`Stats`](crate::Stats).
#[derive(Clone, Copy, Debug, Default)]
struct Counters {
    /// Transmits refused because they would have passed the amplification limit.
    dropped_amplification: u64,
    /// Addresses that proved they receive.
    paths_validated: u64,
}

/// The address validation table (see the module documentation).
pub(super) struct Paths {
    entries: BTreeMap<TransportAddr, PathState>,
    /// Per peer, where its last signed message came from and when: maybe the peer (behind a
    /// NAT, before its handshake arrived), maybe a relay that forwarded it. At most
    /// `max_entries`, the oldest forgotten first.
    signed_sources: BTreeMap<NodeId, (TransportAddr, Instant)>,
    /// Addresses peers signed as their own but sent from elsewhere (see `claims.rs`). At most
    /// `max_entries`, the least recently heard forgotten first.
    claims: Claims,
    max_entries: usize,
    counters: Counters,
}

impl Paths {
    /// An empty table holding at most `max_entries` addresses.
    pub(super) fn new(max_entries: usize) -> Self {
        Self {
            entries: BTreeMap::new(),
            signed_sources: BTreeMap::new(),
            claims: Claims::default(),
            max_entries,
            counters: Counters::default(),
        }
    }

    /// `len` bytes arrived from `from`. A TCP source is validated at once: its connection's
    /// handshake proved the address.
    pub(super) fn on_received(&mut self, from: TransportAddr, len: usize, now: Instant) {
        let Some(entry) = self.entry(from, now) else {
            return;
        };
        entry.received = entry.received.saturating_add(len as u64);
        entry.last_heard = now;
        if from.protocol == Protocol::Tcp && !entry.validated {
            entry.validated = true;
            self.counters.paths_validated += 1;
        }
    }

    /// `addr` proved that it receives what we send there.
    pub(super) fn validate(&mut self, addr: TransportAddr, now: Instant) {
        let Some(entry) = self.entry(addr, now) else {
            return;
        };
        if !entry.validated {
            entry.validated = true;
            self.counters.paths_validated += 1;
        }
    }

    /// Whether `addr` has proved that it receives.
    pub(super) fn is_validated(&self, addr: &TransportAddr) -> bool {
        self.entries.get(addr).is_some_and(|entry| entry.validated)
    }

    /// Whether `len` more bytes may be sent to `to` now; if so they are counted against its
    /// limit. Refusals are counted.
    pub(super) fn admit(&mut self, to: TransportAddr, len: usize) -> bool {
        let Some(entry) = self.entries.get_mut(&to) else {
            return true;
        };
        if entry.validated {
            return true;
        }
        let after = entry.sent.saturating_add(len as u64);
        if after > entry.received.saturating_mul(AMPLIFICATION_FACTOR) {
            self.counters.dropped_amplification += 1;
            return false;
        }
        entry.sent = after;
        true
    }

    /// `peer` signed `claimed` as its own address in a message of `len` bytes that came from
    /// `source`, elsewhere. Nothing to do if `claimed` has proved it receives.
    pub(super) fn on_claimed(
        &mut self,
        peer: NodeId,
        claimed: TransportAddr,
        source: TransportAddr,
        len: usize,
        now: Instant,
    ) {
        // A TCP address proves itself: nothing reaches it unless its host accepts the
        // connection, and what a refused connect costs the victim is one segment.
        if claimed == source || claimed.protocol == Protocol::Tcp || self.is_validated(&claimed) {
            return;
        }
        self.claims
            .on_claimed((peer, claimed), source, len, now, self.max_entries);
    }

    /// Whether `len` more bytes may be sent to `peer` at `to` now, an address the application
    /// or a signature named: always, unless `peer` claimed `to` while sending from elsewhere
    /// and `to` has not proved it receives (see `claims.rs`). If admitted, the bytes are
    /// counted against the claim and the limit of the address the claim came from.
    pub(super) fn admit_to_peer(&mut self, peer: &NodeId, to: TransportAddr, len: usize) -> bool {
        if self.is_validated(&to) {
            return true;
        }
        let Some(claim) = self.claims.get_mut(peer, to) else {
            return true;
        };
        let after = claim.sent.saturating_add(len as u64);
        let source = claim.source;
        if after > claim.credit.saturating_mul(CLAIM_FACTOR) {
            self.counters.dropped_amplification += 1;
            return false;
        }
        // Counts its own refusal.
        if !self.admit(source, len) {
            return false;
        }
        if let Some(claim) = self.claims.get_mut(peer, to) {
            claim.sent = after;
        }
        true
    }

    /// How many more bytes `peer`'s claim to `to` allows (see `claims.rs`): `None` if nothing
    /// limits sends to `peer` there (no claim, or `to` proved it receives).
    pub(super) fn claim_room(&mut self, peer: &NodeId, to: TransportAddr) -> Option<u64> {
        if self.is_validated(&to) {
            return None;
        }
        let claim = self.claims.get_mut(peer, to)?;
        Some(
            claim
                .credit
                .saturating_mul(CLAIM_FACTOR)
                .saturating_sub(claim.sent),
        )
    }

    /// A message signed by `peer` came from `from` (straight from it, or through a relay).
    pub(super) fn note_signed_source(&mut self, peer: NodeId, from: TransportAddr, now: Instant) {
        if self.max_entries == 0 {
            return;
        }
        insert_evicting_oldest(
            &mut self.signed_sources,
            peer,
            (from, now),
            self.max_entries,
            |(_, at)| *at,
        );
    }

    /// Where `peer`'s last signed message came from, if within `lifetime`.
    pub(super) fn signed_source(
        &self,
        peer: &NodeId,
        now: Instant,
        lifetime: core::time::Duration,
    ) -> Option<TransportAddr> {
        self.signed_sources
            .get(peer)
            .filter(|(_, at)| now.saturating_duration_since(*at) < lifetime)
            .map(|(from, _)| *from)
    }

    /// Adds the table's counters to `stats`.
    pub(super) fn add_stats(&self, stats: &mut crate::Stats) {
        stats.transport.dropped_amplification += self.counters.dropped_amplification;
        stats.transport.paths_validated += self.counters.paths_validated;
    }

    /// How many addresses the table holds (at most `max_entries`).
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    /// How many claims the table holds (at most `max_entries`).
    #[cfg(test)]
    pub(super) fn claims_len(&self) -> usize {
        self.claims.len()
    }

    /// The entry for `addr`, created (evicting if the table is full) if new. `None` only if
    /// the table can hold nothing.
    fn entry(&mut self, addr: TransportAddr, now: Instant) -> Option<&mut PathState> {
        if self.max_entries == 0 {
            return None;
        }
        if !self.entries.contains_key(&addr) {
            while self.entries.len() >= self.max_entries {
                let victim = self
                    .entries
                    .iter()
                    .min_by_key(|(_, state)| (state.validated, state.last_heard))
                    .map(|(addr, _)| *addr)?;
                self.entries.remove(&victim);
            }
            self.entries.insert(
                addr,
                PathState {
                    received: 0,
                    sent: 0,
                    validated: false,
                    last_heard: now,
                },
            );
        }
        self.entries.get_mut(&addr)
    }
}
