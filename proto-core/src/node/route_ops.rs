//! Routing: choosing a peer's address, falling back when a transmit fails, failing fast when
//! none is left, and finding peers with lookups of signed address records.
//!
//! See `docs/PROTOCOL.md` §13 for the rules and the bytes.

use alloc::vec::Vec;

use serde_json::Value;

use super::Node;
use super::lookups::{Lookup, PendingMessage, SentMessage, TAG_LEN, transmit_tag};
use super::routes::RouteAddress;
use crate::address::Address;
use crate::error::SendError;
use crate::event::{Event, MessageId};
use crate::frame;
use crate::identity::{NodeId, PublicIdentity, PublicKey};
use crate::relay_address::RelayAddress;
use crate::routing::AddressRecord;
use crate::routing::record::MAX_RECORD_ADDRESSES;
use crate::routing::wire::{self, LookupBody};
use crate::time::Instant;
use crate::transport::TransportAddr;

impl Node {
    // ----- commands -----

    /// Tells the routing table that the peer with `key` is reached at `address` (a callsign is
    /// ignored), with `preference` (higher is tried first; none keeps the address's current one,
    /// or 100 for a new address). An address given this way is considered working again even if
    /// it failed before. If no signed record of the peer is held yet, the node asks the peer for
    /// it (a lookup; its end is reported like any other).
    ///
    /// Returns false if the address has no transport this node speaks, or the table cannot take
    /// it (a bound of zero).
    pub fn add_route(
        &mut self,
        now: Instant,
        key: PublicKey,
        address: &Address,
        preference: Option<u8>,
    ) -> bool {
        self.ctx.advance(now);
        if key == self.ctx.public_key {
            return false;
        }
        let stored = self.learn_route(key, address, preference, true);
        let peer = key.node_id();
        if stored && self.routing.routes.record_seq(&peer).is_none() {
            self.start_lookup(peer);
        }
        stored
    }

    /// Sends `value` from the local client `from` to the client `callsign` of the node with key
    /// `peer`, on the best address the routing table knows.
    ///
    /// If no address is known or every known one failed, the message waits (in a queue of
    /// [`Config::max_waiting_messages`](crate::Config::max_waiting_messages)) for a lookup of
    /// the peer, and is sent when [`Event::PeerFound`] comes, or reported with
    /// [`Event::Unreachable`] when the lookup fails.
    ///
    /// # Errors
    /// [`SendError::Unreachable`] if no lookup can be started or waited on (no other peer to
    /// ask, or a bound reached); otherwise as [`send`](Self::send).
    pub fn send_to_peer(
        &mut self,
        now: Instant,
        from: &str,
        peer: &PublicKey,
        callsign: &str,
        value: Value,
    ) -> Result<MessageId, SendError> {
        self.ctx.advance(now);
        let json = self.transport.check_sendable(from, &value)?;
        if self.ctx.out.is_full() {
            self.ctx.out.send_blocked = true;
            return Err(SendError::Blocked(value));
        }
        let id = MessageId(self.ctx.rng.array());
        let message = PendingMessage {
            id,
            from: from.into(),
            key: *peer,
            callsign: Some(callsign.into()),
            json,
            reference: None,
        };
        self.send_routed(message, None)?;
        Ok(id)
    }

    /// Looks `peer` up: asks the peers in the routing table (and `peer` itself, if it has a
    /// usable address) for its newest signed address record. Ends with [`Event::PeerFound`] or
    /// [`Event::LookupFailed`]. False if no lookup could be started (no peer to ask, or
    /// [`Config::max_pending_lookups`](crate::Config::max_pending_lookups) in flight); true also
    /// if one for `peer` is already in flight.
    pub fn lookup(&mut self, now: Instant, peer: NodeId) -> bool {
        self.ctx.advance(now);
        self.start_lookup(peer)
    }

    /// Sets the sequence number of this node's next address record. It starts at the wall clock
    /// reading (Unix ms) the node was built with and grows by one each time a local address is
    /// added, so records made after a restart are newer than those made before; an application
    /// that persists [`record_seq`](Self::record_seq) may restore it (plus one) instead.
    pub fn set_record_seq(&mut self, seq: u64) {
        self.routing.record_seq = seq;
    }

    /// The sequence number of this node's current address record.
    #[must_use]
    pub fn record_seq(&self) -> u64 {
        self.routing.record_seq
    }

