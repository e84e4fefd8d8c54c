//! The settings of a download, with their defaults and what they cost.

use core::time::Duration;

use crate::content::{CJP2P_BLOCK_SIZE, RtoBounds, WindowLimits};

/// How a [`Download`](super::Download) behaves and how much it may hold.
///
/// Memory of one download: about 64 bytes per block in flight (`max_in_flight`, twice that for
/// the lost-block queue it bounds), about 300 bytes per source (`max_sources`, each with its own
/// in-flight set bounded by its window), one block-sized read buffer, and per block of the
/// content 1 bit (which blocks are held) and 2 bytes (which source sent it, so that a source
/// that sent wrong bytes can be found): 0.05% of the content's length with 4096-byte blocks.
///
/// It is part of the trace format ([`Command::SetDownloadConfig`](crate::Command::SetDownloadConfig)):
/// durations are whole microseconds, and missing fields take their defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
#[allow(deprecated)] // the derived impls name the deprecated `max_timeouts`
pub struct DownloadConfig {
    /// The size of a block: the unit of requests, of the manifest and of verification on resume.
    /// Default [`CJP2P_BLOCK_SIZE`] (4096), which public CJP2P nodes require (they serve
    /// 4096-aligned requests only). A larger request to a capable source asks several
    /// consecutive blocks at once ([`Download::add_source_with`](super::Download::add_source_with)).
    pub block_size: u32,
    /// Each source's congestion window, in blocks. Default 4 to start, at least 1, at most 256
    /// (1 MiB of 4096-byte blocks in flight per source).
    pub window: WindowLimits,
    /// The retransmission timeout's starting value and bounds. Default 300 ms, 10 ms, 10 s.
    pub rto: RtoBounds,
    /// A request counts as lost once an answer arrives from the same source to a request sent
    /// this many requests after it (the reordering tolerance, like QUIC's packet threshold).
    /// Default 3.
    pub reorder_threshold: u64,
    /// Ignored. Silent sources are no longer dropped after a number of timeouts: they are asked
    /// again with exponential backoff (the retransmission timeout doubles on each expiry, up to
    /// `rto.max`) until [`deadline`](Self::deadline), so a seeder that pauses is waited for.
    #[deprecated(note = "silent sources are retried with backoff until `deadline`")]
    pub max_timeouts: u32,
    /// How long after its start the download gives up if the content is not complete by then,
    /// failing with [`FailReason::DeadlinePassed`](super::FailReason::DeadlinePassed) and where
    /// each source stood (unreachable, stalled since when, ...). Default `None`: no deadline of
    /// its own; the download then ends only complete, when every source is dropped, or when the
    /// caller gives up (`ejtp fetch --timeout`).
    #[serde(with = "crate::config::micros::optional")]
    pub deadline: Option<Duration>,
    /// The most sources one download knows (added or learned from `MaybeTheyHaveSome`), dropped
    /// ones included. Default 64; more are ignored. It also bounds the lengths the sources may
    /// disagree on, and the failure report.
    pub max_sources: usize,
    /// The most blocks in flight over all sources. Default 2048 (8 MiB of 4096-byte blocks
    /// asked and not yet answered; about 128 KiB of bookkeeping).
    pub max_in_flight: usize,
    /// The longest content accepted, in bytes: a source announcing more is dropped. Default
    /// 64 GiB (then 32 MiB of per-block bookkeeping with 4096-byte blocks).
    pub max_content_len: u64,
    /// Whether, once every block is asked, a source with room may ask again a block still in
    /// flight elsewhere (at most two copies), so one slow or dead source cannot hold up the
    /// last blocks. Default true.
    pub endgame: bool,
    /// The most events waiting to be polled; the oldest is dropped beyond it (progress events
    /// are merged, so only a caller that never polls loses any). Default 256.
    pub max_events: usize,
}

impl Default for DownloadConfig {
    fn default() -> Self {
        Self {
            block_size: CJP2P_BLOCK_SIZE,
            window: WindowLimits::default(),
            rto: RtoBounds::default(),
            reorder_threshold: 3,
            #[allow(deprecated)]
            max_timeouts: 6,
            deadline: None,
            max_sources: 64,
            max_in_flight: 2048,
            max_content_len: 64 << 30,
            endgame: true,
            max_events: 256,
        }
    }
}
