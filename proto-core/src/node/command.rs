//! The one path of every application command, [`Command`] in and [`CommandOutcome`] out, and
//! how a message finds its peer: routes given and learned, re-sends on failure or challenge,
//! and lookups.
//!
//! Adapters, the recorder and the replayer hand commands to [`Node::handle_command`] as data, so
//! that every command is dispatched, recorded and replayed the same way; the typed methods
//! (`send`, `query`, `fetch`, ...) are the same operations for code that drives the core
//! directly.

use super::lookups::{PendingMessage, transmit_tag};
use super::routing::LookupEnd;
use super::via::Via;
use super::{Cjp2p, Content, MAX_LOCAL_ADDRESSES, Node, Routes};
use crate::address::{Address, MAX_CALLSIGN_LEN};
use crate::crypto::proof::reply_reference;
use crate::error::{CommandError, SendError};
use crate::event::{Event, Message, MessageId, RoutingEvent};
use crate::frame::{self, FrameError};
use crate::identity::{NodeId, PublicIdentity, PublicKey};
use crate::io::{Command, CommandOutcome};
use crate::json::JsonError;
use crate::query::QueryOptions;
use crate::relay_address::RelayAddress;
use crate::routing::wire::LookupBody;
use crate::time::Instant;
use crate::transport::TransportAddr;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use serde_json::Value;

impl Node {
    /// An application command, as data: carries it out and says what it did.
    ///
    /// Every command an adapter offers goes through here, including download settings
    /// ([`Command::SetDownloadConfig`]) and cancellations, so a recording of a run holds all
    /// of them and replays. (The content store itself is state the application owns, like a
    /// socket, and is given with [`set_content_storage`](crate::Content::set_storage).)
    ///
    /// # Errors
    /// The error of the command.
    ///
    /// # Example
    /// ```
    /// use ejtp_proto::{Command, CommandOutcome, Config, Identity, Instant, Node, UnixMillis};
    ///
    /// let now = Instant::from_micros(0);
    /// let mut node = Node::new(
    ///     Config::default(),
    ///     Identity::from_secret_bytes(&[7; 32]),
    ///     [0; 32],
    ///     now,
    ///     UnixMillis(1_700_000_000_000),
    /// );
    /// let outcome = node.handle_command(now, Command::AddClient { callsign: "alice".into() })?;
    /// assert_eq!(outcome, CommandOutcome::Done);
    /// # Ok::<(), ejtp_proto::CommandError>(())
    /// ```
    pub fn handle_command(
        &mut self,
        now: Instant,
        command: Command,
    ) -> Result<CommandOutcome, CommandError> {
        use CommandOutcome::{Changed, Done, Sent};
        self.ctx.advance(now);
        match command {
            Command::AddClient { callsign } => self.add_client(&callsign).map(|()| Done),
            Command::RemoveClient { callsign } => Ok(Changed(self.remove_client(&callsign))),
            Command::AddLocalAddress { address } => self.add_local_address(address).map(|()| Done),
            Command::Send {
                from,
                to,
                via,
                value,
            } => Ok(Sent(self.send_onion(now, &from, &to, &via, value)?)),
            Command::SetDefaultRoute { route } => {
                self.set_default_route(route);
                Ok(Done)
            }
            Command::Query {
                from,
                to,
                via,
                value,
                options,
            } => Ok(Sent(
                self.query_onion(now, &from, &to, &via, value, options)?,
            )),
            Command::Reply {
                from,
                to,
                via,
                value,
            } => Ok(Sent(self.reply_onion(now, &from, &to, &via, value)?)),
            Command::CancelQuery { id } => Ok(Changed(self.cancel_query(now, id))),
            Command::RequestMailbox { relay, op } => {
                self.request_mailbox(now, &relay, op)?;
                Ok(Done)
            }
            Command::AddRoute {
                key,
                address,
                preference,
            } => Ok(Changed(self.routes().add(now, key, &address, preference))),
            Command::SendToPeer {
                from,
                peer,
                callsign,
                value,
            } => Ok(Sent(
                self.send_to_peer(now, &from, &peer, &callsign, value)?,
            )),
            Command::Lookup { peer } => Ok(Changed(self.routes().lookup(now, peer))),
            Command::SetRecordSeq { seq } => {
                self.routes().set_record_seq(seq);
                Ok(Done)
            }
            Command::SendCjp2p { to, messages } => {
                self.cjp2p().send(now, to, messages).map(|()| Done)
            }
            Command::AddCjp2pPeer { addr } => {
                self.cjp2p().add_peer(now, addr);
                Ok(Done)
            }
            Command::Fetch { id, sources } => self.content().fetch(now, id, sources).map(|()| Done),
            Command::CancelFetch { id } => Ok(Changed(self.content().cancel(&id))),
            Command::SetDownloadConfig { config } => {
                self.content().set_config(config);
                Ok(Done)
            }
            Command::RestoreReplayMemory { memory } => {
                self.restore_replay_memory(&memory);
                Ok(Done)
            }
        }
    }

