//! This node's reflexive addresses: where peers see its frames come from (a NAT's public
//! mapping), as they tell it inside their sessions (`crate::path_message`).
//!
//! **Why several peers.** One peer's word is one observation: behind an endpoint-independent
//! NAT every peer sees the same mapping, behind a symmetric NAT each sees another. The table
//! keeps the latest observation of each of the last [`MAX_OBSERVERS`] peers, so the node can
//! say which mappings several peers agree on and notice when they change (a NAT rebinding).
//!
//! **Bounds.** At most [`MAX_OBSERVERS`] observers; a new one beyond the bound replaces the
//! one heard from least recently. BTree collections only: iteration order is part of the
//! node's determinism.

#[cfg(test)]
mod tests;

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::net::SocketAddr;

use super::bounded::insert_evicting_oldest;
use crate::identity::NodeId;
use crate::time::Instant;

/// Most peers whose observation of our address is kept.
pub(super) const MAX_OBSERVERS: usize = 16;

/// What one observation changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Observation {
    /// The observer saw what it saw before.
    Same,
    /// An address no current observer reported before: new to this node.
    New,
    /// The observer saw us elsewhere before (our mapping toward it changed).
    Changed {
        /// What it saw before.
        before: SocketAddr,
    },
}

/// The latest observation of each recent observer.
#[derive(Default)]
pub(super) struct Reflexive {
    by_observer: BTreeMap<NodeId, (SocketAddr, Instant)>,
}

impl Reflexive {
    /// `observer` says it sees us at `address`.
    pub(super) fn observe(
        &mut self,
        observer: NodeId,
        address: SocketAddr,
        now: Instant,
    ) -> Observation {
        let known_elsewhere = self
            .by_observer
            .iter()
            .any(|(by, (seen, _))| *by != observer && *seen == address);
        let before = self.by_observer.get(&observer).map(|(seen, _)| *seen);
        insert_evicting_oldest(
            &mut self.by_observer,
            observer,
            (address, now),
            MAX_OBSERVERS,
            |(_, at)| *at,
        );
        match before {
            Some(before) if before == address => Observation::Same,
            Some(before) => Observation::Changed { before },
            None if known_elsewhere => Observation::Same,
            None => Observation::New,
        }
    }

    /// How many observers see us at `address` now.
    pub(super) fn agreeing(&self, address: SocketAddr) -> usize {
        self.by_observer
            .values()
            .filter(|(seen, _)| *seen == address)
            .count()
    }

    /// Where `observer` last saw us.
    pub(super) fn seen_by(&self, observer: &NodeId) -> Option<SocketAddr> {
        self.by_observer.get(observer).map(|(seen, _)| *seen)
    }

    /// Whether some observer sees us at `address`.
    pub(super) fn contains(&self, address: SocketAddr) -> bool {
        self.by_observer.values().any(|(seen, _)| *seen == address)
    }

    /// Every address observers see us at, with how many see it, most agreed first.
    pub(super) fn addresses(&self) -> Vec<(SocketAddr, usize)> {
        let mut counted: BTreeMap<SocketAddr, usize> = BTreeMap::new();
        for (seen, _) in self.by_observer.values() {
            *counted.entry(*seen).or_default() += 1;
        }
        let mut addresses: Vec<_> = counted.into_iter().collect();
        addresses.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        addresses
    }
}
