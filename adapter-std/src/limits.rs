//! The bounds and timeouts of the adapter: every queue and buffer of the poll loop is bounded
//! here.

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
