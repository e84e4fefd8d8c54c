//! One blocking face for every adapter, so that a single integration suite (`tests/*.rs`) runs
//! against each adapter and across them on real loopback sockets.
//!
//! The face is for tests: the plain methods panic on errors (the `*_result` ones return them),
//! every wait is bounded, and each async node gets its own runtime.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use std::path::Path;

use ejtp_adapter_core::{Error, FetchOutcome, NodeOptions, QueryOutcome};
use ejtp_proto::content::ContentId;
use ejtp_proto::{
    Address, Event, MailboxOp, Message, MessageId, NodeId, PublicIdentity, PublicKey, QueryOptions,
    Stats,
};
use serde_json::Value;

/// A node of some adapter, driven from a plain test thread.
pub trait TestNode: Sized {
    /// The adapter's name, for messages.
    const ADAPTER: &'static str;
    /// How many events wait for the application at most; past that they are dropped and
    /// counted ([`lost_total`](Self::lost_total)).
    const EVENT_CAPACITY: usize;
    /// Whether a shutdown of a node already stopped succeeds (std) rather than fail with
    /// [`Error::Closed`] (the async adapters).
    const SHUTDOWN_IS_IDEMPOTENT: bool;
    /// Whether dropping the node stops it (std) rather than leave its driver running for its
    /// handles (the async adapters).
    const DROP_STOPS: bool;

    /// A handle on the node, usable once the node is dropped or split.
    type Handle: TestHandle;
    /// The node's events, apart from the node.
    type Events: TestEvents;

    /// Binds a node, or says why it cannot.
    ///
    /// # Errors
    /// As the adapter's `Node::bind`.
    fn bind_result(options: NodeOptions) -> Result<Self, Error>;

    /// Binds a node (panics if it cannot).
    fn bind(options: NodeOptions) -> Self {
        Self::bind_result(options)
            .unwrap_or_else(|err| panic!("{} node binds: {err}", Self::ADAPTER))
    }

    /// The bound UDP addresses.
    fn udp_addrs(&self) -> Vec<SocketAddr>;

    /// The bound TCP listener addresses.
    fn tcp_addrs(&self) -> Vec<SocketAddr>;

    /// The node's id.
    fn node_id(&self) -> NodeId;

    /// The node's public key.
    fn public_key(&self) -> PublicKey;

    /// How peers reach `callsign` here over UDP (over TCP if there is no UDP socket).
    fn identity(&self, callsign: &str) -> PublicIdentity;

    /// How peers reach `callsign` here over TCP, if the node listens on TCP.
    fn try_tcp_identity(&self, callsign: &str) -> Option<PublicIdentity>;

    /// How peers reach `callsign` here over TCP (the node must listen on TCP).
    fn tcp_identity(&self, callsign: &str) -> PublicIdentity {
        self.try_tcp_identity(callsign)
            .expect("the node listens on TCP")
    }

    /// A handle on the node.
    fn handle(&self) -> Self::Handle;

    /// The next event, waiting at most `timeout`.
    fn next_event(&mut self, timeout: Duration) -> Option<Event>;

    /// How many events were dropped, the event queue being full, just before the event
    /// [`next_event`](Self::next_event) last returned.
    fn lost(&self) -> u64;

    /// How many events were dropped so far, the event queue being full.
    fn lost_total(&self) -> u64;

    /// The handle and the events apart.
    fn split(self) -> (Self::Handle, Self::Events);

    /// Stops the node.
    ///
    /// # Errors
    /// As the adapter's `Node::shutdown`.
    fn shutdown_result(self) -> Result<(), Error>;

    /// Sends `value` from `from` to `to` through `via`.
    fn send_via(
        &self,
        from: &str,
        to: &PublicIdentity,
        via: &[PublicIdentity],
        value: Value,
    ) -> MessageId {
        self.handle()
            .send_via(from, to, via, value)
            .unwrap_or_else(|err| panic!("{} send: {err}", Self::ADAPTER))
    }

