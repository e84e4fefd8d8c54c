//! A congestion window counted in blocks: slow start, additive increase, multiplicative decrease.
//!
//! The NewReno rules (RFC 5681 and RFC 9002's recovery period) applied to block requests instead
//! of bytes: each source of a download has one window, the number of blocks that may be asked of
//! it and not yet answered. The window never moves at random; it grows only with answers and
//! shrinks only with losses.

use crate::time::Instant;

/// Limits of a congestion window, in blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowLimits {
    /// The window a new source starts with.
    pub initial: u32,
    /// The smallest window: a loss or a timeout never takes it lower.
    pub min: u32,
    /// The largest window, whatever the answers.
    pub max: u32,
}

impl Default for WindowLimits {
    fn default() -> Self {
        Self {
            initial: 4,
            min: 1,
            max: 256,
        }
    }
}

/// One source's congestion window.
#[derive(Clone, Debug)]
pub struct CongestionWindow {
    limits: WindowLimits,
    window: u32,
    /// Slow start threshold: below it the window grows by one per answered block.
    threshold: u32,
    /// Blocks answered since the window last grew in congestion avoidance.
    acked_in_avoidance: u32,
    /// Requests sent before this instant belong to the last loss episode: their losses and
    /// answers change nothing (one halving per round trip, as in RFC 9002 7.3.2).
    recovery_start: Option<Instant>,
}

impl CongestionWindow {
    /// A window at `limits.initial`, in slow start.
    #[must_use]
    pub fn new(limits: WindowLimits) -> Self {
        let min = limits.min.max(1);
        let max = limits.max.max(min);
        let limits = WindowLimits {
            initial: limits.initial.clamp(min, max),
            min,
            max,
        };
        Self {
            limits,
            window: limits.initial,
            threshold: max,
            acked_in_avoidance: 0,
            recovery_start: None,
        }
    }

    /// The number of blocks that may be outstanding.
    #[must_use]
    pub fn window(&self) -> u32 {
        self.window
    }

    /// The slow start threshold.
    #[must_use]
    pub fn threshold(&self) -> u32 {
        self.threshold
    }

    /// Whether the window is still doubling every round trip.
    #[must_use]
    pub fn in_slow_start(&self) -> bool {
        self.window < self.threshold
    }

    /// Whether a request sent at `sent_at` belongs to the flight the last reduction answered.
    /// Requests sent at the very instant of the reduction are the new flight: the download
    /// sends them right after reacting, and with a coarse or stopped clock counting them as the
    /// old flight would keep the window from ever growing again.
    fn in_recovery(&self, sent_at: Instant) -> bool {
        self.recovery_start.is_some_and(|start| sent_at < start)
    }

    /// `blocks` blocks asked at `sent_at` were answered.
    pub fn on_answer(&mut self, sent_at: Instant, blocks: u32) {
        if self.in_recovery(sent_at) {
            return;
        }
        for _ in 0..blocks {
            if self.window >= self.limits.max {
                break;
            }
            if self.in_slow_start() {
                self.window += 1;
            } else {
                self.acked_in_avoidance += 1;
                if self.acked_in_avoidance >= self.window {
                    self.acked_in_avoidance = 0;
                    self.window += 1;
                }
            }
        }
    }

    /// A block asked at `sent_at` was lost (later ones were answered, or it timed out): halve the
    /// window once per loss episode.
    pub fn on_loss(&mut self, now: Instant, sent_at: Instant) {
        if self.in_recovery(sent_at) {
            return;
        }
        self.recovery_start = Some(now);
        self.threshold = (self.window / 2).max(self.limits.min);
        self.window = self.threshold;
        self.acked_in_avoidance = 0;
    }

