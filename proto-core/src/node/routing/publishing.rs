//! Publishing this node's address record to its default route: the node it stays reachable
//! through, which hands the record to whoever looks us up. Sent when the record changed or is
//! half way to expiring, and again each second until acknowledged (at most `PUBLISH_TRIES`
//! times per record).

use alloc::vec::Vec;
use core::time::Duration;

use super::Routing;
use crate::identity::{NodeId, PublicKey};
use crate::node::context::Context;
use crate::path_message::PathMessage;
use crate::routing::AddressRecord;
use crate::time::Instant;

/// How long a published record waits for its acknowledgement before it goes again.
const PUBLISH_RETRY: Duration = Duration::from_secs(1);

/// How many times one record goes to the default route without an acknowledgement before
/// the node waits for the next change (or half the record's lifetime).
const PUBLISH_TRIES: u8 = 8;

/// Our record as last published to the default route.
pub(in crate::node) struct Published {
    bytes: Vec<u8>,
    at: Instant,
    /// The default route said it holds it.
    acked: bool,
    /// Times this record was sent.
    tries: u8,
}

impl Routing {
    /// The record to send to the default route now, given this node's current `record`
    /// (`None`: nothing to publish, and nothing to retry either): none while the last one sent
    /// is fresh and acknowledged or waiting its retry. What it returns is counted as sent.
    pub(in crate::node) fn record_to_publish(
        &mut self,
        ctx: &mut Context,
        record: Option<Vec<u8>>,
    ) -> Option<Vec<u8>> {
        let Some(record) = record else {
            self.published_record = None;
            return None;
        };
        let half_life = ctx.config.record_lifetime / 2;
        let fresh = self.published_record.as_ref().is_some_and(|published| {
            let since = ctx.now.saturating_duration_since(published.at);
            published.bytes == record
                && since < half_life
                && (published.acked || since < PUBLISH_RETRY || published.tries >= PUBLISH_TRIES)
        });
        if fresh {
            return None;
        }
        let tries = self
            .published_record
            .as_ref()
            .filter(|published| published.bytes == record && !published.acked)
            .map_or(1, |published| published.tries.saturating_add(1));
        self.published_record = Some(Published {
            bytes: record.clone(),
            at: ctx.now,
            acked: false,
            tries,
        });
        ctx.stats.routing.records_published += 1;
        Some(record)
    }

    /// When our record goes to the default route again if its acknowledgement has not come:
    /// only while the session with the route is up (`route_up`), since the retry needs it and
    /// a timer that could not act would fire again at once.
    pub(in crate::node) fn next_publish_retry(&self, route_up: bool) -> Option<Instant> {
        self.published_record
            .as_ref()
            .filter(|published| route_up && !published.acked && published.tries < PUBLISH_TRIES)
            .map(|published| published.at + PUBLISH_RETRY)
    }

    /// A peer said it holds our record with `seq` (or newer); `from_route` if that peer is
    /// our default route, the only one whose word counts.
    pub(in crate::node) fn on_publish_ack(&mut self, from_route: bool, seq: u64) {
        let current = self.own_record.as_ref().map(|record| record.seq);
        if let (true, Some(published)) = (from_route, self.published_record.as_mut()) {
            if current.is_some_and(|current| seq >= current) {
                published.acked = true;
            }
        }
    }

    /// `peer`, in session with us, published its record `bytes` to us: hold it, to answer
    /// lookups for it. The acknowledgement to send back, or `None` if the record is refused
    /// (counted).
    pub(in crate::node) fn on_publish(
        &mut self,
        ctx: &mut Context,
        peer: &PublicKey,
        bytes: &[u8],
        has_session: &dyn Fn(&NodeId) -> bool,
    ) -> Option<PathMessage> {
        let Ok(record) = AddressRecord::decode(bytes) else {
            ctx.stats.routing.dropped_bad_record += 1;
            return None;
        };
        if record.check_for(&peer.node_id(), ctx.wall_now()).is_err() {
            ctx.stats.routing.dropped_bad_record += 1;
            return None;
        }
        let held = self.routes.record_seq(&peer.node_id());
        if held.is_some_and(|held| held >= record.seq) {
            // Our acknowledgement was lost: the record came again.
        } else if !self.routes.accept_record(&record, ctx.now, has_session) {
            ctx.stats.routing.dropped_stale_record += 1;
            return None;
        }
        Some(PathMessage::PublishAck {
            seq: self
                .routes
                .record_seq(&peer.node_id())
                .unwrap_or(record.seq),
        })
    }
}