    /// Sends `value` from `from` to `to` directly.
    fn send(&self, from: &str, to: &PublicIdentity, value: Value) -> MessageId {
        self.send_via(from, to, &[], value)
    }

    /// The node's counters.
    fn stats(&self) -> Stats {
        self.handle()
            .stats()
            .unwrap_or_else(|err| panic!("{} stats: {err}", Self::ADAPTER))
    }

    /// Stops the node (panics if that fails).
    fn shutdown(self) {
        self.shutdown_result()
            .unwrap_or_else(|err| panic!("{} shutdown: {err}", Self::ADAPTER));
    }

    /// The next event `pick` accepts, skipping the others, waiting at most `timeout`.
    fn next_matching<T>(
        &mut self,
        timeout: Duration,
        mut pick: impl FnMut(Event) -> Option<T>,
    ) -> Option<T> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            if let Some(found) = pick(self.next_event(left)?) {
                return Some(found);
            }
        }
    }

    /// The next message delivered here, skipping other events, waiting at most `timeout`.
    fn next_message(&mut self, timeout: Duration) -> Option<Message> {
        self.next_matching(timeout, |event| match event {
            Event::Message(message) => Some(message),
            _ => None,
        })
    }
}

/// A node's handle, driven from a plain test thread.
pub trait TestHandle: Clone + Send + 'static {
    /// Sends `value` from `from` to `to` through `via`.
    ///
    /// # Errors
    /// As the adapter's `Handle::send_via`.
    fn send_via(
        &self,
        from: &str,
        to: &PublicIdentity,
        via: &[PublicIdentity],
        value: Value,
    ) -> Result<MessageId, Error>;

    /// Sends `value` from `from` to `to` directly.
    ///
    /// # Errors
    /// As the adapter's `Handle::send`.
    fn send(&self, from: &str, to: &PublicIdentity, value: Value) -> Result<MessageId, Error> {
        self.send_via(from, to, &[], value)
    }

    /// Sends a query and waits until it ends.
    ///
    /// # Errors
    /// As the adapter's `Handle::query`.
    fn query(
        &self,
        from: &str,
        to: &PublicIdentity,
        value: Value,
        options: QueryOptions,
    ) -> Result<QueryOutcome, Error>;

    /// Sends a query through relays and waits until it ends.
    ///
    /// # Errors
    /// As the adapter's `Handle::query_via`.
    fn query_via(
        &self,
        from: &str,
        to: &PublicIdentity,
        via: &[PublicIdentity],
        value: Value,
        options: QueryOptions,
    ) -> Result<QueryOutcome, Error>;

    /// Sends a query and returns its id at once.
    ///
    /// # Errors
    /// As the adapter's `Handle::start_query`.
    fn start_query(
        &self,
        from: &str,
        to: &PublicIdentity,
        value: Value,
        options: QueryOptions,
    ) -> Result<MessageId, Error>;

    /// Answers a delivered message.
    ///
    /// # Errors
    /// As the adapter's `Handle::reply`.
    fn reply(&self, from: &str, to: &Message, value: Value) -> Result<MessageId, Error>;

    /// Cancels an open query.
    ///
    /// # Errors
    /// As the adapter's `Handle::cancel_query`.
    fn cancel_query(&self, id: MessageId) -> Result<bool, Error>;

    /// Asks a store-and-forward relay to hold, hand over, or stop holding this node's frames.
    ///
    /// # Errors
    /// As the adapter's `Handle::request_mailbox`.
    fn request_mailbox(&self, relay: &PublicIdentity, op: MailboxOp) -> Result<(), Error>;

    /// Adds a local client.
    ///
    /// # Errors
    /// As the adapter's `Handle::add_client`.
    fn add_client(&self, callsign: &str) -> Result<(), Error>;

    /// Adds an address of a peer to the routing table.
    ///
    /// # Errors
    /// As the adapter's `Handle::add_route`.
    fn add_route(
        &self,
        key: &PublicKey,
        address: &Address,
        preference: Option<u8>,
    ) -> Result<bool, Error>;

    /// Sends to a peer by key.
    ///
    /// # Errors
    /// As the adapter's `Handle::send_to_peer`.
    fn send_to_peer(
        &self,
        from: &str,
        peer: &PublicKey,
        callsign: &str,
        value: Value,
    ) -> Result<MessageId, Error>;

    /// The node's counters.
    ///
    /// # Errors
    /// As the adapter's `Handle::stats`.
    fn stats(&self) -> Result<Stats, Error>;

    /// Stops the node.
    ///
    /// # Errors
    /// As the adapter's `Handle::shutdown`.
    fn shutdown(&self) -> Result<(), Error>;

    /// Downloads `id` from the CJP2P nodes at `sources` and waits until it ends.
    ///
    /// # Errors
    /// As the adapter's `Handle::fetch`.
    fn fetch(&self, id: ContentId, sources: &[SocketAddr]) -> Result<FetchOutcome, Error>;

    /// Shares the file at `path`.
    ///
    /// # Errors
    /// As the adapter's `Handle::share`.
    fn share(&self, path: &Path) -> Result<ContentId, Error>;
}

