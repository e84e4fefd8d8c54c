//! The table of open queries: what each waits for (the reference a reply must carry and the
//! peer that must sign it) and its deadlines.
//!
//! Queries are keyed by their message id, indexed by reference, and their deadlines are kept
//! in ordered sets so the next one is found at once. BTree collections only: iteration order is
//! part of the node's determinism.

use alloc::collections::{BTreeMap, BTreeSet};

use crate::event::MessageId;
use crate::identity::PublicKey;
use crate::time::Instant;

/// One query waiting for its reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct OpenQuery {
    /// Who must answer.
    pub(crate) peer: PublicKey,
    /// The reference its reply carries.
    pub(crate) reference: [u8; 32],
    /// When it was sent, to time the round trip.
    pub(crate) sent: Instant,
    /// When to say "no answer yet", if that comes before `hard`.
    pub(crate) soft: Option<Instant>,
    /// When to give up.
    pub(crate) hard: Instant,
    /// Whether the soft timeout was reported.
    pub(crate) soft_fired: bool,
}

/// A deadline that came due.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Due {
    /// The soft timeout of this query: it stays open.
    Soft(MessageId),
    /// The hard timeout: the query is gone.
    Hard(MessageId),
}

/// The open queries.
#[derive(Default)]
pub(crate) struct QueryTable {
    by_id: BTreeMap<MessageId, OpenQuery>,
    by_reference: BTreeMap<[u8; 32], MessageId>,
    soft: BTreeSet<(Instant, MessageId)>,
    hard: BTreeSet<(Instant, MessageId)>,
}

impl QueryTable {
    /// How many queries are open.
    pub(crate) fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Opens a query. A soft deadline at or after the hard one is dropped (it would never
    /// fire). Returns false, changing nothing, if the id or reference is already open.
    pub(crate) fn insert(&mut self, id: MessageId, mut query: OpenQuery) -> bool {
        if self.by_id.contains_key(&id) || self.by_reference.contains_key(&query.reference) {
            return false;
        }
        query.soft = query.soft.filter(|soft| *soft < query.hard);
        if let Some(soft) = query.soft {
            self.soft.insert((soft, id));
        }
        self.hard.insert((query.hard, id));
        self.by_reference.insert(query.reference, id);
        self.by_id.insert(id, query);
        true
    }

    /// Closes query `id`, returning it.
    pub(crate) fn remove(&mut self, id: MessageId) -> Option<OpenQuery> {
        let query = self.by_id.remove(&id)?;
        self.by_reference.remove(&query.reference);
        if let Some(soft) = query.soft {
            self.soft.remove(&(soft, id));
        }
        self.hard.remove(&(query.hard, id));
        Some(query)
    }

    /// Closes and returns the query a reply from `from` carrying `reference` answers: only a
    /// reply signed by the peer the query went to matches.
    pub(crate) fn take_answered(
        &mut self,
        reference: &[u8; 32],
        from: &PublicKey,
    ) -> Option<(MessageId, OpenQuery)> {
        let id = *self.by_reference.get(reference)?;
        if self.by_id.get(&id)?.peer != *from {
            return None;
        }
        self.remove(id).map(|query| (id, query))
    }

    /// The open queries to the peer with id `peer`, in id order.
    pub(crate) fn ids_for_peer(
        &self,
        peer: &crate::identity::NodeId,
    ) -> alloc::vec::Vec<MessageId> {
        self.by_id
            .iter()
            .filter(|(_, query)| query.peer.node_id() == *peer)
            .map(|(id, _)| *id)
            .collect()
    }

    /// The next deadline, and whether it is a soft one.
    pub(crate) fn next_deadline(&self) -> Option<(Instant, bool)> {
        let soft = self.soft.first().map(|(at, _)| (*at, true));
        let hard = self.hard.first().map(|(at, _)| (*at, false));
        match (soft, hard) {
            (Some(soft), Some(hard)) => Some(if soft.0 <= hard.0 { soft } else { hard }),
            (soft, hard) => soft.or(hard),
        }
    }

    /// The earliest deadline due at `now`, applied: a soft one is marked reported, a hard one
    /// closes its query. Soft deadlines go first when both are due at the same instant.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<Due> {
        let (at, soft) = self.next_deadline()?;
        if at > now {
            return None;
        }
        if soft {
            let (_, id) = self.soft.pop_first()?;
            if let Some(query) = self.by_id.get_mut(&id) {
                query.soft_fired = true;
            }
            Some(Due::Soft(id))
        } else {
            let (_, id) = *self.hard.first()?;
            self.remove(id).map(|_| Due::Hard(id))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Identity;
    use core::time::Duration;

    fn key(byte: u8) -> PublicKey {
        Identity::from_secret_bytes(&[byte; 32]).public_key()
    }

    fn query(reference: u8, soft: Option<u64>, hard: u64) -> OpenQuery {
        OpenQuery {
            peer: key(1),
            reference: [reference; 32],
            sent: Instant::ZERO,
            soft: soft.map(Instant::from_millis),
            hard: Instant::from_millis(hard),
            soft_fired: false,
        }
    }

    #[test]
    fn replies_match_by_reference_and_peer_once() {
        let mut table = QueryTable::default();
        assert!(table.insert(MessageId([1; 16]), query(1, None, 100)));
        assert!(
            !table.insert(MessageId([1; 16]), query(2, None, 100)),
            "same id"
        );
        assert!(
            !table.insert(MessageId([2; 16]), query(1, None, 100)),
            "same reference"
        );
        assert_eq!(table.take_answered(&[1; 32], &key(2)), None, "wrong signer");
        assert_eq!(
            table.take_answered(&[9; 32], &key(1)),
            None,
            "unknown reference"
        );
        let (id, _) = table.take_answered(&[1; 32], &key(1)).unwrap();
        assert_eq!(id, MessageId([1; 16]));
        assert_eq!(
            table.take_answered(&[1; 32], &key(1)),
            None,
            "answered once"
        );
        assert_eq!(table.len(), 0);
        assert_eq!(table.next_deadline(), None);
    }

    #[test]
    fn deadlines_come_due_in_order_soft_first() {
        let mut table = QueryTable::default();
        table.insert(MessageId([1; 16]), query(1, Some(50), 100));
        table.insert(MessageId([2; 16]), query(2, Some(200), 100));
        table.insert(MessageId([3; 16]), query(3, Some(100), 300));
        assert_eq!(
            table.next_deadline(),
            Some((Instant::from_millis(50), true))
        );
        assert_eq!(table.pop_due(Instant::from_millis(49)), None);
        let now = Instant::from_millis(100);
        assert_eq!(table.pop_due(now), Some(Due::Soft(MessageId([1; 16]))));
        assert_eq!(table.pop_due(now), Some(Due::Soft(MessageId([3; 16]))));
        assert_eq!(table.pop_due(now), Some(Due::Hard(MessageId([1; 16]))));
        // Query 2's soft deadline came after its hard one: it never fires.
        assert_eq!(table.pop_due(now), Some(Due::Hard(MessageId([2; 16]))));
        assert_eq!(table.pop_due(now), None);
        assert_eq!(table.len(), 1);
        let open = table.remove(MessageId([3; 16])).unwrap();
        assert!(open.soft_fired);
        assert_eq!(open.hard, Instant::ZERO + Duration::from_millis(300));
        assert_eq!(table.next_deadline(), None);
    }
}