    // ----- clients, addresses, messages -----

    /// Adds a local client: messages addressed to this node with `callsign` are delivered as
    /// [`Event::Message`](crate::Event::Message).
    ///
    /// # Errors
    /// [`CommandError::InvalidCallsign`], [`CommandError::DuplicateClient`] or
    /// [`CommandError::TooManyClients`].
    pub fn add_client(&mut self, callsign: &str) -> Result<(), CommandError> {
        if callsign.is_empty() || callsign.len() > MAX_CALLSIGN_LEN {
            return Err(CommandError::InvalidCallsign);
        }
        if self.transport.clients.contains(callsign) {
            return Err(CommandError::DuplicateClient(callsign.to_string()));
        }
        if self.transport.clients.len() >= self.ctx.config.max_clients {
            return Err(CommandError::TooManyClients);
        }
        self.transport.clients.insert(callsign.to_string());
        Ok(())
    }

    /// Removes a local client; later messages for it are dropped. Returns whether it was one.
    pub fn remove_client(&mut self, callsign: &str) -> bool {
        self.transport.clients.remove(callsign)
    }

    /// Declares an address this node is reached at (its "jack": `["udp4", ["1.2.3.4", 9001]]`).
    /// Senders' `s` headers use it, and a relayed frame addressed to it is opened here rather
    /// than sent on. Callsigns are ignored; declaring an address twice is harmless.
    ///
    /// # Errors
    /// [`CommandError::TooManyAddresses`] past [`MAX_LOCAL_ADDRESSES`].
    pub fn add_local_address(&mut self, address: Address) -> Result<(), CommandError> {
        let address = address.without_callsign();
        if self.ctx.local_addresses.contains(&address) {
            return Ok(());
        }
        if self.ctx.local_addresses.len() >= MAX_LOCAL_ADDRESSES {
            return Err(CommandError::TooManyAddresses);
        }
        self.ctx.local_addresses.push(address);
        // Our address record changed: the next one must be newer than any handed out.
        self.routing.record_seq = self.routing.record_seq.saturating_add(1);
        Ok(())
    }

    /// Where frames that no transport of ours can reach are sent, wrapped in a frame sealed to
    /// that node (which opens it and sends it on). `None` drops them instead.
    ///
    /// The node also opens a session with its default route at once and keeps it alive
    /// (`Config::keepalive_interval`): behind a NAT, that is what keeps this node reachable
    /// through it, and how it learns its public mapping.
    pub fn set_default_route(&mut self, route: Option<PublicIdentity>) {
        self.transport.default_route = route.clone();
        let Some(route) = route else {
            return;
        };
        if self.ctx.config.sessions
            && route.key != self.ctx.public_key
            && !self.has_session(&route.key.node_id())
        {
            if let Some(transport) = route.location.transport() {
                self.start_handshake(&route, transport);
            }
        }
    }