/// A split node's events, read from a plain test thread.
pub trait TestEvents: Send + 'static {
    /// The next event, waiting at most `timeout`: `None` if none came in time or the events
    /// have ended.
    fn next_event(&mut self, timeout: Duration) -> Option<Event>;
}

/// The [`TestNode`] methods that every adapter's `Node` answers alike, for a struct whose
/// field `$node` is the adapter's node.
macro_rules! node_getters {
    ($node:tt) => {
        fn udp_addrs(&self) -> Vec<SocketAddr> {
            self.$node.udp_addrs().to_vec()
        }

        fn tcp_addrs(&self) -> Vec<SocketAddr> {
            self.$node.tcp_addrs().to_vec()
        }

        fn node_id(&self) -> NodeId {
            self.$node.node_id()
        }

        fn public_key(&self) -> PublicKey {
            self.$node.public_key()
        }

        fn identity(&self, callsign: &str) -> PublicIdentity {
            self.$node.public_identity(callsign)
        }

        fn try_tcp_identity(&self, callsign: &str) -> Option<PublicIdentity> {
            self.$node.tcp_identity(callsign)
        }
    };
}

/// The blocking adapter, as is.
pub struct StdNode(ejtp_std::Node);

/// The blocking adapter's handle.
#[derive(Clone)]
pub struct StdHandle(ejtp_std::Handle);

/// The blocking adapter's events.
pub struct StdEvents(ejtp_std::Events);

impl TestNode for StdNode {
    const ADAPTER: &'static str = "std";
    const EVENT_CAPACITY: usize = ejtp_std::EVENT_CAPACITY;
    const SHUTDOWN_IS_IDEMPOTENT: bool = true;
    const DROP_STOPS: bool = true;
    type Handle = StdHandle;
    type Events = StdEvents;

    fn bind_result(options: NodeOptions) -> Result<Self, Error> {
        ejtp_std::Node::bind(options).map(Self)
    }

    node_getters!(0);

    fn handle(&self) -> StdHandle {
        StdHandle(self.0.handle())
    }

    fn next_event(&mut self, timeout: Duration) -> Option<Event> {
        self.0.events().recv_timeout(timeout)
    }

    fn lost(&self) -> u64 {
        self.0.events().lost()
    }

    fn lost_total(&self) -> u64 {
        self.0.events().lost_total()
    }

    fn split(self) -> (StdHandle, StdEvents) {
        let (handle, events) = self.0.split();
        (StdHandle(handle), StdEvents(events))
    }

