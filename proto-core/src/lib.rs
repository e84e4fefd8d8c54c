//! The sans-IO core of an encrypted JSON peer-to-peer transport in the EJTP lineage.
//!
//! (Crate documentation: see the `Node` docs once the node lands.)
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

extern crate alloc;
#[cfg(any(test, feature = "std"))]
extern crate std;

pub mod address;
pub mod crypto;
pub mod frame;
pub mod hex;
pub mod identity;
pub mod json;
pub mod replay;
pub mod rng;
pub mod stream;
pub mod time;
pub mod transport;

pub use address::Address;
pub use rng::CoreRng;
pub use time::{Instant, UnixMillis};
pub use transport::{Protocol, TransportAddr};
