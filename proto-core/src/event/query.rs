//! Events of queries: replies, ends and soft timeouts.

use super::Message;
use super::MessageId;

use serde::{Deserialize, Serialize};

/// How a query ([`Node::query`](crate::Node::query)) went: its reply, or one of the other
/// three ways it ends, or its soft timeout.
///
/// Part of [`Event`](super::Event): `Event::Query`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
// A reply carries its message like `Event::Message` does; boxing it would cost an allocation
// per reply for nothing.
#[allow(clippy::large_enum_variant)]
pub enum QueryEvent {
    /// The reply to a query ([`Node::query`](crate::Node::query)): the query is answered and
    /// closed.
    Reply {
        /// The query's id.
        query: MessageId,
        /// The reply, authenticated like any message.
        message: Message,
        /// Whether it came after the query's soft timeout.
        late: bool,
    },
    /// A query's soft timeout passed with no reply; the query stays open.
    #[serde(rename = "query_soft_timeout")]
    SoftTimeout {
        /// The query's id.
        query: MessageId,
    },
    /// A query's hard timeout passed with no reply: it is closed, and a later reply is dropped.
    #[serde(rename = "query_timed_out")]
    TimedOut {
        /// The query's id.
        query: MessageId,
    },
    /// A query was cancelled ([`Node::cancel_query`](crate::Node::cancel_query)).
    #[serde(rename = "query_cancelled")]
    Cancelled {
        /// The query's id.
        query: MessageId,
    },
    /// The peer a query went to became unreachable (every address failed, or a lookup for it
    /// failed): the query is closed at once, and a later reply is dropped. One of the four
    /// ways a query ends.
    #[serde(rename = "query_unreachable")]
    Unreachable {
        /// The query's id.
        query: MessageId,
    },
}
