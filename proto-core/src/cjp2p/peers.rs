//! The bounded table of CJP2P peers, and the hints of who may hold which content.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use core::net::SocketAddr;
use core::ops::Bound;
use core::time::Duration;

use serde::{Deserialize, Serialize};

use super::message::Cookie;
use crate::identity::PublicKey;
use crate::time::Instant;

/// What the node knows about one CJP2P peer (see [`crate::Cjp2p::peers`](crate::Cjp2p::peers)).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Cjp2pPeer {
    /// The peer's address.
    pub addr: SocketAddr,
    /// When it last sent us a verified datagram; `None` for a candidate not heard from yet.
    pub heard: Option<Instant>,
    /// Whether it has returned our cookie, and not given us a new one of its own since (it may
    /// have returned ours only in kind): datagrams to it need not carry ours.
    pub verified_us: bool,
    /// The latest round-trip time measured with `PleaseReturnThisMessage`.
    pub rtt: Option<Duration>,
    /// Its ed25519 key: from a verified `SignedMessage`, or claimed by `MyPublicKey`.
    pub key: Option<PublicKey>,
    /// Whether `key` was proved by a signature.
    pub key_signed: bool,
    /// Configured or added by the application: never evicted.
    pub pinned: bool,
    /// Set when the peer said it is one of our nodes (`EjtpSessions`): the most content bytes
    /// it answers one request with. Content is then fetched from it in larger requests, and
    /// over an EJTP session when [`Cjp2pConfig::content_sessions`](super::Cjp2pConfig) allows.
    pub ejtp_max_request: Option<u64>,
}

/// A peer table entry: the public view and what only the node needs.
#[derive(Clone, Debug)]
pub(crate) struct PeerEntry {
    pub(crate) info: Cjp2pPeer,
    /// The peer's cookie, echoed first in every datagram we send it.
    pub(crate) cookie: Option<Cookie>,
    /// Maintenance probes started since it was last heard (each with its retries).
    pub(crate) unanswered: u8,
    /// Whether we sent it our greeting (who we are, and questions).
    pub(crate) greeted: bool,
    /// Whether we greeted it while holding its cookie, so that it could verify the greeting
    /// (who we are is only learned from verified datagrams).
    pub(crate) greeted_verifiably: bool,
    /// How often, and when last, a download asked it who it is (see
    /// `Node::identity_question`).
    pub(crate) identity_asks: u8,
    pub(crate) identity_asked: Option<Instant>,
    /// When the current probe is sent again if still unanswered: `None` once a verified
    /// datagram answers it or its retries are spent.
    pub(crate) retry_at: Option<Instant>,
    /// Retries of the current probe sent so far.
    pub(crate) retries: u8,
    /// When it was added, to evict the oldest candidate first.
    pub(crate) added: Instant,
}

/// The peers, by address, with a bound.
#[derive(Clone, Debug, Default)]
pub(crate) struct PeerTable {
    pub(crate) entries: BTreeMap<SocketAddr, PeerEntry>,
    /// Where the last maintenance round stopped.
    cursor: Option<SocketAddr>,
}

impl PeerTable {
    /// The entry for `addr`, added (as a candidate) if there is room or room can be made.
    ///
    /// A candidate (`heard` false) only ever pushes out another candidate, so a flood of
    /// addresses from `Peers` cannot evict the peers we actually talk to.
    pub(crate) fn entry(
        &mut self,
        addr: SocketAddr,
        now: Instant,
        max: usize,
        heard: bool,
    ) -> Option<&mut PeerEntry> {
        if !self.entries.contains_key(&addr) {
            if max == 0 {
                return None;
            }
            if self.entries.len() >= max {
                let victim = self.eviction_victim(heard)?;
                self.entries.remove(&victim);
            }
            self.entries.insert(
                addr,
                PeerEntry {
                    info: Cjp2pPeer {
                        addr,
                        heard: None,
                        verified_us: false,
                        rtt: None,
                        key: None,
                        key_signed: false,
                        pinned: false,
                        ejtp_max_request: None,
                    },
                    cookie: None,
                    unanswered: 0,
                    greeted: false,
                    greeted_verifiably: false,
                    identity_asks: 0,
                    identity_asked: None,
                    retry_at: None,
                    retries: 0,
                    added: now,
                },
            );
        }
        self.entries.get_mut(&addr)
    }

    /// The unpinned candidate added first, or else the unpinned peer heard least recently.
    fn eviction_victim(&self, may_evict_heard: bool) -> Option<SocketAddr> {
        let unpinned = || self.entries.values().filter(|entry| !entry.info.pinned);
        unpinned()
            .filter(|entry| entry.info.heard.is_none())
            .min_by_key(|entry| entry.added)
            .or_else(|| {
                unpinned()
                    .filter(|_| may_evict_heard)
                    .min_by_key(|entry| entry.info.heard)
            })
            .map(|entry| entry.info.addr)
    }

