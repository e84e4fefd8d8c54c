//! What a node is made of: the sub-machines it composes and the context they share. The
//! node's methods, which route what each sub-machine returns to the others, are in
//! `node/mod.rs`, `node/command.rs` and `node/inbound.rs`.

/// An EJTP node: a router with local clients, its identity, its sessions and its replay memory.
///
/// A `Node` does no I/O, reads no clock and draws no OS randomness. The caller (an adapter, a
/// test, a simulator) owns the sockets and the clock, hands the node what happened, and carries
/// out what the node asks for. The same seed, identity, configuration and inputs always give the
/// same outputs, byte for byte.
///
/// # Methods
/// - **Getters**: [`node_id`](Self::node_id), [`public_key`](Self::public_key),
///   [`public_identity`](Self::public_identity), [`stats`](Self::stats),
///   [`config`](Self::config), [`has_session`](Self::has_session),
///   [`held_frames`](Self::held_frames), [`nonces_remembered`](Self::nonces_remembered),
///   [`reflexive_addresses`](Self::reflexive_addresses).
/// - **Inputs** (from the network and the clock):
///   [`handle_datagram`](Self::handle_datagram), [`handle_stream_data`](Self::handle_stream_data),
///   [`handle_stream_closed`](Self::handle_stream_closed), [`handle_timeout`](Self::handle_timeout),
///   [`handle_wall_clock`](Self::handle_wall_clock),
///   [`handle_transmit_failed`](Self::handle_transmit_failed).
/// - **Commands** (from the application): [`add_client`](Self::add_client),
///   [`remove_client`](Self::remove_client), [`add_local_address`](Self::add_local_address),
///   [`send`](Self::send), [`query`](Self::query), [`reply`](Self::reply),
///   [`cancel_query`](Self::cancel_query), [`set_default_route`](Self::set_default_route),
///   [`request_mailbox`](Self::request_mailbox), [`send_to_peer`](Self::send_to_peer); each
///   also as a [`Command`](crate::Command) through [`handle_command`](Self::handle_command).
/// - **Views** (borrowed, one per concern, as quinn's `datagrams()`): [`via`](Self::via)
///   (sending through relays), [`routes`](Self::routes) (the routing table and lookups),
///   [`cjp2p`](Self::cjp2p) (CJP2P peers and content store), [`content`](Self::content)
///   (downloads and their storage).
/// - **Polls** (what to do now): [`poll_transmit`](Self::poll_transmit),
///   [`poll_event`](Self::poll_event), [`poll_timeout`](Self::poll_timeout), or all of them
///   through [`poll_output`](Self::poll_output).
/// - **As data**: [`handle_input`](Self::handle_input) takes any [`Input`](crate::Input).
///
/// # Driving a node
/// After every input or command, drain the polls: send every [`Transmit`](crate::Transmit), hand every [`Event`](crate::Event)
/// to the application, then sleep until [`poll_timeout`](Self::poll_timeout) (or until the next
/// datagram, whichever comes first) and call [`handle_timeout`](Self::handle_timeout).
///
/// Every method that changes the node takes `now`. Time never goes backwards: a `now` earlier
/// than one already seen is treated as the latest seen. Calling `handle_timeout` early is
/// harmless; it only does what is due.
///
/// # Errors and panics
/// Bad input from the network is never an error and never a panic: it is counted in
/// [`Stats`](crate::Stats) and dropped. Misuse of the API (an unknown callsign, a value that is not strict
/// JSON) returns a typed error. The crate forbids `unwrap`, `expect`, `panic!` and unchecked
/// indexing outside tests; a panic would be a bug.
pub struct Node {
    /// Time, settings, identity, randomness, the outbox and the counters: what every concern
    /// shares (see `node/context.rs`).
    pub(super) ctx: super::context::Context,
    /// EJTP transport and sessions (see `node/transport/`).
    pub(super) transport: super::transport::Transport,
    /// Routes, lookups and this node's address record (see `node/routing/`).
    pub(super) routing: super::routing::Routing,
    /// Open queries and round-trip samples (see `node/queries/`).
    pub(super) queries: super::queries::Queries,
    /// The store-and-forward relay: mailboxes and frames held for away recipients.
    pub(super) relay: super::relay::Relay,
    /// The CJP2P side: cookies, peers, content store (see `node/cjp2p/`).
    pub(super) cjp2p: super::cjp2p::Cjp2pState,
    /// Downloads in progress and the storage they write to (see `node/downloads/`).
    pub(super) downloads: super::downloads::Downloads,
}
