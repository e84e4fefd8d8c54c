//! The node: the whole protocol as one deterministic state machine.

mod bounded;
mod cjp2p;
#[cfg(test)]
mod cjp2p_tests;
mod cjp2p_view;
mod command;
mod composition;
mod content_routing;
#[cfg(test)]
mod content_session_tests;
mod content_view;
mod context;
#[cfg(test)]
mod download_tests;
mod downloads;
mod handshake_times;
mod inbound;
mod key_work;
mod large_messages;
mod lookups;
mod memory_storage;
mod outbound;
mod outbox;

mod nat_traversal;
mod paths;
mod punch;
mod queries;
#[cfg(test)]
mod query_tests;
mod reflexive;
mod relay;
mod reset;
mod route_ops;
#[cfg(test)]
mod route_tests;
mod routes;
mod routes_view;
mod routing;
mod session_timers;
mod sessions;
mod stats;
mod store_forward;
#[cfg(test)]
mod store_forward_tests;
#[cfg(test)]
mod test_net;
#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod throttle_tests;
mod throttling;
mod transport;
mod under_load;
mod via;

use alloc::vec::Vec;

use crate::config::Config;
use crate::error::CommandError;
use crate::event::Event;
use crate::event::TransportEvent;
use crate::identity::{Identity, NodeId, PublicIdentity, PublicKey};
use crate::io::{Input, Output, Timeout, TimerReason, Transmit};
use crate::rng::CoreRng;
use crate::time::{Instant, UnixMillis};
use crate::transport::TransportAddr;

pub use cjp2p_view::Cjp2p;
pub use composition::Node;
pub use content_view::Content;
pub use downloads::ContentStorage;
pub use routes_view::Routes;
pub use stats::{
    Cjp2pStats, FetchStats, QueryStats, RelayStats, RoutingStats, Stats, TransportStats,
};
pub use via::Via;

/// Most addresses a node can declare as its own (one per transport and IP version is typical).
pub const MAX_LOCAL_ADDRESSES: usize = 16;

impl Node {
    /// A node with the given settings, identity and random seed, started at `now` with the
    /// wall clock reading `wall`.
    ///
    /// Adapters draw `seed` from the operating system; tests and vectors fix it.
    #[must_use]
    pub fn new(
        config: Config,
        identity: Identity,
        seed: [u8; 32],
        now: Instant,
        wall: UnixMillis,
    ) -> Self {
        let public_key = identity.public_key();
        let transport = transport::Transport::new(&config, &seed, now);
        let routing = routing::Routing::new(&config, wall);
        let cjp2p = cjp2p::Cjp2pState::new(&seed);
        let relay = relay::Relay::new(&config);
        let queries = queries::Queries::new(&config);
        let out = outbox::Outbox::new(&config);
        let downloads = downloads::Downloads::new(&config);
        let mut node = Self {
            ctx: context::Context {
                config,
                identity,
                public_key,
                rng: CoreRng::from_seed(seed),
                now,
                wall_anchor: (now, wall),
                local_addresses: Vec::new(),
                out,
                stats: Stats::default(),
            },
            transport,
            routing,
            queries,
            relay,
            cjp2p,
            downloads,
        };
        node.cjp2p.add_bootstrap_peers(&node.ctx);
        if node.ctx.config.refuse_before_start {
            node.transport.refuse_signed_before(wall);
        }
        node
    }

    /// What the replay memories hold now: their floors and remembered nonces. An adapter
    /// that keeps a journal stores this when it compacts it (see
    /// [`replay_journal`](crate::replay_journal)).
    #[must_use]
    pub fn replay_memory(&self) -> crate::replay_journal::ReplayMemory {
        self.transport.replay_memory()
    }

    /// Takes back a replay memory stored before a restart ([`Self::replay_memory`] and the
    /// [`Output::Remember`] records since): its floors replace the start floor, and its nonces
    /// are refused again. Also [`Command::RestoreReplayMemory`](crate::Command).
    pub fn restore_replay_memory(&mut self, memory: &crate::replay_journal::ReplayMemory) {
        self.transport.restore_replay_memory(&self.ctx, memory);
    }

    // ----- getters -----

    /// This node's id: the SHA-256 of its public key.
    #[must_use]
    pub fn node_id(&self) -> NodeId {
        self.ctx.public_key.node_id()
    }

