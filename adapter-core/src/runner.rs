//! [`Runner`]: an async adapter's driver, the one owner of the node, waiting on commands,
//! traffic and timers and carrying out what the node asks for, on any [`Runtime`].

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Instant;

use async_channel::{Receiver, Sender};
use ejtp_proto::{Output, Protocol, TransportAddr};
use futures_lite::FutureExt;
use tracing::{debug, trace, warn};

use crate::dispatch::{Carry, Dispatch, Dispatched};
use crate::events::{EventLoss, Events, Queued};
use crate::handle::Handle;
use crate::limits::{EVENT_CHANNEL_CAPACITY, REQUEST_CAPACITY, TRAFFIC_CAPACITY};
use crate::links::{Links, Unqueued, run_link};
use crate::node::AsyncNode;
use crate::request::{Reply, Request, answer};
use crate::runtime::Runtime;
use crate::sockets::{Bound, Traffic, accept_tcp, read_udp};
use crate::udp_socket::{FamilyWarnings, socket_for};
use crate::{Driver, Error, Inbound, NodeOptions};

/// Binds every socket of `options` with runtime `R`, builds the node with the addresses
/// actually bound, and starts the socket tasks on `runtime`. Returns the application's side
/// of the node and the driver, for the adapter to run ([`Runner::run`]) on its runtime.
///
/// # Errors
/// [`Error::Io`] if a socket cannot be bound or no seed can be drawn; [`Error::Command`] for a
/// bad client callsign.
pub async fn start<R: Runtime>(
    options: &NodeOptions,
    runtime: R,
) -> Result<(AsyncNode, Runner<R>), Error> {
    let bound = Bound::<R>::bind(options).await?;
    let (udp, tcp) = (bound.udp_addrs(), bound.tcp_addrs());
    let driver = Driver::new(options, &udp, &tcp)?;
    let (node_id, public_key) = (driver.node().node_id(), driver.node().public_key());
    let (requests, requested) = async_channel::bounded(REQUEST_CAPACITY);
    let (events, evented) = async_channel::bounded(EVENT_CHANNEL_CAPACITY);
    let loss = EventLoss::new();
    let evented = Events::new(evented, loss.total());
    let runner = Runner::new(driver, bound, options, (events, loss), requested, runtime);
    debug!(?udp, ?tcp, %node_id, "node bound");
    let node =
        AsyncNode::new(Handle::new(requests), evented, udp, tcp, public_key).advertising(options);
    Ok((node, runner))
}

/// A shutdown carried out, to be answered once the runtime has let go of the sockets.
#[derive(Debug)]
pub struct Stopped {
    reply: Reply<Result<(), Error>>,
    saved: Result<(), Error>,
}

impl Stopped {
    /// Answers the shutdown: whether the recording was saved.
    pub fn answer(self) {
        answer(&self.reply, self.saved);
    }
}

/// What the channels or the clock brought.
// Short-lived, and nearly always a message: boxing it would cost an allocation for nothing.
#[allow(clippy::large_enum_variant)]
enum Next<S> {
    Request(Request),
    RequestsClosed,
    Traffic(Traffic<S>),
    Wake,
}

/// The driver's state: the node, its sockets and connections, and the channels to the
/// application and the socket tasks.
pub struct Runner<R: Runtime> {
    /// The node, and where its events and the commands' answers go.
    dispatch: Dispatch<Sender<Queued>>,
    udp: Vec<(SocketAddr, R::UdpSocket)>,
    /// The destinations named as unreachable for want of a socket of their family.
    no_socket: FamilyWarnings,
    links: Links,
    requests: Receiver<Request>,
    requests_open: bool,
    inbox: Receiver<Traffic<R::TcpStream>>,
    /// For the connection tasks to feed the inbox.
    traffic: Sender<Traffic<R::TcpStream>>,
    runtime: R,
    saved: bool,
}

impl<R: Runtime> Runner<R> {
    /// The state for `driver` over the `bound` sockets, with the socket reader tasks spawned.
    fn new(
        driver: Driver,
        bound: Bound<R>,
        options: &NodeOptions,
        (events, loss): (Sender<Queued>, EventLoss),
        requests: Receiver<Request>,
        mut runtime: R,
    ) -> Self {
        let (traffic, inbox) = async_channel::bounded(TRAFFIC_CAPACITY);
        for (_, socket) in &bound.udp {
            runtime.spawn(read_udp::<R>(socket.clone(), traffic.clone()));
        }
        for (_, listener) in bound.tcp {
            runtime.spawn(accept_tcp::<R>(listener, traffic.clone()));
        }
        Self {
            dispatch: Dispatch::new(driver, events, loss),
            udp: bound.udp,
            no_socket: FamilyWarnings::default(),
            links: Links::new(options.tcp_idle_timeout, options.max_tcp_connections),
            requests,
            requests_open: true,
            inbox,
            traffic,
            runtime,
            saved: false,
        }
    }

