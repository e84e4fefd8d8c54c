//! Content on disk: a shared folder that serves complete files and receives downloads.
//!
//! [`DirectoryStore`] implements the core's two storage interfaces:
//! [`ContentStore`](ejtp_proto::content::ContentStore) for the files it shares (each hashed once,
//! indexed by its id) and [`PartialStore`](ejtp_proto::content::PartialStore) for downloads in
//! progress, which live in the hidden working folder `DIR/.ejtp-partial/` as `<id>.part` (the
//! blocks written so far, in place, off the driver's thread) and
//! `<id>.manifest` (the per-block checksums, see [`Manifest`](ejtp_proto::content::Manifest)).
//! A download enters the folder only once it verified, by one atomic rename of its `.part`
//! file.

mod directory;
mod partial;
mod writer;

pub use directory::{DirectoryStore, PARTIAL_DIR};
pub use partial::resumable;
