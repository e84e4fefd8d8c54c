//! Content addressed by SHA-256: ids and the storage interface the adapters implement.
//!
//! The core never touches files. It reads shared content and writes downloaded blocks through a
//! [`ContentStore`] that the caller owns: adapters provide a directory store, tests an in-memory
//! one.

mod id;
mod store;

pub use id::{ContentId, ContentIdError};
pub use store::{ContentStore, MemoryStore, StoreError};
