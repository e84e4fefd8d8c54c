//! Failed password attempts and the bans they lead to.
//!
//! Bans are kept in wall-clock time so that an adapter can store them ([`Ban`] is plain data)
//! and load them after a restart: the core itself writes no files.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;

use serde::{Deserialize, Serialize};

use crate::address::Address;
use crate::identity::NodeId;
use crate::time::UnixMillis;

/// What a ban applies to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
#[non_exhaustive]
pub enum BanTarget {
    /// A peer id (the SHA-256 of its key).
    Peer(NodeId),
    /// The address a joiner signed its join with, without a callsign: where every answer to it
    /// goes, so a joiner that lies about it never learns whether a guess was right.
    Address(Address),
}

impl BanTarget {
    /// A total order key (addresses compare by their strict JSON).
    fn key(&self) -> String {
        match self {
            Self::Peer(id) => alloc::format!("peer:{id}"),
            Self::Address(address) => alloc::format!("address:{}", address.to_strict_json()),
        }
    }
}

/// One ban: its target and when it ends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ban {
    /// Who is banned.
    pub target: BanTarget,
    /// When the ban ends (wall clock).
    pub until: UnixMillis,
}

/// The bans in force, bounded.
#[derive(Clone, Debug, Default)]
pub(crate) struct BanList {
    bans: BTreeMap<String, Ban>,
}

impl BanList {
    /// Whether `peer` or `address` is banned at `wall`.
    pub(crate) fn is_banned(&self, peer: &NodeId, address: &Address, wall: UnixMillis) -> bool {
        [BanTarget::Peer(*peer), BanTarget::Address(address.clone())]
            .iter()
            .any(|target| {
                self.bans
                    .get(&target.key())
                    .is_some_and(|ban| ban.until > wall)
            })
    }

    /// Bans `target` until `until` (a longer existing ban is kept). When the list is full the
    /// ban that ends first makes room.
    pub(crate) fn ban(
        &mut self,
        target: BanTarget,
        until: UnixMillis,
        max: usize,
        wall: UnixMillis,
    ) {
        self.prune(wall);
        let key = target.key();
        if let Some(existing) = self.bans.get_mut(&key) {
            existing.until = existing.until.max(until);
            return;
        }
        if max == 0 {
            return;
        }
        while self.bans.len() >= max {
            let first_to_end = self
                .bans
                .iter()
                .min_by_key(|(_, ban)| ban.until)
                .map(|(key, _)| key.clone());
            match first_to_end {
                Some(key) => self.bans.remove(&key),
                None => break,
            };
        }
        self.bans.insert(key, Ban { target, until });
    }

    /// Forgets bans that ended.
    pub(crate) fn prune(&mut self, wall: UnixMillis) {
        self.bans.retain(|_, ban| ban.until > wall);
    }

    /// The bans in force, for the adapter to store.
    pub(crate) fn export(&self, wall: UnixMillis) -> Vec<Ban> {
        self.bans
            .values()
            .filter(|ban| ban.until > wall)
            .cloned()
            .collect()
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.bans.len()
    }
}

/// Failed attempts counted per peer id and per address, bounded.
#[derive(Clone, Debug, Default)]
pub(crate) struct AttemptTable {
    /// Target key to (failures, time of the last failure).
    failures: BTreeMap<String, (u32, UnixMillis)>,
}

impl AttemptTable {
    /// Counts one failure for each of `targets` and returns the highest count among them.
    /// Counts older than `window` start again from zero.
    pub(crate) fn fail(
        &mut self,
        targets: &[BanTarget],
        wall: UnixMillis,
        window: Duration,
        max: usize,
    ) -> u32 {
        self.failures
            .retain(|_, (_, last)| last.saturating_add(window) > wall);
        let mut highest = 0;
        for target in targets {
            let key = target.key();
            if !self.failures.contains_key(&key) {
                if max == 0 {
                    continue;
                }
                while self.failures.len() >= max {
                    let oldest = self
                        .failures
                        .iter()
                        .min_by_key(|(_, (_, last))| *last)
                        .map(|(key, _)| key.clone());
                    match oldest {
                        Some(key) => self.failures.remove(&key),
                        None => break,
                    };
                }
            }
            let entry = self.failures.entry(key).or_insert((0, wall));
            entry.0 = entry.0.saturating_add(1);
            entry.1 = wall;
            highest = highest.max(entry.0);
        }
        highest
    }

