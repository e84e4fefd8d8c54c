//! The bounds of the adapters' queues and waits, the same on every runtime.

use std::time::Duration;

/// How many events wait for the application at most; past that they are dropped and counted
/// (see [`Events`](crate::events::Events)): the driver never waits for the application.
pub const EVENT_CHANNEL_CAPACITY: usize = 1024;

/// How long opening a TCP connection may take before its frames are dropped.
pub const TCP_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How many frames may wait to be written to one TCP connection; more are refused, and the
/// node is told (as of a failed transmit).
pub const TCP_QUEUE_CAPACITY: usize = 256;

/// How long writing one frame to a TCP connection may stall (the peer reading nothing) before
/// the connection is closed and the frames waiting for it are dropped.
pub const TCP_WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// How many commands wait for the driver before the handles sending them wait (every
/// adapter's request channel, the blocking one's included).
pub const REQUEST_CAPACITY: usize = 64;

/// How many pieces of traffic wait for the driver before the socket tasks wait for it.
pub(crate) const TRAFFIC_CAPACITY: usize = 256;
