//! The node's query commands, and routing between the node and its
//! [`Queries`](super::queries::Queries): the node sends and delivers, the sub-machine keeps the
//! open queries and says how each ends.

use alloc::string::String;

use serde_json::Value;

use super::Node;
use crate::crypto::proof::reply_reference;
use crate::error::SendError;
use crate::event::{Event, Message, MessageId};
use crate::frame::{self, FrameError};
use crate::identity::PublicIdentity;
use crate::json::JsonError;
use crate::query::QueryOptions;
use crate::time::Instant;

impl Node {
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
        self.advance(now);
        self.expire_queries();
        if self.queries.is_full() {
            return Err(SendError::TooManyQueries);
        }
        let (id, json) = self.send_message(from, to, via, value, None)?;
        let reference = reply_reference(&id.0, &json);
        self.queries
            .opened(self.now, id, to.key, reference, &options, &mut self.out);
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
        self.advance(now);
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
        self.advance(now);
        self.expire_queries();
        self.queries.cancel(id, &mut self.out)
    }

    /// Hands an authenticated message to the application: as a message, or, if it carries a
    /// reference, as the reply to the open query it answers (else it is dropped).
    pub(super) fn deliver(&mut self, message: Message, reference: Option<[u8; 32]>) {
        let Some(reference) = reference else {
            self.stats.delivered += 1;
            self.push_event(Event::Message(message));
            return;
        };
        // Deadlines already passed count before the reply, whatever order the driver used.
        self.expire_queries();
        match self.queries.answered(self.now, message, &reference) {
            Some(reply) => {
                self.stats.delivered += 1;
                self.push_query_event(reply);
            }
            None => self.stats.dropped_unmatched_reply += 1,
        }
    }

    /// Reports every query deadline due now, in order.
    pub(super) fn expire_queries(&mut self) {
        self.queries.expire(self.now, &mut self.out);
    }
}