    /// This node's public key.
    #[must_use]
    pub fn public_key(&self) -> PublicKey {
        self.ctx.public_key
    }

    /// How peers reach the client `callsign` of this node: its first local address and its key.
    #[must_use]
    pub fn public_identity(&self, name: &str, callsign: &str) -> PublicIdentity {
        self.ctx.public_identity(name, callsign)
    }

    /// What the node has done with its input so far.
    #[must_use]
    pub fn stats(&self) -> Stats {
        let mut stats = self.ctx.stats;
        self.ctx.out.add_stats(&mut stats);
        self.relay.add_stats(&mut stats);
        self.downloads.add_stats(&mut stats);
        self.transport.paths.add_stats(&mut stats);
        self.transport.key_work.add_stats(&mut stats);
        self.transport.punching.add_stats(&mut stats);
        stats
    }

    /// The addresses peers see this node's frames come from (its reflexive addresses, such as
    /// a NAT's mappings), each with how many of the recent observers (at most 16) see it, most
    /// agreed first. Empty until a session peer has told us.
    #[must_use]
    pub fn reflexive_addresses(&self) -> Vec<(core::net::SocketAddr, usize)> {
        self.transport.reflexive.addresses()
    }

    /// The node's settings.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.ctx.config
    }

    /// Whether a confirmed session with `peer` is ready to carry frames.
    #[must_use]
    pub fn has_session(&self, peer: &NodeId) -> bool {
        self.transport.has_session(peer)
    }

    /// Nonces and ephemeral keys in the two replay memories (each bounded by
    /// [`Config::nonce_memory_capacity`](crate::Config::nonce_memory_capacity)).
    #[must_use]
    pub fn nonces_remembered(&self) -> usize {
        self.transport.signature_nonces.len() + self.transport.sealed_nonces.len()
    }

    // ----- inputs -----

    /// A datagram arrived from `from`.
    pub fn handle_datagram(&mut self, now: Instant, from: TransportAddr, data: &[u8]) {
        self.ctx.advance(now);
        self.ctx.stats.transport.datagrams_received += 1;
        // CJP2P datagrams have their own rule (cookies; see `cjp2p::amplification`).
        if data.first() != Some(&b'[') {
            self.transport
                .paths
                .on_received(from, data.len(), self.ctx.now);
        }
        self.on_frame(from, data);
    }

    /// Bytes arrived on the TCP stream with `from`, in any chunking.
    ///
    /// If the bytes break the stream framing, the node emits [`TransportEvent::StreamFailed`]: close the
    /// connection.
    pub fn handle_stream_data(&mut self, now: Instant, from: TransportAddr, data: &[u8]) {
        self.ctx.advance(now);
        let Some((frames, failed)) = self.transport.read_stream(&mut self.ctx, from, data) else {
            return;
        };
        for frame in frames {
            self.ctx.stats.transport.stream_frames_received += 1;
            self.on_frame(from, &frame);
        }
        if failed {
            self.ctx.stats.transport.dropped_malformed += 1;
            self.ctx
                .push_event(Event::Transport(TransportEvent::StreamFailed { from }));
        }
    }

    /// The TCP stream with `from` closed; a partial frame on it is discarded.
    pub fn handle_stream_closed(&mut self, now: Instant, from: TransportAddr) {
        self.ctx.advance(now);
        self.transport.streams.remove(&from);
    }

    /// Time passed: do whatever is due at `now` (see [`poll_timeout`](Self::poll_timeout)).
    pub fn handle_timeout(&mut self, now: Instant) {
        self.ctx.advance(now);
        self.on_timeout();
    }

    /// The wall clock read `wall` at `now`. The node keeps its own reading from construction
    /// otherwise; adapters call this when they notice the wall clock jumped.
    pub fn handle_wall_clock(&mut self, now: Instant, wall: UnixMillis) {
        self.ctx.advance(now);
        self.ctx.wall_anchor = (self.ctx.now, wall);
    }

    /// Any input, as data: dispatches to the matching method.
    ///
    /// # Errors
    /// The error of the command, for [`Input::Command`].
    pub fn handle_input(&mut self, input: Input) -> Result<(), CommandError> {
        match input {
            Input::Datagram { now, from, data } => self.handle_datagram(now, from, &data),
            Input::StreamData { now, from, data } => self.handle_stream_data(now, from, &data),
            Input::StreamClosed { now, from } => self.handle_stream_closed(now, from),
            Input::TransmitFailed { now, to, data } => {
                self.handle_transmit_failed(now, to, &data);
            }
            Input::Timeout { now } => self.handle_timeout(now),
            Input::WallClock { now, wall } => self.handle_wall_clock(now, wall),
            Input::Command { now, command } => {
                return self.handle_command(now, command).map(|_outcome| ());
            }
        }
        Ok(())
    }

    // ----- polls -----

    /// The next bytes to send.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        if !self.transport.fragment_sends.is_empty() {
            self.transport.send_fragments(&mut self.ctx);
        }
        let transmit = self.ctx.out.pop_transmit()?;
        if self.ctx.out.send_blocked && self.ctx.out.is_half_empty() {
            self.ctx.out.send_blocked = false;
            self.ctx
                .push_event(Event::Transport(TransportEvent::Writable));
        }
        Some(transmit)
    }

    /// The next event for the application.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.ctx.out.pop_event()
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next, and why. Never earlier than
    /// the latest `now` the node has seen.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Timeout> {
        self.next_timeout()
    }

    /// The next transmit, then the next event; `None` when both queues are empty.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<Output> {
        // Records first: the adapter stores them before it hands out the events they precede.
        if let Some(record) = self.transport.journal.pop_front() {
            return Some(Output::Remember(record));
        }
        if let Some(transmit) = self.poll_transmit() {
            return Some(Output::Transmit(transmit));
        }
        self.poll_event().map(Output::Event)
    }

    // ----- internals shared by the submodules -----

    // ----- wake-ups -----
    //
    // Handshake retries, idle sessions, replay memory ageing, query timeouts, throttled peers
    // getting tokens back, held frames ageing out, and each concern's own timers. Nothing is
    // scheduled ahead: each deadline is derived from the state it concerns, and the next
    // timeout is the earliest of them.

    /// The earliest deadline of every sub-machine, and why. Ties go to the reason declared
    /// first in [`TimerReason`], whichever sub-machine it is from.
    fn next_timeout(&self) -> Option<Timeout> {
        let query = self.queries.next_timeout().map(|(at, soft)| {
            let reason = if soft {
                TimerReason::QuerySoftTimeout
            } else {
                TimerReason::QueryHardTimeout
            };
            (at, reason)
        });
        let route_up = self.transport.default_route_at(&self.ctx).is_some();
        [
            self.transport.next_timeout(&self.ctx),
            query,
            self.relay
                .next_timeout()
                .map(|at| (at, TimerReason::MailboxExpiry)),
            self.routing.next_timeout(route_up),
            self.cjp2p
                .next_maintenance()
                .map(|at| (at, TimerReason::Cjp2pMaintenance)),
            self.downloads
                .next_timeout()
                .map(|at| (at, TimerReason::Download)),
        ]
        .into_iter()
        .flatten()
        .min()
        .map(|(at, reason)| Timeout {
            at: at.max(self.ctx.now),
            reason,
        })
    }

    pub(super) fn on_timeout(&mut self) {
        self.queries.expire(self.ctx.now, &mut self.ctx.out);
        self.transport.throttling.release(&mut self.ctx);
        self.relay.expire(self.ctx.now);
        self.expire_lookups();
        self.retry_handshakes();
        self.transport.sessions.drop_idle(&mut self.ctx);
        self.cjp2p.maintain(&mut self.ctx);
        self.download_timeouts();
        self.ctx.stats.transport.fragments_dropped +=
            self.transport.reassembly.expire(self.ctx.now) as u64;
        self.send_keepalives();
        self.transport.send_punch_probes(&mut self.ctx);
        self.transport.retransmit_fragments(&mut self.ctx);
        self.publish_record_if_due();
        let wall = self.ctx.wall_now();
        self.transport.signature_nonces.prune(wall);
        self.transport.sealed_nonces.prune(wall);
        self.transport.handshake_times.prune(wall);
    }

    /// Handshakes due a retry go again (within the same limits as the first attempt); those
    /// out of attempts fail, and what waited for them is reported.
    fn retry_handshakes(&mut self) {
        for peer in self.transport.retry_handshakes(&mut self.ctx) {
            self.ctx
                .push_event(Event::Transport(TransportEvent::HandshakeFailed { peer }));
            self.fail_held_for_session(peer);
        }
    }
}
