//! [`Events`]: what the node tells the application, in order.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use ejtp_adapter_core::events::Queued;
use ejtp_proto::Event;

/// The node's events, in the order they happened: messages for the local clients, sessions
/// coming up and going, failed handshakes, broken TCP streams.
///
/// A bounded queue of [`EVENT_CAPACITY`](crate::EVENT_CAPACITY) events. The node never waits
/// for the application: an event that finds the queue full is dropped and counted (with a
/// `tracing` warning), so the [`Handle`](crate::Handle)'s calls return whether or not anyone
/// reads. After receiving an event, [`lost`](Self::lost) says how many were dropped just
/// before it; [`lost_total`](Self::lost_total) counts them all. Once the node has stopped, the
/// events still queued can be received, then every method returns `None`.
///
/// Iterate with [`iter`](Self::iter) or a `for` loop (which ends when the node stops):
///
/// ```no_run
/// # fn handle(events: &ejtp_std::Events) {
/// for event in events {
///     if events.lost() > 0 {
///         eprintln!("{} events were lost before this one", events.lost());
///     }
///     println!("{event:?}");
/// }
/// # }
/// ```
#[derive(Debug)]
pub struct Events {
    receiver: Receiver<Queued>,
    /// Lost just before the event last received (behind `&self`, as the receiving methods).
    lost: AtomicU64,
    total: Arc<AtomicU64>,
}

impl Events {
    pub(crate) fn new(receiver: Receiver<Queued>, total: Arc<AtomicU64>) -> Self {
        Self {
            receiver,
            lost: AtomicU64::new(0),
            total,
        }
    }

    /// Events that will never come (what a split node keeps).
    pub(crate) fn closed() -> Self {
        let (_, receiver) = mpsc::sync_channel(0);
        Self::new(receiver, Arc::default())
    }

    /// The next event, waiting as long as it takes; `None` once the node has stopped and every
    /// queued event has been received.
    #[must_use]
    pub fn recv(&self) -> Option<Event> {
        self.receiver.recv().ok().map(|queued| self.take(queued))
    }

    /// The next event, waiting at most `timeout`; `None` if none came in time or the node has
    /// stopped.
    #[must_use]
    pub fn recv_timeout(&self, timeout: Duration) -> Option<Event> {
        let queued = self.receiver.recv_timeout(timeout).ok()?;
        Some(self.take(queued))
    }

    /// The next event if one is queued, without waiting.
    #[must_use]
    pub fn try_recv(&self) -> Option<Event> {
        self.receiver
            .try_recv()
            .ok()
            .map(|queued| self.take(queued))
    }

    /// How many events were dropped, the queue being full, just before the event last
    /// received (0 if none were, or no event was received yet).
    #[must_use]
    pub fn lost(&self) -> u64 {
        self.lost.load(Ordering::Relaxed)
    }

    /// How many events were dropped since the node started, the queue being full, including
    /// those no event received so far has reported yet.
    #[must_use]
    pub fn lost_total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    fn take(&self, queued: Queued) -> Event {
        self.lost.store(queued.lost_before, Ordering::Relaxed);
        queued.event
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
