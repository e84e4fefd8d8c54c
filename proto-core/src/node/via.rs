//! A borrowed view of the node for sending through relays: `node.via(&relays)` gives the
//! same `send`, `query` and `reply` as the node, wrapped as onions.
//!
//! One view instead of a `_via` twin of every send command: the relays are said once, and a
//! new way of sending gets its onion form here.

use serde_json::Value;

use super::Node;
use crate::error::SendError;
use crate::event::{Message, MessageId};
use crate::identity::PublicIdentity;
use crate::query::QueryOptions;
use crate::time::Instant;

/// The node's send commands through `relays` (first hop first), from [`Node::via`].
///
/// Each relay learns only the hop before it and the hop after it. The recipient sees the
/// message as if it came straight from the sender, and its reply (matched to a query the
/// same way, whatever path it takes back) goes the way the replier chooses.
pub struct Via<'a> {
    node: &'a mut Node,
    relays: &'a [PublicIdentity],
}

impl<'a> Via<'a> {
    pub(super) const fn new(node: &'a mut Node, relays: &'a [PublicIdentity]) -> Self {
        Self { node, relays }
    }

    /// [`Node::send`] through the relays.
    ///
    /// # Errors
    /// As [`Node::send`]; on [`SendError::Blocked`] the value is handed back.
    pub fn send(
        self,
        now: Instant,
        from: &str,
        to: &PublicIdentity,
        value: Value,
    ) -> Result<MessageId, SendError> {
        self.node.send_onion(now, from, to, self.relays, value)
    }

    /// [`Node::query`] through the relays.
    ///
    /// # Errors
    /// As [`Node::query`].
    pub fn query(
        self,
        now: Instant,
        from: &str,
        to: &PublicIdentity,
        value: Value,
        options: QueryOptions,
    ) -> Result<MessageId, SendError> {
        self.node
            .query_onion(now, from, to, self.relays, value, options)
    }

    /// [`Node::reply`] through the relays.
    ///
    /// # Errors
    /// As [`Node::send`].
    pub fn reply(
        self,
        now: Instant,
        from: &str,
        to: &Message,
        value: Value,
    ) -> Result<MessageId, SendError> {
        self.node.reply_onion(now, from, to, self.relays, value)
    }
}