    /// The sequence number of the signed address record held for `peer`, if any.
    #[must_use]
    pub fn peer_record_seq(&self, peer: &NodeId) -> Option<u64> {
        self.routing.routes.record_seq(peer)
    }

    /// The addresses the routing table holds for `peer`, best first at `now`, if it knows it.
    #[must_use]
    pub fn routes_to(&self, peer: &NodeId) -> Vec<Address> {
        let Some(route) = self.routing.routes.get(peer) else {
            return Vec::new();
        };
        let mut addresses: Vec<&RouteAddress> = route.addresses.iter().collect();
        let retry = self.ctx.config.route_retry_after;
        let now = self.ctx.now;
        addresses.sort_by_key(|known| {
            let usable = self
                .routing
                .routes
                .is_usable(peer, known.transport, now, retry);
            (
                !usable,
                core::cmp::Reverse(known.preference),
                core::cmp::Reverse(known.last_success),
                known.consecutive_failures,
            )
        });
        addresses.into_iter().map(|known| known.address()).collect()
    }

    // ----- inputs -----

    /// The adapter could not deliver the transmit `data` to `to` (an error on a UDP send, a
    /// refused or reset TCP connection before the bytes were written). Report each failed
    /// transmit, with its payload as [`Transmit::payload`](crate::Transmit) gave it: the node
    /// recognises its messages by their last bytes (an AEAD tag).
    ///
    /// The address is marked failed for every peer that has it. If `data` is a message sent
    /// within [`Config::resend_window`](crate::Config::resend_window), it is sent again, same
    /// id, on its peer's next usable address. A peer left with no usable address is reported at
    /// once: the message with [`Event::Unreachable`] (or [`Event::QueryUnreachable`] if it is a
    /// query; without a message, `Unreachable` names none), every open query to the peer ends
    /// with [`Event::QueryUnreachable`], and a lookup for the peer starts in the background.
    /// Except while a lookup of the peer is already in flight (its addresses came from a record
    /// it found, and a newer one may follow): the message then waits for the lookup's end.
    pub fn handle_transmit_failed(&mut self, now: Instant, to: TransportAddr, data: &[u8]) {
        self.ctx.advance(now);
        self.ctx.stats.transmits_failed += 1;
        let mut peers = self.routing.routes.mark_failed(to, self.ctx.now);
        // A handshake to a dead address would only delay a new one on the next address.
        let stale: Vec<u32> = self
            .transport
            .sessions
            .pending
            .iter()
            .filter(|(_, pending)| pending.to == to)
            .map(|(index, _)| *index)
            .collect();
        for index in stale {
            self.transport.sessions.take_pending(index);
        }
        let mut reported = None;
        let retry = self.ctx.config.route_retry_after;
        if let Some(message) = self.take_resendable(to, &transmit_tag(data)) {
            let peer = message.key.node_id();
            if !peers.contains(&peer) {
                peers.push(peer);
            }
            let lookup_open = self.routing.lookups.by_target.contains_key(&peer);
            let room = self.routing.waiting.len() < self.ctx.config.max_waiting_messages;
            if lookup_open
                && room
                && self
                    .routing
                    .routes
                    .best(&peer, self.ctx.now, retry)
                    .is_none()
            {
                // It was sent on a record a lookup found, and that lookup still takes newer
                // answers: wait for them rather than give up on the first (maybe stale) one.
                self.routing.waiting.push(message);
                reported = Some(peer);
            } else if let Err(id) = self.resend_on_best(message) {
                self.report_unreachable(peer, Some(id));
                reported = Some(peer);
            }
        }
        peers.sort();
        peers.dedup();
        for peer in peers {
            // A lookup in flight may still bring a newer record: its end decides.
            if self
                .routing
                .routes
                .best(&peer, self.ctx.now, retry)
                .is_some()
                || self.routing.lookups.by_target.contains_key(&peer)
            {
                continue;
            }
            if reported != Some(peer) {
                self.report_unreachable(peer, None);
            }
            self.queries.peer_unreachable(&peer, &mut self.ctx.out);
            self.start_lookup(peer);
        }
    }

    // ----- internals -----

    /// Learns an address of a peer into the routing table.
    pub(super) fn learn_route(
        &mut self,
        key: PublicKey,
        address: &Address,
        preference: Option<u8>,
        reset: bool,
    ) -> bool {
        let sessions = &self.transport.sessions;
        let has_session = |peer: &NodeId| sessions.by_peer.contains_key(peer);
        self.routing
            .routes
            .learn(key, address, preference, reset, self.ctx.now, &has_session)
    }

