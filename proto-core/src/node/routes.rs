//! The routing table: for each known peer, its key, several addresses with their preference and
//! failure record, and the newest signed address record seen for it.
//!
//! **Choosing an address.** An address is *usable* if it has not failed since it last worked,
//! or if `route_retry_after` has passed since its last failure. Among a peer's addresses the
//! best is the first by: usable, then higher preference, then more recent success, then fewer
//! consecutive failures, then the order they were learnt in.
//!
//! **Bounds.** At most `max_routes` peers and `max_addresses_per_peer` addresses each. A new
//! peer beyond the bound evicts the least recently used peer that has no session with us (the
//! least recently used of all if every peer has one); a new address beyond the bound replaces
//! the peer's worst-ranked address. BTree collections only: iteration order is part of the
//! node's determinism.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::cmp::Reverse;
use core::time::Duration;

use crate::address::Address;
use crate::identity::{NodeId, PublicKey};
use crate::relay_address::RelayAddress;
use crate::routing::AddressRecord;
use crate::time::{Instant, UnixMillis};
use crate::transport::TransportAddr;

/// Preference of addresses learnt without one (sends, inbound frames, records).
pub(crate) const DEFAULT_PREFERENCE: u8 = 100;

/// One way to reach a peer. Only addresses of the transports the core speaks are kept, and
/// such an address is fully given by its transport address: storing that alone keeps an idle
/// peer small (about 70 bytes an address).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RouteAddress {
    pub(crate) transport: TransportAddr,
    /// Higher is tried first.
    pub(crate) preference: u8,
    pub(crate) consecutive_failures: u32,
    pub(crate) last_failure: Option<Instant>,
    pub(crate) last_success: Option<Instant>,
    /// The peer signed this address as its own in a frame we authenticated. Such an address
    /// may be private (behind a NAT): until it proves it receives, sends go where the peer was
    /// last heard from instead (`Node::path_for`).
    pub(crate) signed: bool,
}

impl RouteAddress {
    /// The peer's node address (no callsign) for this transport.
    pub(crate) fn address(&self) -> Address {
        Address::from_transport(self.transport)
    }

    fn usable(&self, now: Instant, retry_after: Duration) -> bool {
        self.consecutive_failures == 0
            || self
                .last_failure
                .is_none_or(|failed| now.saturating_duration_since(failed) >= retry_after)
    }

    /// Sort key: smaller is better.
    fn rank(
        &self,
        order: usize,
        now: Instant,
        retry_after: Duration,
    ) -> (bool, Reverse<u8>, Reverse<Option<Instant>>, u32, usize) {
        (
            !self.usable(now, retry_after),
            Reverse(self.preference),
            Reverse(self.last_success),
            self.consecutive_failures,
            order,
        )
    }
}

/// A record held for a peer: what lookups are answered with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct HeldRecord {
    pub(crate) seq: u64,
    pub(crate) expires: UnixMillis,
    pub(crate) bytes: Vec<u8>,
}

/// Most relay addresses kept for one peer: the newest replaces the oldest.
pub(crate) const MAX_RELAYS_PER_PEER: usize = 2;

/// Everything known about one peer.
#[derive(Clone, Debug)]
pub(crate) struct PeerRoute {
    pub(crate) addresses: Vec<RouteAddress>,
    /// Our nodes that forward to this peer (from its record or the address it signed), newest
    /// first, at most [`MAX_RELAYS_PER_PEER`]: how it is reached when no direct path is open.
    pub(crate) relays: Vec<RelayAddress>,
    pub(crate) record: Option<HeldRecord>,
    pub(crate) last_used: Instant,
}

/// The table's bounds and retry policy (from [`Config`](crate::Config)).
#[derive(Clone, Copy, Debug)]
pub(crate) struct RouteLimits {
    pub(crate) max_routes: usize,
    pub(crate) max_addresses_per_peer: usize,
    pub(crate) retry_after: Duration,
}

