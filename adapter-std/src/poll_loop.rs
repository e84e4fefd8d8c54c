//! The poll loop: one thread that owns the node, every socket and every connection, sleeps in
//! a readiness poller until a socket is ready, a command arrives or a deadline passes, and
//! never blocks on anything else.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::io::{self, ErrorKind};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::mpsc::SyncSender;
use std::time::{Duration, Instant};

use async_channel::{Receiver, TryRecvError};
use ejtp_adapter_core::dispatch::{Carry, Dispatch, Dispatched};
use ejtp_adapter_core::events::Queued;
use ejtp_adapter_core::request::{Request, answer};
use ejtp_adapter_core::{Connections, Inbound, NodeOptions};
use ejtp_proto::{Output, Protocol, Transmit, TransportAddr};
use mio::net::{TcpListener, UdpSocket};
use mio::{Events, Interest, Poll, Token};

use crate::admission::{at_ip_limit, idlest};
use crate::limits::{
    ACCEPT_BUDGET, POLL_EVENTS, REQUEST_BUDGET, TCP_READ_BUDGET, TcpLimits, UDP_BUFFER_LEN,
    UDP_READ_BUDGET,
};
use crate::tcp::{Conn, Failed, Refused, Rules};
use crate::tcp_stats::{Closed, TcpCounters};
use crate::udp::{Sending, UdpSockets};

/// The poller's token of the waker the handles use after queueing a command.
pub(crate) const WAKER: Token = Token(0);

/// The least time between two timeouts for the same deadline, should the node keep asking for
/// one it has just been given (so that the loop cannot spin).
const MIN_TIMER_PAUSE: Duration = Duration::from_millis(1);

/// Everything the loop thread owns.
pub(crate) struct Loop {
    poll: Poll,
    dispatch: Dispatch<SyncSender<Queued>>,
    requests: Receiver<Request>,
    udp: UdpSockets,
    listeners: Vec<TcpListener>,
    connections: Connections<Conn>,
    /// Connections in all, at most (`NodeOptions::max_tcp_connections`).
    max_connections: usize,
    /// Connections with one IP address, at most ([`TcpLimits::max_per_ip`]).
    max_per_ip: usize,
    /// The timers every connection follows.
    rules: Rules,
    /// What the bounds and timers closed, for the handles to read.
    counters: Arc<TcpCounters>,
    /// The remote address of each connection's token.
    by_token: BTreeMap<Token, SocketAddr>,
    /// The next connection's token (tokens are never reused, so a late event for a closed
    /// connection cannot reach another).
    next_token: usize,
    /// Sources left with more to read when their turn's budget ran out.
    ready: BTreeSet<Token>,
    /// Where datagrams and stream bytes are read into.
    buffer: Vec<u8>,
    /// When the node was last given a timeout.
    last_timeout: Option<Instant>,
    stopped: bool,
}

impl Loop {
    /// The loop for `dispatch`'s node over the bound `udp` sockets and TCP `listeners`, taking
    /// commands from `requests`: registers every socket with `poll`. Its TCP connections follow
    /// `options` and `limits`, and what closes them is counted in `counters`.
    ///
    /// # Errors
    /// When the poller refuses a socket.
    pub(crate) fn new(
        poll: Poll,
        dispatch: Dispatch<SyncSender<Queued>>,
        requests: Receiver<Request>,
        sockets: (Vec<(SocketAddr, UdpSocket)>, Vec<TcpListener>),
        options: &NodeOptions,
        limits: TcpLimits,
        counters: Arc<TcpCounters>,
    ) -> io::Result<Self> {
        let (udp_sockets, mut listeners) = sockets;
        let mut udp = UdpSockets::default();
        let mut token = 1;
        for (local, mut socket) in udp_sockets {
            poll.registry()
                .register(&mut socket, Token(token), Interest::READABLE)?;
            udp.push(local, socket);
            token += 1;
        }
        for listener in &mut listeners {
            poll.registry()
                .register(listener, Token(token), Interest::READABLE)?;
            token += 1;
        }
        Ok(Self {
            poll,
            dispatch,
            requests,
            udp,
            listeners,
            // Its own idle timer and eviction are a backstop: the loop closes idle connections
            // (by frames, not bytes) and makes room before the table would.
            connections: Connections::new(options.tcp_idle_timeout, options.max_tcp_connections),
            max_connections: options.max_tcp_connections.max(1),
            max_per_ip: limits.max_per_ip.max(1),
            rules: Rules {
                idle: options.tcp_idle_timeout,
                frame: limits.frame_timeout,
                max_frame_len: options.config.max_frame_len,
            },
            counters,
            by_token: BTreeMap::new(),
            next_token: token,
            ready: BTreeSet::new(),
            buffer: vec![0; UDP_BUFFER_LEN],
            last_timeout: None,
            stopped: false,
        })
    }