    fn shutdown_result(self) -> Result<(), Error> {
        self.0.shutdown()
    }
}

impl TestHandle for StdHandle {
    fn send_via(
        &self,
        from: &str,
        to: &PublicIdentity,
        via: &[PublicIdentity],
        value: Value,
    ) -> Result<MessageId, Error> {
        self.0.send_via(from, to, via, value)
    }

    fn query(
        &self,
        from: &str,
        to: &PublicIdentity,
        value: Value,
        options: QueryOptions,
    ) -> Result<QueryOutcome, Error> {
        self.0.query(from, to, value, options)
    }

    fn query_via(
        &self,
        from: &str,
        to: &PublicIdentity,
        via: &[PublicIdentity],
        value: Value,
        options: QueryOptions,
    ) -> Result<QueryOutcome, Error> {
        self.0.query_via(from, to, via, value, options)
    }

    fn start_query(
        &self,
        from: &str,
        to: &PublicIdentity,
        value: Value,
        options: QueryOptions,
    ) -> Result<MessageId, Error> {
        self.0.start_query(from, to, value, options)
    }

    fn reply(&self, from: &str, to: &Message, value: Value) -> Result<MessageId, Error> {
        self.0.reply(from, to, value)
    }

    fn cancel_query(&self, id: MessageId) -> Result<bool, Error> {
        self.0.cancel_query(id)
    }

    fn request_mailbox(&self, relay: &PublicIdentity, op: MailboxOp) -> Result<(), Error> {
        self.0.request_mailbox(relay, op)
    }

    fn fetch(&self, id: ContentId, sources: &[SocketAddr]) -> Result<FetchOutcome, Error> {
        self.0.fetch(id, sources)
    }

    fn share(&self, path: &Path) -> Result<ContentId, Error> {
        self.0.share(path)
    }

    fn add_client(&self, callsign: &str) -> Result<(), Error> {
        self.0.add_client(callsign)
    }

    fn add_route(
        &self,
        key: &PublicKey,
        address: &Address,
        preference: Option<u8>,
    ) -> Result<bool, Error> {
        self.0.add_route(key, address, preference)
    }

    fn send_to_peer(
        &self,
        from: &str,
        peer: &PublicKey,
        callsign: &str,
        value: Value,
    ) -> Result<MessageId, Error> {
        self.0.send_to_peer(from, peer, callsign, value)
    }

    fn stats(&self) -> Result<Stats, Error> {
        self.0.stats()
    }

    fn shutdown(&self) -> Result<(), Error> {
        self.0.shutdown()
    }
}

impl TestEvents for StdEvents {
    fn next_event(&mut self, timeout: Duration) -> Option<Event> {
        self.0.recv_timeout(timeout)
    }
}

/// The tokio adapter on a runtime of its own, which its handles and events share.
pub struct TokioNode {
    runtime: Arc<tokio::runtime::Runtime>,
    node: ejtp_tokio::Node,
}

impl TestNode for TokioNode {
    const ADAPTER: &'static str = "tokio";
    const EVENT_CAPACITY: usize = ejtp_tokio::EVENT_CHANNEL_CAPACITY;
    const SHUTDOWN_IS_IDEMPOTENT: bool = false;
    const DROP_STOPS: bool = false;
    type Handle = AsyncHandle;
    type Events = AsyncEvents;

    fn bind_result(options: NodeOptions) -> Result<Self, Error> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let node = runtime.block_on(ejtp_tokio::Node::bind(options))?;
        Ok(Self {
            runtime: Arc::new(runtime),
            node,
        })
    }

    node_getters!(node);

    fn handle(&self) -> AsyncHandle {
        AsyncHandle {
            blocker: Blocker::Tokio(Arc::clone(&self.runtime)),
            handle: self.node.handle(),
        }
    }

    fn next_event(&mut self, timeout: Duration) -> Option<Event> {
        let blocker = Blocker::Tokio(Arc::clone(&self.runtime));
        blocker.within(timeout, self.node.next_event())
    }

    fn lost(&self) -> u64 {
        self.node.lost_events()
    }

    fn lost_total(&self) -> u64 {
        self.node.lost_events_total()
    }

    fn split(self) -> (AsyncHandle, AsyncEvents) {
        let (handle, events) = self.node.split();
        Blocker::Tokio(self.runtime).split(handle, events)
    }

    fn shutdown_result(self) -> Result<(), Error> {
        self.runtime.block_on(self.node.shutdown())
    }
}

