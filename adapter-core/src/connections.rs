//! The TCP connection table: one connection per remote address, opened on demand, reused, and
//! closed when idle or when the table is full.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Open connections by remote address. `W` is whatever the runtime writes to (a stream, a
/// channel to a writer task).
#[derive(Debug)]
pub struct Connections<W> {
    open: BTreeMap<SocketAddr, (W, Instant)>,
    idle_timeout: Duration,
    max: usize,
}

impl<W> Connections<W> {
    /// A table that closes connections idle for `idle_timeout` and holds at most `max`.
    #[must_use]
    pub fn new(idle_timeout: Duration, max: usize) -> Self {
        Self {
            open: BTreeMap::new(),
            idle_timeout,
            max: max.max(1),
        }
    }

    /// The connection to `addr`, marked as used now.
    pub fn get(&mut self, addr: &SocketAddr, now: Instant) -> Option<&mut W> {
        let (writer, last_used) = self.open.get_mut(addr)?;
        *last_used = now;
        Some(writer)
    }

    /// Adds a connection. Returns the writers closed to make room (drop them to close).
    pub fn insert(&mut self, addr: SocketAddr, writer: W, now: Instant) -> Vec<(SocketAddr, W)> {
        let mut closed = Vec::new();
        while self.open.len() >= self.max && !self.open.contains_key(&addr) {
            let Some(oldest) = self
                .open
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(addr, _)| *addr)
            else {
                break;
            };
            if let Some((writer, _)) = self.open.remove(&oldest) {
                closed.push((oldest, writer));
            }
        }
        if let Some((old, _)) = self.open.insert(addr, (writer, now)) {
            closed.push((addr, old));
        }
        closed
    }

    /// Removes the connection to `addr` (it closed, or failed).
    pub fn remove(&mut self, addr: &SocketAddr) -> Option<W> {
        self.open.remove(addr).map(|(writer, _)| writer)
    }

    /// Removes and returns the connections idle at `now`.
    pub fn expire(&mut self, now: Instant) -> Vec<(SocketAddr, W)> {
        let idle: Vec<SocketAddr> = self
            .open
            .iter()
            .filter(|(_, (_, used))| now.saturating_duration_since(*used) >= self.idle_timeout)
            .map(|(addr, _)| *addr)
            .collect();
        idle.into_iter()
            .filter_map(|addr| self.open.remove(&addr).map(|(writer, _)| (addr, writer)))
            .collect()
    }

    /// When the next connection becomes idle.
    #[must_use]
    pub fn next_expiry(&self) -> Option<Instant> {
        self.open
            .values()
            .map(|(_, used)| *used + self.idle_timeout)
            .min()
    }

    /// The open connections, without marking them as used.
    pub fn iter(&self) -> impl Iterator<Item = (&SocketAddr, &W)> {
        self.open.iter().map(|(addr, (writer, _))| (addr, writer))
    }

    /// How many connections are open.
    #[must_use]
    pub fn len(&self) -> usize {
        self.open.len()
    }

    /// Whether none is open.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.open.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn connections_are_reused_expired_when_idle_and_evicted_when_full() {
        let start = Instant::now();
        let mut table = Connections::new(Duration::from_secs(10), 2);
        assert!(table.insert(addr(1), "one", start).is_empty());
        assert!(
            table
                .insert(addr(2), "two", start + Duration::from_secs(1))
                .is_empty()
        );
        assert_eq!(
            table.get(&addr(1), start + Duration::from_secs(2)),
            Some(&mut "one")
        );
        // Full: the least recently used (2) makes room.
        assert_eq!(
            table.insert(addr(3), "three", start + Duration::from_secs(3)),
            [(addr(2), "two")]
        );
        assert_eq!(table.next_expiry(), Some(start + Duration::from_secs(12)));
        assert_eq!(
            table.expire(start + Duration::from_secs(12)),
            [(addr(1), "one")]
        );
        assert_eq!(table.len(), 1);
        assert_eq!(table.remove(&addr(3)), Some("three"));
        assert!(table.is_empty());
    }
}
