//! How a download ends, and the callers waiting for downloads to end.

use std::collections::BTreeMap;
use std::path::PathBuf;

use ejtp_proto::Event;
use ejtp_proto::FetchEvent;
use ejtp_proto::content::ContentId;

/// How a download started with `fetch` ended.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FetchOutcome {
    /// The content verified and is in the shared folder.
    Completed {
        /// The content.
        id: ContentId,
        /// Its length.
        len: u64,
        /// Where it is.
        path: Option<PathBuf>,
    },
    /// The download gave up; what it fetched is kept and a new fetch resumes it.
    Failed {
        /// The content.
        id: ContentId,
        /// Why, in words.
        why: String,
    },
}

/// Callers waiting for downloads to end, by content id. Bounded: at most `capacity` ids (the
/// node itself runs at most `Config::max_downloads`), each with any number of waiters.
#[derive(Debug)]
pub struct FetchWaiters<S> {
    waiting: BTreeMap<ContentId, Vec<S>>,
    capacity: usize,
}

impl<S> FetchWaiters<S> {
    /// An empty table for at most `capacity` downloads.
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        Self {
            waiting: BTreeMap::new(),
            capacity,
        }
    }

    /// Waits for `id` with `sender`. Gives `sender` back when the table is full.
    ///
    /// # Errors
    /// The sender, when `capacity` downloads are already waited for.
    pub fn insert(&mut self, id: ContentId, sender: S) -> Result<(), S> {
        if !self.waiting.contains_key(&id) && self.waiting.len() >= self.capacity {
            return Err(sender);
        }
        self.waiting.entry(id).or_default().push(sender);
        Ok(())
    }

    /// The waiters a terminal download event ends, with the content id (`path` is filled by
    /// the caller, who knows the folder).
    pub fn complete(&mut self, event: &Event) -> Option<(Vec<S>, FetchOutcome)> {
        let outcome = match event {
            Event::Fetch(FetchEvent::Completed { id, len }) => FetchOutcome::Completed {
                id: *id,
                len: *len,
                path: None,
            },
            Event::Fetch(FetchEvent::Failed { id, why }) => FetchOutcome::Failed {
                id: *id,
                why: why.clone(),
            },
            _ => return None,
        };
        let id = match &outcome {
            FetchOutcome::Completed { id, .. } | FetchOutcome::Failed { id, .. } => *id,
        };
        Some((self.waiting.remove(&id)?, outcome))
    }

    /// Forgets every waiter (the node stopped: their channels close).
    pub fn clear(&mut self) {
        self.waiting.clear();
    }
}