    /// An authenticated frame of `len` bytes from `key`, which signed `address` as its own,
    /// came from `from`.
    pub(super) fn learn_from_inbound(
        &mut self,
        key: PublicKey,
        address: &Address,
        from: TransportAddr,
        len: usize,
    ) {
        if key == self.ctx.public_key {
            return;
        }
        self.learn_route(key, address, None, false);
        if let Some(signed) = address.transport() {
            self.routing.routes.mark_signed(&key.node_id(), signed);
            // Sent from elsewhere: what we send the peer at the signed address is bounded by
            // what this was worth until the address proves it receives.
            self.transport
                .paths
                .on_claimed(key.node_id(), signed, from, len, self.ctx.now);
        }
        self.routing
            .routes
            .mark_success(&key.node_id(), from, self.ctx.now);
        if from.protocol == crate::transport::Protocol::Udp {
            self.transport
                .paths
                .note_signed_source(key.node_id(), from, self.ctx.now);
        }
    }

    /// `key` was heard straight from `from`: in a handshake it started or on its session,
    /// neither of which a relay forwards (a signed message may come through one). Behind a
    /// NAT its signed address is private and this is what reaches it. UDP only: a TCP source
    /// is a connection's ephemeral port.
    pub(super) fn heard_directly(&mut self, key: PublicKey, from: TransportAddr) {
        if key == self.ctx.public_key || from.protocol != crate::transport::Protocol::Udp {
            return;
        }
        self.learn_route(key, &Address::from_transport(from), None, true);
        self.routing
            .routes
            .mark_success(&key.node_id(), from, self.ctx.now);
    }

    /// Where to send to `key`, whose address is `given`. If `given` is an address the peer
    /// signed as its own and it has not proved it receives, the address an authenticated frame
    /// from `key` came from within `observed_path_lifetime`: behind a NAT the signed address is
    /// private and the observed one crosses the NAT. Otherwise `given`: an address the
    /// application chose, or one that proved itself.
    pub(super) fn path_for(&self, key: &PublicKey, given: TransportAddr) -> TransportAddr {
        // A wildcard signed by a node bound to `0.0.0.0` reaches no one: never keep it.
        if !given.is_unspecified()
            && (self.transport.paths.is_validated(&given)
                || !self.routing.routes.is_signed(&key.node_id(), given))
        {
            return given;
        }
        self.routing
            .routes
            .recently_heard(
                &key.node_id(),
                given.protocol,
                self.ctx.now,
                self.ctx.config.observed_path_lifetime,
            )
            .unwrap_or(given)
    }

    /// Whether a direct send to `to` goes through the routing table: it names a transport, or
    /// the table knows the peer.
    pub(super) fn routes_apply(&self, to: &PublicIdentity) -> bool {
        to.location.transport().is_some() || self.routing.routes.get(&to.key.node_id()).is_some()
    }

    /// Sends `message` on the address the application gave (if usable), else on the peer's best
    /// address, else holds it for a lookup.
    pub(super) fn send_routed(
        &mut self,
        message: PendingMessage,
        given: Option<&Address>,
    ) -> Result<(), SendError> {
        let peer = message.key.node_id();
        let retry = self.ctx.config.route_retry_after;
        if let Some(given) = given {
            if let Some(transport) = given.transport() {
                self.learn_route(message.key, given, None, false);
                if self
                    .routing
                    .routes
                    .is_usable(&peer, transport, self.ctx.now, retry)
                {
                    return self.send_on(message, given.clone());
                }
            }
            if RelayAddress::from_address(given).is_some() {
                self.learn_route(message.key, given, None, false);
                return self.send_on(message, given.clone());
            }
        }
        match self.best_location(&peer) {
            Some(best) => {
                let location = with_callsign(&best, message.callsign.as_deref());
                self.send_on(message, location)
            }
            None => self.hold_for_lookup(message),
        }
    }

    /// Where to send to `peer`: a peer that lists a relay is reached on its direct path if
    /// one is open, else through the relay (which introduces us, so that a direct path may
    /// open); any other peer on its best usable address.
    fn best_location(&self, peer: &NodeId) -> Option<Address> {
        let route = self.routing.routes.get(peer)?;
        if let Some(relay) = route.relays.first() {
            return Some(match self.transport.direct_path(&self.ctx, peer) {
                Some(direct) => Address::from_transport(direct),
                None => relay.to_address(None),
            });
        }
        self.routing
            .routes
            .best(peer, self.ctx.now, self.ctx.config.route_retry_after)
            .map(|best| best.address())
    }