/// The routing table.
pub(crate) struct RoutingTable {
    peers: BTreeMap<NodeId, PeerRoute>,
    limits: RouteLimits,
}

impl RoutingTable {
    pub(crate) fn new(limits: RouteLimits) -> Self {
        Self {
            peers: BTreeMap::new(),
            limits,
        }
    }

    /// How many peers are known.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.peers.len()
    }

    pub(crate) fn get(&self, peer: &NodeId) -> Option<&PeerRoute> {
        self.peers.get(peer)
    }

    /// Learns that `key` is reached at `address` (a callsign is dropped). An address already
    /// known keeps its failure record; `reset` clears it (the peer was just heard from there, or
    /// the application insists on it). Addresses of types without a transport are ignored.
    /// `has_session` protects peers from eviction. Returns false if nothing was stored.
    pub(crate) fn learn(
        &mut self,
        key: PublicKey,
        address: &Address,
        preference: Option<u8>,
        reset: bool,
        now: Instant,
        has_session: &dyn Fn(&NodeId) -> bool,
    ) -> bool {
        let limits = self.limits;
        if let Some(relay) = RelayAddress::from_address(address) {
            return self.learn_relay(key, relay, now, has_session);
        }
        let Some(transport) = address.transport().filter(|t| !t.is_unspecified()) else {
            return false;
        };
        if limits.max_addresses_per_peer == 0 {
            return false;
        }
        let Some(route) = self.entry(key.node_id(), now, has_session) else {
            return false;
        };
        if let Some(known) = route
            .addresses
            .iter_mut()
            .find(|known| known.transport == transport)
        {
            if let Some(preference) = preference {
                known.preference = preference;
            }
            if reset {
                known.consecutive_failures = 0;
                known.last_failure = None;
            }
            return true;
        }
        if route.addresses.len() >= limits.max_addresses_per_peer {
            let worst = route
                .addresses
                .iter()
                .enumerate()
                .max_by_key(|(order, known)| known.rank(*order, now, limits.retry_after))
                .map(|(order, _)| order);
            if let Some(worst) = worst {
                route.addresses.remove(worst);
            }
        }
        route.addresses.push(RouteAddress {
            transport,
            preference: preference.unwrap_or(DEFAULT_PREFERENCE),
            consecutive_failures: 0,
            last_failure: None,
            last_success: None,
            signed: false,
        });
        true
    }

    /// Learns that `key` is reached through `relay`, newest first.
    fn learn_relay(
        &mut self,
        key: PublicKey,
        relay: RelayAddress,
        now: Instant,
        has_session: &dyn Fn(&NodeId) -> bool,
    ) -> bool {
        // A node is never its own relay.
        if relay.relay == key {
            return false;
        }
        let Some(route) = self.entry(key.node_id(), now, has_session) else {
            return false;
        };
        route.relays.retain(|known| *known != relay);
        route.relays.insert(0, relay);
        route.relays.truncate(MAX_RELAYS_PER_PEER);
        true
    }

    /// The route of `peer`, made (evicting another at the bound) if it is new, and marked used.
    fn entry(
        &mut self,
        peer: NodeId,
        now: Instant,
        has_session: &dyn Fn(&NodeId) -> bool,
    ) -> Option<&mut PeerRoute> {
        if self.limits.max_routes == 0 {
            return None;
        }
        if !self.peers.contains_key(&peer) {
            while self.peers.len() >= self.limits.max_routes {
                if !self.evict(has_session) {
                    return None;
                }
            }
            self.peers.insert(
                peer,
                PeerRoute {
                    addresses: Vec::new(),
                    relays: Vec::new(),
                    record: None,
                    last_used: now,
                },
            );
        }
        let route = self.peers.get_mut(&peer)?;
        route.last_used = now;
        Some(route)
    }

    /// Evicts the least recently used peer without a session (or, failing that, the least
    /// recently used). False if the table is empty.
    fn evict(&mut self, has_session: &dyn Fn(&NodeId) -> bool) -> bool {
        let victim = self
            .peers
            .iter()
            .min_by_key(|(peer, route)| (has_session(peer), route.last_used))
            .map(|(peer, _)| *peer);
        victim.is_some_and(|peer| self.peers.remove(&peer).is_some())
    }

    /// The address to send to `peer` on now, if one is usable.
    pub(crate) fn best(
        &self,
        peer: &NodeId,
        now: Instant,
        retry_after: Duration,
    ) -> Option<&RouteAddress> {
        self.peers
            .get(peer)?
            .addresses
            .iter()
            .enumerate()
            .min_by_key(|(order, known)| known.rank(*order, now, retry_after))
            .map(|(_, known)| known)
            .filter(|known| known.usable(now, retry_after))
    }

    /// Notes that `peer` signed `transport` as its own (see [`RouteAddress::signed`]).
    pub(crate) fn mark_signed(&mut self, peer: &NodeId, transport: TransportAddr) {
        if let Some(known) = self.peers.get_mut(peer).and_then(|route| {
            route
                .addresses
                .iter_mut()
                .find(|known| known.transport == transport)
        }) {
            known.signed = true;
        }
    }

    /// Whether `peer` signed `transport` as its own.
    pub(crate) fn is_signed(&self, peer: &NodeId, transport: TransportAddr) -> bool {
        self.peers.get(peer).is_some_and(|route| {
            route
                .addresses
                .iter()
                .any(|known| known.transport == transport && known.signed)
        })
    }

    /// The address of `peer` on `protocol` that an authenticated frame came from most
    /// recently, if that was less than `lifetime` ago.
    pub(crate) fn recently_heard(
        &self,
        peer: &NodeId,
        protocol: crate::transport::Protocol,
        now: Instant,
        lifetime: Duration,
    ) -> Option<TransportAddr> {
        self.peers
            .get(peer)?
            .addresses
            .iter()
            .filter(|known| known.transport.protocol == protocol)
            .filter_map(|known| known.last_success.map(|heard| (heard, known.transport)))
            .filter(|(heard, _)| now.saturating_duration_since(*heard) < lifetime)
            .max_by_key(|(heard, _)| *heard)
            .map(|(_, transport)| transport)
    }

    /// Whether `transport` is one of `peer`'s addresses and is usable now (true for an address
    /// the table does not hold: nothing says it fails).
    pub(crate) fn is_usable(
        &self,
        peer: &NodeId,
        transport: TransportAddr,
        now: Instant,
        retry_after: Duration,
    ) -> bool {
        self.peers
            .get(peer)
            .and_then(|route| {
                route
                    .addresses
                    .iter()
                    .find(|known| known.transport == transport)
            })
            .is_none_or(|known| known.usable(now, retry_after))
    }

    /// Records that sending to `transport` failed. Returns the peers reached there.
    pub(crate) fn mark_failed(&mut self, transport: TransportAddr, now: Instant) -> Vec<NodeId> {
        let mut peers = Vec::new();
        for (peer, route) in &mut self.peers {
            for known in &mut route.addresses {
                if known.transport == transport {
                    known.consecutive_failures = known.consecutive_failures.saturating_add(1);
                    known.last_failure = Some(now);
                    peers.push(*peer);
                }
            }
        }
        peers
    }

    /// Records that `peer` was heard from `transport`: if it is one of its addresses, it works.
    pub(crate) fn mark_success(&mut self, peer: &NodeId, transport: TransportAddr, now: Instant) {
        let Some(route) = self.peers.get_mut(peer) else {
            return;
        };
        route.last_used = now;
        if let Some(known) = route
            .addresses
            .iter_mut()
            .find(|known| known.transport == transport)
        {
            known.consecutive_failures = 0;
            known.last_failure = None;
            known.last_success = Some(now);
        }
    }

    /// Notes that `peer` was used now (it ages last for eviction).
    pub(crate) fn touch(&mut self, peer: &NodeId, now: Instant) {
        if let Some(route) = self.peers.get_mut(peer) {
            route.last_used = now;
        }
    }

    /// The `seq` of the record held for `peer`, if any.
    pub(crate) fn record_seq(&self, peer: &NodeId) -> Option<u64> {
        self.peers.get(peer)?.record.as_ref().map(|held| held.seq)
    }

    /// Stores a checked record newer than the one held: its addresses are learnt afresh (their
    /// failures forgotten) and addresses only the replaced record listed are dropped.
    pub(crate) fn accept_record(
        &mut self,
        record: &AddressRecord,
        now: Instant,
        has_session: &dyn Fn(&NodeId) -> bool,
    ) -> bool {
        let peer = record.key.node_id();
        if self.record_seq(&peer).is_some_and(|seq| seq >= record.seq) {
            return false;
        }
        if let Some(route) = self.peers.get_mut(&peer) {
            if let Some(old) = route.record.take() {
                if let Ok(old) = AddressRecord::decode(&old.bytes) {
                    route.addresses.retain(|known| {
                        !old.addresses
                            .iter()
                            .any(|listed| listed.transport() == Some(known.transport))
                    });
                    route.relays.retain(|known| {
                        !old.addresses
                            .iter()
                            .any(|listed| RelayAddress::from_address(listed) == Some(*known))
                    });
                }
            }
        }
        let mut stored = false;
        for address in &record.addresses {
            stored |= self.learn(record.key, address, None, true, now, has_session);
        }
        let Some(route) = self.peers.get_mut(&peer) else {
            return false;
        };
        route.record = Some(HeldRecord {
            seq: record.seq,
            expires: record.expires,
            bytes: record.bytes.clone(),
        });
        stored || !route.addresses.is_empty() || !route.relays.is_empty()
    }

    /// Up to `count` peers other than `exclude` with a usable address, most recently used
    /// first: whom to ask in a lookup.
    pub(crate) fn peers_to_ask(
        &self,
        exclude: &NodeId,
        skip: &[NodeId],
        count: usize,
        now: Instant,
        retry_after: Duration,
    ) -> Vec<(NodeId, Address, TransportAddr)> {
        let mut candidates: Vec<(Instant, NodeId, Address, TransportAddr)> = self
            .peers
            .keys()
            .filter(|peer| *peer != exclude && !skip.contains(peer))
            .filter_map(|peer| {
                let best = self.best(peer, now, retry_after)?;
                let used = self.peers.get(peer)?.last_used;
                Some((used, *peer, best.address(), best.transport))
            })
            .collect();
        candidates.sort_by_key(|(used, peer, _, _)| (Reverse(*used), *peer));
        candidates
            .into_iter()
            .take(count)
            .map(|(_, peer, address, transport)| (peer, address, transport))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Identity;

    const LIMITS: RouteLimits = RouteLimits {
        max_routes: 3,
        max_addresses_per_peer: 2,
        retry_after: Duration::from_secs(30),
    };

    fn key(byte: u8) -> PublicKey {
        Identity::from_secret_bytes(&[byte; 32]).public_key()
    }

    fn udp(port: u16) -> Address {
        Address::udp(core::net::SocketAddr::from(([127, 0, 0, 1], port)), None)
    }

    fn at(millis: u64) -> Instant {
        Instant::from_millis(millis)
    }

    fn no_sessions(_: &NodeId) -> bool {
        false
    }

    #[test]
    fn the_preferred_usable_address_is_chosen_and_a_failure_falls_back() {
        let mut table = RoutingTable::new(LIMITS);
        let peer = key(1).node_id();
        let now = at(0);
        table.learn(key(1), &udp(1), Some(10), false, now, &no_sessions);
        table.learn(key(1), &udp(2), Some(20), false, now, &no_sessions);
        let best = table.best(&peer, now, LIMITS.retry_after).unwrap();
        assert_eq!(best.address(), udp(2), "higher preference first");
        assert_eq!(table.mark_failed(udp(2).transport().unwrap(), now), [peer]);
        let best = table.best(&peer, now, LIMITS.retry_after).unwrap();
        assert_eq!(best.address(), udp(1), "falls back to the next address");
        table.mark_failed(udp(1).transport().unwrap(), now);
        assert!(
            table.best(&peer, now, LIMITS.retry_after).is_none(),
            "none left"
        );
        // The failed addresses become usable again after the retry delay.
        let later = at(30_000);
        assert_eq!(
            table
                .best(&peer, later, LIMITS.retry_after)
                .unwrap()
                .address(),
            udp(2)
        );
        // Hearing from the peer on an address makes it work again at once.
        table.mark_success(&peer, udp(1).transport().unwrap(), at(1));
        assert_eq!(
            table
                .best(&peer, at(1), LIMITS.retry_after)
                .unwrap()
                .address(),
            udp(1)
        );
    }

    #[test]
    fn learning_again_keeps_failures_unless_told_to_reset() {
        let mut table = RoutingTable::new(LIMITS);
        let peer = key(1).node_id();
        table.learn(key(1), &udp(1), None, false, at(0), &no_sessions);
        table.mark_failed(udp(1).transport().unwrap(), at(0));
        table.learn(key(1), &udp(1), None, false, at(1), &no_sessions);
        assert!(table.best(&peer, at(1), LIMITS.retry_after).is_none());
        table.learn(key(1), &udp(1), None, true, at(1), &no_sessions);
        assert!(table.best(&peer, at(1), LIMITS.retry_after).is_some());
    }

    #[test]
    fn the_least_recently_used_peer_without_a_session_is_evicted_at_the_bound() {
        let mut table = RoutingTable::new(LIMITS);
        for (byte, millis) in [(1, 0), (2, 10), (3, 20)] {
            table.learn(
                key(byte),
                &udp(u16::from(byte)),
                None,
                false,
                at(millis),
                &no_sessions,
            );
        }
        let protected = key(1).node_id();
        let has_session = |peer: &NodeId| *peer == protected;
        table.learn(key(4), &udp(4), None, false, at(30), &has_session);
        assert_eq!(table.len(), 3);
        assert!(
            table.get(&key(1).node_id()).is_some(),
            "a peer with a session stays"
        );
        assert!(
            table.get(&key(2).node_id()).is_none(),
            "the oldest other peer goes"
        );
        assert!(table.get(&key(4).node_id()).is_some());
    }

    #[test]
    fn the_worst_address_is_replaced_at_the_per_peer_bound() {
        let mut table = RoutingTable::new(LIMITS);
        let peer = key(1).node_id();
        table.learn(key(1), &udp(1), Some(50), false, at(0), &no_sessions);
        table.learn(key(1), &udp(2), Some(10), false, at(0), &no_sessions);
        table.learn(key(1), &udp(3), Some(30), false, at(0), &no_sessions);
        let addresses: Vec<Address> = table
            .get(&peer)
            .unwrap()
            .addresses
            .iter()
            .map(RouteAddress::address)
            .collect();
        assert_eq!(addresses, [udp(1), udp(3)]);
    }

    #[test]
    fn only_newer_records_replace_and_their_addresses_replace_the_old_ones() {
        let identity = Identity::from_secret_bytes(&[1; 32]);
        let peer = identity.node_id();
        let mut table = RoutingTable::new(LIMITS);
        let old = AddressRecord::sign(&identity, 2, UnixMillis(1_000), &[udp(1)]).unwrap();
        let new = AddressRecord::sign(&identity, 3, UnixMillis(1_000), &[udp(2)]).unwrap();
        assert!(table.accept_record(&old, at(0), &no_sessions));
        assert!(table.accept_record(&new, at(0), &no_sessions));
        assert!(!table.accept_record(&old, at(0), &no_sessions), "older");
        assert!(!table.accept_record(&new, at(0), &no_sessions), "same seq");
        assert_eq!(table.record_seq(&peer), Some(3));
        let route = table.get(&peer).unwrap();
        assert_eq!(route.addresses.len(), 1);
        assert_eq!(route.addresses[0].address(), udp(2));
    }
}
