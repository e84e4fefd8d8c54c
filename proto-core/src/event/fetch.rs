//! Events of downloads.

use crate::content::ContentId;
use alloc::string::String;

use serde::{Deserialize, Serialize};

/// How a download started with [`crate::Content::fetch`](crate::Content::fetch) goes.
///
/// Part of [`Event`](super::Event): `Event::Fetch`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum FetchEvent {
    /// A download started with [`crate::Content::fetch`](crate::Content::fetch) holds `have` of `total`
    /// bytes. Rate-limited: at most one per download per
    /// [`Config::download_progress_interval`](crate::Config::download_progress_interval), and
    /// one just before the download ends.
    #[serde(rename = "download_progress")]
    Progress {
        /// The content.
        id: ContentId,
        /// Bytes held (written to the storage).
        have: u64,
        /// The content's length.
        total: u64,
    },
    /// A download completed: the content hashed to its id and is now in the storage (and
    /// served). Terminal.
    #[serde(rename = "download_completed")]
    Completed {
        /// The content.
        id: ContentId,
        /// Its length.
        len: u64,
    },
    /// A download gave up; what it fetched stays in the storage and a new fetch resumes it.
    /// Terminal.
    #[serde(rename = "download_failed")]
    Failed {
        /// The content.
        id: ContentId,
        /// Why, in words.
        why: String,
    },
}
