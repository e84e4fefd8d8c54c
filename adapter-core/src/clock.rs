//! The process's clocks, in the core's terms.

use std::time::{Duration, Instant as StdInstant, SystemTime, UNIX_EPOCH};

use ejtp_proto::{Instant, UnixMillis};

/// A monotonic clock whose epoch is the moment it was made, and the wall clock at that moment.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    start: StdInstant,
    wall_start: UnixMillis,
}

impl Clock {
    /// A clock starting now.
    #[must_use]
    pub fn start() -> Self {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Self {
            start: StdInstant::now(),
            wall_start: UnixMillis(u64::try_from(wall.as_millis()).unwrap_or(u64::MAX)),
        }
    }

    /// Now, on the core's clock.
    #[must_use]
    pub fn now(&self) -> Instant {
        self.to_core(StdInstant::now())
    }

    /// The wall clock when this clock started.
    #[must_use]
    pub fn wall_start(&self) -> UnixMillis {
        self.wall_start
    }

    /// A std instant on the core's clock.
    #[must_use]
    pub fn to_core(&self, instant: StdInstant) -> Instant {
        let micros = instant.saturating_duration_since(self.start).as_micros();
        Instant::from_micros(u64::try_from(micros).unwrap_or(u64::MAX))
    }

    /// A core instant as a std instant, for the runtime's timers.
    #[must_use]
    pub fn to_std(&self, instant: Instant) -> StdInstant {
        self.start + Duration::from_micros(instant.as_micros())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_and_std_instants_convert_both_ways() {
        let clock = Clock::start();
        let later = clock.to_core(StdInstant::now() + Duration::from_millis(5));
        assert!(later >= Instant::from_millis(5));
        let back = clock.to_std(later);
        assert_eq!(clock.to_core(back), later);
        assert!(
            clock.wall_start().0 > 1_600_000_000_000,
            "the wall clock reads a plausible date"
        );
    }
}
