//! Silent sources: their timers, their backoff, and the download's deadline.
//!
//! A source is never dropped for silence. Each expiry of its timer loses its outstanding
//! requests (asked again, preferably of others), drops its window to the floor and doubles its
//! retransmission timeout (RFC 6298 5.5, capped at `rto.max`, 10 s by default); it keeps being
//! asked one block at a time, so it is probed at growing intervals for as long as the download
//! runs, and answers again as soon as it can. Short answers (less than a block) count the same
//! way, after the first, which is asked again at once. A source with [`STALLED_AFTER`] or more
//! of these in a row counts as stalled: it no longer weighs for the length it claims. The only
//! limit on waiting is [`DownloadConfig::deadline`](super::DownloadConfig::deadline).

use alloc::vec::Vec;
use core::time::Duration;

use crate::time::Instant;

use super::source::SourceIndex;
use super::{Download, Mode};

/// Timeouts (or short answers) in a row after which a source counts as stalled.
pub(super) const STALLED_AFTER: u32 = 3;

/// Backoff doubles up to this exponent; `rto.max` caps it long before.
const MAX_SHORT_EXPONENT: u32 = 16;

impl Download {
    /// When the download gives up, if it has a deadline.
    pub(super) fn deadline(&self) -> Option<Instant> {
        self.config
            .deadline
            .map(|deadline| self.started.saturating_add(deadline))
    }

    /// When the timer of `source` expires: RTO after its oldest outstanding request was sent or
    /// it last answered, whichever is later (RFC 6298 5.3 restarts the timer on each answer).
    pub(super) fn deadline_of(&self, source: SourceIndex) -> Option<Instant> {
        let src = self
            .sources
            .get(usize::from(source))
            .filter(|s| s.is_active())?;
        let &(_, block) = src.in_flight.first()?;
        let sent = self.in_flight.get(&(block, source))?;
        let base = src
            .last_answer
            .map_or(sent.sent_at, |last| last.max(sent.sent_at));
        Some(base.saturating_add(src.rtt.rto()))
    }

    /// The timer of `source` expired: its overdue requests are lost, and it backs off.
    pub(super) fn expire(&mut self, now: Instant, source: SourceIndex) {
        let Some(src) = self.sources.get_mut(usize::from(source)) else {
            return;
        };
        self.stats.timeouts += 1;
        let rto = src.rtt.rto();
        src.window.on_timeout(src.next_seq);
        src.rtt.on_timeout();
        src.timeouts = src.timeouts.saturating_add(1);
        let now_stalled = src.timeouts == STALLED_AFTER;
        let expired: Vec<u64> = src
            .in_flight
            .iter()
            .filter(|(_, block)| {
                self.in_flight
                    .get(&(*block, source))
                    .is_some_and(|sent| sent.sent_at.saturating_add(rto) <= now)
            })
            .map(|(_, block)| *block)
            .collect();
        for block in expired {
            if self.forget_request((block, source)).is_some() {
                self.mark_lost(block, source);
            }
        }
        if now_stalled {
            // It no longer weighs for its length: another may now be better supported.
            self.reconsider_length();
            if self.mode == Mode::Pinned(source) {
                self.repin_away_from(source);
            }
        }
    }

    /// The pinned `source` stalled: waiting for it could be forever (a source that answers
    /// and then falls silent may hold most blocks when a mismatch pins it). The pin moves to
    /// the first other active source that has not stalled, starting afresh with it (see
    /// `repinned`); with none, every source is asked again and the next mismatch decides.
    fn repin_away_from(&mut self, source: SourceIndex) {
        let next = self
            .sources
            .iter()
            .enumerate()
            .filter(|(_, candidate)| candidate.is_active() && candidate.timeouts < STALLED_AFTER)
            .filter_map(|(index, _)| SourceIndex::try_from(index).ok())
            .find(|&index| index != source);
        match next {
            Some(next) => {
                self.mode = Mode::Pinned(next);
                self.repinned = Some(next);
                let others: Vec<(u64, SourceIndex)> = self
                    .in_flight
                    .keys()
                    .filter(|(_, s)| *s != next)
                    .copied()
                    .collect();
                for key in others {
                    if self.forget_request(key).is_some() {
                        // Asked again of the new pin: nothing else would ask it.
                        self.lost.insert(key.0, key.1);
                    }
                }
            }
            None => self.mode = Mode::Swarm,
        }
    }

    /// `source` sent a short answer: after the first in a row, it is not asked again before
    /// its timeout times 2^(n-2) has passed (n short answers or timeouts in a row).
    pub(super) fn back_off_short(&mut self, now: Instant, source: SourceIndex) {
        let max = self.config.rto.max;
        let Some(src) = self.sources.get_mut(usize::from(source)) else {
            return;
        };
        src.timeouts = src.timeouts.saturating_add(1);
        if src.timeouts >= 2 {
            let exponent = (src.timeouts - 2).min(MAX_SHORT_EXPONENT);
            let wait = src
                .rtt
                .rto()
                .checked_mul(1u32 << exponent)
                .unwrap_or(max)
                .min(max);
            src.hold_until = Some(now.saturating_add(wait));
        }
        if src.timeouts == STALLED_AFTER {
            self.reconsider_length();
        }
    }

    /// Ends the backoff of `source` once its time has come.
    pub(super) fn release_hold(&mut self, now: Instant, source: SourceIndex) {
        if let Some(src) = self.sources.get_mut(usize::from(source)) {
            if src.hold_until.is_some_and(|until| until <= now) {
                src.hold_until = None;
            }
        }
    }

    /// How long after the start `at` is, for reports.
    pub(super) fn since_start(&self, at: Instant) -> Duration {
        at.saturating_duration_since(self.started)
    }
}