    /// Runs until a shutdown: then stops every socket task, closes the sockets and saves the
    /// recording. Returns the shutdown to answer, `None` if there was none to answer.
    pub async fn run(mut self) -> Option<Stopped> {
        loop {
            match self.next().await {
                Next::Request(Request::Shutdown { reply }) => {
                    let saved = self.stop().await;
                    debug!("node stopped");
                    return Some(Stopped { reply, saved });
                }
                Next::Request(request) => self.on_request(request).await,
                // Every handle is gone; the node goes on serving its peers.
                Next::RequestsClosed => self.requests_open = false,
                Next::Traffic(traffic) => self.on_traffic(traffic).await,
                Next::Wake => self.on_wake().await,
            }
            self.runtime.reap();
            // Let the socket tasks run: on an executor that runs them only while the driver
            // waits, a busy driver would otherwise hold them back (connection writers falling
            // behind until their queues overflow).
            futures_lite::future::yield_now().await;
        }
    }

    /// Waits for a command, traffic or the next timer, whichever comes first. A timer already
    /// due comes first, so that busy channels cannot hold timers back.
    async fn next(&self) -> Next<R::TcpStream> {
        let wake = [
            self.dispatch.driver_ref().next_deadline(),
            self.links.next_expiry(),
        ]
        .into_iter()
        .flatten()
        .min();
        if wake.is_some_and(|at| at <= Instant::now()) {
            return Next::Wake;
        }
        let (requests, open, inbox) = (&self.requests, self.requests_open, &self.inbox);
        let requested = async move {
            if !open {
                return std::future::pending().await;
            }
            match requests.recv().await {
                Ok(request) => Next::Request(request),
                Err(_) => Next::RequestsClosed,
            }
        };
        let received = async move {
            match inbox.recv().await {
                Ok(traffic) => Next::Traffic(traffic),
                // The runner holds a sender: never closed.
                Err(_) => std::future::pending().await,
            }
        };
        let timer = async move {
            match wake {
                Some(at) => {
                    R::sleep_until(at).await;
                    Next::Wake
                }
                None => std::future::pending().await,
            }
        };
        requested.race(received).or(timer).await
    }

    /// Stops taking commands (those waiting fail with [`Error::Closed`]), cancels the socket
    /// tasks, closes the sockets and saves the recording.
    async fn stop(&mut self) -> Result<(), Error> {
        self.close_requests();
        self.runtime.stop().await;
        self.links.close_all();
        self.udp.clear();
        self.saved = true;
        // Handles waiting for a query get `Error::Closed`.
        self.dispatch.stop()
    }

    /// Refuses further commands and drops those waiting, whose askers get [`Error::Closed`].
    fn close_requests(&mut self) {
        self.requests.close();
        while self.requests.try_recv().is_ok() {}
    }

    async fn on_request(&mut self, request: Request) {
        match self.dispatch.request(request) {
            Dispatched::Done { outputs, answer } => {
                // Answered once the outputs are carried out: see `dispatch`.
                self.carry_out(outputs).await;
                answer.send();
            }
            // `run` stops before handing shutdowns here.
            Dispatched::Shutdown(reply) => answer(&reply, Ok(())),
        }
    }

    async fn on_traffic(&mut self, traffic: Traffic<R::TcpStream>) {
        let outputs = match traffic {
            Traffic::Datagram { from, data } => self
                .dispatch
                .driver()
                .inbound(Inbound::Datagram { from, data }),
            Traffic::Accepted { stream, from } => self.open_link(from, Some(stream), None),
            Traffic::Stream { link, from, data } => {
                if self.links.touch(&from, link) {
                    self.dispatch
                        .driver()
                        .inbound(Inbound::Stream { from, data })
                } else {
                    trace!(%from, "bytes from a closed tcp connection dropped");
                    Vec::new()
                }
            }
            Traffic::ConnectFailed { from, frames, .. } => {
                let mut outputs = Vec::new();
                for frame in frames {
                    outputs.extend(
                        self.dispatch
                            .driver()
                            .transmit_failed(TransportAddr::tcp(from), frame),
                    );
                }
                outputs
            }
            Traffic::Closed { link, from } => {
                if self.links.remove_if(&from, link) {
                    self.dispatch
                        .driver()
                        .inbound(Inbound::StreamClosed { from })
                } else {
                    Vec::new()
                }
            }
        };
        self.carry_out(outputs).await;
    }

    /// Does what is due: the node's timers, and closing idle connections.
    async fn on_wake(&mut self) {
        let now = Instant::now();
        let mut outputs = Vec::new();
        if self
            .dispatch
            .driver()
            .next_deadline()
            .is_some_and(|at| at <= now)
        {
            outputs = self.dispatch.driver().timeout();
        }
        for remote in self.links.expire(now) {
            debug!(%remote, "idle tcp connection closed");
            outputs.extend(
                self.dispatch
                    .driver()
                    .inbound(Inbound::StreamClosed { from: remote }),
            );
        }
        self.carry_out(outputs).await;
    }

