//! What a download asks the caller to send, and what it tells the application.

use core::fmt;

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

/// Why a source was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DropReason {
    /// It stopped answering: `max_timeouts` timeouts in a row.
    Unresponsive,
    /// It said it does not have the content (`MaybeTheyHaveSome`).
    NoContent,
    /// It announced a length different from the one the download already knows.
    Inconsistent,
    /// It announced a length above `max_content_len`.
    TooLarge,
    /// The content it sent did not hash to the id.
    Corrupt,
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Unresponsive => "stopped answering",
            Self::NoContent => "does not have the content",
            Self::Inconsistent => "announced another length",
            Self::TooLarge => "announced a length above the limit",
            Self::Corrupt => "sent bytes that do not hash to the id",
        })
    }
}

/// Why a download gave up.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailReason {
    /// Every source was dropped; adding one does not revive a failed download (start a new one:
    /// it resumes from the partial store).
    NoSources,
    /// The partial store failed; the text says why.
    Store(alloc::string::String),
}

impl fmt::Display for FailReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoSources => f.write_str("no source left"),
            Self::Store(why) => write!(f, "partial store failed: {why}"),
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
