//! Routing: choosing a peer's address, falling back when a transmit fails, failing fast when
//! none is left, and finding peers with lookups of signed address records.
//!
//! See `docs/PROTOCOL.md` §13 for the rules and the bytes.

use alloc::vec::Vec;

use super::Node;
use super::lookups::{PendingMessage, transmit_tag};
use super::routing::LookupEnd;
use crate::address::Address;
use crate::error::SendError;
use crate::event::RoutingEvent;
use crate::event::{Event, MessageId};
use crate::identity::{NodeId, PublicIdentity, PublicKey};
use crate::relay_address::RelayAddress;
use crate::routing::wire::LookupBody;
use crate::time::Instant;
use crate::transport::TransportAddr;

impl Node {
    // ----- inputs -----

    /// The adapter could not deliver the transmit `data` to `to` (an error on a UDP send, a
    /// refused or reset TCP connection before the bytes were written). Report each failed
    /// transmit, with its payload as [`Transmit::payload`](crate::Transmit) gave it: the node
    /// recognises its messages by their last bytes (an AEAD tag).
    ///
    /// The address is marked failed for every peer that has it. If `data` is a message sent
    /// within [`Config::resend_window`](crate::Config::resend_window), it is sent again, same
    /// id, on its peer's next usable address. A peer left with no usable address is reported at
    /// once: the message with [`RoutingEvent::Unreachable`] (or [`QueryEvent::Unreachable`](crate::QueryEvent::Unreachable) if it is a
    /// query; without a message, `Unreachable` names none), every open query to the peer ends
    /// with [`QueryEvent::Unreachable`](crate::QueryEvent::Unreachable), and a lookup for the peer starts in the background.
    /// Except while a lookup of the peer is already in flight (its addresses came from a record
    /// it found, and a newer one may follow): the message then waits for the lookup's end.
    pub fn handle_transmit_failed(&mut self, now: Instant, to: TransportAddr, data: &[u8]) {
        self.ctx.advance(now);
        let failure = self
            .routing
            .on_transmit_failed(&mut self.ctx, to, &transmit_tag(data));
        // A handshake to a dead address would only delay a new one on the next address.
        self.transport.forget_handshakes_to(to);
        let mut reported = failure.waiting;
        if let Some(message) = failure.resend {
            let peer = message.key.node_id();
            if let Err(id) = self.resend_on_best(message) {
                self.report_unreachable(peer, Some(id));
                reported = Some(peer);
            }
        }
        for peer in failure.peers {
            if !self.routing.is_stranded(&self.ctx, &peer) {
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

    /// Learns an address of a peer into the routing table, which keeps peers in session with
    /// us rather than others when it is full.
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
            .learn(&self.ctx, key, address, (preference, reset), &has_session)
    }

    /// Where to send to `key`, whose address is `given` (see `Routing::path_for`).
    pub(super) fn path_for(&self, key: &PublicKey, given: TransportAddr) -> TransportAddr {
        let validated = self.transport.paths.is_validated(&given);
        self.routing.path_for(&self.ctx, key, given, validated)
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
        }
        self.routing
            .routes
            .mark_success(&key.node_id(), from, self.ctx.now);
        self.transport
            .note_signed_arrival(&self.ctx, &key, address, from, len);
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
                let location = best.naming(message.callsign.as_deref());
                self.send_on(message, location)
            }
            None => self.hold_for_lookup(message),
        }
    }

    /// Where to send to `peer` (see `Routing::best_location`).
    fn best_location(&self, peer: &NodeId) -> Option<Address> {
        let direct = || self.transport.direct_path(&self.ctx, peer);
        self.routing.best_location(&self.ctx, peer, &direct)
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
            .remember_sent(&self.ctx, message, transport, tag);
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
            None => self.routing.take_resendable(&self.ctx, from, echoed),
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

    /// A node under load challenged the transmit of `message` to `to`: send it again there,
    /// with the same id, so that it is never delivered twice.
    pub(super) fn resend_challenged(&mut self, to: TransportAddr, message: PendingMessage) {
        let location = Address::from_transport(to).naming(message.callsign.as_deref());
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
        let location = best.naming(message.callsign.as_deref());
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
    /// ends with [`QueryEvent::Unreachable`], anything else is [`RoutingEvent::Unreachable`].
    pub(super) fn report_unreachable(&mut self, peer: NodeId, message: Option<MessageId>) {
        if message.is_some_and(|id| self.queries.unreachable(id, &mut self.ctx.out)) {
            return;
        }
        self.ctx
            .push_event(Event::Routing(RoutingEvent::Unreachable { peer, message }));
    }

    /// Starts a lookup of `target`, unless one is in flight, and queues its requests. False
    /// if none could start.
    pub(super) fn start_lookup(&mut self, target: NodeId) -> bool {
        let own = self.node_id();
        let Some(requests) = self.routing.start_lookup(&mut self.ctx, target, own) else {
            return false;
        };
        self.queue_lookup_requests(requests);
        true
    }

    /// Queues the requests of a lookup round.
    fn queue_lookup_requests(&mut self, requests: super::routing::Requests) {
        for (to, frame) in requests {
            self.transport.queue_transmit(&mut self.ctx, to, frame);
        }
    }

    /// Lookup deadlines due now (see `Routing::expire_lookups`): requests of a new round go
    /// out, and what waited on a lookup that ended is reported unreachable.
    pub(super) fn expire_lookups(&mut self) {
        for end in self.routing.expire_lookups(&mut self.ctx) {
            match end {
                LookupEnd::Again(requests) => self.queue_lookup_requests(requests),
                LookupEnd::Over {
                    target,
                    failed,
                    waiting,
                } => {
                    if failed {
                        self.ctx
                            .push_event(Event::Routing(RoutingEvent::LookupFailed {
                                peer: target,
                            }));
                    }
                    for message in waiting {
                        self.report_unreachable(target, Some(message.id));
                    }
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
            Err(_) => self.ctx.stats.transport.dropped_malformed += 1,
        }
    }

    fn answer_lookup(
        &mut self,
        from: TransportAddr,
        frame_len: usize,
        request_id: [u8; 16],
        target: NodeId,
    ) {
        let record = if target == self.node_id() {
            self.own_record()
        } else {
            self.routing.held_record(&self.ctx, &target)
        };
        if let Some(frame) = self
            .routing
            .lookup_answer(&mut self.ctx, from, request_id, record)
        {
            self.transport
                .queue_answer(&mut self.ctx, from, frame_len, frame);
        }
    }

    fn on_lookup_answer(&mut self, request_id: [u8; 16], bytes: &[u8]) {
        let sessions = &self.transport.sessions;
        let has_session = |peer: &NodeId| sessions.by_peer.contains_key(peer);
        let Some((target, record_seq)) =
            self.routing
                .take_answer(&mut self.ctx, request_id, bytes, &has_session)
        else {
            return;
        };
        self.ctx.push_event(Event::Routing(RoutingEvent::PeerFound {
            peer: target,
            record_seq,
        }));
        for message in self.routing.waiting.take_for(&target) {
            let peer = message.key.node_id();
            if let Err(id) = self.resend_on_best(message) {
                self.report_unreachable(peer, Some(id));
            }
        }
    }

    /// This node's signed address record (see `Routing::own_record`). None without an
    /// address to publish.
    pub(super) fn own_record(&mut self) -> Option<Vec<u8>> {
        let candidates = self.transport.record_candidates(&self.ctx);
        self.routing.own_record(&self.ctx, candidates.into_iter())
    }
}