    /// Sends `value` from the local client `from` to `to`, signed and encrypted.
    ///
    /// Returns the message id the recipient will see. `to`'s address goes into the routing
    /// table; if it has failed (see [`handle_transmit_failed`](Self::handle_transmit_failed))
    /// the peer's best working address is used instead, or, with none, the message waits for a
    /// lookup of the peer (see [`send_to_peer`](Self::send_to_peer)).
    ///
    /// # Errors
    /// See [`SendError`]; on [`SendError::Blocked`] the value is handed back.
    pub fn send(
        &mut self,
        now: Instant,
        from: &str,
        to: &PublicIdentity,
        value: Value,
    ) -> Result<MessageId, SendError> {
        self.send_onion(now, from, to, &[], value)
    }

    /// The send commands through relays, as onions: `node.via(&relays).send(...)` (also
    /// `query` and `reply`). Each relay, first hop first, learns only the hop before it and
    /// the hop after it.
    ///
    /// # Example
    /// ```
    /// use ejtp_proto::{Config, Identity, Instant, Node, UnixMillis};
    /// use serde_json::json;
    ///
    /// let now = Instant::from_micros(0);
    /// let wall = UnixMillis(1_700_000_000_000);
    /// let mut node = Node::new(Config::default(), Identity::from_secret_bytes(&[1; 32]), [0; 32], now, wall);
    /// node.add_client("alice")?;
    /// let bob = Node::new(Config::default(), Identity::from_secret_bytes(&[2; 32]), [0; 32], now, wall)
    ///     .public_identity("bob", "bob");
    /// let relay = Node::new(Config::default(), Identity::from_secret_bytes(&[3; 32]), [0; 32], now, wall)
    ///     .public_identity("relay", "relay");
    /// // Neither has an address here, so the onion cannot leave: the error says so.
    /// let sent = node.via(&[relay]).send(now, "alice", &bob, json!("hi"));
    /// assert!(sent.is_err());
    /// # Ok::<(), ejtp_proto::CommandError>(())
    /// ```
    #[must_use]
    pub fn via<'a>(&'a mut self, relays: &'a [PublicIdentity]) -> Via<'a> {
        Via::new(self, relays)
    }

    /// [`send`](Self::send) through the relays `via` (see [`Via::send`]).
    pub(super) fn send_onion(
        &mut self,
        now: Instant,
        from: &str,
        to: &PublicIdentity,
        via: &[PublicIdentity],
        value: Value,
    ) -> Result<MessageId, SendError> {
        self.ctx.advance(now);
        self.send_message(from, to, via, value, None)
            .map(|(id, _)| id)
    }

    // ----- queries -----

    /// Sends `value` from the local client `from` to `to` as a query, and waits for its reply
    /// until `options`' hard timeout.
    ///
    /// The reply comes as [`QueryEvent::Reply`](crate::QueryEvent::Reply) (with `late` set if it came after the soft
    /// timeout); otherwise [`QueryEvent::TimedOut`](crate::QueryEvent::TimedOut) ends the query, or
    /// [`cancel_query`](Self::cancel_query) does. Returns the query's id, which those events
    /// name.
    ///
    /// # Errors
    /// [`SendError::TooManyQueries`] when
    /// [`Config::max_open_queries`](crate::Config::max_open_queries) are open (nothing is
    /// sent), or any error of [`send`](Self::send).
    pub fn query(
        &mut self,
        now: Instant,
        from: &str,
        to: &PublicIdentity,
        value: Value,
        options: QueryOptions,
    ) -> Result<MessageId, SendError> {
        self.query_onion(now, from, to, &[], value, options)
    }

