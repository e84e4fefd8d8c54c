//! The tokio driver for [`proto_core`]: a skeleton until the adapters issue fills it in.
//!
//! It will own UDP and TCP sockets, feed received bytes and timeouts into a
//! [`proto_core::Node`] and send what the node emits. For now it only re-exports the core so
//! that the workspace layout is in place.

pub use proto_core;
