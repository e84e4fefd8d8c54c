//! [`Handle`]: the application's way to command a running node, from any thread.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use ejtp_adapter_core::{Error, FetchOutcome, QueryOutcome};
use ejtp_proto::content::ContentId;
use ejtp_proto::{
    Address, MailboxOp, Message, MessageId, NodeId, PublicIdentity, PublicKey, QueryOptions, Stats,
};
use serde_json::Value;

use crate::tcp_stats::{TcpCounters, TcpStats};

/// Commands a running [`Node`](crate::Node): send, add clients, read its counters, stop it.
///
/// Cheap to clone, `Send` and `Sync`: give a clone to every thread that sends. Each call waits
/// for the node's poll loop to carry it out and returns its result, or [`Error::Closed`] once
/// the node has stopped. It is every adapter's one handle
/// ([`ejtp_adapter_core::handle::Handle`]), each call blocking the calling thread until the
/// answer comes, so its commands and the moment they return are the async adapters': a
/// command returns once the node has handed what it sends to the sockets
/// ([`dispatch`](ejtp_adapter_core::dispatch#when-a-command-is-answered)).
///
/// The node stops when [`shutdown`](Self::shutdown) is called on any clone, when its
/// [`Node`](crate::Node) is dropped (unless it was [split](crate::Node::split)), or when the
/// last clone of a split node's handle is dropped.
#[derive(Clone, Debug)]
pub struct Handle {
    shared: Arc<Shared>,
}

/// What every clone of a handle shares.
#[derive(Debug)]
struct Shared {
    inner: ejtp_adapter_core::handle::Handle,
    /// The poll loop's thread, until someone has joined it.
    driver: Mutex<Option<JoinHandle<()>>>,
    /// Written by the poll loop, read without asking it.
    tcp: Arc<TcpCounters>,
}

/// Waits for a command's answer on the calling thread.
fn block<T>(answer: impl Future<Output = T>) -> T {
    futures_lite::future::block_on(answer)
}

impl Handle {
    /// A blocking handle on `inner`, whose poll loop runs on the thread `driver` and counts
    /// what its TCP bounds do in `tcp`.
    pub(crate) fn new(
        inner: ejtp_adapter_core::handle::Handle,
        driver: JoinHandle<()>,
        tcp: Arc<TcpCounters>,
    ) -> Self {
        Self {
            shared: Arc::new(Shared {
                inner,
                driver: Mutex::new(Some(driver)),
                tcp,
            }),
        }
    }

    /// Sends `value` from the local client `from` to `to`, signed by this node and encrypted
    /// for `to`'s key (in a Noise session once one is up, sealed on its own before). Returns
    /// when the frame has been handed to the operating system (or lost: delivery is not
    /// guaranteed, as in EJTP).
    ///
    /// # Errors
    /// [`Error::Send`] if the node refuses (an unknown client, a value that is not strict JSON,
    /// no route, too large); [`Error::Closed`] if the node has stopped.
    pub fn send(&self, from: &str, to: &PublicIdentity, value: Value) -> Result<MessageId, Error> {
        block(self.shared.inner.send(from, to, value))
    }

    /// Sends `value` from `from` to `to` through the relays `via`, first hop first: an onion of
    /// encryption layers, each relay learning only the next hop.
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub fn send_via(
        &self,
        from: &str,
        to: &PublicIdentity,
        via: &[PublicIdentity],
        value: Value,
    ) -> Result<MessageId, Error> {
        block(self.shared.inner.send_via(from, to, via, value))
    }

    /// Sends `value` from the local client `from` to `to` as a query, and blocks until the
    /// query ends: with its reply ([`QueryOutcome::Reply`], `late` if it came after the soft
    /// timeout), its hard timeout, or its cancellation
    /// ([`cancel_query`](Self::cancel_query) from another thread, with the id the recipient
    /// sees as the message's).
    ///
    /// The wait is bounded by the query's hard timeout (longer only if `options.adaptive`
    /// lets the peer's round-trip times lengthen it): the node ends every query. The query's
    /// events ([`QueryEvent::SoftTimeout`](ejtp_proto::QueryEvent::SoftTimeout), then the one
    /// that ends it) still reach the [`Events`](crate::Events), but the outcome does not
    /// depend on them: an application that never reads its events gets it all the same.
    ///
    /// # Errors
    /// [`Error::Send`] if the node refuses (as [`send`](Self::send), or too many open
    /// queries); [`Error::Closed`] if the node stops before the query ends.
    pub fn query(
        &self,
        from: &str,
        to: &PublicIdentity,
        value: Value,
        options: QueryOptions,
    ) -> Result<QueryOutcome, Error> {
        self.query_via(from, to, &[], value, options)
    }

