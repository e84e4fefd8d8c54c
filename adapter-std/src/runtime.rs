//! The driver thread: it owns the [`Driver`], the sockets it sends from and the TCP connection
//! table, takes every message from the one inbox, and carries out what the node returns.

use std::collections::VecDeque;
use std::io;
use std::mem;
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ejtp_adapter_core::events::{EventLoss, Queued};
use ejtp_adapter_core::{
    Connections, Driver, Error, Inbound, NodeOptions, QueryOutcome, QueryWaiters,
};
use ejtp_proto::{Command, Event, Output, Protocol, Transmit, TransportAddr};

use crate::inbox::{ConnId, Item, Reply, Request};
use crate::limits::{EVENT_CAPACITY, INBOX_CAPACITY};
use crate::tcp::{self, Conn};
use crate::udp::UdpSockets;
use crate::wake;

/// The least time between two timeouts for the same deadline, should the node keep asking for
/// one it has just been given (so that the driver thread cannot spin).
const MIN_TIMER_PAUSE: Duration = Duration::from_millis(1);

/// The other ends of the driver thread's channels, for the [`Handle`](crate::Handle) and the
/// [`Events`](crate::Events).
pub(crate) struct Wiring {
    /// Where commands go.
    pub(crate) inbox: SyncSender<Item>,
    /// Where events come from.
    pub(crate) events: Receiver<Queued>,
    /// How many events found the queue full, since the node started.
    pub(crate) lost: Arc<AtomicU64>,
    /// Set when the node starts stopping.
    pub(crate) stopping: Arc<AtomicBool>,
}

/// Everything the driver thread owns.
pub(crate) struct Runtime {
    driver: Driver,
    inbox: Receiver<Item>,
    /// A sender of our own inbox, for the reader threads of the connections we register.
    inbox_sender: SyncSender<Item>,
    events: SyncSender<Queued>,
    /// What the event queue had no room for.
    loss: EventLoss,
    /// The handles waiting for their queries to end.
    waiters: QueryWaiters<mpsc::Sender<QueryOutcome>>,
    fetches: ejtp_adapter_core::FetchWaiters<mpsc::Sender<ejtp_adapter_core::FetchOutcome>>,
    stopping: Arc<AtomicBool>,
    udp: UdpSockets,
    listeners: Vec<SocketAddr>,
    connections: Connections<Conn>,
    next_conn: ConnId,
    /// UDP readers and accept threads.
    threads: Vec<JoinHandle<()>>,
    /// TCP connection readers (finished ones are joined as we go).
    readers: Vec<JoinHandle<()>>,
    /// When the node was last given a timeout.
    last_timeout: Option<Instant>,
    stopped: bool,
}

impl Runtime {
    /// A runtime for `driver`, with no sockets yet, and the other ends of its channels.
    pub(crate) fn new(driver: Driver, options: &NodeOptions) -> (Self, Wiring) {
        let (inbox_sender, inbox) = mpsc::sync_channel(INBOX_CAPACITY);
        let (events_sender, events) = mpsc::sync_channel(EVENT_CAPACITY);
        let stopping = Arc::new(AtomicBool::new(false));
        let loss = EventLoss::new();
        let lost = loss.total();
        let waiters = QueryWaiters::new(driver.max_open_queries());
        let fetches = ejtp_adapter_core::FetchWaiters::new(driver.node().config().max_downloads);
        let runtime = Self {
            waiters,
            fetches,
            driver,
            inbox,
            inbox_sender: inbox_sender.clone(),
            events: events_sender,
            loss,
            stopping: Arc::clone(&stopping),
            udp: UdpSockets::default(),
            listeners: Vec::new(),
            connections: Connections::new(options.tcp_idle_timeout, options.max_tcp_connections),
            next_conn: 0,
            threads: Vec::new(),
            readers: Vec::new(),
            last_timeout: None,
            stopped: false,
        };
        let wiring = Wiring {
            inbox: inbox_sender,
            events,
            lost,
            stopping,
        };
        (runtime, wiring)
    }

    /// Starts reading the UDP socket bound at `local`.
    pub(crate) fn start_udp(&mut self, local: SocketAddr, socket: UdpSocket) -> io::Result<()> {
        let inbox = self.inbox_sender.clone();
        let stopping = Arc::clone(&self.stopping);
        let thread = self.udp.start(local, socket, inbox, stopping)?;
        self.threads.push(thread);
        Ok(())
    }