    /// Encodes and queues `message` for `location`, and remembers it for a re-send.
    fn send_on(&mut self, message: PendingMessage, location: Address) -> Result<(), SendError> {
        let to = PublicIdentity {
            name: alloc::string::String::new(),
            location,
            key: message.key,
        };
        let (transport, tag) = self.transmit_message(
            message.id,
            &message.from,
            &to,
            &[],
            &message.json,
            message.reference,
        )?;
        self.routing
            .routes
            .touch(&message.key.node_id(), self.ctx.now);
        let capacity = self.ctx.config.max_resend_memory;
        self.routing.resend.push(
            SentMessage {
                message,
                transport,
                tag,
                at: self.ctx.now,
            },
            capacity,
        );
        Ok(())
    }

    /// A node under load challenged a frame of ours, the one ending with `echoed`, that went to
    /// `from`: keep the cookie for what we send there, and send that frame again (a pending
    /// handshake, or a message we remember). A challenge naming nothing we sent there is
    /// ignored, so a forged one makes us send nothing.
    pub(super) fn on_cookie_challenge(
        &mut self,
        from: TransportAddr,
        echoed: &[u8; 16],
        cookie: &[u8; 16],
    ) {
        let handshake = self.transport.sessions.pending_frame_tagged(from, echoed);
        let message = match handshake {
            Some(_) => None,
            None => self.take_resendable(from, echoed),
        };
        if handshake.is_none() && message.is_none() {
            self.transport.key_work.stray_challenge();
            return;
        }
        // Kept first: the frame sent again below goes with the cookie.
        self.transport
            .key_work
            .keep_cookie(from, *cookie, self.ctx.now);
        if let Some(frame) = handshake {
            self.transport.queue_transmit(&mut self.ctx, from, frame);
        }
        if let Some(message) = message {
            self.resend_challenged(from, message);
        }
    }

    /// The remembered message whose transmit to `to` ended with `tag`, taken to be sent
    /// again, if it went within [`Config::resend_window`](crate::Config::resend_window).
    pub(super) fn take_resendable(
        &mut self,
        to: TransportAddr,
        tag: &[u8; TAG_LEN],
    ) -> Option<PendingMessage> {
        let window = u64::try_from(self.ctx.config.resend_window.as_micros()).unwrap_or(u64::MAX);
        let since = Instant::from_micros(self.ctx.now.as_micros().saturating_sub(window));
        self.routing.resend.take_failed(to, tag, since)
    }

    /// A node under load challenged the transmit of `message` to `to`: send it again there,
    /// with the same id, so that it is never delivered twice.
    pub(super) fn resend_challenged(&mut self, to: TransportAddr, message: PendingMessage) {
        let location = with_callsign(&Address::from_transport(to), message.callsign.as_deref());
        let (id, key) = (message.id, message.key.node_id());
        if self.send_on(message, location).is_err() {
            self.report_unreachable(key, Some(id));
        }
    }

    /// Sends `message` again on its peer's best usable address; its id if there is none.
    fn resend_on_best(&mut self, message: PendingMessage) -> Result<(), MessageId> {
        let id = message.id;
        let Some(best) = self.best_location(&message.key.node_id()) else {
            return Err(id);
        };
        let location = with_callsign(&best, message.callsign.as_deref());
        self.send_on(message, location).map_err(|_| id)
    }

    /// Queues `message` until a lookup of its recipient ends.
    fn hold_for_lookup(&mut self, message: PendingMessage) -> Result<(), SendError> {
        if self.routing.waiting.len() >= self.ctx.config.max_waiting_messages {
            return Err(SendError::Unreachable);
        }
        if !self.start_lookup(message.key.node_id()) {
            return Err(SendError::Unreachable);
        }
        self.routing.waiting.push(message);
        Ok(())
    }

    /// Reports that `message` (or, with none, some traffic) could not reach `peer`: a query
    /// ends with [`Event::QueryUnreachable`], anything else is [`Event::Unreachable`].
    pub(super) fn report_unreachable(&mut self, peer: NodeId, message: Option<MessageId>) {
        if message.is_some_and(|id| self.queries.unreachable(id, &mut self.ctx.out)) {
            return;
        }
        self.ctx.push_event(Event::Unreachable { peer, message });
    }