    /// [`query`](Self::query) through the relays `via`, first hop first, as an onion
    /// ([`Node::via`](ejtp_proto::Node::via)); the reply is matched whatever path
    /// it comes back on.
    ///
    /// # Errors
    /// As [`query`](Self::query).
    pub fn query_via(
        &self,
        from: &str,
        to: &PublicIdentity,
        via: &[PublicIdentity],
        value: Value,
        options: QueryOptions,
    ) -> Result<QueryOutcome, Error> {
        block(self.shared.inner.query_via(from, to, via, value, options))
    }

    /// Sends `value` from the local client `from` to `to` as a query and returns its id at
    /// once; how it ends then arrives as events ([`QueryEvent::Reply`](ejtp_proto::QueryEvent::Reply),
    /// [`QueryEvent::TimedOut`](ejtp_proto::QueryEvent::TimedOut) or
    /// [`QueryEvent::Cancelled`](ejtp_proto::QueryEvent::Cancelled), naming this id).
    ///
    /// # Errors
    /// As [`query`](Self::query).
    pub fn start_query(
        &self,
        from: &str,
        to: &PublicIdentity,
        value: Value,
        options: QueryOptions,
    ) -> Result<MessageId, Error> {
        self.start_query_via(from, to, &[], value, options)
    }

    /// [`start_query`](Self::start_query) through the relays `via`, first hop first.
    ///
    /// # Errors
    /// As [`query`](Self::query).
    pub fn start_query_via(
        &self,
        from: &str,
        to: &PublicIdentity,
        via: &[PublicIdentity],
        value: Value,
        options: QueryOptions,
    ) -> Result<MessageId, Error> {
        block(
            self.shared
                .inner
                .start_query_via(from, to, via, value, options),
        )
    }

    /// Answers the delivered message `to` from the local client `from`: `value` goes back to
    /// the key and address `to` came from, bound to it by its hash, so that the sender's
    /// query (if it was one, and is still open) ends with this reply. Returns the reply's
    /// message id.
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub fn reply(&self, from: &str, to: &Message, value: Value) -> Result<MessageId, Error> {
        block(self.shared.inner.reply(from, to, value))
    }

    /// Cancels the open query `id`: it ends as [`QueryOutcome::Cancelled`] (and
    /// [`QueryEvent::Cancelled`](ejtp_proto::QueryEvent::Cancelled)), and a later reply is
    /// dropped. False if no such query is open (it already ended, or never was).
    ///
    /// # Errors
    /// [`Error::Closed`] if the node has stopped.
    pub fn cancel_query(&self, id: MessageId) -> Result<bool, Error> {
        block(self.shared.inner.cancel_query(id))
    }

    /// Asks the store-and-forward relay `relay` to hold the frames it relays to this node, to
    /// hand them over, or to hand them over and stop holding
    /// ([`Node::request_mailbox`](ejtp_proto::Node::request_mailbox)).
    ///
    /// # Errors
    /// [`Error::Command`] if the node cannot send the request (no route, queue full);
    /// [`Error::Closed`] if the node has stopped.
    pub fn request_mailbox(&self, relay: &PublicIdentity, op: MailboxOp) -> Result<(), Error> {
        block(self.shared.inner.request_mailbox(relay, op))
    }

    /// Sends `value` from the local client `from` to the client `callsign` of the node with key
    /// `peer`, on the best address the node's routing table knows. If it knows none that works,
    /// the message waits for a lookup through the peers it knows
    /// ([`RoutingEvent::PeerFound`](ejtp_proto::RoutingEvent::PeerFound)), or is reported
    /// [`RoutingEvent::Unreachable`](ejtp_proto::RoutingEvent::Unreachable).
    ///
    /// # Errors
    /// As [`send`](Self::send), and [`Error::Send`] with
    /// [`SendError::Unreachable`](ejtp_proto::SendError::Unreachable) when no lookup can start.
    pub fn send_to_peer(
        &self,
        from: &str,
        peer: &PublicKey,
        callsign: &str,
        value: Value,
    ) -> Result<MessageId, Error> {
        block(self.shared.inner.send_to_peer(from, peer, callsign, value))
    }

    /// Tells the node's routing table that the node with `key` is reached at `address`
    /// (preference: higher is tried first). If the node holds no signed address record of that
    /// peer yet, it asks the peer for one. False if the address has no transport the node
    /// speaks.
    ///
    /// # Errors
    /// [`Error::Closed`] if the node has stopped.
    pub fn add_route(
        &self,
        key: &PublicKey,
        address: &Address,
        preference: Option<u8>,
    ) -> Result<bool, Error> {
        block(self.shared.inner.add_route(key, address, preference))
    }