    /// The loop, until a shutdown.
    pub(crate) fn run(mut self) {
        let mut events = Events::with_capacity(POLL_EVENTS);
        loop {
            // Sources with more to read come back at once; otherwise the poller sleeps until
            // a socket is ready, a command arrives, or the next deadline.
            let timeout = if self.ready.is_empty() {
                self.next_wake()
                    .map(|at| at.saturating_duration_since(Instant::now()))
            } else {
                Some(Duration::ZERO)
            };
            if let Err(err) = self.poll.poll(&mut events, timeout) {
                if err.kind() != ErrorKind::Interrupted {
                    tracing::warn!(%err, "the poller failed; the node stops");
                    self.stop_now();
                    return;
                }
            }
            for event in &events {
                let token = event.token();
                if event.is_writable() || event.is_error() {
                    self.on_writable(token);
                }
                if token == WAKER || event.is_readable() || event.is_read_closed() {
                    self.ready.insert(token);
                }
            }
            for token in std::mem::take(&mut self.ready) {
                if token == WAKER {
                    if self.on_requests() {
                        return;
                    }
                } else {
                    self.on_readable(token);
                }
            }
            self.on_time();
            self.counters.set_open(self.connections.len());
        }
    }

    /// When the loop must wake even if no socket is ready: the node's next deadline, the next
    /// idle connection's expiry, or a connection's connect or stall deadline.
    fn next_wake(&self) -> Option<Instant> {
        let node = self
            .dispatch
            .driver_ref()
            .next_deadline()
            .map(|at| match self.last_timeout {
                Some(last) if at <= last => last + MIN_TIMER_PAUSE,
                _ => at,
            });
        let connections = self
            .connections
            .iter()
            .filter_map(|(_, conn)| conn.deadline());
        [node, self.connections.next_expiry()]
            .into_iter()
            .flatten()
            .chain(connections)
            .min()
    }

    /// Takes the commands waiting; true once the node has stopped.
    fn on_requests(&mut self) -> bool {
        for _ in 0..REQUEST_BUDGET {
            let request = match self.requests.try_recv() {
                Ok(request) => request,
                Err(TryRecvError::Empty) => return false,
                // Every handle is gone without a shutdown (the last one asks for one, so only
                // if it could not): nobody could stop the node any more, so it stops now.
                Err(TryRecvError::Closed) => {
                    self.stop_now();
                    return true;
                }
            };
            match self.dispatch.request(request) {
                Dispatched::Done { outputs, answer } => {
                    // Answered once the outputs are carried out: see `dispatch`.
                    self.carry_out(outputs);
                    answer.send();
                }
                Dispatched::Shutdown(reply) => {
                    let result = self.stop();
                    answer(&reply, result);
                    return true;
                }
            }
        }
        self.ready.insert(WAKER);
        false
    }

    /// Reads a ready socket, within its budget.
    fn on_readable(&mut self, token: Token) {
        let index = token.0.wrapping_sub(1);
        if index < self.udp.len() {
            self.read_udp(token, index);
        } else if let Some(listener) = index.checked_sub(self.udp.len()) {
            if listener < self.listeners.len() {
                self.accept(token, listener);
            } else {
                self.read_stream(token);
            }
        }
    }

    fn read_udp(&mut self, token: Token, index: usize) {
        for _ in 0..UDP_READ_BUDGET {
            let Some(socket) = self.udp.get_mut(index) else {
                return;
            };
            match socket.recv_from(&mut self.buffer) {
                Ok((len, from)) => {
                    let data = self.buffer.get(..len).unwrap_or_default().to_vec();
                    let outputs = self
                        .dispatch
                        .driver()
                        .inbound(Inbound::Datagram { from, data });
                    self.carry_out(outputs);
                }
                Err(err) if err.kind() == ErrorKind::WouldBlock => return,
                Err(err) if err.kind() == ErrorKind::Interrupted => {}
                Err(err) => {
                    // Such as an ICMP "port unreachable" reported on the socket: not fatal.
                    tracing::debug!(%err, "UDP receive failed");
                }
            }
        }
        self.ready.insert(token);
    }

