//! Hole punching as a sub-machine of the node: the coordinator's rate limits, and our own
//! attempts to open a direct path to a peer we reach through a relay.
//!
//! Two nodes behind NATs that both keep a session with a third node of ours (the
//! coordinator) cannot send to each other: each NAT drops what arrives from an address its
//! host has not sent to. One of them asks the coordinator for an introduction
//! ([`PathMessage::PunchRequest`](crate::path_message::PathMessage::PunchRequest)); the
//! coordinator sends each end, at the same moment, the other's key and candidate addresses
//! (where it sees it, then what it signed). Each end then sends its Noise handshake to every
//! candidate, [`PROBES`] times [`PROBE_INTERVAL`] apart. The first handshake out of a NAT
//! opens it for the other end's address; behind NATs whose mapping does not depend on the
//! destination (endpoint-independent mapping, the typical home router) the other end's
//! handshakes then get through, and the session runs directly. Behind a NAT that picks a new
//! port for every destination (symmetric) the candidates are wrong and no probe arrives; the
//! traffic keeps going through the relay, and the next send after [`REQUEST_INTERVAL`] asks
//! for another introduction.
//!
//! [`Punching`] owns its tables and never reaches into the node: it is told the time and what
//! happened, and answers whether to go ahead and what to probe. The node routes those answers
//! (`node/nat_traversal.rs`).
//!
//! **Bounds.** At most [`MAX_INTRODUCTIONS`] introductions remembered for the pair rate limit
//! (one per pair per [`INTRODUCTION_INTERVAL`]) and [`MAX_INTRODUCTIONS_PER_SECOND`] made in
//! any one second; at most [`MAX_ATTEMPTS`] attempts of our own at once, and
//! [`MAX_REQUESTS`] remembered requests. Every table is a `BTreeMap`: iteration order is part
//! of the node's determinism.

#[cfg(test)]
mod tests;

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::time::Duration;

use super::bounded::insert_evicting_oldest;
use crate::identity::{NodeId, PublicKey};
use crate::time::Instant;
use crate::transport::TransportAddr;

/// Handshakes sent to each candidate in one attempt.
pub(crate) const PROBES: u8 = 20;
/// Time between two rounds of probes: the attempt lasts `PROBES` x this (2 s), well inside
/// the 30 s or more a NAT keeps a mapping, so the two ends need not start at the same instant.
pub(crate) const PROBE_INTERVAL: Duration = Duration::from_millis(100);
/// Time between two introductions of the same pair by one coordinator.
pub(crate) const INTRODUCTION_INTERVAL: Duration = Duration::from_secs(2);
/// Introductions a coordinator makes in any one second, all pairs together.
pub(crate) const MAX_INTRODUCTIONS_PER_SECOND: u32 = 64;
/// Pairs a coordinator remembers for the pair rate limit.
pub(crate) const MAX_INTRODUCTIONS: usize = 256;
/// Our own attempts in progress at once.
pub(crate) const MAX_ATTEMPTS: usize = 16;
/// Time between two requests of ours for the same peer: while traffic to it goes through a
/// relay, the direct path is tried again this often.
pub(crate) const REQUEST_INTERVAL: Duration = Duration::from_secs(5);
/// Peers whose last request time we remember.
pub(crate) const MAX_REQUESTS: usize = 256;

/// One attempt of ours to reach `peer` directly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Attempt {
    pub(crate) peer: PublicKey,
    pub(crate) candidates: Vec<TransportAddr>,
    pub(crate) probes_left: u8,
    pub(crate) next_probe: Instant,
}

/// What the probe timer found for one attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Due {
    /// Send a round of probes to these candidates.
    Probe(PublicKey, Vec<TransportAddr>),
    /// Every probe went out and no session came of it.
    GaveUp(PublicKey),
}

/// The counters merged into the node's [`Stats`](crate::Stats).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Counters {
    pub(crate) requests_sent: u64,
    pub(crate) introductions: u64,
    pub(crate) introductions_refused: u64,
    pub(crate) attempts: u64,
    pub(crate) succeeded: u64,
    pub(crate) failed: u64,
}

/// The hole-punching tables of one node.
#[derive(Default)]
pub(crate) struct Punching {
    /// Coordinator side: when each (requester, target) pair was last introduced.
    introduced: BTreeMap<(NodeId, NodeId), Instant>,
    /// Coordinator side: the current one-second window and the introductions made in it.
    window: Option<(Instant, u32)>,
    /// Our attempts, by peer.
    attempts: BTreeMap<NodeId, Attempt>,
    /// When we last asked a coordinator to introduce us to each peer.
    requested: BTreeMap<NodeId, Instant>,
    pub(crate) counters: Counters,
}

impl Punching {
    /// Whether to ask for an introduction to `peer` now (at most once per
    /// [`REQUEST_INTERVAL`], and not while an attempt is in progress); remembers the request.
    pub(crate) fn should_request(&mut self, peer: NodeId, now: Instant) -> bool {
        if self.attempts.contains_key(&peer) {
            return false;
        }
        if self
            .requested
            .get(&peer)
            .is_some_and(|at| now.saturating_duration_since(*at) < REQUEST_INTERVAL)
        {
            return false;
        }
        insert_bounded(&mut self.requested, peer, now, MAX_REQUESTS);
        self.counters.requests_sent += 1;
        true
    }

