//! One TCP connection of the poll loop: a non-blocking connect, a bounded send buffer, reads
//! that never wait, and the deadlines that close it when its peer is idle, slow or gone.

use std::collections::VecDeque;
use std::io::{self, ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::Token;
use mio::net::TcpStream;

use crate::frame_watch::{BadFraming, FrameWatch};
use crate::limits::{TCP_CONNECT_TIMEOUT, TCP_READ_CHUNK, TCP_SEND_BUFFER, TCP_WRITE_TIMEOUT};
use crate::tcp_stats::Closed;

/// The timers and the frame bound every connection of a node follows.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rules {
    /// No frame completed either way for this long: the connection is closed.
    pub(crate) idle: Duration,
    /// A frame begun and not completed for this long, either way: the connection is closed.
    pub(crate) frame: Duration,
    /// The node's `max_frame_len`: a prefix announcing more closes the connection.
    pub(crate) max_frame_len: usize,
}

/// What a connection that cannot be written to any more does to the frames it holds.
#[derive(Debug)]
pub(crate) enum Failed {
    /// It never connected: the frames that were waiting, for the node to hear of each.
    Connect(Vec<Vec<u8>>),
    /// It broke (or stalled) once open: what it held is lost with the stream.
    Stream,
}

/// What reading a connection gave.
#[derive(Debug, Default)]
pub(crate) struct Received {
    /// The chunks read, in order.
    pub(crate) chunks: Vec<Vec<u8>>,
    /// The stream ended (the peer closed it, or a read failed).
    pub(crate) ended: bool,
    /// The read budget ran out before the socket was drained: read again next turn.
    pub(crate) more: bool,
}

/// A connection, accepted or being opened, and the frames waiting to be written to it.
#[derive(Debug)]
pub(crate) struct Conn {
    token: Token,
    stream: TcpStream,
    /// Until the connect completes: when it gives up.
    connecting: Option<Instant>,
    /// Frames not yet written, the first maybe in part.
    queue: VecDeque<Vec<u8>>,
    /// How much of the first frame is written.
    written: usize,
    /// Bytes in `queue` not written yet.
    buffered: usize,
    /// When the buffer last went from empty to holding bytes, or last had bytes taken.
    progress: Instant,
    /// When the first frame in `queue` began to be written (or the connect completed).
    front_since: Instant,
    /// When a frame last completed, either way (at first, when the connection was made).
    last_frame: Instant,
    /// The frames arriving.
    incoming: FrameWatch,
    rules: Rules,
}

impl Conn {
    /// Starts opening a connection to `remote` without waiting for it.
    pub(crate) fn connect(
        token: Token,
        remote: SocketAddr,
        now: Instant,
        rules: Rules,
    ) -> io::Result<Self> {
        let stream = TcpStream::connect(remote)?;
        Ok(Self::new(
            token,
            stream,
            Some(now + TCP_CONNECT_TIMEOUT),
            now,
            rules,
        ))
    }

    /// A connection a listener accepted.
    pub(crate) fn accepted(token: Token, stream: TcpStream, now: Instant, rules: Rules) -> Self {
        set_nodelay(&stream);
        Self::new(token, stream, None, now, rules)
    }

    fn new(
        token: Token,
        stream: TcpStream,
        connecting: Option<Instant>,
        now: Instant,
        rules: Rules,
    ) -> Self {
        Self {
            token,
            stream,
            connecting,
            queue: VecDeque::new(),
            written: 0,
            buffered: 0,
            progress: now,
            front_since: now,
            last_frame: now,
            incoming: FrameWatch::new(rules.max_frame_len),
            rules,
        }
    }

    /// The poller's token for this connection.
    pub(crate) fn token(&self) -> Token {
        self.token
    }

    /// The socket, to register with the poller.
    pub(crate) fn stream_mut(&mut self) -> &mut TcpStream {
        &mut self.stream
    }

