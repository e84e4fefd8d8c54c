//! Content addressed by SHA-256: ids, the storage interfaces the adapters implement, and the
//! swarm download engine.
//!
//! The core never touches files. It reads shared content through a [`ContentStore`] and writes
//! downloaded blocks through a [`PartialStore`], both owned by the caller: adapters provide a
//! directory store, tests in-memory ones ([`MemoryStore`], [`MemoryPartialStore`]).
//!
//! A [`Download`] fetches one content from several sources with per-source congestion control
//! ([`RttEstimator`], [`CongestionWindow`]), writes each block with its checksum ([`Manifest`]) so a
//! restart resumes, and completes only once the whole content hashes to its id.

mod blake3_tree;
mod blocks;
mod checksum;
mod congestion;
mod download;
mod hasher;
mod id;
mod manifest;
mod partial;
mod rtt;
pub mod session_frames;
mod store;

pub use blake3_tree::{
    Blake3Tree, LEAF_LEN, MAX_LEAVES, TREE_HEADER_LEN, TREE_MAGIC, TreeError, leaf_count,
    leaf_value, tree_len,
};
pub use blocks::{BlockLayout, BlockSet, CJP2P_BLOCK_SIZE, CJP2P_MAX_REPLY};
pub use checksum::block_checksum;
pub use congestion::{CongestionWindow, WindowLimits};
pub use download::{
    BlockRequest, Download, DownloadConfig, DownloadEvent, DownloadStats, DropReason, FailReason,
    SourceInfo, SourceReport, SourceStatus,
};
pub use hasher::ContentHasher;
pub use id::{ContentId, ContentIdError};
pub use manifest::{Manifest, ManifestError};
pub use partial::{MemoryPartialStore, PartialStore};
pub use rtt::{RtoBounds, RttEstimator};
pub use session_frames::{SessionContent, SessionContentError, is_session_content};
pub use store::{ContentStore, MemoryStore, StoreError};