    /// Peers heard from, most recent first, leaving out `except`, at most `limit`.
    pub(crate) fn heard_peers(&self, except: SocketAddr, limit: usize) -> Vec<SocketAddr> {
        let mut heard: Vec<(&Instant, SocketAddr)> = self
            .entries
            .values()
            .filter(|entry| entry.info.addr != except)
            .filter_map(|entry| entry.info.heard.as_ref().map(|at| (at, entry.info.addr)))
            .collect();
        heard.sort_by(|a, b| b.0.cmp(a.0).then(a.1.cmp(&b.1)));
        heard
            .into_iter()
            .take(limit)
            .map(|(_, addr)| addr)
            .collect()
    }

    /// The next `count` peers after the cursor, in address order and wrapping around: each
    /// maintenance round probes the next few, so every peer is probed in turn.
    pub(crate) fn next_round(&mut self, count: usize) -> Vec<SocketAddr> {
        let count = count.min(self.entries.len());
        let start = self.cursor.map_or(Bound::Unbounded, Bound::Excluded);
        let chosen: Vec<SocketAddr> = self
            .entries
            .range((start, Bound::Unbounded))
            .chain(self.entries.iter())
            .map(|(addr, _)| *addr)
            .take(count)
            .collect();
        self.cursor = chosen.last().copied();
        chosen
    }

    /// The earliest probe retry due, if any.
    pub(crate) fn next_retry(&self) -> Option<Instant> {
        self.entries
            .values()
            .filter_map(|entry| entry.retry_at)
            .min()
    }

    /// The peers whose probe retry is due at `now`.
    pub(crate) fn due_retries(&self, now: Instant) -> Vec<SocketAddr> {
        self.entries
            .values()
            .filter(|entry| entry.retry_at.is_some_and(|at| at <= now))
            .map(|entry| entry.info.addr)
            .collect()
    }
}

/// Who may hold which content, learned from `ContentList`, `Content` and `MaybeTheyHaveSome`.
#[derive(Clone, Debug, Default)]
pub(crate) struct ContentHints {
    by_id: BTreeMap<String, (Instant, Vec<SocketAddr>)>,
}

/// Addresses kept per content id.
pub(crate) const HINT_PEERS_PER_ID: usize = 8;

impl ContentHints {
    /// Remembers that `addr` may hold `id`.
    pub(crate) fn add(&mut self, id: &str, addr: SocketAddr, now: Instant, max_ids: usize) {
        if max_ids == 0 || id.len() > 128 {
            return;
        }
        if !self.by_id.contains_key(id) && self.by_id.len() >= max_ids {
            let oldest = self
                .by_id
                .iter()
                .min_by_key(|(_, (at, _))| *at)
                .map(|(id, _)| id.clone());
            if let Some(oldest) = oldest {
                self.by_id.remove(&oldest);
            }
        }
        let (at, peers) = self
            .by_id
            .entry(String::from(id))
            .or_insert_with(|| (now, Vec::new()));
        *at = now;
        peers.retain(|peer| *peer != addr);
        peers.insert(0, addr);
        peers.truncate(HINT_PEERS_PER_ID);
    }

    /// Peers that may hold `id`, leaving out `except`.
    pub(crate) fn peers_for(&self, id: &str, except: SocketAddr) -> Vec<SocketAddr> {
        self.by_id
            .get(id)
            .map(|(_, peers)| peers.iter().copied().filter(|p| *p != except).collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn table_is_bounded_and_evicts_candidates_before_heard_peers() {
        let mut table = PeerTable::default();
        let now = Instant::ZERO;
        table.entry(addr(1), now, 2, true).unwrap().info.heard = Some(now);
        table.entry(addr(2), now, 2, false).unwrap();
        table.entry(addr(3), now, 2, false).unwrap();
        assert_eq!(table.entries.len(), 2);
        assert!(table.entries.contains_key(&addr(1)));
        assert!(table.entries.contains_key(&addr(3)));
    }

    #[test]
    fn rounds_visit_every_peer_in_turn() {
        let mut table = PeerTable::default();
        for port in 1..=5 {
            table.entry(addr(port), Instant::ZERO, 10, false);
        }
        assert_eq!(table.next_round(2), [addr(1), addr(2)]);
        assert_eq!(table.next_round(2), [addr(3), addr(4)]);
        assert_eq!(table.next_round(2), [addr(5), addr(1)]);
    }

    #[test]
    fn heard_peers_leave_out_the_asker() {
        let mut table = PeerTable::default();
        for port in 1..=3 {
            table
                .entry(addr(port), Instant::ZERO, 10, true)
                .unwrap()
                .info
                .heard = Some(Instant::from_micros(u64::from(port)));
        }
        assert_eq!(table.heard_peers(addr(3), 10), [addr(2), addr(1)]);
    }
}
