//! Messages larger than one session frame, cut into fragments and put back together.
//!
//! A session frame carries one datagram's worth of plaintext. A message larger than that is
//! cut by [`split`] into fragment plaintexts, each sealed in a session frame of its own, and
//! the receiver's [`Reassembler`] returns the message once it holds every piece, in whatever
//! order they came, within fixed bounds of memory, messages and time
//! ([`ReassemblyLimits`]). A message that does not complete in time is dropped, never
//! delivered in part.
//!
//! A fragment is a third kind of session plaintext, after EJTP frames (`j`, `s`, `r`, `c`)
//! and content messages (`b`), told apart by its first byte [`FRAGMENT_TAG`] (`f`):
//!
//! ```text
//! Fragment = 'f' || message_id u32 BE || index u16 BE || count u16 BE || total_len u32 BE || data
//! ```
//!
//! a [`HEADER_LEN`] of 13 bytes before the data. The pieces are all [`piece_len`] bytes long
//! but the last, so each fragment says by itself where its piece goes, and a fragment whose
//! length does not match its header is refused by [`Fragment::decode`] before anything is
//! stored. See `docs/PROTOCOL.md` section 20.
//!
//! ```
//! use ejtp_proto::Instant;
//! use ejtp_proto::fragment::{split, Fragment, Reassembler, ReassemblyLimits};
//!
//! let message = vec![0xab; 40_000];
//! let plaintexts: Vec<Vec<u8>> = split(&message, 1, 1100)?.collect();
//! assert_eq!(plaintexts.len(), 37);
//!
//! let mut reassembler = Reassembler::new(ReassemblyLimits::default());
//! let mut whole = None;
//! for plaintext in plaintexts.iter().rev() {
//!     let fragment = Fragment::decode(plaintext)?;
//!     whole = reassembler.insert(Instant::ZERO, fragment.message_id(), &fragment)?;
//! }
//! assert_eq!(whole, Some(message));
//! # Ok::<(), Box<dyn core::error::Error>>(())
//! ```
//!
//! The module is pure: it neither seals nor sends. The caller keys messages by what makes the
//! sender's message id unique (for a node, the session and the id), decodes each fragment
//! plaintext that opened on a session, and calls [`Reassembler::expire`] at
//! [`Reassembler::next_timeout`].

mod limits;
mod partial;
mod reassembly;
mod split;
pub mod window;
mod wire;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod window_tests;

pub use limits::ReassemblyLimits;
pub use reassembly::{Reassembler, ReassemblyError, ReassemblyStats};
pub use split::{SplitError, Splitter, fragment_count, split};
pub use window::SendWindow;
pub use wire::{
    FRAGMENT_TAG, Fragment, FragmentError, HEADER_LEN, MAX_FRAGMENTS, is_fragment, piece_len,
    piece_range,
};
