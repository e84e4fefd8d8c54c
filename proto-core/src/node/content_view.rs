//! A borrowed view of the node's downloads: `node.content()` fetches content, lists and
//! cancels downloads, and holds the storage they write to.

use alloc::boxed::Box;
use alloc::vec::Vec;

use super::Node;
use super::downloads::ContentStorage;
use crate::content::{ContentId, DownloadConfig, SourceInfo};
use crate::error::CommandError;
use crate::time::Instant;
use crate::transport::TransportAddr;

/// The node's downloads and their storage, from [`Node::content`].
pub struct Content<'a> {
    node: &'a mut Node,
}

impl<'a> Content<'a> {
    pub(super) const fn new(node: &'a mut Node) -> Self {
        Self { node }
    }

    /// Starts downloading `id` from `sources` over CJP2P (UDP addresses), resuming what the
    /// storage kept of an earlier attempt. The outcome comes as [`FetchEvent::Completed`](crate::FetchEvent::Completed) or
    /// [`FetchEvent::Failed`](crate::FetchEvent::Failed), with [`FetchEvent::Progress`](crate::FetchEvent::Progress) on the way. Content the
    /// storage already holds completes at once. Fetching an id already being fetched adds
    /// the sources to it.
    ///
    /// # Errors
    /// [`FetchError`](crate::error::FetchError) (inside [`CommandError::Fetch`]): no storage,
    /// no usable source, [`Config::max_downloads`](crate::Config::max_downloads) downloads
    /// already active, or the storage failed.
    pub fn fetch(
        &mut self,
        now: Instant,
        id: ContentId,
        sources: Vec<TransportAddr>,
    ) -> Result<(), CommandError> {
        self.node.ctx.advance(now);
        self.node.start_download(id, sources)
    }

    /// Gives the node one storage for content it serves and downloads it makes, replacing and
    /// returning the previous one. While set, it serves CJP2P peers in place of the store given
    /// to [`Cjp2p::set_store`](crate::Cjp2p::set_store) (which is kept, and serves again once
    /// this is `None`). Active downloads keep running and write to the new storage, which
    /// should therefore be the same folder or empty of their partials.
    pub fn set_storage(
        &mut self,
        storage: Option<Box<dyn ContentStorage + Send + Sync>>,
    ) -> Option<Box<dyn ContentStorage + Send + Sync>> {
        self.node.downloads.replace_storage(storage)
    }

    /// The content storage, for the application to add to it.
    pub fn storage_mut(self) -> Option<&'a mut (dyn ContentStorage + Send + Sync + 'static)> {
        self.node.downloads.storage_mut()
    }

    /// How new downloads behave (windows, timeouts, bounds); running downloads keep theirs.
    /// Default [`DownloadConfig::default`].
    pub fn set_config(&mut self, config: DownloadConfig) {
        self.node.downloads.set_config(config);
    }

    /// Stops downloading `id`, keeping what the storage holds of it (a later fetch resumes).
    /// Returns whether it was active. No event follows.
    pub fn cancel(&mut self, id: &ContentId) -> bool {
        self.node.downloads.cancel(id)
    }

    /// The downloads in progress: id, bytes held, total length when known.
    #[must_use]
    pub fn list(&self) -> Vec<(ContentId, u64, Option<u64>)> {
        self.node.downloads.list()
    }

    /// The sources of download `id` (windows, round-trip times, blocks kept), for progress
    /// displays and logs; empty when `id` is not being fetched.
    #[must_use]
    pub fn sources(&self, id: &ContentId) -> Vec<SourceInfo> {
        self.node.downloads.sources_of(id)
    }
}
