//! Lookups as the routing sub-machine runs them: whom to ask, the requests of one round (the
//! node queues them), and the answers it takes. What follows from an answer or a failure for
//! the messages waiting on it is the node's to route.

use alloc::vec::Vec;

use super::Routing;
use crate::address::Address;
use crate::frame;
use crate::identity::NodeId;
use crate::node::context::Context;
use crate::node::lookups::{Lookup, PendingMessage};
use crate::routing::AddressRecord;
use crate::routing::wire;
use crate::transport::TransportAddr;

/// Requests to queue: each lookup request frame and where it goes.
pub(in crate::node) type Requests = Vec<(TransportAddr, Vec<u8>)>;

/// What became of a lookup whose deadline passed.
pub(in crate::node) enum LookupEnd {
    /// It asks again: the requests of its next round.
    Again(Requests),
    /// It is over: `failed` if it found no record after every attempt (else the messages still
    /// waiting failed on every record it found); those messages are given up.
    Over {
        /// The peer looked up.
        target: NodeId,
        /// Whether it found no record.
        failed: bool,
        /// The messages that waited for it.
        waiting: Vec<PendingMessage>,
    },
}

impl Routing {
    /// Starts a lookup of `target` (never `own`, this node), unless one is in flight: the
    /// requests of its first round, empty if one is already in flight. `None` if none could
    /// start (no peer to ask, or `max_pending_lookups` in flight).
    pub(in crate::node) fn start_lookup(
        &mut self,
        ctx: &mut Context,
        target: NodeId,
        own: NodeId,
    ) -> Option<Requests> {
        if self.lookups.by_target.contains_key(&target) {
            return Some(Vec::new());
        }
        if target == own || self.lookups.len() >= ctx.config.max_pending_lookups {
            return None;
        }
        let attempts = ctx.config.lookup_attempts;
        self.lookup_round(ctx, target, Vec::new(), attempts)
    }

    /// One round of requests for `target` to peers not in `asked` (or, if every peer was
    /// asked, to the same peers again), with `attempts` rounds left including this one; the
    /// lookup is kept with its deadline. `None` if no round can go.
    pub(in crate::node) fn lookup_round(
        &mut self,
        ctx: &mut Context,
        target: NodeId,
        mut asked: Vec<NodeId>,
        attempts: u8,
    ) -> Option<Requests> {
        if attempts == 0 {
            return None;
        }
        let mut askees = self.peers_to_ask(ctx, target, &asked);
        if askees.is_empty() {
            askees = self.peers_to_ask(ctx, target, &[]);
        }
        if askees.is_empty() {
            return None;
        }
        let request_id: [u8; 16] = ctx.rng.array();
        let mut requests = Vec::with_capacity(askees.len());
        for (peer, address, transport) in askees {
            let mut frame = frame::sealed_prefix(&address);
            wire::write_lookup_request(&mut frame, &request_id, &target);
            requests.push((transport, frame));
            if !asked.contains(&peer) {
                asked.push(peer);
            }
        }
        ctx.stats.routing.lookups_sent += 1;
        let lookup = Lookup {
            request_id,
            asked,
            deadline: ctx.now + ctx.config.lookup_timeout,
            attempts_left: attempts.saturating_sub(1),
            found: None,
        };
        self.lookups.insert(target, lookup);
        Some(requests)
    }

    /// Whom to ask about `target`: the target itself if it has a usable address, then up to
    /// `lookup_fan_out` other peers, skipping `skip`.
    fn peers_to_ask(
        &self,
        ctx: &Context,
        target: NodeId,
        skip: &[NodeId],
    ) -> Vec<(NodeId, Address, TransportAddr)> {
        let retry = ctx.config.route_retry_after;
        let mut askees = Vec::new();
        if !skip.contains(&target) {
            if let Some(best) = self.routes.best(&target, ctx.now, retry) {
                askees.push((target, best.address(), best.transport));
            }
        }
        askees.extend(self.routes.peers_to_ask(
            &target,
            skip,
            ctx.config.lookup_fan_out,
            ctx.now,
            retry,
        ));
        askees
    }

    /// The record held for `target`, if it has not expired: what a lookup request is answered
    /// with (for this node's own, the node signs its own).
    pub(in crate::node) fn held_record(&self, ctx: &Context, target: &NodeId) -> Option<Vec<u8>> {
        let wall = ctx.wall_now();
        self.routes
            .get(target)
            .and_then(|route| route.record.as_ref())
            .filter(|held| held.expires > wall)
            .map(|held| held.bytes.clone())
    }

    /// A lookup answer `bytes` for the request `request_id` arrived: the peer it found and
    /// the seq of its record, if the record is good, newer than the one held, and taken into
    /// the table (`has_session` says which peers to keep when it is full). Refusals are
    /// counted.
    pub(in crate::node) fn take_answer(
        &mut self,
        ctx: &mut Context,
        request_id: [u8; 16],
        bytes: &[u8],
        has_session: &dyn Fn(&NodeId) -> bool,
    ) -> Option<(NodeId, u64)> {
        let Some(target) = self.lookups.by_request.get(&request_id).copied() else {
            ctx.stats.routing.dropped_unmatched_lookup += 1;
            return None;
        };
        let Ok(record) = AddressRecord::decode(bytes) else {
            ctx.stats.routing.dropped_bad_record += 1;
            return None;
        };
        if record.check_for(&target, ctx.wall_now()).is_err() {
            ctx.stats.routing.dropped_bad_record += 1;
            return None;
        }
        if self
            .routes
            .record_seq(&target)
            .is_some_and(|held| held >= record.seq)
        {
            ctx.stats.routing.dropped_stale_record += 1;
            return None;
        }
        if !self.routes.accept_record(&record, ctx.now, has_session) {
            return None;
        }
        if let Some(lookup) = self.lookups.by_target.get_mut(&target) {
            lookup.found = Some(record.seq);
        }
        Some((target, record.seq))
    }

    /// The lookups whose deadline is due now, each ended or asking again, in deadline order.
    pub(in crate::node) fn expire_lookups(&mut self, ctx: &mut Context) -> Vec<LookupEnd> {
        let mut ends = Vec::new();
        for target in self.lookups.due(ctx.now) {
            let Some(lookup) = self.lookups.remove(&target) else {
                continue;
            };
            if lookup.found.is_some() {
                let waiting = self.waiting.take_for(&target);
                ends.push(LookupEnd::Over {
                    target,
                    failed: false,
                    waiting,
                });
                continue;
            }
            match self.lookup_round(ctx, target, lookup.asked, lookup.attempts_left) {
                Some(requests) => ends.push(LookupEnd::Again(requests)),
                None => {
                    let waiting = self.waiting.take_for(&target);
                    ends.push(LookupEnd::Over {
                        target,
                        failed: true,
                        waiting,
                    });
                }
            }
        }
        ends
    }

    /// The answer to lookup request `request_id` from `from`, carrying `record` (ours or one
    /// held for the target); `None`, counted as unanswered, when there is no record.
    pub(in crate::node) fn lookup_answer(
        &mut self,
        ctx: &mut Context,
        from: TransportAddr,
        request_id: [u8; 16],
        record: Option<Vec<u8>>,
    ) -> Option<Vec<u8>> {
        let Some(record) = record else {
            ctx.stats.routing.lookups_unanswered += 1;
            return None;
        };
        let mut frame = frame::sealed_prefix(&Address::from_transport(from));
        wire::write_lookup_answer(&mut frame, &request_id, &record);
        Some(frame)
    }
}