    fn accept(&mut self, token: Token, index: usize) {
        for _ in 0..ACCEPT_BUDGET {
            let Some(listener) = self.listeners.get(index) else {
                return;
            };
            match listener.accept() {
                Ok((stream, from)) => {
                    if at_ip_limit(&self.connections, from.ip(), self.max_per_ip) {
                        // The newest gives way (see `limits::TCP_MAX_PER_IP`): closed here,
                        // before the node or the poller know of it.
                        tracing::debug!(%from, "TCP connection refused: too many from its address");
                        self.counters.count(Closed::RefusedPerIp);
                        drop(stream);
                        continue;
                    }
                    tracing::debug!(%from, "TCP connection accepted");
                    let conn =
                        Conn::accepted(self.fresh_token(), stream, Instant::now(), self.rules);
                    let outputs = self.register(from, conn);
                    self.carry_out(outputs);
                }
                Err(err) if err.kind() == ErrorKind::WouldBlock => return,
                Err(err) if err.kind() == ErrorKind::Interrupted => {}
                Err(err) => {
                    // Such as running out of file descriptors: not tried again at once, which
                    // would spin while the error lasts, but when the next connection arrives.
                    tracing::debug!(%err, "TCP accept failed");
                    return;
                }
            }
        }
        self.ready.insert(token);
    }

    fn read_stream(&mut self, token: Token) {
        let Some(&from) = self.by_token.get(&token) else {
            return; // a late event for a connection closed since
        };
        let Some(conn) = self.connections.get(&from, Instant::now()) else {
            return;
        };
        let received = conn.read(&mut self.buffer, TCP_READ_BUDGET);
        for data in received.chunks {
            // Closed or replaced meanwhile (bad framing, evicted to make room): the rest is
            // dropped, as it would have been unread, rather than start a stream in the node
            // that no connection would ever end.
            if !self.by_token.contains_key(&token) {
                return;
            }
            let now = Instant::now();
            let framing = self
                .connections
                .get(&from, now)
                .map(|conn| conn.received(&data, now));
            if let Some(Err(bad)) = framing {
                tracing::debug!(%from, ?bad, "closing a TCP connection with bad framing");
                // The node sees the bytes too (at most one read's worth): its decoder finds
                // the same fault, forgets the stream and tells the application
                // (`TransportEvent::StreamFailed`), as on every adapter; its output closes the
                // connection (counted there).
                let outputs = self
                    .dispatch
                    .driver()
                    .inbound(Inbound::Stream { from, data });
                self.carry_out(outputs);
                if self.by_token.contains_key(&token) {
                    self.counters.count(Closed::BadFraming);
                    self.close(from, Failed::Stream);
                }
                return;
            }
            let outputs = self
                .dispatch
                .driver()
                .inbound(Inbound::Stream { from, data });
            self.carry_out(outputs);
        }
        if received.ended {
            // Only if the node's outputs did not close or replace it meanwhile.
            if self.by_token.contains_key(&token) {
                tracing::debug!(%from, "TCP connection closed by the peer");
                self.close(from, Failed::Stream);
            }
        } else if received.more {
            self.ready.insert(token);
        }
    }

    /// A connection's socket is writable: its connect completed (or failed), or its buffer
    /// can drain.
    fn on_writable(&mut self, token: Token) {
        let Some(&remote) = self.by_token.get(&token) else {
            return;
        };
        let now = Instant::now();
        let Some(conn) = self.connections.get(&remote, now) else {
            return;
        };
        if let Err(failed) = conn.writable(now) {
            self.close(remote, failed);
        }
    }

