//! [`Events`]: the application's side of an async adapter's event channel.

use std::pin::Pin;
use std::task::{Context, Poll};

use async_channel::Receiver;
use futures_core::Stream;
use proto_core::Event;

/// What the node tells the application, in order: messages, sessions coming and going, ...
///
/// A [`Stream`] of [`Event`]s, also readable with [`next`](Self::next). It ends (`None`) once
/// the driver has stopped. The channel holds at most
/// [`EVENT_CHANNEL_CAPACITY`](crate::limits::EVENT_CHANNEL_CAPACITY) events; past that the
/// driver waits for the application to read.
#[derive(Debug)]
pub struct Events {
    // Boxed: the receiver is not `Unpin`, and a stream of events should be.
    receiver: Pin<Box<Receiver<Event>>>,
}

impl Events {
    /// The events the driver sends into `receiver`'s channel.
    #[must_use]
    pub fn new(receiver: Receiver<Event>) -> Self {
        Self {
            receiver: Box::pin(receiver),
        }
    }

    /// The next event, or `None` once the driver has stopped.
    pub async fn next(&mut self) -> Option<Event> {
        self.receiver.recv().await.ok()
    }
}

impl Stream for Events {
    type Item = Event;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        self.receiver.as_mut().poll_next(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::future::poll_fn;

    use futures_lite::future::block_on;
    use proto_core::TransportAddr;

    use super::*;

    #[test]
    fn events_are_a_stream_and_end_with_the_driver() {
        let (sender, receiver) = async_channel::bounded(2);
        let mut events = Events::new(receiver);
        let failed = Event::StreamFailed {
            from: TransportAddr::tcp("127.0.0.1:9".parse().unwrap()),
        };
        sender.try_send(failed.clone()).unwrap();
        sender.try_send(failed.clone()).unwrap();
        let streamed = block_on(poll_fn(|cx| Pin::new(&mut events).poll_next(cx)));
        assert_eq!(streamed, Some(failed.clone()), "through the Stream");
        assert_eq!(block_on(events.next()), Some(failed), "through next");
        drop(sender);
        assert_eq!(block_on(events.next()), None, "the driver is gone");
        let ended = block_on(poll_fn(|cx| Pin::new(&mut events).poll_next(cx)));
        assert_eq!(ended, None);
    }
}