    /// Queues `frame` and writes what the socket takes now. `Err(frame)` if the buffer has no
    /// room for it ([`TCP_SEND_BUFFER`]): the frame is refused, the connection goes on.
    pub(crate) fn send(&mut self, frame: Vec<u8>, now: Instant) -> Result<(), Refused> {
        if self.buffered > 0 && self.buffered.saturating_add(frame.len()) > TCP_SEND_BUFFER {
            return Err(Refused::Full(frame));
        }
        if self.buffered == 0 {
            self.progress = now;
        }
        if self.queue.is_empty() {
            self.front_since = now;
        }
        self.buffered = self.buffered.saturating_add(frame.len());
        self.queue.push_back(frame);
        if self.connecting.is_none() {
            self.flush(now).map_err(|_| Refused::Broken)?;
        }
        Ok(())
    }

    /// Writes what the socket takes of the buffer, until it would block.
    ///
    /// # Errors
    /// When the connection is broken: close it.
    pub(crate) fn flush(&mut self, now: Instant) -> io::Result<()> {
        while let Some(front) = self.queue.front() {
            let rest = front.get(self.written..).unwrap_or_default();
            match self.stream.write(rest) {
                Ok(0) => return Err(ErrorKind::WriteZero.into()),
                Ok(len) => {
                    self.progress = now;
                    self.written += len;
                    self.buffered = self.buffered.saturating_sub(len);
                    if self.written >= front.len() {
                        self.queue.pop_front();
                        self.written = 0;
                        self.last_frame = now;
                        self.front_since = now;
                    }
                }
                Err(err) if err.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(err) if err.kind() == ErrorKind::Interrupted => {}
                Err(err) => return Err(err),
            }
        }
        Ok(())
    }

    /// The socket is writable (or failed): completes a connect in progress, then writes.
    ///
    /// # Errors
    /// What is lost when the connection cannot go on: close it.
    pub(crate) fn writable(&mut self, now: Instant) -> Result<(), Failed> {
        if self.connecting.is_some() {
            match connected(&self.stream) {
                Ok(true) => {
                    self.connecting = None;
                    // The timers start now: the connect had its own.
                    self.front_since = now;
                    self.last_frame = now;
                    set_nodelay(&self.stream);
                }
                Ok(false) => return Ok(()),
                Err(err) => {
                    tracing::debug!(%err, "TCP connect failed; frames dropped");
                    return Err(self.fail());
                }
            }
        }
        self.flush(now).map_err(|err| {
            tracing::debug!(%err, "TCP write failed; connection closed");
            Failed::Stream
        })
    }

    /// Reads what has arrived, at most [`TCP_READ_BUDGET`](crate::limits::TCP_READ_BUDGET)
    /// chunks, into `buffer`.
    pub(crate) fn read(&mut self, buffer: &mut [u8], budget: usize) -> Received {
        let mut read = Received::default();
        if self.connecting.is_some() {
            return read;
        }
        let chunk = buffer.len().min(TCP_READ_CHUNK);
        let Some(buffer) = buffer.get_mut(..chunk) else {
            return read;
        };
        for _ in 0..budget {
            match self.stream.read(buffer) {
                Ok(0) => {
                    read.ended = true;
                    return read;
                }
                Ok(len) => read
                    .chunks
                    .push(buffer.get(..len).unwrap_or_default().to_vec()),
                Err(err) if err.kind() == ErrorKind::WouldBlock => return read,
                Err(err) if err.kind() == ErrorKind::Interrupted => {}
                Err(err) => {
                    tracing::debug!(%err, "TCP read failed");
                    read.ended = true;
                    return read;
                }
            }
        }
        read.more = true;
        read
    }

    /// Follows the bytes `data` that arrived at `now`, before the node gets them: a frame
    /// completed restarts the idle timer, a frame begun starts the frame timer.
    ///
    /// # Errors
    /// When the framing is bad (such as a prefix announcing a frame past the node's bound):
    /// close the connection rather than hand the node, or read, any more of it.
    pub(crate) fn received(&mut self, data: &[u8], now: Instant) -> Result<(), BadFraming> {
        if self.incoming.observe(data, now)? > 0 {
            self.last_frame = now;
        }
        Ok(())
    }

    /// When this connection last completed a frame, either way: the idlest is evicted first.
    pub(crate) fn last_frame(&self) -> Instant {
        self.last_frame
    }