    /// Forgets the failures of `targets` (after a successful join, or a ban).
    pub(crate) fn clear(&mut self, targets: &[BanTarget]) {
        for target in targets {
            self.failures.remove(&target.key());
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.failures.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Identity;

    fn peer(byte: u8) -> NodeId {
        Identity::from_secret_bytes(&[byte; 32]).node_id()
    }

    fn address(port: u16) -> Address {
        Address::udp(core::net::SocketAddr::from(([127, 0, 0, 1], port)), None)
    }

    #[test]
    fn a_ban_covers_the_peer_or_the_address_until_it_ends() {
        let mut bans = BanList::default();
        let wall = UnixMillis(1_000);
        bans.ban(BanTarget::Peer(peer(1)), UnixMillis(2_000), 8, wall);
        bans.ban(BanTarget::Address(address(9)), UnixMillis(3_000), 8, wall);
        assert!(bans.is_banned(&peer(1), &address(1), wall));
        assert!(bans.is_banned(&peer(2), &address(9), wall));
        assert!(!bans.is_banned(&peer(2), &address(1), wall));
        assert!(!bans.is_banned(&peer(1), &address(1), UnixMillis(2_000)));
        assert!(bans.is_banned(&peer(2), &address(9), UnixMillis(2_999)));
    }

    #[test]
    fn bans_export_and_import_as_json() {
        let mut bans = BanList::default();
        bans.ban(
            BanTarget::Peer(peer(1)),
            UnixMillis(5_000),
            8,
            UnixMillis(0),
        );
        bans.ban(
            BanTarget::Address(address(7)),
            UnixMillis(5_000),
            8,
            UnixMillis(0),
        );
        let text = serde_json::to_string(&bans.export(UnixMillis(0))).unwrap();
        let back: Vec<Ban> = serde_json::from_str(&text).unwrap();
        assert_eq!(back, bans.export(UnixMillis(0)));
        assert!(bans.export(UnixMillis(5_000)).is_empty());
    }

    #[test]
    fn a_full_ban_list_drops_the_ban_that_ends_first() {
        let mut bans = BanList::default();
        let wall = UnixMillis(0);
        bans.ban(BanTarget::Peer(peer(1)), UnixMillis(100), 2, wall);
        bans.ban(BanTarget::Peer(peer(2)), UnixMillis(300), 2, wall);
        bans.ban(BanTarget::Peer(peer(3)), UnixMillis(200), 2, wall);
        assert_eq!(bans.len(), 2);
        assert!(!bans.is_banned(&peer(1), &address(1), wall));
        assert!(bans.is_banned(&peer(2), &address(1), wall));
        assert!(bans.is_banned(&peer(3), &address(1), wall));
    }

    #[test]
    fn failures_count_per_target_and_age_out() {
        let mut table = AttemptTable::default();
        let window = Duration::from_secs(10);
        let both = [BanTarget::Peer(peer(1)), BanTarget::Address(address(1))];
        assert_eq!(table.fail(&both, UnixMillis(0), window, 8), 1);
        // Another key from the same address: the address count is what grows.
        let other = [BanTarget::Peer(peer(2)), BanTarget::Address(address(1))];
        assert_eq!(table.fail(&other, UnixMillis(1), window, 8), 2);
        assert_eq!(table.fail(&both, UnixMillis(20_000), window, 8), 1);
        table.clear(&both);
        assert_eq!(table.len(), 0);
    }

    #[test]
    fn the_attempt_table_is_bounded() {
        let mut table = AttemptTable::default();
        let window = Duration::from_secs(10);
        for byte in 0..10 {
            table.fail(
                &[BanTarget::Peer(peer(byte))],
                UnixMillis(u64::from(byte)),
                window,
                4,
            );
        }
        assert_eq!(table.len(), 4);
    }
}
