//! The context every sub-machine of the node is handed: the time, the settings, the identity,
//! the one random generator, the outbox and the counters.
//!
//! It is the only state shared across concerns. Sub-machines keep their own state and take a
//! `&mut Context` next to it, so that none of them needs (or can reach) another one: the node
//! routes what each returns.

use alloc::vec::Vec;

use crate::address::Address;
use crate::config::Config;
use crate::event::Event;
use crate::identity::{Identity, PublicIdentity, PublicKey};
use crate::rng::CoreRng;
use crate::time::{Instant, UnixMillis};

use super::Stats;
use super::outbox::Outbox;
use crate::transport::TransportAddr;

/// Time, settings, identity, randomness and output, shared by every concern of a node.
pub(super) struct Context {
    pub(super) config: Config,
    pub(super) identity: Identity,
    pub(super) public_key: PublicKey,
    pub(super) rng: CoreRng,
    /// The latest `now` seen: time never goes backwards.
    pub(super) now: Instant,
    /// A wall-clock reading and the instant it was taken at.
    pub(super) wall_anchor: (Instant, UnixMillis),
    /// The addresses this node declared as its own (at most
    /// [`MAX_LOCAL_ADDRESSES`](super::MAX_LOCAL_ADDRESSES)).
    pub(super) local_addresses: Vec<Address>,
    /// Transmits and events on their way out (see `node/outbox.rs`).
    pub(super) out: Outbox,
    /// What the node counted itself; sub-machines with counters of their own add theirs in
    /// [`Node::stats`](super::Node::stats).
    pub(super) stats: Stats,
}

impl Context {
    /// The context of a node with these settings and identity, its randomness seeded with
    /// `seed`, started at `now` with the wall clock reading `wall`.
    pub(super) fn new(
        config: Config,
        identity: Identity,
        seed: [u8; 32],
        now: Instant,
        wall: UnixMillis,
    ) -> Self {
        let out = Outbox::new(&config);
        Self {
            public_key: identity.public_key(),
            config,
            identity,
            rng: CoreRng::from_seed(seed),
            now,
            wall_anchor: (now, wall),
            local_addresses: Vec::new(),
            out,
            stats: Stats::default(),
        }
    }

    /// Moves the clock to `now`, unless it already saw a later time.
    pub(super) fn advance(&mut self, now: Instant) {
        self.now = self.now.max(now);
    }

    /// The wall clock now, extrapolated from the last reading.
    pub(super) fn wall_now(&self) -> UnixMillis {
        let (at, wall) = self.wall_anchor;
        wall.saturating_add(self.now.saturating_duration_since(at))
    }

    /// The monotonic instant at which the wall clock will read `wall`.
    pub(super) fn instant_at_wall(&self, wall: UnixMillis) -> Instant {
        let wall_now = self.wall_now();
        self.now + core::time::Duration::from_millis(wall.0.saturating_sub(wall_now.0))
    }

    /// Queues `frame` for `to` as it is, framed for its transport: for frames that never carry
    /// a cookie echo and are not limited per path (CJP2P datagrams; EJTP frames go through
    /// `Transport::queue_transmit`). False if the queue was full, or `to` is unspecified
    /// (counted in `dropped_no_route`).
    pub(super) fn queue(&mut self, to: TransportAddr, frame: Vec<u8>, dont_fragment: bool) -> bool {
        if to.is_unspecified() {
            self.stats.transport.dropped_no_route += 1;
            return false;
        }
        self.out.transmit(to, frame, dont_fragment)
    }

    /// Queues an event for the application (dropped and counted if the queue is full).
    pub(super) fn push_event(&mut self, event: Event) {
        self.out.event(event);
    }

    /// Queues an event about a query even when the queue is full (see `Outbox::query_event`).
    pub(super) fn push_query_event(&mut self, event: Event) {
        self.out.query_event(event);
    }

    /// How peers reach the client `callsign` of this node: its first specific local address
    /// (else its first), and its key.
    pub(super) fn public_identity(&self, name: &str, callsign: &str) -> PublicIdentity {
        let specific = self.local_addresses.iter().find(|address| {
            address
                .transport()
                .is_none_or(|transport| !transport.is_unspecified())
        });
        let location = specific.or(self.local_addresses.first()).map_or_else(
            || Address::local(callsign),
            |address| address.with_callsign(callsign),
        );
        PublicIdentity {
            name: name.into(),
            location,
            key: self.public_key,
        }
    }
}
