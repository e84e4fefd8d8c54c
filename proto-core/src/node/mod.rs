//! The node: the whole protocol as one deterministic state machine, composed of sub-machines
//! (`transport/`, `routing/`, `queries/`, `relay/`, `cjp2p/`, `downloads/`) that never call one
//! another. The node's methods route what each returns to the others, in three files: this
//! one (building the node, its inputs, outputs and timers, messages going out, content),
//! `command.rs` (commands, and how a message finds its peer) and `inbound.rs` (what arrives).

mod bounded;
mod cjp2p;
#[cfg(test)]
mod cjp2p_tests;
mod cjp2p_view;
mod command;
mod composition;
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
mod outbox;

mod paths;
mod punch;
mod queries;
#[cfg(test)]
mod query_tests;
mod reflexive;
mod relay;
mod reset;
#[cfg(test)]
mod route_tests;
mod routes;
mod routes_view;
mod routing;
mod session_timers;
mod sessions;
mod stats;
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

use self::downloads::{Fed, Route, SourceLink, reply_sized_chunks, serving_store, session_answer};
use self::lookups::{PendingMessage, TAG_LEN};
use self::transport::Outgoing;
use crate::address::Address;
use crate::cjp2p::Cjp2pMessage;
use crate::config::Config;
use crate::content::{ContentId, SessionContent};
use crate::error::{CommandError, SendError};
use crate::event::{Event, MessageId, TransportEvent};
use crate::identity::{Identity, NodeId, PublicIdentity, PublicKey};
use crate::io::{Input, Output, Timeout, TimerReason, Transmit};
use crate::relay_address::RelayAddress;
use crate::time::{Instant, UnixMillis};
use crate::transport::TransportAddr;
use alloc::collections::BTreeMap;
use alloc::string::ToString;
use alloc::vec::Vec;
use serde_json::Value;

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
        let transport = transport::Transport::new(&config, &seed, now);
        let routing = routing::Routing::new(&config, wall);
        let cjp2p = cjp2p::Cjp2pState::new(&seed);
        let relay = relay::Relay::new(&config);
        let queries = queries::Queries::new(&config);
        let downloads = downloads::Downloads::new(&config);
        let mut node = Self {
            ctx: context::Context::new(config, identity, seed, now, wall),
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

    fn on_timeout(&mut self) {
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

    // ----- messages going out -----

    /// Sends a new message: the transport admits it, it gets an id, and it goes to a local
    /// client, on the route the table chooses (`send_routed`), or through its relays
    /// (`transmit`). Returns its id and its JSON bytes.
    fn send_message(
        &mut self,
        from: &str,
        to: &PublicIdentity,
        via: &[PublicIdentity],
        value: Value,
        reference: Option<[u8; 32]>,
    ) -> Result<(MessageId, Vec<u8>), SendError> {
        let (json, value, local) =
            self.transport
                .admit_send(&mut self.ctx, from, to, via, value)?;
        let id = MessageId(self.ctx.rng.array());

        if local {
            if let Some(message) = self
                .transport
                .local_message(&mut self.ctx, id, from, to, value)
            {
                self.queries.deliver(&mut self.ctx, message, reference);
            }
            return Ok((id, json));
        }
        if via.is_empty() && self.routing.applies_to(to) {
            let message = PendingMessage {
                id,
                from: from.into(),
                key: to.key,
                callsign: to.location.callsign().map(Into::into),
                json,
                reference,
            };
            self.send_routed(message.clone(), Some(&to.location))?;
            return Ok((id, message.json));
        }
        self.transmit_message(id, from, to, via, &json, reference)?;
        Ok((id, json))
    }

    /// Encodes message `id` for `to` (through `via`) and queues it: in the session with `to`
    /// if there is one (in fragments if it does not fit in a datagram), else signed and sealed
    /// (held for the session if that would not fit); each relay adds a sealed layer.
    fn transmit_message(
        &mut self,
        id: MessageId,
        from: &str,
        to: &PublicIdentity,
        via: &[PublicIdentity],
        json: &[u8],
        reference: Option<[u8; 32]>,
    ) -> Result<(TransportAddr, [u8; TAG_LEN]), SendError> {
        let message = Outgoing {
            id,
            from,
            to,
            via,
            json,
            reference,
        };
        self.transmit(&message, None)
    }

    /// Sends `message`, signing `sender` as our address if given (else our address toward the
    /// recipient's transport): to a peer behind one of our relays as `transmit_relayed` says,
    /// else through the transport on the path the routing table chooses to the first hop.
    fn transmit(
        &mut self,
        message: &Outgoing<'_>,
        sender: Option<Address>,
    ) -> Result<(TransportAddr, [u8; TAG_LEN]), SendError> {
        // A peer reached through one of our relays (`crate::relay_address`).
        if message.via.is_empty() {
            if let Some(relay) = RelayAddress::from_address(&message.to.location) {
                return self.transmit_relayed(message, relay);
            }
        }
        let first_hop = message.via.first().unwrap_or(message.to);
        let path = first_hop
            .location
            .transport()
            .map(|transport| self.path_for(&first_hop.key, transport));
        self.transport
            .transmit_through(&mut self.ctx, message, sender, path)
    }

    /// Starts a Noise IK handshake with `to` at `transport`, unless one is in flight or the
    /// table is full: to where the peer was last heard from, if that is not the address it
    /// signed (the way through its NAT; see `Routing::path_for`).
    fn start_handshake(&mut self, to: &PublicIdentity, transport: TransportAddr) {
        let path = self.path_for(&to.key, transport);
        self.transport
            .start_handshake(&mut self.ctx, to, transport, path);
    }

    /// The session with `peer` is confirmed: send what waited for it.
    fn send_held_for_session(&mut self, peer: &NodeId) {
        for held in self.transport.awaiting_session.take(peer) {
            // A failure now is the same as at send time (queue full, too large): counted
            // there, and the application holds the id.
            let _ = self.transmit_message(
                held.id,
                &held.from,
                &held.to,
                &[],
                &held.json,
                held.reference,
            );
        }
    }

    /// The handshake with `peer` failed: what waited for it will not be sent.
    fn fail_held_for_session(&mut self, peer: NodeId) {
        for held in self.transport.awaiting_session.take(&peer) {
            self.report_unreachable(peer, Some(held.id));
        }
    }

    // ----- content between our nodes -----

    /// A verified datagram from `source` said `EjtpSessions`: note it, ask it in larger requests
    /// from now on, and start the session content will use (if we will use one).
    fn on_ejtp_sessions(&mut self, source: core::net::SocketAddr, max_request: u64) {
        let Some(peer) = self.cjp2p.peer_mut(&source) else {
            return;
        };
        peer.ejtp_max_request = Some(max_request);
        let addr = TransportAddr::udp(source);
        if let Some(blocks) = self.blocks_for_our_node(addr) {
            self.downloads.set_source_blocks(addr, blocks);
        }
        if self.downloads.has_source(addr) {
            if let Route::Cjp2pWhileOpening(key) =
                self.downloads.route(addr, self.source_link(addr))
            {
                self.open_content_session(addr, key);
            }
        }
    }

    /// Blocks per request for `addr` if it is one of our own nodes: what it says it answers,
    /// and no more than we would answer ourselves.
    fn blocks_for_our_node(&self, addr: TransportAddr) -> Option<u32> {
        let theirs = self.cjp2p.peer(&addr.addr)?.ejtp_max_request?;
        self.downloads.blocks_per_request(theirs)
    }

    /// A session plaintext that is a content message, from `peer` at `from`.
    fn on_session_content(&mut self, from: TransportAddr, peer: &PublicKey, plaintext: &[u8]) {
        match SessionContent::decode(plaintext) {
            Ok(SessionContent::Request { id, offset, length }) => {
                self.serve_in_session(from, peer, id, offset, length);
            }
            Ok(SessionContent::Data {
                id,
                offset,
                eof,
                bytes,
            }) => self.feed_session_data(from, peer, id, offset, bytes, eof),
            Ok(SessionContent::Missing { id }) => self.feed_session_missing(from, peer, id),
            Err(_) => self.ctx.stats.fetch.session_content_dropped += 1,
        }
    }

    /// Answers a content request that came in the session with `peer` (see
    /// `downloads/serving.rs`).
    fn serve_in_session(
        &mut self,
        from: TransportAddr,
        peer: &PublicKey,
        id: ContentId,
        offset: u64,
        length: u32,
    ) {
        let store = serving_store(&mut self.downloads, &mut self.cjp2p);
        let Some(plaintext) = session_answer(&mut self.ctx, store, id, offset, length) else {
            return;
        };
        if self
            .transport
            .send_session_plaintext(&mut self.ctx, peer, from, &plaintext)
        {
            self.ctx.stats.fetch.session_content_served += 1;
        }
    }

    // ----- downloads -----

    /// Starts downloading `id` from `sources` (see [`fetch`](crate::Content::fetch)), and routes how it
    /// started: driven now, or completed at once from what the storage holds.
    fn start_download(
        &mut self,
        id: ContentId,
        sources: Vec<TransportAddr>,
    ) -> Result<(), CommandError> {
        let cjp2p = &self.cjp2p;
        let our_max_request = |addr: TransportAddr| {
            cjp2p
                .peer(&addr.addr)
                .and_then(|peer| peer.ejtp_max_request)
        };
        if self
            .downloads
            .start_fetch(&mut self.ctx, id, sources, &our_max_request)
            .map_err(CommandError::Fetch)?
        {
            self.drive_download(id);
        }
        Ok(())
    }

    /// Hands a CJP2P message to the download it answers (see `downloads/feeding.rs`), and
    /// drives that download. Returns the message back when no active download wants it (it
    /// then becomes an [`Event::Cjp2p`]).
    fn feed_download(
        &mut self,
        from: TransportAddr,
        verified: bool,
        message: Cjp2pMessage,
    ) -> Option<Cjp2pMessage> {
        let (cjp2p, local_addresses) = (&self.cjp2p, &self.ctx.local_addresses);
        let is_own = |addr| cjp2p.is_own(local_addresses, addr);
        let (now, stats) = (self.ctx.now, &mut self.ctx.stats.fetch);
        match self
            .downloads
            .feed_cjp2p(now, stats, from, verified, message, &is_own)
        {
            Fed::NotOurs(message) => Some(message),
            Fed::Unverified => None,
            Fed::Taken { id, hinted } => {
                for peer in hinted {
                    if let Some(blocks) = self.blocks_for_our_node(peer) {
                        self.downloads.set_source_blocks(peer, blocks);
                    }
                }
                self.drive_download(id);
                None
            }
        }
    }

    /// Content bytes that came in a session from `from`, whose key is `peer`: handed to the
    /// download of `id` if it asked `from` and `from` is known by that key.
    fn feed_session_data(
        &mut self,
        from: TransportAddr,
        peer: &PublicKey,
        id: ContentId,
        offset: u64,
        bytes: &[u8],
        eof: u64,
    ) {
        let known = self.cjp2p.our_node_key(from) == Some(*peer);
        if self
            .downloads
            .feed_session_data(&mut self.ctx, from, known, id, offset, bytes, eof)
        {
            self.drive_download(id);
        }
    }

    /// `from` (known by session key `peer`) does not hold `id`.
    fn feed_session_missing(&mut self, from: TransportAddr, peer: &PublicKey, id: ContentId) {
        let known = self.cjp2p.our_node_key(from) == Some(*peer);
        if known && self.downloads.handle_not_held(&id, from) {
            self.drive_download(id);
        } else {
            self.ctx.stats.fetch.session_content_dropped += 1;
        }
    }

    /// Wakes every download whose time has come, each driven before the next is woken.
    fn download_timeouts(&mut self) {
        let now = self.ctx.now;
        for id in self.downloads.ids() {
            self.downloads.handle_timeout(now, &id);
            self.drive_download(id);
        }
    }

    /// Sends what download `id` asks and queues what it says, after its requests.
    fn drive_download(&mut self, id: ContentId) {
        let now = self.ctx.now;
        let drive = self.downloads.drive(now, id);
        let mut by_source: BTreeMap<TransportAddr, Vec<Cjp2pMessage>> = BTreeMap::new();
        for request in drive.requests {
            // Our own nodes are asked in the session once it is up; anyone else over CJP2P.
            let in_session = match self
                .downloads
                .route(request.to, self.source_link(request.to))
            {
                Route::Session(key) => {
                    self.transport
                        .send_in_session(&mut self.ctx, &key, &request)
                }
                Route::Cjp2pWhileOpening(key) => {
                    self.open_content_session(request.to, key);
                    false
                }
                Route::Cjp2p => false,
            };
            if in_session {
                continue;
            }
            by_source
                .entry(request.to)
                .or_default()
                .push(Cjp2pMessage::PleaseSendContent {
                    id: request.id.to_string(),
                    offset: request.offset,
                    length: request.length,
                });
        }
        for (to, mut requests) in by_source {
            requests.extend(self.cjp2p.identity_question(self.ctx.now, to.addr));
            for chunk in reply_sized_chunks(requests) {
                // A refused send (full queue) is a lost request: the download's timer asks again.
                if self.cjp2p.send(&mut self.ctx, to, chunk).is_err() {
                    self.ctx.stats.fetch.download_requests_dropped += 1;
                }
            }
        }
        for event in drive.events {
            self.ctx.push_event(event);
        }
    }

    /// What the node knows of `addr` for the downloads' choice of transport.
    fn source_link(&self, addr: TransportAddr) -> SourceLink {
        let our_node = self.cjp2p.our_node_key(addr);
        SourceLink {
            our_node,
            session_up: our_node.is_some_and(|key| self.has_session(&key.node_id())),
        }
    }

    /// Starts the handshake with our node `key` at `addr` that content requests will use
    /// (a no-op while one is already under way).
    fn open_content_session(&mut self, addr: TransportAddr, key: PublicKey) {
        let identity = PublicIdentity {
            name: alloc::string::String::new(),
            location: Address::from_transport(addr),
            key,
        };
        self.start_handshake(&identity, addr);
    }
}
