//! [`Handle`]: the application's way to command a node, on every adapter, from any task (the
//! blocking adapter blocks on it from any thread).

use std::sync::Arc;

use async_channel::Sender;
use ejtp_proto::{
    Address, MailboxOp, Message, MessageId, NodeId, PublicIdentity, PublicKey, QueryOptions, Stats,
};
use serde_json::Value;

use crate::request::{Reply, Request};
use crate::{Error, QueryOutcome};

/// A cheap, cloneable way to command a running node from any task.
///
/// Every method fails with [`Error::Closed`] once the node's driver has stopped.
///
/// The blocking adapter drives this same handle from plain threads (its `Handle` blocks on
/// these futures), so every adapter's commands are these.
#[derive(Clone)]
pub struct Handle {
    requests: Sender<Request>,
    /// Called after each command is queued, for a driver that does not wait on the channel
    /// itself (the blocking adapter's poll loop, woken through its poller).
    wake: Option<Arc<dyn Fn() + Send + Sync>>,
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle")
            .field("requests", &self.requests)
            .finish_non_exhaustive()
    }
}

impl Handle {
    /// A handle feeding the driver that reads `requests`.
    #[must_use]
    pub fn new(requests: Sender<Request>) -> Self {
        Self {
            requests,
            wake: None,
        }
    }

    /// A handle feeding the driver that reads `requests`, calling `wake` after queueing each
    /// command so that a driver asleep in a poller looks at the channel.
    #[must_use]
    pub fn with_wake(requests: Sender<Request>, wake: Arc<dyn Fn() + Send + Sync>) -> Self {
        Self {
            requests,
            wake: Some(wake),
        }
    }

    /// Sends `value` from the local client `from` to `to`, signed and encrypted. Returns the
    /// message id the recipient will see, once the node has handed what it sends to the
    /// sockets (every command returns only then: see
    /// [`dispatch`](crate::dispatch#when-a-command-is-answered)); delivery is not guaranteed,
    /// as in EJTP.
    ///
    /// # Errors
    /// [`Error::Send`] if the node refuses (unknown client, a value that is not strict JSON, too
    /// large, no route); [`Error::Closed`] if the driver has stopped.
    pub async fn send(
        &self,
        from: &str,
        to: &PublicIdentity,
        value: Value,
    ) -> Result<MessageId, Error> {
        self.send_via(from, to, &[], value).await
    }

    /// Sends `value` from `from` to `to` as an onion through the relays `via` (first hop
    /// first): each relay learns only the hop before and the hop after it.
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub async fn send_via(
        &self,
        from: &str,
        to: &PublicIdentity,
        via: &[PublicIdentity],
        value: Value,
    ) -> Result<MessageId, Error> {
        self.request(|reply| Request::Send {
            from: from.to_string(),
            to: to.clone(),
            via: via.to_vec(),
            value,
            reply,
        })
        .await?
    }

    /// Sends `value` from the local client `from` to `to` as a query, and waits until the
    /// query ends: with its reply ([`QueryOutcome::Reply`], `late` if it came after the soft
    /// timeout), its hard timeout, or its cancellation
    /// ([`cancel_query`](Self::cancel_query), with the id the recipient sees as the message's).
    ///
    /// The wait is bounded by the query's hard timeout (longer only if `options.adaptive`
    /// lets the peer's round-trip times lengthen it): the node ends every query. The events
    /// of the query ([`QueryEvent::SoftTimeout`](ejtp_proto::QueryEvent::SoftTimeout), then
    /// the one that ends it) still reach the [`Events`](crate::events::Events), but the
    /// outcome does not depend on them: the driver never waits for the application to read.
    ///
    /// # Errors
    /// [`Error::Send`] if the node refuses (as [`send`](Self::send), or too many open
    /// queries); [`Error::Closed`] if the driver stops before the query ends.
    pub async fn query(
        &self,
        from: &str,
        to: &PublicIdentity,
        value: Value,
        options: QueryOptions,
    ) -> Result<QueryOutcome, Error> {
        self.query_via(from, to, &[], value, options).await
    }

    /// [`query`](Self::query) through the relays `via`, first hop first, as an onion
    /// ([`Node::via`](ejtp_proto::Node::via)); the reply is matched whatever path
    /// it comes back on.
    ///
    /// # Errors
    /// As [`query`](Self::query).
    pub async fn query_via(
        &self,
        from: &str,
        to: &PublicIdentity,
        via: &[PublicIdentity],
        value: Value,
        options: QueryOptions,
    ) -> Result<QueryOutcome, Error> {
        let (outcome, ended) = async_channel::bounded(1);
        let answer = self
            .queue(|reply| Request::Query {
                from: from.to_string(),
                to: to.clone(),
                via: via.to_vec(),
                value,
                options,
                outcome: Some(outcome),
                reply,
            })
            .await?;
        // Only the outcome is waited for, so the caller wakes once a round trip; the query's
        // id matters only when no outcome comes: the node refused the query (the driver then
        // drops the outcome's channel) or stopped.
        match ended.recv().await {
            Ok(outcome) => Ok(outcome),
            Err(_) => match answer.recv().await {
                Ok(Err(err)) => Err(err),
                Ok(Ok(_)) | Err(_) => Err(Error::Closed),
            },
        }
    }