    /// Coordinator side: whether to introduce `requester` and `target` now.
    pub(crate) fn admit_introduction(
        &mut self,
        requester: NodeId,
        target: NodeId,
        now: Instant,
    ) -> bool {
        // One key for the pair, whichever end asks.
        let pair = if requester <= target {
            (requester, target)
        } else {
            (target, requester)
        };
        let recent = self
            .introduced
            .get(&pair)
            .is_some_and(|at| now.saturating_duration_since(*at) < INTRODUCTION_INTERVAL);
        let (start, count) = match self.window {
            Some((start, count))
                if now.saturating_duration_since(start) < Duration::from_secs(1) =>
            {
                (start, count)
            }
            _ => (now, 0),
        };
        if recent || count >= MAX_INTRODUCTIONS_PER_SECOND {
            self.counters.introductions_refused += 1;
            return false;
        }
        self.window = Some((start, count + 1));
        insert_bounded(&mut self.introduced, pair, now, MAX_INTRODUCTIONS);
        self.counters.introductions += 1;
        true
    }

    /// Starts (or restarts) an attempt to reach `peer` at `candidates`, probing at once.
    /// False when [`MAX_ATTEMPTS`] others are in progress.
    pub(crate) fn start(
        &mut self,
        peer: PublicKey,
        candidates: Vec<TransportAddr>,
        now: Instant,
    ) -> bool {
        let id = peer.node_id();
        if !self.attempts.contains_key(&id) && self.attempts.len() >= MAX_ATTEMPTS {
            return false;
        }
        self.attempts.insert(
            id,
            Attempt {
                peer,
                candidates,
                probes_left: PROBES,
                next_probe: now,
            },
        );
        self.counters.attempts += 1;
        true
    }

    /// Whether an attempt to reach `peer` probes `address`: a handshake answered from there
    /// proves the address receives.
    pub(crate) fn is_candidate(&self, peer: &NodeId, address: TransportAddr) -> bool {
        self.attempts
            .get(peer)
            .is_some_and(|attempt| attempt.candidates.contains(&address))
    }

    /// Whether we asked for an introduction to `peer` (and have not reached it since).
    pub(crate) fn asked_for(&self, peer: &NodeId) -> bool {
        self.requested.contains_key(peer)
    }

    /// Whether an attempt to reach `peer` is in progress.
    pub(crate) fn in_progress(&self, peer: &NodeId) -> bool {
        self.attempts.contains_key(peer)
    }

    /// Ends the attempt to reach `peer`: a session runs directly. True if there was one.
    pub(crate) fn succeeded(&mut self, peer: &NodeId) -> bool {
        let ended = self.attempts.remove(peer).is_some();
        if ended {
            self.counters.succeeded += 1;
            self.requested.remove(peer);
        }
        ended
    }

    /// The probes due at `now`, and the attempts that have sent their last.
    pub(crate) fn due(&mut self, now: Instant) -> Vec<Due> {
        let mut due = Vec::new();
        self.attempts.retain(|_, attempt| {
            if attempt.next_probe > now {
                return true;
            }
            if attempt.probes_left == 0 {
                due.push(Due::GaveUp(attempt.peer));
                return false;
            }
            attempt.probes_left -= 1;
            attempt.next_probe = now + PROBE_INTERVAL;
            due.push(Due::Probe(attempt.peer, attempt.candidates.clone()));
            true
        });
        let gave_up = due
            .iter()
            .filter(|due| matches!(due, Due::GaveUp(_)))
            .count();
        self.counters.failed += gave_up as u64;
        due
    }

    /// When the next probe is due.
    pub(crate) fn next_timeout(&self) -> Option<Instant> {
        self.attempts
            .values()
            .map(|attempt| attempt.next_probe)
            .min()
    }

    /// Adds the counters to the node's.
    pub(crate) fn add_stats(&self, stats: &mut crate::Stats) {
        let counters = &self.counters;
        stats.transport.punch_requests_sent += counters.requests_sent;
        stats.transport.punch_introductions += counters.introductions;
        stats.transport.punch_introductions_refused += counters.introductions_refused;
        stats.transport.punch_attempts += counters.attempts;
        stats.transport.punch_succeeded += counters.succeeded;
        stats.transport.punch_failed += counters.failed;
    }

    /// Entries held, all tables together (for the bound tests).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.introduced.len() + self.attempts.len() + self.requested.len()
    }
}

/// Inserts `key` at `at`, first forgetting the entry with the oldest time if the map is full.
fn insert_bounded<K: Ord + Copy>(
    map: &mut BTreeMap<K, Instant>,
    key: K,
    at: Instant,
    bound: usize,
) {
    insert_evicting_oldest(map, key, at, bound, |at| *at);
}
