//! Queries as the adapters expose them: [`QueryOutcome`], and [`QueryWaiters`], the driver's
//! table of the applications waiting for their queries to end.

use std::collections::HashMap;

use ejtp_proto::QueryEvent;
use ejtp_proto::{Event, Message, MessageId};

/// How a query ended: each query ends exactly once, with its reply, its hard timeout, its
/// cancellation, or its peer found unreachable (see `docs/PROTOCOL.md` §12 and §13.2).
#[derive(Clone, Debug, PartialEq, Eq)]
// Nearly every outcome is a reply (as `Event` does, the message is not boxed): boxing it would
// cost an allocation for nothing and make matching on it clumsier.
#[allow(clippy::large_enum_variant)]
#[non_exhaustive]
pub enum QueryOutcome {
    /// The reply came, signed by the key the query went to and bound to the query by its hash.
    Reply {
        /// The reply, authenticated like any message.
        message: Message,
        /// Whether it came after the query's soft timeout.
        late: bool,
    },
    /// The hard timeout passed with no reply.
    TimedOut,
    /// The query was cancelled.
    Cancelled,
    /// Every address of the peer failed (or a lookup for it did): the query ended at once.
    Unreachable,
}

impl QueryOutcome {
    /// The query `event` ends and how, if it ends one ([`QueryEvent::Reply`],
    /// [`QueryEvent::TimedOut`], [`QueryEvent::Cancelled`], [`QueryEvent::Unreachable`]). A
    /// soft timeout ends nothing.
    #[must_use]
    pub fn of(event: &Event) -> Option<(MessageId, Self)> {
        match event {
            Event::Query(QueryEvent::Reply {
                query,
                message,
                late,
            }) => Some((
                *query,
                Self::Reply {
                    message: message.clone(),
                    late: *late,
                },
            )),
            Event::Query(QueryEvent::TimedOut { query }) => Some((*query, Self::TimedOut)),
            Event::Query(QueryEvent::Cancelled { query }) => Some((*query, Self::Cancelled)),
            Event::Query(QueryEvent::Unreachable { query }) => Some((*query, Self::Unreachable)),
            _ => None,
        }
    }
}

/// The applications waiting for queries to end: query id to where its outcome goes (`S`, a
/// sender of one outcome).
///
/// An entry lives only while its query is open in the node, which holds at most
/// [`Config::max_open_queries`](ejtp_proto::Config::max_open_queries) (it refuses a query
/// beyond that before anything is added here), so the table is bounded too; [`insert`]
/// refuses past `capacity` all the same.
///
/// [`insert`]: Self::insert
#[derive(Debug)]
pub struct QueryWaiters<S> {
    waiting: HashMap<MessageId, S>,
    capacity: usize,
}

impl<S> QueryWaiters<S> {
    /// An empty table of at most `capacity` waiters.
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        Self {
            waiting: HashMap::new(),
            capacity,
        }
    }

    /// Remembers that `sender` waits for query `id` to end. Hands `sender` back if the table
    /// is full (the query then still ends, as events only).
    ///
    /// # Errors
    /// The sender, when the table already holds `capacity` waiters.
    pub fn insert(&mut self, id: MessageId, sender: S) -> Result<(), S> {
        if self.waiting.len() >= self.capacity && !self.waiting.contains_key(&id) {
            return Err(sender);
        }
        self.waiting.insert(id, sender);
        Ok(())
    }

    /// If `event` ends a query someone waits for: that waiter, with the outcome to send it.
    pub fn complete(&mut self, event: &Event) -> Option<(S, QueryOutcome)> {
        let (id, outcome) = QueryOutcome::of(event)?;
        self.waiting.remove(&id).map(|sender| (sender, outcome))
    }

    /// How many wait.
    #[must_use]
    pub fn len(&self) -> usize {
        self.waiting.len()
    }

    /// Whether none waits.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    /// Forgets every waiter (dropping their senders, so that they stop waiting).
    pub fn clear(&mut self) {
        self.waiting.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_events_complete_their_waiter_once_and_soft_timeouts_do_not() {
        let mut waiters = QueryWaiters::new(1);
        let (a, b) = (MessageId([1; 16]), MessageId([2; 16]));
        waiters.insert(a, "a").unwrap();
        assert_eq!(waiters.insert(b, "b"), Err("b"), "full");
        assert!(
            waiters
                .complete(&Event::Query(QueryEvent::SoftTimeout { query: a }))
                .is_none()
        );
        assert_eq!(waiters.len(), 1);
        assert_eq!(
            waiters.complete(&Event::Query(QueryEvent::TimedOut { query: a })),
            Some(("a", QueryOutcome::TimedOut))
        );
        assert!(
            waiters
                .complete(&Event::Query(QueryEvent::TimedOut { query: a }))
                .is_none()
        );
        waiters.insert(b, "b").unwrap();
        assert_eq!(
            waiters.complete(&Event::Query(QueryEvent::Cancelled { query: b })),
            Some(("b", QueryOutcome::Cancelled))
        );
        assert!(waiters.is_empty());
    }
}