    /// Starts a lookup of `target`, unless one is in flight. False if none could start.
    pub(super) fn start_lookup(&mut self, target: NodeId) -> bool {
        if self.routing.lookups.by_target.contains_key(&target) {
            return true;
        }
        if target == self.node_id()
            || self.routing.lookups.len() >= self.ctx.config.max_pending_lookups
        {
            return false;
        }
        let attempts = self.ctx.config.lookup_attempts;
        self.lookup_round(target, Vec::new(), attempts)
    }

    /// Sends one round of requests for `target` to peers not in `asked` (or, if every peer was
    /// asked, to the same peers again), with `attempts` rounds left including this one.
    fn lookup_round(&mut self, target: NodeId, mut asked: Vec<NodeId>, attempts: u8) -> bool {
        if attempts == 0 {
            return false;
        }
        let mut askees = self.peers_to_ask(target, &asked);
        if askees.is_empty() {
            askees = self.peers_to_ask(target, &[]);
        }
        if askees.is_empty() {
            return false;
        }
        let request_id: [u8; 16] = self.ctx.rng.array();
        for (peer, address, transport) in askees {
            let mut frame = frame::sealed_prefix(&address);
            wire::write_lookup_request(&mut frame, &request_id, &target);
            self.transport
                .queue_transmit(&mut self.ctx, transport, frame);
            if !asked.contains(&peer) {
                asked.push(peer);
            }
        }
        self.ctx.stats.lookups_sent += 1;
        let lookup = Lookup {
            request_id,
            asked,
            deadline: self.ctx.now + self.ctx.config.lookup_timeout,
            attempts_left: attempts.saturating_sub(1),
            found: None,
        };
        self.routing.lookups.insert(target, lookup);
        true
    }

    /// Whom to ask about `target`: the target itself if it has a usable address, then up to
    /// `lookup_fan_out` other peers, skipping `skip`.
    fn peers_to_ask(
        &self,
        target: NodeId,
        skip: &[NodeId],
    ) -> Vec<(NodeId, Address, TransportAddr)> {
        let retry = self.ctx.config.route_retry_after;
        let mut askees = Vec::new();
        if !skip.contains(&target) {
            if let Some(best) = self.routing.routes.best(&target, self.ctx.now, retry) {
                askees.push((target, best.address(), best.transport));
            }
        }
        askees.extend(self.routing.routes.peers_to_ask(
            &target,
            skip,
            self.ctx.config.lookup_fan_out,
            self.ctx.now,
            retry,
        ));
        askees
    }

    /// Lookup deadlines due now: a lookup that found a record is done; one that did not asks
    /// again or fails.
    pub(super) fn expire_lookups(&mut self) {
        for target in self.routing.lookups.due(self.ctx.now) {
            let Some(lookup) = self.routing.lookups.remove(&target) else {
                continue;
            };
            if lookup.found.is_some() {
                // Messages still waiting failed on every record the lookup found.
                for message in self.routing.waiting.take_for(&target) {
                    self.report_unreachable(target, Some(message.id));
                }
                continue;
            }
            if !self.lookup_round(target, lookup.asked, lookup.attempts_left) {
                self.ctx.push_event(Event::LookupFailed { peer: target });
                for message in self.routing.waiting.take_for(&target) {
                    self.report_unreachable(target, Some(message.id));
                }
            }
        }
    }

    /// A lookup body in an `r` frame of `frame_len` bytes from `from`.
    pub(super) fn on_lookup_body(&mut self, from: TransportAddr, frame_len: usize, body: &[u8]) {
        match LookupBody::decode(body) {
            Ok(LookupBody::Request { request_id, target }) => {
                self.answer_lookup(from, frame_len, request_id, target);
            }
            Ok(LookupBody::Answer { request_id, record }) => {
                self.on_lookup_answer(request_id, record);
            }
            Err(_) => self.ctx.stats.dropped_malformed += 1,
        }
    }

    fn answer_lookup(
        &mut self,
        from: TransportAddr,
        frame_len: usize,
        request_id: [u8; 16],
        target: NodeId,
    ) {
        let wall = self.ctx.wall_now();
        let record = if target == self.node_id() {
            self.own_record()
        } else {
            self.routing
                .routes
                .get(&target)
                .and_then(|route| route.record.as_ref())
                .filter(|held| held.expires > wall)
                .map(|held| held.bytes.clone())
        };
        let Some(record) = record else {
            self.ctx.stats.lookups_unanswered += 1;
            return;
        };
        let mut frame = frame::sealed_prefix(&Address::from_transport(from));
        wire::write_lookup_answer(&mut frame, &request_id, &record);
        // The request came from an address nobody vouched for: answer with no more than three
        // times its bytes, so a forged source cannot make this node an amplifier, or within
        // the address's own credit (three times all it sent us, less what we sent it; none
        // needed once it proved it receives: a peer in session with us).
        if frame.len() > frame_len.saturating_mul(3)
            && !self.transport.paths.admit(from, frame.len())
        {
            self.ctx.stats.lookups_unanswered += 1;
            return;
        }
        self.transport.queue_transmit(&mut self.ctx, from, frame);
    }