    /// Gives the node a timeout if one is due, and closes idle, slow, unopened and stalled
    /// connections.
    fn on_time(&mut self) {
        let now = Instant::now();
        let due = self
            .dispatch
            .driver_ref()
            .next_deadline()
            .is_some_and(|at| at <= now);
        let paused = self
            .last_timeout
            .is_some_and(|last| now < last + MIN_TIMER_PAUSE);
        if due && !paused {
            self.last_timeout = Some(now);
            let outputs = self.dispatch.driver().timeout();
            self.carry_out(outputs);
        }
        let now = Instant::now();
        let overdue: Vec<SocketAddr> = self
            .connections
            .iter()
            .filter(|(_, conn)| conn.deadline().is_some_and(|at| at <= now))
            .map(|(remote, _)| *remote)
            .collect();
        for remote in overdue {
            let failed = self
                .connections
                .get(&remote, now)
                .and_then(|conn| conn.overdue(now));
            if let Some((failed, why)) = failed {
                tracing::debug!(%remote, ?why, "closing a TCP connection on its timer");
                self.counters.count(why);
                self.close(remote, failed);
            }
        }
        // The table's own idle timer, by bytes rather than frames, never comes first; kept so
        // that nothing outlives it whatever the connection's timers say.
        for (remote, conn) in self.connections.expire(now) {
            tracing::debug!(%remote, "closing an idle TCP connection");
            self.counters.count(Closed::Idle);
            self.by_token.remove(&conn.token());
            let outputs = self
                .dispatch
                .driver()
                .inbound(Inbound::StreamClosed { from: remote });
            self.carry_out(outputs);
        }
    }

    /// Carries out the node's outputs in order, and whatever doing so produces.
    fn carry_out(&mut self, outputs: Vec<Output>) {
        let mut queue = VecDeque::from(outputs);
        while let Some(output) = queue.pop_front() {
            match self.dispatch.output(output) {
                Carry::Transmit(transmit) => queue.extend(self.transmit(transmit)),
                Carry::CloseStream(remote) => {
                    tracing::debug!(%remote, "closing a TCP connection with bad framing");
                    // The node has already forgotten the stream.
                    if let Some(conn) = self.connections.remove(&remote) {
                        self.counters.count(Closed::BadFraming);
                        self.by_token.remove(&conn.token());
                    }
                }
                Carry::Nothing => {}
            }
        }
    }

    fn transmit(&mut self, transmit: Transmit) -> Vec<Output> {
        let Transmit {
            to,
            payload,
            dont_fragment,
        } = transmit;
        match to.protocol {
            Protocol::Udp if dont_fragment => {
                self.udp.send_probe(to.addr, &payload);
                Vec::new()
            }
            Protocol::Udp => match self.udp.send(to.addr, &payload) {
                Sending::Handed | Sending::Lost => Vec::new(),
                Sending::Failed => self.dispatch.driver().transmit_failed(to, payload),
            },
            Protocol::Tcp => self.send_stream(to.addr, payload),
        }
    }

    /// Hands a frame to the connection with `to`, opening one if there is none. A frame the
    /// connection has no room for, or one that cannot be opened, is reported to the node.
    fn send_stream(&mut self, to: SocketAddr, frame: Vec<u8>) -> Vec<Output> {
        let now = Instant::now();
        let mut outputs = Vec::new();
        if self.connections.get(&to, now).is_none() {
            if at_ip_limit(&self.connections, to.ip(), self.max_per_ip) {
                tracing::debug!(%to, "TCP connect refused: too many with its address");
                self.counters.count(Closed::RefusedPerIp);
                return self.failed_transmit(to, frame);
            }
            match Conn::connect(self.fresh_token(), to, now, self.rules) {
                Ok(conn) => {
                    tracing::debug!(%to, "TCP connection opening");
                    outputs = self.register(to, conn);
                }
                Err(err) => {
                    tracing::debug!(%to, %err, "TCP connect failed; frame dropped");
                    return self.failed_transmit(to, frame);
                }
            }
        }
        let Some(conn) = self.connections.get(&to, now) else {
            // The poller refused it: `register` said so.
            outputs.extend(self.failed_transmit(to, frame));
            return outputs;
        };
        match conn.send(frame, now) {
            Ok(()) => tracing::trace!(%to, "stream frame handed to the connection"),
            Err(Refused::Full(frame)) => {
                tracing::debug!(%to, "TCP send buffer full; frame refused");
                outputs.extend(self.failed_transmit(to, frame));
            }
            Err(Refused::Broken) => {
                tracing::debug!(%to, "TCP write failed; frame dropped, connection closed");
                self.close(to, Failed::Stream);
            }
        }
        outputs
    }