    /// When this connection must be looked at even if its socket says nothing: the first of
    /// its deadlines.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.deadlines()
            .into_iter()
            .flatten()
            .map(|(at, _)| at)
            .min()
    }

    /// Each deadline that applies now, with what closes the connection when it passes. While
    /// it connects, only the connect's own.
    fn deadlines(&self) -> [Option<(Instant, Closed)>; 4] {
        if let Some(at) = self.connecting {
            return [Some((at, Closed::ConnectTimedOut)), None, None, None];
        }
        let stalled = (self.buffered > 0)
            .then(|| after(self.progress, TCP_WRITE_TIMEOUT))
            .flatten();
        let sending = (!self.queue.is_empty())
            .then(|| after(self.front_since, self.rules.frame))
            .flatten();
        let receiving = self
            .incoming
            .started()
            .and_then(|began| after(began, self.rules.frame));
        let idle = after(self.last_frame, self.rules.idle);
        [
            stalled.map(|at| (at, Closed::Stalled)),
            sending.map(|at| (at, Closed::Slow)),
            receiving.map(|at| (at, Closed::Slow)),
            idle.map(|at| (at, Closed::Idle)),
        ]
    }

    /// Whether the connection has given up by `now`: why, and what it loses.
    pub(crate) fn overdue(&mut self, now: Instant) -> Option<(Failed, Closed)> {
        let (_, why) = self
            .deadlines()
            .into_iter()
            .flatten()
            .filter(|(at, _)| *at <= now)
            .min_by_key(|(at, _)| *at)?;
        let failed = match why {
            Closed::ConnectTimedOut => {
                tracing::debug!("TCP connect timed out; frames dropped");
                self.fail()
            }
            Closed::Stalled => {
                tracing::debug!("TCP peer took nothing for too long; connection closed");
                Failed::Stream
            }
            Closed::Slow => {
                tracing::debug!("TCP frame too slow to complete; connection closed");
                Failed::Stream
            }
            _ => {
                tracing::debug!("TCP connection idle; closed");
                Failed::Stream
            }
        };
        Some((failed, why))
    }

    fn fail(&mut self) -> Failed {
        self.buffered = 0;
        self.written = 0;
        Failed::Connect(self.queue.drain(..).collect())
    }
}

/// A frame a connection did not take.
#[derive(Debug)]
pub(crate) enum Refused {
    /// Its buffer is full: the frame is handed back, for the node to hear of it.
    Full(Vec<u8>),
    /// Writing failed: the connection is broken (the frame is lost with it).
    Broken,
}

/// `at + timeout`, or `None` (never) past the clock's range.
fn after(at: Instant, timeout: Duration) -> Option<Instant> {
    at.checked_add(timeout)
}

/// Whether a non-blocking connect has completed: `Ok(false)` while it is still in progress.
fn connected(stream: &TcpStream) -> io::Result<bool> {
    if let Some(err) = stream.take_error()? {
        return Err(err);
    }
    match stream.peer_addr() {
        Ok(_) => Ok(true),
        Err(err) if err.kind() == ErrorKind::NotConnected => Ok(false),
        Err(err) => Err(err),
    }
}

