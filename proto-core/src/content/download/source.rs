//! One source of a download: its address, round-trip estimator, congestion window and the
//! requests it has not answered.

use alloc::collections::BTreeSet;
use core::time::Duration;

use crate::content::{CongestionWindow, RttEstimator};
use crate::time::Instant;
use crate::transport::TransportAddr;

use super::DownloadConfig;
use super::event::DropReason;

/// A source's place in the download's table (the table never shrinks, so indices are stable).
pub(super) type SourceIndex = u16;

pub(super) struct Source {
    pub(super) addr: TransportAddr,
    pub(super) dropped: Option<DropReason>,
    pub(super) rtt: RttEstimator,
    pub(super) window: CongestionWindow,
    /// Blocks asked and not answered, by the sequence number of their request then block index;
    /// sequence numbers grow with time, so the first entry is the oldest request.
    pub(super) in_flight: BTreeSet<(u64, u64)>,
    /// The sequence number the next request to this source gets.
    pub(super) next_seq: u64,
    /// The highest sequence number answered so far (for loss detection by reordering).
    pub(super) largest_answered: Option<u64>,
    /// When this source last answered a block it was asked (restarts its timer, RFC 6298 5.3).
    pub(super) last_answer: Option<Instant>,
    /// When this source last sent any `Content`, whole blocks or not.
    pub(super) last_heard: Option<Instant>,
    /// Whether it ever said it does not have the content (`MaybeTheyHaveSome`). Not a reason
    /// to drop it: the public node says so beside `Content`, and instead of it at random.
    pub(super) said_none: bool,
    /// The content's length as this source announced it (its first `eof`).
    pub(super) claimed_len: Option<u64>,
    /// Timeouts (and short answers) in a row without a whole block: the exponent of its
    /// backoff, and what makes it count as stalled (see [`super::backoff`]).
    pub(super) timeouts: u32,
    /// Not asked anything before this instant: the backoff after repeated short answers.
    pub(super) hold_until: Option<Instant>,
    /// Blocks per request this source accepts.
    pub(super) blocks_per_request: u32,
    /// Blocks this source sent that were kept.
    pub(super) blocks_kept: u64,
}

/// What a download knows of one source, for progress displays and logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SourceInfo {
    /// The source.
    pub addr: TransportAddr,
    /// Why it was dropped, if it was.
    pub dropped: Option<DropReason>,
    /// Its congestion window, in blocks.
    pub window: u32,
    /// Its smoothed round-trip time, once measured.
    pub smoothed_rtt: Option<Duration>,
    /// Its retransmission timeout.
    pub rto: Duration,
    /// Blocks asked of it and not answered.
    pub in_flight: usize,
    /// Blocks it sent that were kept.
    pub blocks_kept: u64,
    /// Consecutive blocks one request to it asks at most.
    pub blocks_per_request: u32,
    /// The content's length it announced, once it answered.
    pub claimed_len: Option<u64>,
    /// Timeouts in a row without a whole block (0 while it answers).
    pub timeouts: u32,
}

impl Source {
    pub(super) fn new(
        addr: TransportAddr,
        config: &DownloadConfig,
        blocks_per_request: u32,
    ) -> Self {
        Self {
            addr,
            dropped: None,
            rtt: RttEstimator::new(config.rto),
            window: CongestionWindow::new(config.window),
            in_flight: BTreeSet::new(),
            next_seq: 0,
            largest_answered: None,
            last_answer: None,
            last_heard: None,
            said_none: false,
            claimed_len: None,
            timeouts: 0,
            hold_until: None,
            blocks_per_request,
            blocks_kept: 0,
        }
    }

    pub(super) fn info(&self) -> SourceInfo {
        SourceInfo {
            addr: self.addr,
            dropped: self.dropped,
            window: self.window.window(),
            smoothed_rtt: self.rtt.smoothed(),
            rto: self.rtt.rto(),
            in_flight: self.in_flight.len(),
            blocks_kept: self.blocks_kept,
            blocks_per_request: self.blocks_per_request,
            claimed_len: self.claimed_len,
            timeouts: self.timeouts,
        }
    }

    pub(super) fn is_active(&self) -> bool {
        self.dropped.is_none()
    }

    /// Blocks this source may still be asked now.
    pub(super) fn room(&self) -> usize {
        let window = usize::try_from(self.window.window()).unwrap_or(usize::MAX);
        window.saturating_sub(self.in_flight.len())
    }
}
