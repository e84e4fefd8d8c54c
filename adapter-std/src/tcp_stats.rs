//! [`TcpStats`]: what the poll loop's TCP bounds and timers did, counted where the application
//! (and a test) can read it without asking the loop.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// The TCP connections of a node and why the loop closed those it closed, since the node
/// started ([`Handle::tcp_stats`](crate::Handle::tcp_stats)). Closures the peer or the node's
/// own framing checks caused, other than those counted here, are not counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TcpStats {
    /// Connections open at the end of the loop's last turn, accepted and opened.
    pub open: usize,
    /// Connections refused because their peer's IP address already had
    /// [`TcpLimits::max_per_ip`](crate::TcpLimits::max_per_ip): accepted and closed at once, or
    /// never opened.
    pub refused_per_ip: u64,
    /// Connections closed to make room for a new one under
    /// `NodeOptions::max_tcp_connections`.
    pub evicted: u64,
    /// Connections closed as idle: no frame completed either way for
    /// `NodeOptions::tcp_idle_timeout`.
    pub closed_idle: u64,
    /// Connections closed because a frame took longer than
    /// [`TcpLimits::frame_timeout`](crate::TcpLimits::frame_timeout), either way.
    pub closed_slow: u64,
    /// Connections closed because their peer took nothing written for
    /// [`TCP_WRITE_TIMEOUT`](crate::TCP_WRITE_TIMEOUT).
    pub closed_stalled: u64,
    /// Connects given up after [`TCP_CONNECT_TIMEOUT`](crate::TCP_CONNECT_TIMEOUT).
    pub connects_timed_out: u64,
    /// Connections closed for bad framing, such as a length prefix announcing more than the
    /// node's `max_frame_len`.
    pub closed_bad_framing: u64,
}

/// Why the loop closed or refused a connection, for [`TcpCounters::count`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Closed {
    RefusedPerIp,
    Evicted,
    Idle,
    Slow,
    Stalled,
    ConnectTimedOut,
    BadFraming,
}

/// The counters behind [`TcpStats`], written by the loop and read by any handle.
#[derive(Debug, Default)]
pub(crate) struct TcpCounters {
    open: AtomicUsize,
    counts: [AtomicU64; 7],
}

impl TcpCounters {
    /// Counts one connection closed (or refused) for `why`.
    pub(crate) fn count(&self, why: Closed) {
        if let Some(counter) = self.counts.get(why as usize) {
            // Only ever read as a snapshot: no ordering with anything else is needed.
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Records how many connections are open now.
    pub(crate) fn set_open(&self, open: usize) {
        self.open.store(open, Ordering::Relaxed);
    }

    /// The counts now.
    pub(crate) fn snapshot(&self) -> TcpStats {
        let read = |why: Closed| {
            self.counts
                .get(why as usize)
                .map_or(0, |counter| counter.load(Ordering::Relaxed))
        };
        TcpStats {
            open: self.open.load(Ordering::Relaxed),
            refused_per_ip: read(Closed::RefusedPerIp),
            evicted: read(Closed::Evicted),
            closed_idle: read(Closed::Idle),
            closed_slow: read(Closed::Slow),
            closed_stalled: read(Closed::Stalled),
            connects_timed_out: read(Closed::ConnectTimedOut),
            closed_bad_framing: read(Closed::BadFraming),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_reason_has_its_own_counter() {
        let counters = TcpCounters::default();
        counters.count(Closed::Slow);
        counters.count(Closed::Slow);
        counters.count(Closed::BadFraming);
        counters.count(Closed::RefusedPerIp);
        counters.set_open(3);
        let stats = counters.snapshot();
        assert_eq!(
            stats,
            TcpStats {
                open: 3,
                refused_per_ip: 1,
                closed_slow: 2,
                closed_bad_framing: 1,
                ..TcpStats::default()
            }
        );
    }
}
