//! [`Dispatch`]: the one place where an application's [`Request`] becomes a call on the node,
//! and where the node's events reach the application and the commands waiting for them. The
//! async [`Runner`](crate::runner::Runner) and the blocking adapter's poll loop both own one;
//! what is left to each is its I/O: carrying out the transmits, closing connections.
//!
//! # When a command is answered
//!
//! [`Dispatch::request`] returns the node's outputs together with the command's [`Answer`],
//! and the adapter answers only after it has carried the outputs out. So when a command such
//! as `Handle::send` returns, on every adapter:
//!
//! - every UDP datagram it produced has been handed to the operating system (`send_to`
//!   returned, or failed and the node was told);
//! - every TCP frame it produced has been handed to its connection: written to the socket, or
//!   queued in the connection's bounded buffer (opening the connection if there was none), or
//!   refused and the node told;
//! - every event it produced (a message to a local client, say) is in the event queue, or was
//!   counted as lost.
//!
//! The suite in `adapter-tests` (`tests/reply_timing.rs`) checks this on every adapter.

use std::sync::mpsc;

use async_channel::TrySendError;
use ejtp_proto::TransportEvent;
use ejtp_proto::{Command, Event, Output, Protocol, Transmit};
use tracing::{trace, warn};

use crate::events::{EventLoss, Queued};
use crate::request::{Reply, Request, answer};
use crate::{Driver, Error, FetchOutcome, FetchWaiters, QueryOutcome, QueryWaiters};

/// Where a driver puts the application's events without ever waiting for room: the async
/// adapters' `async_channel` and the blocking adapter's `std::sync::mpsc` channel alike.
pub trait EventSink {
    /// Offers `queued`: [`Offered::Full`] if the queue has no room, [`Offered::Closed`] if
    /// nobody listens any more.
    fn offer(&self, queued: Queued) -> Offered;
}

/// What became of an event offered to an [`EventSink`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Offered {
    /// Queued for the application.
    Queued,
    /// The queue was full: the event is dropped and counted.
    Full,
    /// The application is gone.
    Closed,
}

impl EventSink for async_channel::Sender<Queued> {
    fn offer(&self, queued: Queued) -> Offered {
        match self.try_send(queued) {
            Ok(()) => Offered::Queued,
            Err(TrySendError::Full(_)) => Offered::Full,
            Err(TrySendError::Closed(_)) => Offered::Closed,
        }
    }
}

impl EventSink for mpsc::SyncSender<Queued> {
    fn offer(&self, queued: Queued) -> Offered {
        match self.try_send(queued) {
            Ok(()) => Offered::Queued,
            Err(mpsc::TrySendError::Full(_)) => Offered::Full,
            Err(mpsc::TrySendError::Disconnected(_)) => Offered::Closed,
        }
    }
}

/// A command's answer, held back until the outputs it came with have been carried out.
#[must_use = "a command waits for its answer"]
pub struct Answer(Option<Box<dyn FnOnce() + Send>>);

impl Answer {
    fn now<T: Send + 'static>(reply: Reply<T>, value: T) -> Self {
        Self(Some(Box::new(move || answer(&reply, value))))
    }

    /// Sends the answer to the command's caller (one that gave up waiting is no error).
    pub fn send(mut self) {
        if let Some(send) = self.0.take() {
            send();
        }
    }
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Answer")
    }
}

impl Drop for Answer {
    fn drop(&mut self) {
        // An adapter that forgot to send it would leave its caller waiting forever.
        if let Some(send) = self.0.take() {
            send();
        }
    }
}

/// What [`Dispatch::request`] made of a command.
#[derive(Debug)]
pub enum Dispatched {
    /// Carry out `outputs` in order (through [`Dispatch::output`]), then send `answer`.
    Done {
        /// What the node asks for.
        outputs: Vec<Output>,
        /// The command's answer, to send once the outputs are carried out.
        answer: Answer,
    },
    /// The application asks the node to stop: the adapter closes its sockets, saves the
    /// recording ([`Dispatch::stop`]) and answers `reply` with the result.
    Shutdown(Reply<Result<(), Error>>),
}

/// What an adapter does with one output, once [`Dispatch::output`] has dealt with events.
#[derive(Debug)]
pub enum Carry {
    /// Send this on a socket.
    Transmit(Transmit),
    /// Close the TCP connection with this address (the node found its framing bad), and feed
    /// the node what closing it produces.
    CloseStream(std::net::SocketAddr),
    /// Nothing left to do.
    Nothing,
}

/// The node's driver with the tables of commands waiting for the node, and the application's
/// event queue: everything a command and an event touch, so that every adapter handles them
/// the same way.
pub struct Dispatch<E: EventSink> {
    driver: Driver,
    events: E,
    /// What the event queue had no room for.
    loss: EventLoss,
    /// The callers waiting for their queries to end.
    waiters: QueryWaiters<Reply<QueryOutcome>>,
    /// The callers waiting for their downloads to end.
    fetches: FetchWaiters<Reply<FetchOutcome>>,
}

impl<E: EventSink> Dispatch<E> {
    /// Dispatches to `driver`'s node, handing events to `events` and counting in `loss` those
    /// it has no room for.
    pub fn new(driver: Driver, events: E, loss: EventLoss) -> Self {
        let waiters = QueryWaiters::new(driver.max_open_queries());
        let fetches = FetchWaiters::new(driver.node().config().max_downloads);
        Self {
            driver,
            events,
            loss,
            waiters,
            fetches,
        }
    }

    /// The driver, for traffic, timers and failed transmits.
    pub fn driver(&mut self) -> &mut Driver {
        &mut self.driver
    }