    fn on_lookup_answer(&mut self, request_id: [u8; 16], bytes: &[u8]) {
        let Some(target) = self.routing.lookups.by_request.get(&request_id).copied() else {
            self.ctx.stats.dropped_unmatched_lookup += 1;
            return;
        };
        let Ok(record) = AddressRecord::decode(bytes) else {
            self.ctx.stats.dropped_bad_record += 1;
            return;
        };
        if record.check_for(&target, self.ctx.wall_now()).is_err() {
            self.ctx.stats.dropped_bad_record += 1;
            return;
        }
        if self
            .routing
            .routes
            .record_seq(&target)
            .is_some_and(|held| held >= record.seq)
        {
            self.ctx.stats.dropped_stale_record += 1;
            return;
        }
        let sessions = &self.transport.sessions;
        let has_session = |peer: &NodeId| sessions.by_peer.contains_key(peer);
        if !self
            .routing
            .routes
            .accept_record(&record, self.ctx.now, &has_session)
        {
            return;
        }
        if let Some(lookup) = self.routing.lookups.by_target.get_mut(&target) {
            lookup.found = Some(record.seq);
        }
        self.ctx.push_event(Event::PeerFound {
            peer: target,
            record_seq: record.seq,
        });
        for message in self.routing.waiting.take_for(&target) {
            let peer = message.key.node_id();
            if let Err(id) = self.resend_on_best(message) {
                self.report_unreachable(peer, Some(id));
            }
        }
    }

    /// This node's signed address record, signed again when its addresses or seq changed or
    /// half its lifetime has passed. None without an address to publish.
    pub(super) fn own_record(&mut self) -> Option<Vec<u8>> {
        // Candidates: our own specific addresses, then where peers see us (behind a NAT, its
        // mappings), most agreed first. Never a wildcard: it names no host.
        let reflexive = self
            .transport
            .reflexive
            .addresses()
            .into_iter()
            .map(|(seen, _)| Address::udp(seen, None));
        // And the node we stay reachable through, once it has told us where it sees us.
        let relayed = self
            .transport
            .default_route
            .as_ref()
            .and_then(|route| self.transport.own_relay_address(&route.key))
            .map(|relay| relay.to_address(None));
        let mut addresses: Vec<Address> = Vec::new();
        for address in self
            .ctx
            .local_addresses
            .iter()
            .filter(|address| {
                address
                    .transport()
                    .is_some_and(|transport| !transport.is_unspecified())
            })
            .cloned()
            .chain(relayed)
            .chain(reflexive)
        {
            if addresses.len() < MAX_RECORD_ADDRESSES && !addresses.contains(&address) {
                addresses.push(address);
            }
        }
        if addresses.is_empty() {
            return None;
        }
        let wall = self.ctx.wall_now();
        let half_life = self.ctx.config.record_lifetime / 2;
        if let Some(record) = &self.routing.own_record {
            if record.seq == self.routing.record_seq
                && record.addresses == addresses
                && record.expires > wall.saturating_add(half_life)
            {
                return Some(record.bytes.clone());
            }
            // New candidates (a mapping learnt or changed): the record must be newer than any
            // handed out, or holders would keep the old one.
            if record.addresses != addresses && record.seq >= self.routing.record_seq {
                self.routing.record_seq = record.seq.saturating_add(1);
            }
        }
        let expires = wall.saturating_add(self.ctx.config.record_lifetime);
        let record = AddressRecord::sign(
            &self.ctx.identity,
            self.routing.record_seq,
            expires,
            &addresses,
        )
        .ok()?;
        let bytes = record.bytes.clone();
        self.routing.own_record = Some(record);
        Some(bytes)
    }
}

/// `address` naming the client `callsign`, or the node itself.
pub(super) fn with_callsign(address: &Address, callsign: Option<&str>) -> Address {
    callsign.map_or_else(
        || address.clone(),
        |callsign| address.with_callsign(callsign),
    )
}
