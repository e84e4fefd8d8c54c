//! Routing as one sub-machine's state: the table of peers' addresses, lookups and the messages
//! waiting for them, what was sent (to send again on failure or challenge), and this node's
//! own address record and its publication.
//!
//! The pieces live in their own modules beside this one (`routes`, `lookups`); this struct is
//! what the node owns of them.

mod failures;
mod lookup_rounds;
mod own_record;
mod publishing;
mod table;

pub(super) use lookup_rounds::{LookupEnd, Requests};

use publishing::Published;

use super::lookups::{LookupTable, ResendLog, WaitingMessages};
use super::routes::{RouteLimits, RoutingTable};
use crate::config::Config;
use crate::io::TimerReason;
use crate::routing::AddressRecord;
use crate::time::{Instant, UnixMillis};

/// The routing state (see the module documentation). Bounded by `Config::max_routes`,
/// `max_addresses_per_peer`, `max_lookups` and `max_waiting_messages`.
pub(super) struct Routing {
    pub(super) routes: RoutingTable,
    /// Messages sent, remembered to send again by another route or after a challenge.
    pub(super) resend: ResendLog,
    pub(super) lookups: LookupTable,
    /// Messages waiting for a lookup to find their peer.
    pub(super) waiting: WaitingMessages,
    /// The seq of this node's next address record.
    pub(super) record_seq: u64,
    /// The last address record this node signed.
    pub(super) own_record: Option<AddressRecord>,
    /// The record we last published to the default route, when, and whether it said it
    /// holds it (`publishing.rs`).
    pub(super) published_record: Option<Published>,
}

impl Routing {
    /// An empty table; records start at the wall clock's reading `wall`, so that a restarted
    /// node's records are newer than any it handed out before.
    pub(super) fn new(config: &Config, wall: UnixMillis) -> Self {
        Self {
            routes: RoutingTable::new(RouteLimits {
                max_routes: config.max_routes,
                max_addresses_per_peer: config.max_addresses_per_peer,
                retry_after: config.route_retry_after,
            }),
            resend: ResendLog::default(),
            lookups: LookupTable::default(),
            waiting: WaitingMessages::default(),
            record_seq: wall.0,
            own_record: None,
            published_record: None,
        }
    }

    /// Routing's earliest deadline, and why: a lookup's wait, or the retry of our published
    /// record (only while the session with the default route is up, `route_up`).
    pub(super) fn next_timeout(&self, route_up: bool) -> Option<(Instant, TimerReason)> {
        [
            (self.lookups.next_deadline(), TimerReason::LookupTimeout),
            (self.next_publish_retry(route_up), TimerReason::Keepalive),
        ]
        .into_iter()
        .filter_map(|(at, reason)| at.map(|at| (at, reason)))
        .min()
    }
}

#[cfg(test)]
mod tests;
