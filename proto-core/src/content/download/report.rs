//! Where each source stands, for the text of a failure.

use alloc::vec::Vec;

use super::{Download, DropReason, SourceReport, SourceStatus};

impl Download {
    /// Every source with its status, in the order they were added (at most `max_sources`).
    pub(super) fn report(&self) -> SourceReport {
        let followed = self.known.as_ref().map(|known| known.layout.total_len);
        let sources: Vec<_> = self
            .sources
            .iter()
            .map(|source| {
                let status = match (source.dropped, source.claimed_len, followed) {
                    (Some(DropReason::Corrupt), _, _) => SourceStatus::BadData,
                    (Some(DropReason::NoContent), _, _) => SourceStatus::NoContent,
                    (Some(DropReason::TooLarge { eof }), _, _) => SourceStatus::TooLarge { eof },
                    (Some(DropReason::LengthChanged { first, then }), _, _) => {
                        SourceStatus::ContentChanged {
                            eof: then,
                            expected: first,
                        }
                    }
                    (None, Some(eof), Some(expected)) if eof != expected => {
                        SourceStatus::ContentChanged { eof, expected }
                    }
                    _ => match (source.last_answer, source.said_none, source.last_heard) {
                        (Some(last), _, _) => SourceStatus::StalledSince(self.since_start(last)),
                        (None, true, _) => SourceStatus::NoContent,
                        (None, false, Some(last)) => {
                            SourceStatus::StalledSince(self.since_start(last))
                        }
                        (None, false, None) => SourceStatus::Unreachable,
                    },
                };
                (source.addr, status)
            })
            .collect();
        SourceReport { sources }
    }
}