    /// Looks `peer` up through the routing table's peers
    /// ([`ejtp_adapter_core::handle::Handle::lookup`]): ends with
    /// [`RoutingEvent::PeerFound`](ejtp_proto::RoutingEvent::PeerFound) or
    /// [`RoutingEvent::LookupFailed`](ejtp_proto::RoutingEvent::LookupFailed). False if no lookup could start.
    ///
    /// # Errors
    /// [`Error::Closed`] if the node has stopped.
    pub fn lookup(&self, peer: &NodeId) -> Result<bool, Error> {
        block(self.shared.inner.lookup(peer))
    }

    /// Adds a local client: messages to `callsign` at this node are delivered as events.
    ///
    /// # Errors
    /// [`Error::Command`] for a duplicate or invalid callsign, or too many clients;
    /// [`Error::Closed`] if the node has stopped.
    pub fn add_client(&self, callsign: &str) -> Result<(), Error> {
        block(self.shared.inner.add_client(callsign))
    }

    /// The node's counters: what it received, delivered, forwarded and dropped.
    ///
    /// # Errors
    /// [`Error::Closed`] if the node has stopped.
    pub fn stats(&self) -> Result<Stats, Error> {
        block(self.shared.inner.stats())
    }

    /// What the node's TCP bounds and timers did: connections open, and those refused or
    /// closed for each reason since the node started. Read without asking the poll loop, so it
    /// answers at once, even after a shutdown (the last counts).
    #[must_use]
    pub fn tcp_stats(&self) -> TcpStats {
        self.shared.tcp.snapshot()
    }

    /// Starts downloading `id` from the CJP2P nodes at `sources` into the shared folder
    /// ([`NodeOptions::share_dir`](ejtp_adapter_core::NodeOptions::share_dir)), resuming what an
    /// earlier attempt left there. Returns once started; progress and the end come as events
    /// (`FetchEvent::Progress`, `DownloadCompleted`, `DownloadFailed`).
    ///
    /// # Errors
    /// [`Error::Command`] when the node refuses (no shared folder, too many downloads);
    /// [`Error::Closed`] if the node has stopped.
    pub fn start_fetch(&self, id: ContentId, sources: &[SocketAddr]) -> Result<(), Error> {
        block(self.shared.inner.start_fetch(id, sources))
    }

    /// Downloads `id` as [`start_fetch`](Self::start_fetch) and waits until it ends.
    ///
    /// # Errors
    /// As [`start_fetch`](Self::start_fetch); [`Error::Closed`] if the node stops meanwhile.
    pub fn fetch(&self, id: ContentId, sources: &[SocketAddr]) -> Result<FetchOutcome, Error> {
        block(self.shared.inner.fetch(id, sources))
    }

    /// Hashes the file at `path` and shares it with CJP2P peers from where it is.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read or the node has no shared folder;
    /// [`Error::Closed`] if the node has stopped.
    pub fn share(&self, path: &Path) -> Result<ContentId, Error> {
        block(self.shared.inner.share(path))
    }

    /// Where the content `id` is in the shared folder, if it is there.
    ///
    /// # Errors
    /// [`Error::Closed`] if the node has stopped.
    pub fn content_path(&self, id: ContentId) -> Result<Option<PathBuf>, Error> {
        block(self.shared.inner.content_path(id))
    }

    /// Stops the node: closes every connection and socket, joins every thread of the node and
    /// saves the recording, if any. Events already queued can still be received.
    ///
    /// Returns once the node has stopped. Calling it again (on any clone) returns `Ok(())`.
    ///
    /// # Errors
    /// [`Error::Io`] if the recording cannot be saved; [`Error::Closed`] if the poll loop's
    /// thread had died (a bug).
    pub fn shutdown(&self) -> Result<(), Error> {
        self.shared.shutdown()
    }
}

impl Shared {
    fn shutdown(&self) -> Result<(), Error> {
        // Held until the node has stopped, so that a concurrent caller returns only then too.
        let mut driver = self.driver.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(thread) = driver.take() else {
            return Ok(());
        };
        let result = block(self.inner.shutdown());
        if thread.join().is_err() {
            tracing::warn!("the poll loop's thread panicked");
            return Err(Error::Closed);
        }
        result
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        if let Err(err) = self.shutdown() {
            tracing::warn!(%err, "stopping the node when its last handle was dropped failed");
        }
    }
}