    /// Starts accepting connections on the listener bound at `local`.
    pub(crate) fn start_listener(
        &mut self,
        local: SocketAddr,
        listener: TcpListener,
    ) -> io::Result<()> {
        let inbox = self.inbox_sender.clone();
        let stopping = Arc::clone(&self.stopping);
        let thread = tcp::start_acceptor(local, listener, inbox, stopping)?;
        self.listeners.push(local);
        self.threads.push(thread);
        Ok(())
    }

    /// The driver thread's loop, until a shutdown request.
    pub(crate) fn run(mut self) {
        loop {
            let received = match self.next_wake() {
                Some(at) => self
                    .inbox
                    .recv_timeout(at.saturating_duration_since(Instant::now())),
                None => self
                    .inbox
                    .recv()
                    .map_err(|_| RecvTimeoutError::Disconnected),
            };
            match received {
                Ok(item) => {
                    if let Some(reply) = self.handle(item) {
                        let result = self.stop();
                        // The caller may have given up waiting: nothing to do then.
                        let _ = reply.send(result);
                        return;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                // Cannot happen while we hold a sender of our own inbox; stop all the same.
                Err(RecvTimeoutError::Disconnected) => return,
            }
            self.on_time();
        }
    }

    /// When the loop must wake up even if no message comes: the node's next deadline or the
    /// next idle connection's expiry.
    fn next_wake(&self) -> Option<Instant> {
        match (self.node_deadline(), self.connections.next_expiry()) {
            (Some(node), Some(idle)) => Some(node.min(idle)),
            (node, idle) => node.or(idle),
        }
    }

    fn node_deadline(&self) -> Option<Instant> {
        let at = self.driver.next_deadline()?;
        Some(match self.last_timeout {
            Some(last) if at <= last => last + MIN_TIMER_PAUSE,
            _ => at,
        })
    }

    /// Handles one message; returns where to answer if it asks the node to stop.
    fn handle(&mut self, item: Item) -> Option<Reply<()>> {
        match item {
            Item::Datagram { from, data } => {
                let outputs = self.driver.inbound(Inbound::Datagram { from, data });
                self.carry_out(outputs);
            }
            Item::Accepted { from, stream } => {
                let outputs = self.register(from, stream);
                self.carry_out(outputs);
            }
            Item::Stream { conn, from, data } => {
                if self.is_current(conn, from) {
                    let outputs = self.driver.inbound(Inbound::Stream { from, data });
                    self.carry_out(outputs);
                }
            }
            Item::StreamEnded { conn, from } => {
                if self.is_current(conn, from) {
                    tracing::debug!(%from, "TCP connection closed by the peer");
                    drop(self.connections.remove(&from));
                    let outputs = self.driver.inbound(Inbound::StreamClosed { from });
                    self.carry_out(outputs);
                }
                self.reap_readers();
            }
            Item::Request(request) => return self.request(*request),
        }
        None
    }

    fn request(&mut self, request: Request) -> Option<Reply<()>> {
        // A caller that stopped waiting for its answer is no error.
        match request {
            Request::Send {
                from,
                to,
                via,
                value,
                reply,
            } => {
                let (result, outputs) = self.driver.send(&from, &to, &via, value);
                self.carry_out(outputs);
                let _ = reply.send(result.map_err(Error::from));
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
                let longest = self.driver.longest_query(&options);
                let (result, outputs) = self.driver.query_via(&from, &to, &via, value, options);
                if let (Ok(id), Some(outcome)) = (&result, outcome) {
                    // Before the outputs: they may already end the query.
                    if self.waiters.insert(*id, outcome).is_err() {
                        tracing::warn!(%id, "too many queries waited for: this one ends as events only");
                    }
                }
                let _ = reply.send(result.map(|id| (id, longest)).map_err(Error::from));
                self.carry_out(outputs);
            }
            Request::Answer {
                from,
                to,
                value,
                reply,
            } => {
                let (result, outputs) = self.driver.reply(&from, &to, value);
                self.carry_out(outputs);
                let _ = reply.send(result.map_err(Error::from));
            }
            Request::SendToPeer {
                from,
                peer,
                callsign,
                value,
                reply,
            } => {
                let (result, outputs) = self.driver.send_to_peer(&from, &peer, &callsign, value);
                self.carry_out(outputs);
                let _ = reply.send(result.map_err(Error::from));
            }
            Request::AddRoute {
                key,
                address,
                preference,
                reply,
            } => {
                let (stored, outputs) = self.driver.add_route(key, address, preference);
                self.carry_out(outputs);
                let _ = reply.send(stored);
            }
            Request::CancelQuery { id, reply } => {
                let (cancelled, outputs) = self.driver.cancel_query(id);
                self.carry_out(outputs);
                let _ = reply.send(cancelled);
            }
            Request::Mailbox { relay, op, reply } => {
                let (result, outputs) = self.driver.command(Command::RequestMailbox { relay, op });
                self.carry_out(outputs);
                let _ = reply.send(result.map(|_done| ()).map_err(Error::from));
            }
            Request::AddClient { callsign, reply } => {
                let (result, outputs) = self.driver.command(Command::AddClient { callsign });
                self.carry_out(outputs);
                let _ = reply.send(result.map(|_done| ()).map_err(Error::from));
            }
            Request::Stats { reply } => {
                let _ = reply.send(self.driver.node().stats());
            }
            Request::Fetch {
                id,
                sources,
                outcome,
                reply,
            } => {
                let (result, outputs) = self.driver.fetch(id, &sources);
                if let (Ok(()), Some(outcome)) = (&result, outcome) {
                    // Before the outputs: content already held completes among them.
                    if self.fetches.insert(id, outcome).is_err() {
                        tracing::warn!(%id, "too many downloads waited for: this one ends as events only");
                    }
                }
                let _ = reply.send(result.map_err(Error::from));
                self.carry_out(outputs);
            }
            Request::Share { path, reply } => {
                let _ = reply.send(self.driver.share(&path));
            }
            Request::ContentPath { id, reply } => {
                let _ = reply.send(self.driver.content_path(&id));
            }
            Request::Shutdown { reply } => return Some(reply),
        }
        None
    }

    /// Gives the node a timeout if one is due, and closes idle connections.
    fn on_time(&mut self) {
        let now = Instant::now();
        if self.node_deadline().is_some_and(|at| at <= now) {
            self.last_timeout = Some(now);
            let outputs = self.driver.timeout();
            self.carry_out(outputs);
        }
        let now = Instant::now();
        if self.connections.next_expiry().is_some_and(|at| at <= now) {
            for (addr, conn) in self.connections.expire(now) {
                tracing::debug!(%addr, "closing an idle TCP connection");
                drop(conn);
                let outputs = self.driver.inbound(Inbound::StreamClosed { from: addr });
                self.carry_out(outputs);
            }
        }
    }

    /// Carries out the node's outputs in order (and whatever closing a connection produces).
    fn carry_out(&mut self, outputs: Vec<Output>) {
        let mut queue = VecDeque::from(outputs);
        while let Some(output) = queue.pop_front() {
            match output {
                Output::Transmit(transmit) => queue.extend(self.transmit(transmit)),
                Output::Event(event) => {
                    if let Event::StreamFailed { from } = &event {
                        if from.protocol == Protocol::Tcp {
                            tracing::debug!(from = %from.addr, "closing a TCP connection with bad framing");
                            // The node has already forgotten the stream.
                            drop(self.connections.remove(&from.addr));
                        }
                    }
                    if let Some((waiter, outcome)) = self.waiters.complete(&event) {
                        // A caller that stopped waiting is no error.
                        let _ = waiter.send(outcome);
                    }
                    if let Some((waiters, outcome)) = self.fetches.complete(&event) {
                        let outcome = self.driver.with_path(outcome);
                        for waiter in waiters {
                            let _ = waiter.send(outcome.clone());
                        }
                    }
                    self.deliver(event);
                }
                other => tracing::debug!(?other, "output not understood by this adapter"),
            }
        }
    }

    fn transmit(&mut self, transmit: Transmit) -> Vec<Output> {
        let Transmit { to, payload } = transmit;
        match to.protocol {
            Protocol::Udp => {
                if self.udp.send(to.addr, &payload) {
                    Vec::new()
                } else {
                    self.driver.transmit_failed(to, payload)
                }
            }
            Protocol::Tcp => self.send_stream(to.addr, &payload),
        }
    }

    /// Writes framed bytes to the connection to `to`, opening one if there is none. On failure
    /// the frame is lost and the connection dropped.
    fn send_stream(&mut self, to: SocketAddr, payload: &[u8]) -> Vec<Output> {
        let mut outputs = Vec::new();
        if self.connections.get(&to, Instant::now()).is_none() {
            match tcp::connect(to) {
                Ok(stream) => {
                    tracing::debug!(%to, "TCP connection opened");
                    outputs = self.register(to, stream);
                }
                Err(err) => {
                    tracing::debug!(%to, %err, "TCP connect failed; frame dropped");
                    // The node may know another address of the peer.
                    return self
                        .driver
                        .transmit_failed(TransportAddr::tcp(to), payload.to_vec());
                }
            }
        }
        let Some(conn) = self.connections.get(&to, Instant::now()) else {
            return outputs;
        };
        match conn.write(payload) {
            Ok(()) => tracing::trace!(%to, len = payload.len(), "stream bytes sent"),
            Err(err) => {
                tracing::debug!(%to, %err, "TCP write failed; frame dropped, connection closed");
                drop(self.connections.remove(&to));
                outputs.extend(self.driver.inbound(Inbound::StreamClosed { from: to }));
            }
        }
        outputs
    }

    /// Adds a connection (accepted or opened) to the table and starts its reader.
    fn register(&mut self, from: SocketAddr, stream: TcpStream) -> Vec<Output> {
        let id = self.next_conn;
        self.next_conn = self.next_conn.wrapping_add(1);
        self.reap_readers();
        let (conn, reader) = match tcp::start_reader(id, from, stream, self.inbox_sender.clone()) {
            Ok(started) => started,
            Err(err) => {
                tracing::debug!(%from, %err, "could not start a TCP reader; connection dropped");
                return Vec::new();
            }
        };
        self.readers.push(reader);
        let mut outputs = Vec::new();
        for (addr, old) in self.connections.insert(from, conn, Instant::now()) {
            tracing::debug!(%addr, "TCP connection closed to make room");
            drop(old);
            outputs.extend(self.driver.inbound(Inbound::StreamClosed { from: addr }));
        }
        outputs
    }

    /// Whether `conn` is the open connection with `from` (not one closed or replaced since its
    /// reader sent what it sent). Marks the connection as used.
    fn is_current(&mut self, conn: ConnId, from: SocketAddr) -> bool {
        self.connections
            .get(&from, Instant::now())
            .is_some_and(|open| open.id() == conn)
    }

    /// Hands an event to the application without waiting: one that finds the queue full is
    /// dropped and counted ([`EventLoss`]), so that no command's answer (a query's outcome, a
    /// fetch's end) depends on the application reading its events.
    fn deliver(&mut self, event: Event) {
        match self.events.try_send(self.loss.queue(event)) {
            Ok(()) => self.loss.delivered(),
            Err(TrySendError::Full(_)) => self.loss.dropped(),
            // The application dropped its `Events` and wants none.
            Err(TrySendError::Disconnected(_)) => {}
        }
    }

    /// Joins the connection readers that have finished.
    fn reap_readers(&mut self) {
        let (finished, running) = mem::take(&mut self.readers)
            .into_iter()
            .partition::<Vec<_>, _>(JoinHandle::is_finished);
        self.readers = running;
        finished.into_iter().for_each(join);
    }

    /// Stops everything: closes the connections, wakes and joins every thread, and saves the
    /// recording (whose error is the result). Does nothing the second time.
    fn stop(&mut self) -> Result<(), Error> {
        if self.stopped {
            return Ok(());
        }
        self.stopped = true;
        self.stopping.store(true, Ordering::SeqCst);
        // Callers waiting for a query get `Error::Closed`.
        self.waiters.clear();
        self.fetches.clear();
        // Dropping a connection shuts it down, so its reader sees the end of the stream.
        drop(mem::replace(
            &mut self.connections,
            Connections::new(Duration::ZERO, 1),
        ));
        self.udp.wake_readers();
        for local in &self.listeners {
            wake::wake_listener(*local);
        }
        // Refuse further messages: a thread waiting for room in the inbox gives up at once, and
        // commands still queued answer `Error::Closed`.
        let (_, closed) = mpsc::sync_channel(0);
        drop(mem::replace(&mut self.inbox, closed));
        self.threads.drain(..).for_each(join);
        self.readers.drain(..).for_each(join);
        tracing::debug!("node stopped");
        self.driver.save_recording()
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        // Only reached without `stop` if the driver thread panicked or never started.
        if let Err(err) = self.stop() {
            tracing::warn!(%err, "could not save the recording");
        }
    }
}

fn join(thread: JoinHandle<()>) {
    let name = thread.thread().name().unwrap_or("?").to_string();
    if thread.join().is_err() {
        tracing::warn!(thread = name, "an adapter thread panicked");
    }
}