    /// Carries out the node's outputs in order: transmits to the sockets, events to the
    /// application (through the [`Dispatch`]).
    async fn carry_out(&mut self, outputs: Vec<Output>) {
        let mut queue = VecDeque::from(outputs);
        while let Some(output) = queue.pop_front() {
            match self.dispatch.output(output) {
                Carry::Transmit(transmit) => match transmit.to.protocol {
                    Protocol::Udp if transmit.dont_fragment => {
                        self.send_probe(transmit.to.addr, &transmit.payload);
                    }
                    Protocol::Udp => {
                        queue.extend(self.send_udp(transmit.to.addr, transmit.payload).await);
                    }
                    Protocol::Tcp => {
                        queue.extend(self.send_tcp(transmit.to.addr, transmit.payload));
                    }
                },
                Carry::CloseStream(remote) => queue.extend(self.close_link(remote)),
                Carry::Nothing => {}
            }
        }
    }

    /// Sends a datagram; if the send fails, tells the node and returns what it does about it.
    async fn send_udp(&mut self, to: SocketAddr, payload: Vec<u8>) -> Vec<Output> {
        let Some((local, socket)) = socket_for(&self.udp, to) else {
            self.no_socket.no_socket(to);
            return self
                .dispatch
                .driver()
                .transmit_failed(TransportAddr::udp(to), payload);
        };
        match R::send_to(socket, &payload, to).await {
            Ok(_) => {
                trace!(%local, %to, len = payload.len(), "udp datagram sent");
                Vec::new()
            }
            Err(err) => {
                debug!(%to, %err, "udp send failed: datagram dropped");
                self.dispatch
                    .driver()
                    .transmit_failed(TransportAddr::udp(to), payload)
            }
        }
    }

    /// Sends a path MTU probe with the don't-fragment bit, without waiting. A probe that
    /// cannot go (too large for the interface, a full buffer, no socket of its family) is
    /// lost, as one the path drops is: the node notices from the missing answer, and must not
    /// take the failure for the peer's address failing.
    fn send_probe(&mut self, to: SocketAddr, payload: &[u8]) {
        let Some((local, socket)) = socket_for(&self.udp, to) else {
            debug!(%to, "no socket of the probe's family: path MTU probe dropped");
            return;
        };
        match R::try_send_unfragmented(socket, *local, payload, to) {
            Ok(_) => trace!(%local, %to, len = payload.len(), "path MTU probe sent"),
            Err(err) => debug!(%to, len = payload.len(), %err, "path MTU probe not sent"),
        }
    }

    /// Writes a frame to the connection with `to`, opening one if there is none.
    fn send_tcp(&mut self, to: SocketAddr, frame: Vec<u8>) -> Vec<Output> {
        let Some(link) = self.links.get(&to) else {
            return self.open_link(to, None, Some(frame));
        };
        match link.write(to, frame) {
            Ok(()) => Vec::new(),
            // As a frame the blocking adapter's full send buffer refuses: the node may try the
            // peer's next address.
            Err(Unqueued::Full(frame)) => self
                .dispatch
                .driver()
                .transmit_failed(TransportAddr::tcp(to), frame),
            Err(Unqueued::Ended(frame)) => {
                // The connection ended and its task is telling us: replace it now.
                let mut outputs = self.close_link(to);
                outputs.extend(self.open_link(to, None, Some(frame)));
                outputs
            }
        }
    }

    /// Starts a connection's task (connecting first if `stream` is `None`), queues `frame` on
    /// it, and adds it to the table.
    fn open_link(
        &mut self,
        remote: SocketAddr,
        stream: Option<R::TcpStream>,
        frame: Option<Vec<u8>>,
    ) -> Vec<Output> {
        let (link, queued) = self.links.fresh(frame);
        let task = run_link::<R>(link.id(), remote, stream, queued, self.traffic.clone());
        self.runtime.spawn(task);
        let mut outputs = Vec::new();
        for evicted in self.links.insert(remote, link) {
            debug!(remote = %evicted, "tcp connection closed to make room");
            outputs.extend(
                self.dispatch
                    .driver()
                    .inbound(Inbound::StreamClosed { from: evicted }),
            );
        }
        outputs
    }

    /// Closes the connection with `remote`, if there is one, and tells the node.
    fn close_link(&mut self, remote: SocketAddr) -> Vec<Output> {
        if self.links.remove(&remote) {
            debug!(%remote, "tcp connection closed");
            self.dispatch
                .driver()
                .inbound(Inbound::StreamClosed { from: remote })
        } else {
            Vec::new()
        }
    }
}

impl<R: Runtime> Drop for Runner<R> {
    fn drop(&mut self) {
        // Commands still waiting fail with `Error::Closed` rather than wait forever.
        self.close_requests();
        // Dropped without a shutdown (its runtime went away): keep the recording all the same.
        if !self.saved {
            if let Err(err) = self.dispatch.driver().save_recording() {
                warn!(%err, "the recording could not be saved");
            }
        }
    }
}