fn set_nodelay(stream: &TcpStream) {
    if let Err(err) = stream.set_nodelay(true) {
        tracing::debug!(%err, "could not disable Nagle's algorithm");
    }
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;
    use std::time::Duration;

    use super::*;

    /// Timers longer than any test, unless a test sets its own.
    const RULES: Rules = Rules {
        idle: Duration::from_secs(600),
        frame: Duration::from_secs(300),
        max_frame_len: 1024,
    };

    /// A connection to `listener`, its connect completed.
    fn connected_to(listener: &TcpListener, rules: Rules) -> Conn {
        let mut conn = Conn::connect(
            Token(1),
            listener.local_addr().unwrap(),
            Instant::now(),
            rules,
        )
        .unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while conn.connecting.is_some() {
            assert!(
                Instant::now() < deadline,
                "the connect completes on loopback"
            );
            conn.writable(Instant::now()).unwrap();
            std::thread::sleep(Duration::from_millis(1));
        }
        conn
    }

    #[test]
    fn a_peer_that_never_reads_fills_the_bounded_buffer_and_then_frames_are_refused() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut conn = connected_to(&listener, RULES);
        let (_deaf, _) = listener.accept().unwrap();
        let frame = vec![7u8; 64 * 1024];
        let mut taken = 0usize;
        let refused = loop {
            match conn.send(frame.clone(), Instant::now()) {
                Ok(()) => taken += 1,
                Err(Refused::Full(refused)) => break refused,
                Err(Refused::Broken) => panic!("the connection broke"),
            }
            // The kernel's buffers are a few MiB: far fewer frames than this fill them.
            assert!(taken < 100_000, "no frame was ever refused");
        };
        assert_eq!(refused, frame, "the refused frame is handed back whole");
        assert!(conn.buffered <= TCP_SEND_BUFFER, "{}", conn.buffered);
        assert!(conn.buffered + frame.len() > TCP_SEND_BUFFER);
        // Nothing taken since: the connection gives up once the write timeout has passed.
        let stalled = conn.progress + TCP_WRITE_TIMEOUT;
        assert_eq!(conn.deadline(), Some(stalled));
        assert!(conn.overdue(stalled - Duration::from_millis(1)).is_none());
        assert!(matches!(
            conn.overdue(stalled),
            Some((Failed::Stream, Closed::Stalled))
        ));
    }

    #[test]
    fn frames_waiting_for_a_connect_that_times_out_are_handed_back() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let started = Instant::now();
        let mut conn =
            Conn::connect(Token(2), listener.local_addr().unwrap(), started, RULES).unwrap();
        // Not looked at since: as far as the connection knows, it is still connecting.
        conn.send(b"one".to_vec(), started).unwrap();
        conn.send(b"two".to_vec(), started).unwrap();
        let gives_up = started + TCP_CONNECT_TIMEOUT;
        assert_eq!(conn.deadline(), Some(gives_up));
        assert!(conn.overdue(gives_up - Duration::from_millis(1)).is_none());
        match conn.overdue(gives_up) {
            Some((Failed::Connect(frames), Closed::ConnectTimedOut)) => {
                assert_eq!(frames, [b"one".to_vec(), b"two".to_vec()]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_frame_begun_and_not_completed_in_time_closes_the_connection_as_slow() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let rules = Rules {
            idle: Duration::from_secs(10),
            frame: Duration::from_secs(2),
            ..RULES
        };
        let mut conn = connected_to(&listener, rules);
        let opened = conn.last_frame();
        assert_eq!(conn.deadline(), Some(opened + rules.idle), "idle, at first");
        // One frame whole, later: the idle timer starts again from it.
        let framed = opened + Duration::from_secs(1);
        conn.received(b"3.abc", framed).unwrap();
        assert_eq!(conn.last_frame(), framed);
        // A frame begun: its bytes must all come within the frame timeout.
        let dripping = framed + Duration::from_secs(1);
        conn.received(b"1", dripping).unwrap();
        conn.received(b"0.", dripping + Duration::from_secs(1))
            .unwrap();
        assert_eq!(conn.deadline(), Some(dripping + rules.frame));
        assert!(
            conn.overdue(dripping + Duration::from_millis(1999))
                .is_none()
        );
        assert!(matches!(
            conn.overdue(dripping + rules.frame),
            Some((Failed::Stream, Closed::Slow))
        ));
    }

    #[test]
    fn a_connection_on_which_no_frame_completes_is_closed_as_idle() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let rules = Rules {
            idle: Duration::from_secs(3),
            ..RULES
        };
        let mut conn = connected_to(&listener, rules);
        let (mut peer, _) = listener.accept().unwrap();
        let opened = conn.last_frame();
        // A frame written whole counts as much as one received.
        let sent = opened + Duration::from_secs(2);
        conn.send(b"3.abc".to_vec(), sent).unwrap();
        assert_eq!(conn.last_frame(), sent);
        let mut got = [0; 5];
        peer.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"3.abc");
        let idle = sent + rules.idle;
        assert_eq!(conn.deadline(), Some(idle));
        assert!(conn.overdue(idle - Duration::from_millis(1)).is_none());
        assert!(matches!(
            conn.overdue(idle),
            Some((Failed::Stream, Closed::Idle))
        ));
    }
}
