//! [`Events`]: the application's side of an async adapter's event channel, and the overflow
//! rule every adapter shares ([`Queued`], [`EventLoss`]): the driver never waits for the
//! application to read.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use async_channel::Receiver;
use ejtp_proto::Event;
use futures_core::Stream;

/// What an adapter's event channel carries: an event, and how many events the driver dropped
/// just before it because the channel was full.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Queued {
    /// Events dropped since the previous event that found room.
    pub lost_before: u64,
    /// The event.
    pub event: Event,
}

/// The driver's side of the overflow rule: an event that finds the channel full is dropped
/// and counted, and the next one that finds room carries the count ([`Queued::lost_before`]).
/// The driver never waits for the application, so a command's answer (a query's outcome, a
/// fetch's end) never depends on the application reading its events.
#[derive(Debug, Default)]
pub struct EventLoss {
    /// Dropped since the last event that found room.
    pending: u64,
    /// Dropped since the node started, shared with the application's `Events`.
    total: Arc<AtomicU64>,
}

impl EventLoss {
    /// A counter with nothing lost yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The running total, for the application's side.
    #[must_use]
    pub fn total(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.total)
    }

    /// `event`, ready to be offered to the channel.
    #[must_use]
    pub fn queue(&self, event: Event) -> Queued {
        Queued {
            lost_before: self.pending,
            event,
        }
    }

    /// The event last made by [`queue`](Self::queue) found room.
    pub fn delivered(&mut self) {
        if self.pending > 0 {
            tracing::warn!(
                lost = self.pending,
                "the application was not reading events: {} were dropped",
                self.pending
            );
            self.pending = 0;
        }
    }

    /// The event last made by [`queue`](Self::queue) found the channel full, and is dropped.
    pub fn dropped(&mut self) {
        if self.pending == 0 {
            tracing::warn!(
                "event queue full: events are dropped (and counted) until the application \
                 reads them"
            );
        }
        self.pending = self.pending.saturating_add(1);
        self.total.fetch_add(1, Ordering::Relaxed);
    }
}

/// What the node tells the application, in order: messages, sessions coming and going, ...
///
/// A [`Stream`] of [`Event`]s, also readable with [`next`](Self::next). It ends (`None`) once
/// the driver has stopped. The channel holds at most
/// [`EVENT_CHANNEL_CAPACITY`](crate::limits::EVENT_CHANNEL_CAPACITY) events. The driver never
/// waits for the application: an event that finds the channel full is dropped and counted (with
/// a `tracing` warning), so commands such as `Handle::query` and `Handle::fetch` return whether
/// or not anyone reads. After reading an event, [`lost`](Self::lost) says how many were
/// dropped just before it; [`lost_total`](Self::lost_total) counts them all.
///
/// ```no_run
/// # async fn run(mut events: ejtp_adapter_core::events::Events) {
/// while let Some(event) = events.next().await {
///     if events.lost() > 0 {
///         eprintln!("{} events were lost before this one", events.lost());
///     }
///     println!("{event:?}");
/// }
/// # }
/// ```
#[derive(Debug)]
pub struct Events {
    // Boxed: the receiver is not `Unpin`, and a stream of events should be.
    receiver: Pin<Box<Receiver<Queued>>>,
    /// Lost just before the event last returned.
    lost: u64,
    total: Arc<AtomicU64>,
}

impl Events {
    /// The events the driver sends into `receiver`'s channel, counting what it drops in
    /// `total` ([`EventLoss::total`]).
    #[must_use]
    pub fn new(receiver: Receiver<Queued>, total: Arc<AtomicU64>) -> Self {
        Self {
            receiver: Box::pin(receiver),
            lost: 0,
            total,
        }
    }

    /// The next event, or `None` once the driver has stopped.
    pub async fn next(&mut self) -> Option<Event> {
        let queued = self.receiver.recv().await.ok()?;
        Some(self.take(queued))
    }

    /// How many events were dropped, the channel being full, just before the event last
    /// returned (0 if none were, or no event was read yet).
    #[must_use]
    pub fn lost(&self) -> u64 {
        self.lost
    }

    /// How many events were dropped since the node started, the channel being full, including
    /// those no event read so far has reported yet.
    #[must_use]
    pub fn lost_total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    fn take(&mut self, queued: Queued) -> Event {
        self.lost = queued.lost_before;
        queued.event
    }
}

impl Stream for Events {
    type Item = Event;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        match self.receiver.as_mut().poll_next(cx) {
            Poll::Ready(Some(queued)) => Poll::Ready(Some(self.take(queued))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::future::poll_fn;

    use ejtp_proto::TransportAddr;
    use futures_lite::future::block_on;

    use super::*;
    use ejtp_proto::TransportEvent;

    fn failed() -> Event {
        Event::Transport(TransportEvent::StreamFailed {
            from: TransportAddr::tcp("127.0.0.1:9".parse().unwrap()),
        })
    }

    #[test]
    fn events_are_a_stream_and_end_with_the_driver() {
        let (sender, receiver) = async_channel::bounded(2);
        let loss = EventLoss::new();
        let mut events = Events::new(receiver, loss.total());
        sender.try_send(loss.queue(failed())).unwrap();
        sender.try_send(loss.queue(failed())).unwrap();
        let streamed = block_on(poll_fn(|cx| Pin::new(&mut events).poll_next(cx)));
        assert_eq!(streamed, Some(failed()), "through the Stream");
        assert_eq!(block_on(events.next()), Some(failed()), "through next");
        drop(sender);
        assert_eq!(block_on(events.next()), None, "the driver is gone");
        let ended = block_on(poll_fn(|cx| Pin::new(&mut events).poll_next(cx)));
        assert_eq!(ended, None);
    }

    #[test]
    fn the_next_event_that_finds_room_says_how_many_were_lost() {
        let (sender, receiver) = async_channel::bounded(1);
        let mut loss = EventLoss::new();
        let mut events = Events::new(receiver, loss.total());
        let offer = |loss: &mut EventLoss| match sender.try_send(loss.queue(failed())) {
            Ok(()) => loss.delivered(),
            Err(_) => loss.dropped(),
        };
        for _ in 0..4 {
            offer(&mut loss);
        }
        assert_eq!(events.lost_total(), 3, "counted as they are dropped");
        assert_eq!(block_on(events.next()), Some(failed()));
        assert_eq!(events.lost(), 0, "the first event found room");
        offer(&mut loss);
        assert_eq!(block_on(events.next()), Some(failed()));
        assert_eq!(events.lost(), 3);
        offer(&mut loss);
        let streamed = block_on(poll_fn(|cx| Pin::new(&mut events).poll_next(cx)));
        assert_eq!(streamed, Some(failed()));
        assert_eq!(events.lost(), 0, "reported once");
        assert_eq!(events.lost_total(), 3);
    }
}