    /// The retransmission timeout fired: the path may be gone, so start again from the smallest
    /// window (RFC 5681 3.1), remembering half the old window as the threshold.
    pub fn on_timeout(&mut self, now: Instant) {
        self.recovery_start = Some(now);
        self.threshold = (self.window / 2).max(self.limits.min);
        self.window = self.limits.min;
        self.acked_in_avoidance = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    #[test]
    fn slow_start_doubles_the_window_every_round_trip() {
        let mut cwnd = CongestionWindow::new(WindowLimits::default());
        assert_eq!(cwnd.window(), 4);
        // One round trip: every block of the window is answered.
        cwnd.on_answer(at(0), 4);
        assert_eq!(cwnd.window(), 8);
        cwnd.on_answer(at(1), 8);
        assert_eq!(cwnd.window(), 16);
        assert!(cwnd.in_slow_start());
    }

    #[test]
    fn a_loss_halves_the_window_once_per_episode() {
        let mut cwnd = CongestionWindow::new(WindowLimits::default());
        cwnd.on_answer(at(0), 12); // 16
        cwnd.on_loss(at(10), at(5));
        assert_eq!(cwnd.window(), 8);
        assert_eq!(cwnd.threshold(), 8);
        // Another block of the same flight is lost: no second halving.
        cwnd.on_loss(at(11), at(6));
        assert_eq!(cwnd.window(), 8);
        // Nor do answers to that flight grow the window.
        cwnd.on_answer(at(9), 8);
        assert_eq!(cwnd.window(), 8);
        // A block asked after the episode began and lost halves it again.
        cwnd.on_loss(at(20), at(12));
        assert_eq!(cwnd.window(), 4);
    }

    #[test]
    fn requests_sent_at_the_instant_of_a_reduction_are_a_new_flight() {
        let mut cwnd = CongestionWindow::new(WindowLimits::default());
        cwnd.on_timeout(at(10)); // window 1, threshold 2
        // Asked at 10, after the timeout was handled, and answered: the window grows.
        cwnd.on_answer(at(10), 1);
        assert_eq!(cwnd.window(), 2);
        // Still within the old flight: no growth.
        cwnd.on_answer(at(9), 4);
        assert_eq!(cwnd.window(), 2);
    }

    #[test]
    fn congestion_avoidance_adds_one_block_per_window_of_answers() {
        let mut cwnd = CongestionWindow::new(WindowLimits::default());
        cwnd.on_answer(at(0), 4); // 8
        cwnd.on_loss(at(1), at(1)); // 4, threshold 4
        assert!(!cwnd.in_slow_start());
        cwnd.on_answer(at(2), 3);
        assert_eq!(cwnd.window(), 4);
        cwnd.on_answer(at(2), 1);
        assert_eq!(cwnd.window(), 5);
        cwnd.on_answer(at(3), 5);
        assert_eq!(cwnd.window(), 6);
    }

    #[test]
    fn the_window_never_falls_below_one_block_nor_rises_above_its_cap() {
        let limits = WindowLimits {
            initial: 2,
            min: 1,
            max: 10,
        };
        let mut cwnd = CongestionWindow::new(limits);
        for step in 0..10 {
            cwnd.on_loss(at(step * 10 + 5), at(step * 10 + 1));
            assert!(cwnd.window() >= 1);
        }
        assert_eq!(cwnd.window(), 1);
        cwnd.on_timeout(at(200));
        assert_eq!(cwnd.window(), 1);
        cwnd.on_answer(at(300), 1000);
        assert_eq!(cwnd.window(), 10);
    }

    #[test]
    fn a_timeout_restarts_slow_start_from_the_floor() {
        let mut cwnd = CongestionWindow::new(WindowLimits::default());
        cwnd.on_answer(at(0), 28); // 32
        cwnd.on_timeout(at(10));
        assert_eq!(cwnd.window(), 1);
        assert_eq!(cwnd.threshold(), 16);
        cwnd.on_answer(at(11), 1);
        assert_eq!(cwnd.window(), 2);
        assert!(cwnd.in_slow_start());
    }
}