/// The smol adapter, blocked on with `smol::block_on`.
pub struct SmolNode(ejtp_smol::Node);

impl TestNode for SmolNode {
    const ADAPTER: &'static str = "smol";
    const EVENT_CAPACITY: usize = ejtp_smol::EVENT_CHANNEL_CAPACITY;
    const SHUTDOWN_IS_IDEMPOTENT: bool = false;
    const DROP_STOPS: bool = false;
    type Handle = AsyncHandle;
    type Events = AsyncEvents;

    fn bind_result(options: NodeOptions) -> Result<Self, Error> {
        smol::block_on(ejtp_smol::Node::bind(options)).map(Self)
    }

    node_getters!(0);

    fn handle(&self) -> AsyncHandle {
        AsyncHandle {
            blocker: Blocker::Smol,
            handle: self.0.handle(),
        }
    }

    fn next_event(&mut self, timeout: Duration) -> Option<Event> {
        Blocker::Smol.within(timeout, self.0.next_event())
    }

    fn lost(&self) -> u64 {
        self.0.lost_events()
    }

    fn lost_total(&self) -> u64 {
        self.0.lost_events_total()
    }

    fn split(self) -> (AsyncHandle, AsyncEvents) {
        let (handle, events) = self.0.split();
        Blocker::Smol.split(handle, events)
    }

    fn shutdown_result(self) -> Result<(), Error> {
        smol::block_on(self.0.shutdown())
    }
}

/// How a plain test thread waits for an async adapter: on the node's tokio runtime, or with
/// `smol::block_on`.
#[derive(Clone)]
enum Blocker {
    Tokio(Arc<tokio::runtime::Runtime>),
    Smol,
}

impl Blocker {
    /// Runs `future` to completion.
    fn block_on<T>(&self, future: impl Future<Output = T>) -> T {
        match self {
            Self::Tokio(runtime) => runtime.block_on(future),
            Self::Smol => smol::block_on(future),
        }
    }

    /// Runs `future` for at most `timeout`: `None` if it did not finish (or gave `None`).
    fn within<T>(&self, timeout: Duration, future: impl Future<Output = Option<T>>) -> Option<T> {
        match self {
            Self::Tokio(runtime) => runtime
                .block_on(async { tokio::time::timeout(timeout, future).await.ok().flatten() }),
            Self::Smol => {
                use smol::future::FutureExt;
                smol::block_on(future.or(async {
                    smol::Timer::after(timeout).await;
                    None
                }))
            }
        }
    }

    /// A split async node, waited for this way.
    fn split(
        self,
        handle: ejtp_adapter_core::handle::Handle,
        events: ejtp_adapter_core::events::Events,
    ) -> (AsyncHandle, AsyncEvents) {
        let handle = AsyncHandle {
            blocker: self.clone(),
            handle,
        };
        (
            handle,
            AsyncEvents {
                blocker: self,
                events,
            },
        )
    }
}

/// The handle of an async adapter (tokio's and smol's are adapter-core's one `Handle`), with
/// how to wait for it.
#[derive(Clone)]
pub struct AsyncHandle {
    blocker: Blocker,
    handle: ejtp_adapter_core::handle::Handle,
}

