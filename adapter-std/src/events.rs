//! [`Events`]: what the node tells the application, in order.

use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use proto_core::Event;

/// The node's events, in the order they happened: messages for the local clients, sessions
/// coming up and going, failed handshakes, broken TCP streams.
///
/// A bounded queue of [`EVENT_CAPACITY`](crate::EVENT_CAPACITY) events: while it is full the
/// node waits for the application (see the [crate docs](crate)). Once the node has stopped, the
/// events still queued can be received, then every method returns `None`.
///
/// Iterate with [`iter`](Self::iter) or a `for` loop (which ends when the node stops):
///
/// ```no_run
/// # fn handle(events: &adapter_std::Events) {
/// for event in events {
///     println!("{event:?}");
/// }
/// # }
/// ```
#[derive(Debug)]
pub struct Events {
    receiver: Receiver<Event>,
}

impl Events {
    pub(crate) fn new(receiver: Receiver<Event>) -> Self {
        Self { receiver }
    }

    /// Events that will never come (what a split node keeps).
    pub(crate) fn closed() -> Self {
        let (_, receiver) = mpsc::sync_channel(0);
        Self { receiver }
    }

    /// The next event, waiting as long as it takes; `None` once the node has stopped and every
    /// queued event has been received.
    #[must_use]
    pub fn recv(&self) -> Option<Event> {
        self.receiver.recv().ok()
    }

    /// The next event, waiting at most `timeout`; `None` if none came in time or the node has
    /// stopped.
    #[must_use]
    pub fn recv_timeout(&self, timeout: Duration) -> Option<Event> {
        self.receiver.recv_timeout(timeout).ok()
    }

    /// The next event if one is queued, without waiting.
    #[must_use]
    pub fn try_recv(&self) -> Option<Event> {
        self.receiver.try_recv().ok()
    }

    /// The events as they come, until the node stops.
    #[must_use]
    pub fn iter(&self) -> Iter<'_> {
        Iter { events: self }
    }
}

/// The events as they come, until the node stops: see [`Events::iter`].
#[derive(Debug)]
pub struct Iter<'a> {
    events: &'a Events,
}

impl Iterator for Iter<'_> {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        self.events.recv()
    }
}

impl<'a> IntoIterator for &'a Events {
    type Item = Event;
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

/// The events as they come, until the node stops, owning the [`Events`].
#[derive(Debug)]
pub struct IntoIter {
    events: Events,
}

impl Iterator for IntoIter {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        self.events.recv()
    }
}

impl IntoIterator for Events {
    type Item = Event;
    type IntoIter = IntoIter;

    fn into_iter(self) -> IntoIter {
        IntoIter { events: self }
    }
}