    /// The driver, read only.
    #[must_use]
    pub fn driver_ref(&self) -> &Driver {
        &self.driver
    }

    /// Gives the node the command `request`.
    pub fn request(&mut self, request: Request) -> Dispatched {
        let driver = &mut self.driver;
        let (outputs, answer) = match request {
            Request::Send {
                from,
                to,
                via,
                value,
                reply,
            } => {
                let (result, outputs) = driver.send(&from, &to, &via, value);
                (outputs, Answer::now(reply, result.map_err(Error::from)))
            }
            Request::Query {
                from,
                to,
                via,
                value,
                options,
                outcome,
                reply,
            } => {
                let (result, outputs) = driver.query_via(&from, &to, &via, value, options);
                if let (Ok(id), Some(outcome)) = (&result, outcome) {
                    // Before the outputs: they may already end the query.
                    if self.waiters.insert(*id, outcome).is_err() {
                        warn!(%id, "too many queries waited for: this one ends as events only");
                    }
                }
                (outputs, Answer::now(reply, result.map_err(Error::from)))
            }
            Request::Answer {
                from,
                to,
                value,
                reply,
            } => {
                let (result, outputs) = driver.reply(&from, &to, value);
                (outputs, Answer::now(reply, result.map_err(Error::from)))
            }
            Request::SendToPeer {
                from,
                peer,
                callsign,
                value,
                reply,
            } => {
                let (result, outputs) = driver.send_to_peer(&from, &peer, &callsign, value);
                (outputs, Answer::now(reply, result.map_err(Error::from)))
            }
            Request::AddRoute {
                key,
                address,
                preference,
                reply,
            } => {
                let (stored, outputs) = driver.add_route(key, address, preference);
                (outputs, Answer::now(reply, stored))
            }
            Request::Lookup { peer, reply } => {
                let (result, outputs) = driver.command(Command::Lookup { peer });
                let started = matches!(result, Ok(ejtp_proto::CommandOutcome::Changed(true)));
                (outputs, Answer::now(reply, started))
            }
            Request::CancelQuery { id, reply } => {
                let (cancelled, outputs) = driver.cancel_query(id);
                (outputs, Answer::now(reply, cancelled))
            }
            Request::Mailbox { relay, op, reply } => {
                let (result, outputs) = driver.command(Command::RequestMailbox { relay, op });
                (
                    outputs,
                    Answer::now(reply, result.map(|_done| ()).map_err(Error::from)),
                )
            }
            Request::AddClient { callsign, reply } => {
                let (result, outputs) = driver.command(Command::AddClient { callsign });
                (
                    outputs,
                    Answer::now(reply, result.map(|_done| ()).map_err(Error::from)),
                )
            }
            Request::Stats { reply } => (Vec::new(), Answer::now(reply, driver.node().stats())),
            Request::Fetch {
                id,
                sources,
                outcome,
                reply,
            } => {
                let (result, outputs) = driver.fetch(id, &sources);
                if let (Ok(()), Some(outcome)) = (&result, outcome) {
                    // Before the outputs: content already held completes among them.
                    if self.fetches.insert(id, outcome).is_err() {
                        warn!(%id, "too many downloads waited for: this one ends as events only");
                    }
                }
                (outputs, Answer::now(reply, result.map_err(Error::from)))
            }
            Request::Share { path, reply } => (Vec::new(), Answer::now(reply, driver.share(&path))),
            Request::ContentPath { id, reply } => {
                (Vec::new(), Answer::now(reply, driver.content_path(&id)))
            }
            Request::Shutdown { reply } => return Dispatched::Shutdown(reply),
        };
        Dispatched::Done { outputs, answer }
    }

    /// Deals with one of the node's outputs: an event goes to the command waiting for it (a
    /// query's or a download's end) and to the application; a transmit, or a connection to
    /// close, is handed back to the adapter.
    pub fn output(&mut self, output: Output) -> Carry {
        match output {
            Output::Transmit(transmit) => Carry::Transmit(transmit),
            Output::Event(event) => {
                let close = match &event {
                    Event::Transport(TransportEvent::StreamFailed { from })
                        if from.protocol == Protocol::Tcp =>
                    {
                        Some(from.addr)
                    }
                    _ => None,
                };
                self.event(event);
                close.map_or(Carry::Nothing, Carry::CloseStream)
            }
            _ => {
                trace!("unknown output ignored");
                Carry::Nothing
            }
        }
    }

    fn event(&mut self, event: Event) {
        if let Some((waiter, outcome)) = self.waiters.complete(&event) {
            answer(&waiter, outcome);
        }
        if let Some((waiters, outcome)) = self.fetches.complete(&event) {
            let outcome = self.driver.with_path(outcome);
            for waiter in waiters {
                answer(&waiter, outcome.clone());
            }
        }
        // Never waits: one that finds the queue full is dropped and counted, so the driver
        // never depends on the application reading.
        match self.events.offer(self.loss.queue(event)) {
            Offered::Queued => self.loss.delivered(),
            Offered::Full => self.loss.dropped(),
            Offered::Closed => trace!("event dropped: no application is listening"),
        }
    }

    /// Ends the commands waiting for the node (their callers get [`Error::Closed`]) and saves
    /// the recording: call once the sockets are closed.
    ///
    /// # Errors
    /// [`Error::Io`] if the recording cannot be saved.
    pub fn stop(&mut self) -> Result<(), Error> {
        self.waiters.clear();
        self.fetches.clear();
        self.driver.save_recording()
    }
}
