//! Queries as a sub-machine of the node: the open queries, their deadlines, and the round-trip
//! times that make timeouts adaptive.
//!
//! A query is a message the node remembers: its reply carries the query's reference
//! (`reply_reference`) and must be signed by the peer the query went to. Every query ends in
//! exactly one of [`QueryEvent::Reply`], [`QueryEvent::TimedOut`], [`QueryEvent::Cancelled`] and
//! [`QueryEvent::Unreachable`].
//!
//! [`Queries`] never sends and never reaches into the node. It is given the time and what
//! happened (a query left, a reply arrived, a peer is unreachable) and puts the events that
//! end or mark queries in the node's event queue, the one outbox it is handed. The node sends
//! the messages and routes replies to it (`node/command.rs`, `node/inbound.rs`).

mod rtt;
mod table;

use core::time::Duration;

use rtt::RttTable;
use table::{Due, OpenQuery, QueryTable};

use super::context::Context;
use super::outbox::Outbox;
use crate::config::Config;
use crate::event::QueryEvent;
use crate::event::{Event, Message, MessageId, Protection};
use crate::identity::{NodeId, PublicKey};
use crate::query::QueryOptions;
use crate::time::Instant;

/// The open queries and the round-trip samples of the peers they went to.
///
/// Bounded by [`Config::max_open_queries`] (about 150 bytes each) and
/// [`Config::max_rtt_peers`] (16 samples each).
pub(super) struct Queries {
    table: QueryTable,
    rtt: RttTable,
    max_open: usize,
    max_rtt_peers: usize,
    max_adaptive_timeout: Duration,
}

impl Queries {
    pub(super) fn new(config: &Config) -> Self {
        Self {
            table: QueryTable::default(),
            rtt: RttTable::default(),
            max_open: config.max_open_queries,
            max_rtt_peers: config.max_rtt_peers,
            max_adaptive_timeout: config.max_adaptive_timeout,
        }
    }

    /// Reports every deadline due at `now`, in order.
    pub(super) fn expire(&mut self, now: Instant, out: &mut Outbox) {
        while let Some(due) = self.table.pop_due(now) {
            out.query_event(match due {
                Due::Soft(query) => Event::Query(QueryEvent::SoftTimeout { query }),
                Due::Hard(query) => Event::Query(QueryEvent::TimedOut { query }),
            });
        }
    }

    /// Whether another query may open (call [`expire`](Self::expire) first).
    pub(super) fn is_full(&self) -> bool {
        self.table.len() >= self.max_open
    }

    /// The query `id` to `peer` left at `now`; its reply must carry `reference`.
    pub(super) fn opened(
        &mut self,
        now: Instant,
        id: MessageId,
        peer: PublicKey,
        reference: [u8; 32],
        options: &QueryOptions,
        out: &mut Outbox,
    ) {
        let (soft, hard) = self.deadlines(now, &peer, options);
        let query = OpenQuery {
            peer,
            reference,
            sent: now,
            soft,
            hard,
            soft_fired: false,
        };
        // Ids are 128 random bits: a clash is not going to happen, and would only leave this
        // query unanswerable; it still ends, with its own timeout event.
        if !self.table.insert(id, query) {
            out.query_event(Event::Query(QueryEvent::TimedOut { query: id }));
        }
    }

    /// A message carrying `reference` arrived at `now`: the reply event if it answers an open
    /// query from the peer it went to, else `None` (the caller drops it as unmatched).
    pub(super) fn answered(
        &mut self,
        now: Instant,
        message: Message,
        reference: &[u8; 32],
    ) -> Option<Event> {
        let (query, open) = self.table.take_answered(reference, &message.from.key)?;
        if message.protection != Protection::Local {
            let rtt = now.saturating_duration_since(open.sent);
            self.rtt
                .record(open.peer.node_id(), rtt, self.max_rtt_peers);
        }
        Some(Event::Query(QueryEvent::Reply {
            query,
            message,
            late: open.soft_fired,
        }))
    }

    /// Cancels the open query `id`; false if none is open.
    pub(super) fn cancel(&mut self, id: MessageId, out: &mut Outbox) -> bool {
        if self.table.remove(id).is_none() {
            return false;
        }
        out.query_event(Event::Query(QueryEvent::Cancelled { query: id }));
        true
    }

    /// Every query to the peer with id `peer` ends unreachable.
    pub(super) fn peer_unreachable(&mut self, peer: &NodeId, out: &mut Outbox) {
        for query in self.table.ids_for_peer(peer) {
            if self.table.remove(query).is_some() {
                out.query_event(Event::Query(QueryEvent::Unreachable { query }));
            }
        }
    }

    /// The message `id`, if it is an open query, ends unreachable; false if it is none.
    pub(super) fn unreachable(&mut self, id: MessageId, out: &mut Outbox) -> bool {
        if self.table.remove(id).is_none() {
            return false;
        }
        out.query_event(Event::Query(QueryEvent::Unreachable { query: id }));
        true
    }

    /// Hands an authenticated message to the application: as a message, or, if it carries a
    /// `reference`, as the reply to the open query it answers (else it is dropped and
    /// counted).
    pub(super) fn deliver(
        &mut self,
        ctx: &mut Context,
        message: Message,
        reference: Option<[u8; 32]>,
    ) {
        let Some(reference) = reference else {
            ctx.stats.queries.delivered += 1;
            ctx.push_event(Event::Message(message));
            return;
        };
        // Deadlines already passed count before the reply, whatever order the driver used.
        self.expire(ctx.now, &mut ctx.out);
        match self.answered(ctx.now, message, &reference) {
            Some(reply) => {
                ctx.stats.queries.delivered += 1;
                ctx.push_query_event(reply);
            }
            None => ctx.stats.queries.dropped_unmatched_reply += 1,
        }
    }

    /// The next deadline, and whether it is a soft one.
    pub(super) fn next_timeout(&self) -> Option<(Instant, bool)> {
        self.table.next_deadline()
    }

    /// The soft and hard deadlines of a query to `peer` sent at `now`.
    fn deadlines(
        &self,
        now: Instant,
        peer: &PublicKey,
        options: &QueryOptions,
    ) -> (Option<Instant>, Instant) {
        let bound = options
            .adaptive
            .then(|| self.rtt.bound(&peer.node_id()))
            .flatten()
            .map(|bound| bound.min(self.max_adaptive_timeout));
        let adapt = |floor: Duration| bound.map_or(floor, |bound| floor.max(bound));
        let hard = now + adapt(options.hard_timeout);
        let soft = options
            .soft_timeout
            .map(|soft| now + adapt(soft))
            .filter(|soft| *soft < hard);
        (soft, hard)
    }
}

#[cfg(test)]
mod tests;