    /// [`query`](Self::query) through the relays `via` (see [`Via::query`]).
    pub(super) fn query_onion(
        &mut self,
        now: Instant,
        from: &str,
        to: &PublicIdentity,
        via: &[PublicIdentity],
        value: Value,
        options: QueryOptions,
    ) -> Result<MessageId, SendError> {
        self.ctx.advance(now);
        self.queries.expire(self.ctx.now, &mut self.ctx.out);
        if self.queries.is_full() {
            return Err(SendError::TooManyQueries);
        }
        let (id, json) = self.send_message(from, to, via, value, None)?;
        let reference = reply_reference(&id.0, &json);
        self.queries.opened(
            self.ctx.now,
            id,
            to.key,
            reference,
            &options,
            &mut self.ctx.out,
        );
        Ok(id)
    }

    /// Answers the delivered message `to` from the local client `from`: sends `value` to the
    /// address and key `to` came from, carrying the reference that matches it to its query.
    ///
    /// Any delivered message can be answered; if its sender did not send it as a query (or
    /// the query is over) the reply is dropped there.
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub fn reply(
        &mut self,
        now: Instant,
        from: &str,
        to: &Message,
        value: Value,
    ) -> Result<MessageId, SendError> {
        self.reply_onion(now, from, to, &[], value)
    }

    /// [`reply`](Self::reply) through the relays `via` (see [`Via::reply`]).
    pub(super) fn reply_onion(
        &mut self,
        now: Instant,
        from: &str,
        to: &Message,
        via: &[PublicIdentity],
        value: Value,
    ) -> Result<MessageId, SendError> {
        self.ctx.advance(now);
        // ejtp-rs writes every `j` frame in the one strict JSON encoding of its value with an
        // empty header, so the answered frame's bytes are those of the delivered value.
        let answered = frame::encode_json(&to.value).map_err(|err| match err {
            FrameError::Json(err) => SendError::InvalidValue(err),
            _ => SendError::InvalidValue(JsonError::Syntax),
        })?;
        let reference = reply_reference(&to.id.0, &answered);
        let recipient = PublicIdentity {
            name: String::new(),
            location: to.from.address.clone(),
            key: to.from.key,
        };
        self.send_message(from, &recipient, via, value, Some(reference))
            .map(|(id, _)| id)
    }

    /// Cancels the open query `id`: [`QueryEvent::Cancelled`](crate::QueryEvent::Cancelled) ends it, and a later reply is
    /// dropped. False if no such query is open (it was answered, timed out, or never was).
    pub fn cancel_query(&mut self, now: Instant, id: MessageId) -> bool {
        self.ctx.advance(now);
        self.queries.expire(self.ctx.now, &mut self.ctx.out);
        self.queries.cancel(id, &mut self.ctx.out)
    }

    // ----- CJP2P and content -----

    /// The CJP2P side of the node: its peers, its content store, and sending CJP2P messages.
    #[must_use]
    pub fn cjp2p(&mut self) -> Cjp2p<'_> {
        Cjp2p::new(self)
    }

    /// Downloads and the storage they write to.
    #[must_use]
    pub fn content(&mut self) -> Content<'_> {
        Content::new(self)
    }

    // ----- routing -----

    /// The routing table and lookups: routes to add, peers to look up, record sequence
    /// numbers.
    #[must_use]
    pub fn routes(&mut self) -> Routes<'_> {
        Routes::new(self)
    }

    /// Sends `value` from the local client `from` to the client `callsign` of the node with key
    /// `peer`, on the best address the routing table knows.
    ///
    /// If no address is known or every known one failed, the message waits (in a queue of
    /// [`Config::max_waiting_messages`](crate::Config::max_waiting_messages)) for a lookup of
    /// the peer, and is sent when [`RoutingEvent::PeerFound`](crate::RoutingEvent::PeerFound) comes, or reported with
    /// [`RoutingEvent::Unreachable`](crate::RoutingEvent::Unreachable) when the lookup fails.
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
            name: String::new(),
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
