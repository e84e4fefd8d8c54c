//! The bounds and timeouts of the adapter: every queue and buffer of the poll loop is bounded
//! here.
//!
//! What each TCP bound and timer is for, and why each gives way as it does, is summed up in
//! the crate's documentation ("TCP under abuse").

use std::time::Duration;

/// Events the application has not received yet, at most. When [`Events`](crate::Events) holds
/// this many, further events are dropped and counted ([`Events::lost`](crate::Events::lost)):
/// the poll loop never waits for the application.
pub const EVENT_CAPACITY: usize = 1024;

/// Commands waiting for the poll loop, at most (the request channel every adapter's
/// [`Handle`](crate::Handle) feeds). When it is full, the threads sending commands wait.
/// Traffic has no queue of its own any more: it waits in the operating system's socket
/// buffers until the loop reads it.
pub const INBOX_CAPACITY: usize = ejtp_adapter_core::limits::REQUEST_CAPACITY;

/// The receive buffer of the poll loop: the largest datagram read whole.
pub const UDP_BUFFER_LEN: usize = 64 * 1024;

/// Bytes waiting to be written to one TCP connection, at most, beyond what the operating
/// system's own send buffer holds (a frame larger than this is taken only by an empty buffer).
/// A frame that would go past it is refused: the node is told the transmit failed, as for a
/// connection that cannot be opened. With at most `NodeOptions::max_tcp_connections`
/// connections, this bounds the loop's TCP memory.
pub const TCP_SEND_BUFFER: usize = 1 << 20;

/// How long opening a TCP connection may take. The connect does not block the poll loop:
/// frames wait in the connection's buffer meanwhile, and when it fails or times out each of
/// them is reported to the node as a failed transmit.
pub const TCP_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// How long a TCP connection's send buffer may hold bytes without the peer taking any (a peer
/// that does not read) before the connection is closed and the bytes dropped.
pub const TCP_WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// Connections with one IP address, at most, accepted and opened together (the default of
/// [`TcpLimits::max_per_ip`]). Past it the newest gives way: a connection accepted from that
/// address is closed at once, before the node hears of it, and one the node would open to it
/// is refused (the node is told the transmit failed). Not an older connection: so an address
/// flooding the listener cannot push anyone's connections out of the table, not even its own
/// working ones, and each refusal costs an accept and a close. 32 leaves room for a few nodes
/// behind one NAT, each with connections both ways.
pub const TCP_MAX_PER_IP: usize = 32;

/// How long a frame may take once its first byte has arrived, or once it has begun to be
/// written (the default of [`TcpLimits::frame_timeout`]); past it the connection is closed.
/// 20 s lets a largest frame (65 507 bytes at the default `max_frame_len`) cross a link of
/// 3.3 KB/s, while a peer dripping a byte at a time cannot hold a connection, and the node's
/// buffer for it, for as long as it likes: the idle timer alone would never fire, as the drip
/// never completes a frame.
pub const TCP_FRAME_TIMEOUT: Duration = Duration::from_secs(20);

/// The TCP bounds of the blocking adapter that [`NodeOptions`](crate::NodeOptions) does not
/// hold (it holds the overall bound, `max_tcp_connections`, and the idle timeout,
/// `tcp_idle_timeout`, which every adapter shares): give it to
/// [`Node::bind_with`](crate::Node::bind_with).
///
/// ```
/// use std::time::Duration;
///
/// use ejtp_std::{TCP_MAX_PER_IP, TcpLimits};
///
/// let limits = TcpLimits::default().frame_timeout(Duration::from_secs(5));
/// assert_eq!(limits.max_per_ip, TCP_MAX_PER_IP);
/// assert_eq!(limits.frame_timeout, Duration::from_secs(5));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TcpLimits {
    /// Connections with one IP address, at most: [`TCP_MAX_PER_IP`] by default (at least 1).
    pub max_per_ip: usize,
    /// How long a frame may take: [`TCP_FRAME_TIMEOUT`] by default.
    pub frame_timeout: Duration,
}

impl Default for TcpLimits {
    fn default() -> Self {
        Self {
            max_per_ip: TCP_MAX_PER_IP,
            frame_timeout: TCP_FRAME_TIMEOUT,
        }
    }
}

impl TcpLimits {
    /// Allow `max` connections with one IP address (at least 1).
    #[must_use]
    pub fn max_per_ip(mut self, max: usize) -> Self {
        self.max_per_ip = max.max(1);
        self
    }

    /// Close a connection on which a frame has taken `timeout` without completing.
    #[must_use]
    pub fn frame_timeout(mut self, timeout: Duration) -> Self {
        self.frame_timeout = timeout;
        self
    }
}

/// Bytes read from a TCP connection at once.
pub(crate) const TCP_READ_CHUNK: usize = 16 * 1024;

/// Reads from one TCP connection in one turn of the loop, at most, so that a fast sender
/// cannot keep the loop from its other sockets; the rest is read in the next turn.
pub(crate) const TCP_READ_BUDGET: usize = 4;

/// Datagrams read from one UDP socket in one turn of the loop, at most (as
/// [`TCP_READ_BUDGET`]).
pub(crate) const UDP_READ_BUDGET: usize = 64;

/// Connections accepted on one listener in one turn of the loop, at most.
pub(crate) const ACCEPT_BUDGET: usize = 16;

/// Commands taken from the request channel in one turn of the loop, at most.
pub(crate) const REQUEST_BUDGET: usize = 64;

/// Readiness events taken from the poller at once.
pub(crate) const POLL_EVENTS: usize = 256;