    /// Sends `value` from the local client `from` to `to` as a query and returns its id at
    /// once; how it ends then arrives as events ([`QueryEvent::Reply`](ejtp_proto::QueryEvent::Reply),
    /// [`QueryEvent::TimedOut`](ejtp_proto::QueryEvent::TimedOut) or
    /// [`QueryEvent::Cancelled`](ejtp_proto::QueryEvent::Cancelled), naming this id).
    ///
    /// # Errors
    /// As [`query`](Self::query).
    pub async fn start_query(
        &self,
        from: &str,
        to: &PublicIdentity,
        value: Value,
        options: QueryOptions,
    ) -> Result<MessageId, Error> {
        self.start_query_via(from, to, &[], value, options).await
    }

    /// [`start_query`](Self::start_query) through the relays `via`, first hop first.
    ///
    /// # Errors
    /// As [`query`](Self::query).
    pub async fn start_query_via(
        &self,
        from: &str,
        to: &PublicIdentity,
        via: &[PublicIdentity],
        value: Value,
        options: QueryOptions,
    ) -> Result<MessageId, Error> {
        self.request(|reply| Request::Query {
            from: from.to_string(),
            to: to.clone(),
            via: via.to_vec(),
            value,
            options,
            outcome: None,
            reply,
        })
        .await?
    }

