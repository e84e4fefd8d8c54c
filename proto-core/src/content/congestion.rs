//! A congestion window counted in blocks: slow start, additive increase, multiplicative decrease.
//!
//! The NewReno rules (RFC 5681 and RFC 9002's recovery period) applied to block requests instead
//! of bytes: each source of a download has one window, the number of blocks that may be asked of
//! it and not yet answered. The window never moves at random; it grows only with answers and
//! shrinks only with losses.
//!
//! The recovery period is told by request sequence numbers, not by send times: each request to
//! a source gets the next number, and a reduction ends the flight of every number given before
//! it. With a coarse or stopped clock many requests share an instant, and only the numbers say
//! which were sent before the reduction and which after.

/// Limits of a congestion window, in blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
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
    /// Requests numbered below this belong to the last loss episode: their losses and answers
    /// change nothing (one halving per round trip, as in RFC 9002 7.3.2).
    recovery_start: Option<u64>,
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

    /// Whether request `seq` belongs to the flight the last reduction answered.
    fn in_recovery(&self, seq: u64) -> bool {
        self.recovery_start.is_some_and(|start| seq < start)
    }

    /// `blocks` blocks asked by request `seq` were answered.
    pub fn on_answer(&mut self, seq: u64, blocks: u32) {
        if self.in_recovery(seq) {
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

    /// A block asked by request `seq` was lost (later ones were answered, or it timed out):
    /// halve the window once per loss episode. `next_seq` is the number the next request will
    /// get: every request before it belongs to the episode.
    pub fn on_loss(&mut self, seq: u64, next_seq: u64) {
        if self.in_recovery(seq) {
            return;
        }
        self.recovery_start = Some(next_seq);
        self.threshold = (self.window / 2).max(self.limits.min);
        self.window = self.threshold;
        self.acked_in_avoidance = 0;
    }

    /// The retransmission timeout fired: the path may be gone, so start again from the smallest
    /// window (RFC 5681 3.1), remembering half the old window as the threshold. `next_seq` is
    /// the number the next request will get: every request before it belongs to the episode.
    pub fn on_timeout(&mut self, next_seq: u64) {
        self.recovery_start = Some(next_seq);
        self.threshold = (self.window / 2).max(self.limits.min);
        self.window = self.limits.min;
        self.acked_in_avoidance = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_start_doubles_the_window_every_round_trip() {
        let mut cwnd = CongestionWindow::new(WindowLimits::default());
        assert_eq!(cwnd.window(), 4);
        // One round trip: every block of the window is answered.
        cwnd.on_answer(0, 4);
        assert_eq!(cwnd.window(), 8);
        cwnd.on_answer(1, 8);
        assert_eq!(cwnd.window(), 16);
        assert!(cwnd.in_slow_start());
    }

    #[test]
    fn a_loss_halves_the_window_once_per_episode() {
        let mut cwnd = CongestionWindow::new(WindowLimits::default());
        cwnd.on_answer(0, 12); // 16
        // Request 5 is lost; requests up to 9 have been sent.
        cwnd.on_loss(5, 10);
        assert_eq!(cwnd.window(), 8);
        assert_eq!(cwnd.threshold(), 8);
        // Another block of the same flight is lost: no second halving.
        cwnd.on_loss(6, 11);
        assert_eq!(cwnd.window(), 8);
        // Nor do answers to that flight grow the window.
        cwnd.on_answer(9, 8);
        assert_eq!(cwnd.window(), 8);
        // A request sent after the episode began and lost halves it again.
        cwnd.on_loss(12, 20);
        assert_eq!(cwnd.window(), 4);
    }

    #[test]
    fn requests_are_told_apart_by_number_when_the_clock_cannot() {
        // Requests 0..=9 were sent, then a timeout, then 10 and 11, all at the same instant.
        let mut cwnd = CongestionWindow::new(WindowLimits::default());
        cwnd.on_timeout(10); // window 1, threshold 2
        // An answer to request 9, sent before the timeout: the old flight, no growth.
        cwnd.on_answer(9, 4);
        assert_eq!(cwnd.window(), 1);
        // An answer to request 10, sent after it: the window grows.
        cwnd.on_answer(10, 1);
        assert_eq!(cwnd.window(), 2);
        // A loss of the old flight changes nothing; one of the new flight halves the window.
        cwnd.on_loss(3, 12);
        assert_eq!(cwnd.window(), 2);
        cwnd.on_loss(11, 12);
        assert_eq!(cwnd.window(), 1);
    }

    #[test]
    fn congestion_avoidance_adds_one_block_per_window_of_answers() {
        let mut cwnd = CongestionWindow::new(WindowLimits::default());
        cwnd.on_answer(0, 4); // 8
        cwnd.on_loss(1, 2); // 4, threshold 4
        assert!(!cwnd.in_slow_start());
        cwnd.on_answer(2, 3);
        assert_eq!(cwnd.window(), 4);
        cwnd.on_answer(2, 1);
        assert_eq!(cwnd.window(), 5);
        cwnd.on_answer(3, 5);
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
            cwnd.on_loss(step * 10 + 1, step * 10 + 5);
            assert!(cwnd.window() >= 1);
        }
        assert_eq!(cwnd.window(), 1);
        cwnd.on_timeout(200);
        assert_eq!(cwnd.window(), 1);
        cwnd.on_answer(300, 1000);
        assert_eq!(cwnd.window(), 10);
    }

    #[test]
    fn a_timeout_restarts_slow_start_from_the_floor() {
        let mut cwnd = CongestionWindow::new(WindowLimits::default());
        cwnd.on_answer(0, 28); // 32
        cwnd.on_timeout(10);
        assert_eq!(cwnd.window(), 1);
        assert_eq!(cwnd.threshold(), 16);
        cwnd.on_answer(11, 1);
        assert_eq!(cwnd.window(), 2);
        assert!(cwnd.in_slow_start());
    }
}
