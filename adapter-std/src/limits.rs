//! The bounds and timeouts of the adapter.

use std::time::Duration;

/// Events the application has not received yet, at most. When [`Events`](crate::Events) holds
/// this many, further events are dropped and counted ([`Events::lost`](crate::Events::lost)):
/// the driver thread never waits for the application.
pub const EVENT_CAPACITY: usize = 1024;

/// Messages waiting for the driver thread, at most: received datagrams, stream chunks, accepted
/// connections and commands. When it is full, the reader threads wait (the operating system's
/// buffers fill, then UDP drops and TCP slows its sender) and so do commands.
pub const INBOX_CAPACITY: usize = 256;

/// The receive buffer of each UDP socket: the largest datagram read whole.
pub const UDP_BUFFER_LEN: usize = 64 * 1024;

/// Bytes read from a TCP connection at once.
pub(crate) const TCP_READ_CHUNK: usize = 16 * 1024;

/// How long the driver thread waits for a TCP connection it opens. The driver thread does
/// nothing else meanwhile, so this is short.
pub const TCP_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// How long a write to a TCP connection may block (a peer that does not read) before the
/// connection is dropped.
pub const TCP_WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// How often a blocked UDP reader wakes to check whether the node is stopping, in case the
/// datagram sent to wake it is lost.
pub(crate) const UDP_POLL_INTERVAL: Duration = Duration::from_millis(500);

/// How long a thread pauses after an unexpected socket error before trying again, so that a
/// persistent error (no file descriptors left) does not spin.
pub(crate) const ERROR_PAUSE: Duration = Duration::from_millis(10);

/// How much longer than a query's longest life [`Handle::query`](crate::Handle::query) waits
/// for its outcome before giving up on it as timed out: a safety net only, since the node
/// itself ends every query by its deadline.
pub(crate) const QUERY_GRACE: Duration = Duration::from_secs(5);