    /// Answers the delivered message `to` from the local client `from`: `value` goes back to
    /// the key and address `to` came from, bound to it by its hash, so that the sender's
    /// query (if it was one, and is still open) ends with this reply. Returns the reply's
    /// message id.
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub async fn reply(&self, from: &str, to: &Message, value: Value) -> Result<MessageId, Error> {
        self.request(|reply| Request::Answer {
            from: from.to_string(),
            to: Box::new(to.clone()),
            value,
            reply,
        })
        .await?
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
    pub async fn send_to_peer(
        &self,
        from: &str,
        peer: &PublicKey,
        callsign: &str,
        value: Value,
    ) -> Result<MessageId, Error> {
        self.request(|reply| Request::SendToPeer {
            from: from.to_string(),
            peer: *peer,
            callsign: callsign.to_string(),
            value,
            reply,
        })
        .await?
    }

    /// Tells the node's routing table that the node with `key` is reached at `address`
    /// (preference: higher is tried first). If the node holds no signed address record of that
    /// peer yet, it asks the peer for one. False if the address has no transport the node
    /// speaks.
    ///
    /// # Errors
    /// [`Error::Closed`] if the driver has stopped.
    pub async fn add_route(
        &self,
        key: &PublicKey,
        address: &Address,
        preference: Option<u8>,
    ) -> Result<bool, Error> {
        self.request(|reply| Request::AddRoute {
            key: *key,
            address: address.clone(),
            preference,
            reply,
        })
        .await
    }

    /// Looks `peer` up: asks the peers in the routing table (the `default_route` and the
    /// routes added with [`add_route`](ejtp_proto::Routes::add)) for its newest signed address
    /// record. Ends with [`RoutingEvent::PeerFound`](ejtp_proto::RoutingEvent::PeerFound), after which a
    /// query or message to `peer` needs no address (the routing table chooses it: directly, or
    /// through the relay its record lists), or with
    /// [`RoutingEvent::LookupFailed`](ejtp_proto::RoutingEvent::LookupFailed). False if no lookup could
    /// start (no peer to ask).
    ///
    /// # Errors
    /// [`Error::Closed`] if the driver has stopped.
    pub async fn lookup(&self, peer: &NodeId) -> Result<bool, Error> {
        self.request(|reply| Request::Lookup { peer: *peer, reply })
            .await
    }

    /// Cancels the open query `id`: it ends as [`QueryOutcome::Cancelled`] (and
    /// [`QueryEvent::Cancelled`](ejtp_proto::QueryEvent::Cancelled)), and a later reply is
    /// dropped. False if no such query is open (it already ended, or never was).
    ///
    /// # Errors
    /// [`Error::Closed`] if the driver has stopped.
    pub async fn cancel_query(&self, id: MessageId) -> Result<bool, Error> {
        self.request(|reply| Request::CancelQuery { id, reply })
            .await
    }

    /// Asks the store-and-forward relay `relay` to hold the frames it relays to this node, to
    /// hand them over, or to hand them over and stop holding
    /// ([`Node::request_mailbox`](ejtp_proto::Node::request_mailbox)).
    ///
    /// # Errors
    /// [`Error::Command`] if the node cannot send the request (no route, queue full);
    /// [`Error::Closed`] if the driver has stopped.
    pub async fn request_mailbox(
        &self,
        relay: &PublicIdentity,
        op: MailboxOp,
    ) -> Result<(), Error> {
        self.request(|reply| Request::Mailbox {
            relay: relay.clone(),
            op,
            reply,
        })
        .await?
    }

    /// Adds a local client: messages to `callsign` at this node become
    /// [`Event::Message`](ejtp_proto::Event::Message)s.
    ///
    /// # Errors
    /// [`Error::Command`] for a bad or duplicate callsign, or too many clients;
    /// [`Error::Closed`] if the driver has stopped.
    pub async fn add_client(&self, callsign: &str) -> Result<(), Error> {
        self.request(|reply| Request::AddClient {
            callsign: callsign.to_string(),
            reply,
        })
        .await?
    }

    /// What the node has done so far.
    ///
    /// # Errors
    /// [`Error::Closed`] if the driver has stopped.
    pub async fn stats(&self) -> Result<Stats, Error> {
        self.request(|reply| Request::Stats { reply }).await
    }

    /// Starts downloading `id` from the CJP2P nodes at `sources` into the shared folder
    /// ([`NodeOptions::share_dir`](crate::NodeOptions::share_dir)), resuming what an earlier
    /// attempt left there. Returns once started; progress and the end come as events
    /// (`FetchEvent::Progress`, `DownloadCompleted`, `DownloadFailed`).
    ///
    /// # Errors
    /// [`Error::Command`] when the node refuses (no shared folder, too many downloads);
    /// [`Error::Closed`] if the driver has stopped.
    pub async fn start_fetch(
        &self,
        id: ejtp_proto::content::ContentId,
        sources: &[std::net::SocketAddr],
    ) -> Result<(), Error> {
        self.request(|reply| Request::Fetch {
            id,
            sources: sources.to_vec(),
            outcome: None,
            reply,
        })
        .await?
    }

    /// Downloads `id` as [`start_fetch`](Self::start_fetch) and waits until it ends.
    ///
    /// # Errors
    /// As [`start_fetch`](Self::start_fetch); [`Error::Closed`] if the driver stops meanwhile.
    pub async fn fetch(
        &self,
        id: ejtp_proto::content::ContentId,
        sources: &[std::net::SocketAddr],
    ) -> Result<crate::FetchOutcome, Error> {
        let (outcome, ended) = async_channel::bounded(1);
        self.request(|reply| Request::Fetch {
            id,
            sources: sources.to_vec(),
            outcome: Some(outcome),
            reply,
        })
        .await??;
        ended.recv().await.map_err(|_| Error::Closed)
    }

    /// Hashes the file at `path` and shares it with CJP2P peers from where it is.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read or the node has no shared folder;
    /// [`Error::Closed`] if the driver has stopped.
    pub async fn share(
        &self,
        path: &std::path::Path,
    ) -> Result<ejtp_proto::content::ContentId, Error> {
        self.request(|reply| Request::Share {
            path: path.to_path_buf(),
            reply,
        })
        .await?
    }

    /// Where the content `id` is in the shared folder, if it is there.
    ///
    /// # Errors
    /// [`Error::Closed`] if the driver has stopped.
    pub async fn content_path(
        &self,
        id: ejtp_proto::content::ContentId,
    ) -> Result<Option<std::path::PathBuf>, Error> {
        self.request(|reply| Request::ContentPath { id, reply })
            .await
    }

    /// Stops the driver as the node's own `shutdown` does, for applications that split their
    /// node into a handle and its events. The events already queued can still be read from
    /// the [`Events`](crate::events::Events), which then end.
    ///
    /// # Errors
    /// [`Error::Io`] if the recording cannot be saved; [`Error::Closed`] if the driver had
    /// already stopped.
    pub async fn shutdown(&self) -> Result<(), Error> {
        self.request(|reply| Request::Shutdown { reply }).await?
    }

    async fn request<T>(&self, request: impl FnOnce(Reply<T>) -> Request) -> Result<T, Error> {
        let answer = self.queue(request).await?;
        answer.recv().await.map_err(|_| Error::Closed)
    }

    /// Queues a command made with a fresh answer channel (waking the driver if it asked to be
    /// woken), and returns where its answer will come.
    async fn queue<T>(
        &self,
        request: impl FnOnce(Reply<T>) -> Request,
    ) -> Result<async_channel::Receiver<T>, Error> {
        let (reply, answer) = async_channel::bounded(1);
        self.requests
            .send(request(reply))
            .await
            .map_err(|_| Error::Closed)?;
        if let Some(wake) = &self.wake {
            wake();
        }
        Ok(answer)
    }
}
