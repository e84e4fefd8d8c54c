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

    /// Keeps only the items for which `keep` holds, in their order; returns how many went.
    pub fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) -> usize {
        let before = self.entries.len();
        self.entries.retain(|_, item| keep(item));
        before - self.entries.len()
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

    #[test]
    fn retain_drops_the_rest_and_keeps_the_order() {
        let mut schedule = Schedule::new();
        for (at, item) in [(10, 1), (10, 2), (5, 3), (20, 4)] {
            schedule.insert(Instant::from_micros(at), item);
        }
        assert_eq!(schedule.retain(|item| item % 2 == 1), 2);
        assert_eq!(
            schedule.pop_due(Instant::from_micros(u64::MAX)),
            Some((Instant::from_micros(5), 3))
        );
        assert_eq!(
            schedule.pop_due(Instant::from_micros(u64::MAX)),
            Some((Instant::from_micros(10), 1))
        );
        assert!(schedule.is_empty());
    }
}