impl TestHandle for AsyncHandle {
    fn send_via(
        &self,
        from: &str,
        to: &PublicIdentity,
        via: &[PublicIdentity],
        value: Value,
    ) -> Result<MessageId, Error> {
        (self.blocker).block_on(self.handle.send_via(from, to, via, value))
    }

    fn query(
        &self,
        from: &str,
        to: &PublicIdentity,
        value: Value,
        options: QueryOptions,
    ) -> Result<QueryOutcome, Error> {
        (self.blocker).block_on(self.handle.query(from, to, value, options))
    }

    fn query_via(
        &self,
        from: &str,
        to: &PublicIdentity,
        via: &[PublicIdentity],
        value: Value,
        options: QueryOptions,
    ) -> Result<QueryOutcome, Error> {
        (self.blocker).block_on(self.handle.query_via(from, to, via, value, options))
    }

    fn start_query(
        &self,
        from: &str,
        to: &PublicIdentity,
        value: Value,
        options: QueryOptions,
    ) -> Result<MessageId, Error> {
        (self.blocker).block_on(self.handle.start_query(from, to, value, options))
    }

    fn reply(&self, from: &str, to: &Message, value: Value) -> Result<MessageId, Error> {
        self.blocker.block_on(self.handle.reply(from, to, value))
    }

    fn cancel_query(&self, id: MessageId) -> Result<bool, Error> {
        self.blocker.block_on(self.handle.cancel_query(id))
    }

    fn request_mailbox(&self, relay: &PublicIdentity, op: MailboxOp) -> Result<(), Error> {
        self.blocker
            .block_on(self.handle.request_mailbox(relay, op))
    }

    fn add_client(&self, callsign: &str) -> Result<(), Error> {
        self.blocker.block_on(self.handle.add_client(callsign))
    }

    fn add_route(
        &self,
        key: &PublicKey,
        address: &Address,
        preference: Option<u8>,
    ) -> Result<bool, Error> {
        (self.blocker).block_on(self.handle.add_route(key, address, preference))
    }

    fn send_to_peer(
        &self,
        from: &str,
        peer: &PublicKey,
        callsign: &str,
        value: Value,
    ) -> Result<MessageId, Error> {
        (self.blocker).block_on(self.handle.send_to_peer(from, peer, callsign, value))
    }

    fn stats(&self) -> Result<Stats, Error> {
        self.blocker.block_on(self.handle.stats())
    }

    fn shutdown(&self) -> Result<(), Error> {
        self.blocker.block_on(self.handle.shutdown())
    }

    fn fetch(&self, id: ContentId, sources: &[SocketAddr]) -> Result<FetchOutcome, Error> {
        self.blocker.block_on(self.handle.fetch(id, sources))
    }

    fn share(&self, path: &Path) -> Result<ContentId, Error> {
        self.blocker.block_on(self.handle.share(path))
    }
}

/// The events of an async adapter (adapter-core's one `Events`), with how to wait for them.
pub struct AsyncEvents {
    blocker: Blocker,
    events: ejtp_adapter_core::events::Events,
}

impl TestEvents for AsyncEvents {
    fn next_event(&mut self, timeout: Duration) -> Option<Event> {
        self.blocker.within(timeout, self.events.next())
    }
}

/// Runs a generic test function once per adapter, as one `#[test]` each:
/// `for_each_adapter!(udp_exchange_over_ipv4);` makes `udp_exchange_over_ipv4_std`,
/// `..._tokio` and `..._smol`, each calling `udp_exchange_over_ipv4::<Adapter>()`.
#[macro_export]
macro_rules! for_each_adapter {
    ($($test:ident),* $(,)?) => {
        $(
            mod $test {
                #[test]
                fn std() {
                    super::$test::<$crate::StdNode>();
                }

                #[test]
                fn tokio() {
                    super::$test::<$crate::TokioNode>();
                }

                #[test]
                fn smol() {
                    super::$test::<$crate::SmolNode>();
                }
            }
        )*
    };
}

/// The examples in the repository's README, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
