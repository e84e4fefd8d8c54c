//! The one path of every application command: [`Command`] in, [`CommandOutcome`] out.
//!
//! Adapters, the recorder and the replayer hand commands to [`Node::handle_command`] as data, so
//! that every command is dispatched, recorded and replayed the same way; the typed methods
//! (`send`, `query`, `fetch`, ...) are the same operations for code that drives the core
//! directly.

use alloc::string::String;

use serde_json::Value;

use super::Node;
use super::downloads::ContentStorage;
use crate::cjp2p::{Cjp2pMessage, Cjp2pPeer};
use crate::content::{ContentId, ContentStore, DownloadConfig, SourceInfo};
use crate::crypto::proof::reply_reference;
use crate::error::{CommandError, SendError};
use crate::event::{Message, MessageId};
use crate::frame::{self, FrameError};
use crate::identity::PublicIdentity;
use crate::io::{Command, CommandOutcome};
use crate::json::JsonError;
use crate::query::QueryOptions;
use crate::time::Instant;
use crate::transport::TransportAddr;
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::net::SocketAddr;

impl Node {
    /// An application command, as data: carries it out and says what it did.
    ///
    /// Every command an adapter offers goes through here, including download settings
    /// ([`Command::SetDownloadConfig`]) and cancellations, so a recording of a run holds all
    /// of them and replays. (The content store itself is state the application owns, like a
    /// socket, and is given with [`set_content_storage`](Self::set_content_storage).)
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
            } => Ok(Sent(self.send_via(now, &from, &to, &via, value)?)),
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
            } => Ok(Sent(self.query_via(now, &from, &to, &via, value, options)?)),
            Command::Reply {
                from,
                to,
                via,
                value,
            } => Ok(Sent(self.reply_via(now, &from, &to, &via, value)?)),
            Command::CancelQuery { id } => Ok(Changed(self.cancel_query(now, id))),
            Command::RequestMailbox { relay, op } => {
                self.request_mailbox(now, &relay, op)?;
                Ok(Done)
            }
            Command::AddRoute {
                key,
                address,
                preference,
            } => Ok(Changed(self.add_route(now, key, &address, preference))),
            Command::SendToPeer {
                from,
                peer,
                callsign,
                value,
            } => Ok(Sent(
                self.send_to_peer(now, &from, &peer, &callsign, value)?,
            )),
            Command::Lookup { peer } => Ok(Changed(self.lookup(now, peer))),
            Command::SetRecordSeq { seq } => {
                self.set_record_seq(seq);
                Ok(Done)
            }
            Command::SendCjp2p { to, messages } => {
                self.send_cjp2p(now, to, messages).map(|()| Done)
            }
            Command::AddCjp2pPeer { addr } => {
                self.add_cjp2p_peer(now, addr);
                Ok(Done)
            }
            Command::Fetch { id, sources } => self.fetch(now, id, sources).map(|()| Done),
            Command::CancelFetch { id } => Ok(Changed(self.cancel_fetch(&id))),
            Command::SetDownloadConfig { config } => {
                self.set_download_config(config);
                Ok(Done)
            }
            Command::RestoreReplayMemory { memory } => {
                self.restore_replay_memory(&memory);
                Ok(Done)
            }
        }
    }

    /// Sends `value` from the local client `from` to `to` as a query, and waits for its reply
    /// until `options`' hard timeout.
    ///
    /// The reply comes as [`Event::Reply`] (with `late` set if it came after the soft
    /// timeout); otherwise [`Event::QueryTimedOut`] ends the query, or
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
        self.query_via(now, from, to, &[], value, options)
    }

    /// [`query`](Self::query) through the relays `via` (first hop first), as an onion like
    /// [`send_via`](Self::send_via). The reply is matched the same way, whatever path it
    /// takes back (the replier chooses: see [`reply_via`](Self::reply_via)).
    ///
    /// # Errors
    /// As [`query`](Self::query).
    pub fn query_via(
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
        self.reply_via(now, from, to, &[], value)
    }

    /// [`reply`](Self::reply) through the relays `via` (first hop first), as an onion.
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub fn reply_via(
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

    /// Cancels the open query `id`: [`Event::QueryCancelled`] ends it, and a later reply is
    /// dropped. False if no such query is open (it was answered, timed out, or never was).
    pub fn cancel_query(&mut self, now: Instant, id: MessageId) -> bool {
        self.ctx.advance(now);
        self.queries.expire(self.ctx.now, &mut self.ctx.out);
        self.queries.cancel(id, &mut self.ctx.out)
    }

    // ----- CJP2P -----

    /// Gives the node the content it serves to CJP2P peers (`PleaseSendContent`,
    /// `PleaseListContent`), replacing and returning the previous store. `None` serves nothing.
    ///
    /// `Send + Sync` because adapters move the node between threads and share it behind
    /// locks. The store lives in the node because a sans-IO node answers requests synchronously
    /// inside [`handle_datagram`](Self::handle_datagram); reads must therefore be quick (a
    /// directory store reads a file at an offset).
    pub fn set_content_store(
        &mut self,
        store: Option<Box<dyn ContentStore + Send + Sync>>,
    ) -> Option<Box<dyn ContentStore + Send + Sync>> {
        self.cjp2p.replace_store(store)
    }

    /// The content store, for the application to add to it.
    pub fn content_store_mut(&mut self) -> Option<&mut (dyn ContentStore + Send + Sync + 'static)> {
        self.cjp2p.store_mut()
    }

    /// The CJP2P peers the node knows, in address order.
    #[must_use]
    pub fn cjp2p_peers(&self) -> Vec<Cjp2pPeer> {
        self.cjp2p.peers()
    }

    /// Our cookie for a source IP: what a peer at `ip` must return for its datagrams to be
    /// verified. Mostly for tests and diagnostics.
    #[must_use]
    pub fn cjp2p_cookie_for(&self, ip: core::net::IpAddr) -> String {
        self.cjp2p.cookie_for(ip)
    }

    /// Adds a CJP2P peer that stays in the table (a bootstrap peer) and probes it now:
    /// `PleaseSendPeers`, `PleaseReturnThisMessage` and our cookie (sent again while
    /// unanswered, as maintenance probes are).
    pub fn add_cjp2p_peer(&mut self, now: Instant, addr: SocketAddr) {
        self.ctx.advance(now);
        self.cjp2p.add_pinned(&mut self.ctx, addr);
    }

    /// Sends CJP2P `messages` to `to` in one datagram: the seam for downloaders and
    /// applications. The node puts the peer's cookie first (`AlwaysReturned`) when it has one,
    /// and ends with our `PleaseAlwaysReturnThisMessage` while the peer has not proved it gets
    /// our datagrams. The peer is added to the peer table as a candidate.
    ///
    /// # Errors
    /// [`Cjp2pSendError`] (inside [`CommandError::Cjp2p`]): not UDP, too large, or the transmit
    /// queue is full.
    pub fn send_cjp2p(
        &mut self,
        now: Instant,
        to: TransportAddr,
        messages: Vec<Cjp2pMessage>,
    ) -> Result<(), CommandError> {
        self.ctx.advance(now);
        self.cjp2p.send(&mut self.ctx, to, messages)
    }

    // ----- downloads -----

    /// Starts downloading `id` from `sources` over CJP2P (UDP addresses), resuming what the
    /// storage kept of an earlier attempt. The outcome comes as [`Event::DownloadCompleted`] or
    /// [`Event::DownloadFailed`], with [`Event::DownloadProgress`] on the way. Content the
    /// storage already holds completes at once. Fetching an id already being fetched adds
    /// the sources to it.
    ///
    /// # Errors
    /// [`FetchError`](crate::error::FetchError) (inside [`CommandError::Fetch`]): no storage,
    /// no usable source, [`Config::max_downloads`](crate::Config::max_downloads) downloads
    /// already active, or the storage failed.
    pub fn fetch(
        &mut self,
        now: Instant,
        id: ContentId,
        sources: Vec<TransportAddr>,
    ) -> Result<(), CommandError> {
        self.ctx.advance(now);
        self.start_download(id, sources)
    }

    /// Gives the node one storage for content it serves and downloads it makes, replacing and
    /// returning the previous one. While set, it serves CJP2P peers in place of the store given
    /// to [`set_content_store`](Self::set_content_store) (which is kept, and serves again once
    /// this is `None`). Active downloads keep running and write to the new storage, which
    /// should therefore be the same folder or empty of their partials.
    pub fn set_content_storage(
        &mut self,
        storage: Option<Box<dyn ContentStorage + Send + Sync>>,
    ) -> Option<Box<dyn ContentStorage + Send + Sync>> {
        self.downloads.replace_storage(storage)
    }

    /// The content storage, for the application to add to it.
    pub fn content_storage_mut(
        &mut self,
    ) -> Option<&mut (dyn ContentStorage + Send + Sync + 'static)> {
        self.downloads.storage_mut()
    }

    /// How new downloads behave (windows, timeouts, bounds); running downloads keep theirs.
    /// Default [`DownloadConfig::default`].
    pub fn set_download_config(&mut self, config: DownloadConfig) {
        self.downloads.set_config(config);
    }

    /// Stops downloading `id`, keeping what the storage holds of it (a later fetch resumes).
    /// Returns whether it was active. No event follows.
    pub fn cancel_fetch(&mut self, id: &ContentId) -> bool {
        self.downloads.cancel(id)
    }

    /// The downloads in progress: id, bytes held, total length when known.
    #[must_use]
    pub fn downloads(&self) -> Vec<(ContentId, u64, Option<u64>)> {
        self.downloads.list()
    }

    /// The sources of download `id` (windows, round-trip times, blocks kept), for progress
    /// displays and logs; empty when `id` is not being fetched.
    #[must_use]
    pub fn download_sources(&self, id: &ContentId) -> Vec<SourceInfo> {
        self.downloads.sources_of(id)
    }
}
