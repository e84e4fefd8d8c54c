//! What a download asks the caller to send, and what it tells the application.

use alloc::vec::Vec;
use core::fmt;
use core::time::Duration;

use crate::content::ContentId;
use crate::transport::TransportAddr;

/// A request to send: in CJP2P, `PleaseSendContent{id, offset, length}` to `to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockRequest {
    /// The source asked.
    pub to: TransportAddr,
    /// The content.
    pub id: ContentId,
    /// The first byte asked: always a multiple of the block size.
    pub offset: u64,
    /// How many bytes: a whole number of blocks (the source clips it at the end of the content).
    pub length: u64,
}

/// Why a source was dropped. A source that is only silent is never dropped (it is asked again
/// with backoff until [`DownloadConfig::deadline`](super::DownloadConfig::deadline)), nor one
/// that says `MaybeTheyHaveSome`: only what retrying cannot cure drops a source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DropReason {
    /// One of our own nodes said, in a session, that it does not hold the content (a CJP2P
    /// `MaybeTheyHaveSome` is not this: the public node also sends it beside `Content`, and
    /// instead of it when it ignores a request at random).
    NoContent,
    /// It announced a length other than the one it announced before: the content it serves
    /// under this id changed.
    LengthChanged {
        /// The length it announced first.
        first: u64,
        /// The length it announced then.
        then: u64,
    },
    /// It announced a length above `max_content_len`.
    TooLarge {
        /// The length it announced.
        eof: u64,
    },
    /// The content it sent did not hash to the id.
    Corrupt,
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoContent => f.write_str("does not have the content"),
            Self::LengthChanged { first, then } => {
                write!(f, "content changed (eof {then}, earlier {first})")
            }
            Self::TooLarge { eof } => write!(f, "announced {eof} bytes, above the limit"),
            Self::Corrupt => f.write_str("served bad data"),
        }
    }
}

/// Where one source stood when a download failed: the per-source reason of a
/// [`FailReason`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SourceStatus {
    /// It never answered anything.
    Unreachable,
    /// It only ever said it does not have the content.
    NoContent,
    /// It answered, then fell silent: its last answer came this long after the download
    /// started.
    StalledSince(Duration),
    /// It sent bytes that did not hash to the id.
    BadData,
    /// Its `eof` differs from the length the download followed (or from its own earlier one).
    ContentChanged {
        /// The length it announced.
        eof: u64,
        /// The length it differs from.
        expected: u64,
    },
    /// It announced a length above `max_content_len`.
    TooLarge {
        /// The length it announced.
        eof: u64,
    },
}

impl fmt::Display for SourceStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unreachable => f.write_str("unreachable"),
            Self::NoContent => f.write_str("does not have the content"),
            Self::StalledSince(since) => write!(
                f,
                "stalled since {}.{} s after the start",
                since.as_secs(),
                since.subsec_millis() / 100
            ),
            Self::BadData => f.write_str("served bad data"),
            Self::ContentChanged { eof, expected } => {
                write!(f, "content changed (eof {eof}, not {expected})")
            }
            Self::TooLarge { eof } => write!(f, "announced {eof} bytes, above the limit"),
        }
    }
}

/// Sources named in a failure's text at most; the rest are counted.
const REPORT_NAMED: usize = 8;

/// Every source of a failed download and where it stood, in the order they were added (at
/// most [`DownloadConfig::max_sources`](super::DownloadConfig::max_sources) of them). Shown as
/// `addr: status; addr: status`, the first 8 named and the rest counted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceReport {
    /// Each source with its status.
    pub sources: Vec<(TransportAddr, SourceStatus)>,
}

impl fmt::Display for SourceReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.sources.is_empty() {
            return f.write_str("no source");
        }
        for (n, (addr, status)) in self.sources.iter().take(REPORT_NAMED).enumerate() {
            if n > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{} {status}", addr.addr)?;
        }
        let more = self.sources.len().saturating_sub(REPORT_NAMED);
        if more > 0 {
            write!(f, "; and {more} more")?;
        }
        Ok(())
    }
}

/// Why a download gave up. Its text names each source and why it failed (see
/// [`SourceReport`]); the node reports it as [`FetchEvent::Failed`](crate::Event)'s `why`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailReason {
    /// Every source was dropped (for a reason retrying cannot cure: see [`DropReason`]);
    /// adding one does not revive a failed download (start a new one: it resumes from the
    /// partial store).
    NoSources(SourceReport),
    /// [`DownloadConfig::deadline`](super::DownloadConfig::deadline) passed before the content
    /// was complete.
    DeadlinePassed {
        /// The deadline.
        after: Duration,
        /// Where each source stood.
        sources: SourceReport,
    },
    /// The partial store failed; the text says why (and where, for a directory store).
    Store(alloc::string::String),
}

impl fmt::Display for FailReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoSources(sources) => write!(f, "no source left: {sources}"),
            Self::DeadlinePassed { after, sources } => {
                write!(
                    f,
                    "no complete content after {} s: {sources}",
                    after.as_secs()
                )
            }
            Self::Store(why) => f.write_str(why),
        }
    }
}

/// What a download reports.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DownloadEvent {
    /// Bytes held so far out of the total (consecutive progress events are merged).
    Progress {
        /// Bytes held and written to the partial store.
        have: u64,
        /// The content's length.
        total: u64,
    },
    /// The content hashed to its id and the store made it complete. Terminal.
    Completed {
        /// The content.
        id: ContentId,
        /// Its length.
        len: u64,
    },
    /// The download gave up. Terminal.
    Failed {
        /// Why.
        why: FailReason,
    },
    /// A source will be asked nothing more.
    SourceDropped {
        /// The source.
        addr: TransportAddr,
        /// Why.
        why: DropReason,
    },
    /// Every block arrived but the whole did not hash to the id: some source sent wrong bytes.
    /// The download keeps the blocks of one source, fetches the rest from it alone, and so
    /// either completes or finds the culprit (then [`DownloadEvent::SourceDropped`] with
    /// [`DropReason::Corrupt`]).
    HashMismatch,
}
