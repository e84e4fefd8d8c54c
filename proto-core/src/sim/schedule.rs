//! What is in flight, in the order it arrives.

use alloc::collections::BTreeMap;

use crate::time::Instant;

/// Items by arrival time, and by the order they were scheduled among equal times, so that two
/// packets due at the same instant arrive in the order they were sent (a `BTreeMap`, not a
/// heap: its order is fully determined, which replays need).
#[derive(Debug)]
pub struct Schedule<T> {
    entries: BTreeMap<(Instant, u64), T>,
    sequence: u64,
}

impl<T> Default for Schedule<T> {
    fn default() -> Self {
        Self {
            entries: BTreeMap::new(),
            sequence: 0,
        }
    }
}

impl<T> Schedule<T> {
    /// An empty schedule.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Schedules `item` to arrive at `at`, after everything already due then.
    pub fn insert(&mut self, at: Instant, item: T) {
        self.sequence = self.sequence.wrapping_add(1);
        self.entries.insert((at, self.sequence), item);
    }

    /// When the next item arrives.
    #[must_use]
    pub fn next_at(&self) -> Option<Instant> {
        self.entries.keys().next().map(|(at, _)| *at)
    }

    /// The next item and its time, if it arrives no later than `until`.
    pub fn pop_due(&mut self, until: Instant) -> Option<(Instant, T)> {
        if self.next_at()? > until {
            return None;
        }
        self.entries.pop_first().map(|((at, _), item)| (at, item))
    }

    /// How many items are in flight.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is in flight.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_come_out_by_time_then_by_sending_order() {
        let mut schedule = Schedule::new();
        schedule.insert(Instant::from_micros(20), "late");
        schedule.insert(Instant::from_micros(10), "first");
        schedule.insert(Instant::from_micros(10), "second");
        assert_eq!(schedule.pop_due(Instant::from_micros(5)), None);
        assert_eq!(
            schedule.pop_due(Instant::from_micros(10)),
            Some((Instant::from_micros(10), "first"))
        );
        assert_eq!(
            schedule.pop_due(Instant::from_micros(10)),
            Some((Instant::from_micros(10), "second"))
        );
        assert_eq!(schedule.next_at(), Some(Instant::from_micros(20)));
        assert_eq!(schedule.len(), 1);
    }
}