    fn failed_transmit(&mut self, to: SocketAddr, frame: Vec<u8>) -> Vec<Output> {
        // The node may know another address of the peer.
        self.dispatch
            .driver()
            .transmit_failed(TransportAddr::tcp(to), frame)
    }

    /// Closes the connection with `remote` and tells the node what it lost: each frame of a
    /// connect that failed, or the stream.
    fn close(&mut self, remote: SocketAddr, failed: Failed) {
        let Some(conn) = self.connections.remove(&remote) else {
            return;
        };
        self.by_token.remove(&conn.token());
        drop(conn);
        let outputs = match failed {
            Failed::Connect(frames) => {
                let mut outputs = Vec::new();
                for frame in frames {
                    outputs.extend(self.failed_transmit(remote, frame));
                }
                outputs
            }
            Failed::Stream => self
                .dispatch
                .driver()
                .inbound(Inbound::StreamClosed { from: remote }),
        };
        self.carry_out(outputs);
    }

    /// Adds a connection (accepted or opening) to the poller and the table. Returns what the
    /// node makes of the connections closed to make room.
    fn register(&mut self, remote: SocketAddr, mut conn: Conn) -> Vec<Output> {
        let token = conn.token();
        let interest = Interest::READABLE | Interest::WRITABLE;
        if let Err(err) = self
            .poll
            .registry()
            .register(conn.stream_mut(), token, interest)
        {
            tracing::debug!(%remote, %err, "the poller refused a TCP connection; dropped");
            return Vec::new();
        }
        let mut outputs = Vec::new();
        let now = Instant::now();
        // A full table makes room by closing its idlest connection (see `limits`), before the
        // table itself would close its least recently used.
        while self.connections.len() >= self.max_connections
            && !self.connections.iter().any(|(addr, _)| *addr == remote)
        {
            let Some(addr) = idlest(&self.connections) else {
                break;
            };
            let Some(old) = self.connections.remove(&addr) else {
                break;
            };
            self.counters.count(Closed::Evicted);
            outputs.extend(self.retire(addr, old, now));
        }
        self.by_token.insert(token, remote);
        for (addr, old) in self.connections.insert(remote, conn, now) {
            outputs.extend(self.retire(addr, old, now));
        }
        outputs
    }

    /// Closes `old`, taken out of the table to make room, and returns what the node makes of
    /// it.
    fn retire(&mut self, addr: SocketAddr, mut old: Conn, now: Instant) -> Vec<Output> {
        self.by_token.remove(&old.token());
        tracing::debug!(%addr, "TCP connection closed to make room");
        let mut outputs = Vec::new();
        // What it holds goes first, as far as the socket takes it now (its connect may have
        // completed since the loop last looked); frames that never left because it never
        // connected are reported.
        if let Err(Failed::Connect(frames)) = old.writable(now) {
            for frame in frames {
                outputs.extend(self.failed_transmit(addr, frame));
            }
        }
        drop(old);
        outputs.extend(
            self.dispatch
                .driver()
                .inbound(Inbound::StreamClosed { from: addr }),
        );
        outputs
    }

    fn fresh_token(&mut self) -> Token {
        let token = Token(self.next_token);
        // Past every socket's token; a usize does not run out.
        self.next_token = self.next_token.saturating_add(1);
        token
    }

    /// Stops: refuses further commands (those queued get `Error::Closed`), closes every socket
    /// and connection, ends the commands waiting and saves the recording.
    fn stop(&mut self) -> Result<(), ejtp_adapter_core::Error> {
        self.stopped = true;
        self.requests.close();
        while self.requests.try_recv().is_ok() {}
        self.connections = Connections::new(Duration::ZERO, 1);
        self.counters.set_open(0);
        self.by_token.clear();
        self.udp.clear();
        self.listeners.clear();
        tracing::debug!("node stopped");
        self.dispatch.stop()
    }

    fn stop_now(&mut self) {
        if let Err(err) = self.stop() {
            tracing::warn!(%err, "could not save the recording");
        }
    }
}

impl Drop for Loop {
    fn drop(&mut self) {
        // Only reached without `stop` if the loop panicked.
        if !self.stopped {
            self.stop_now();
        }
    }
}
