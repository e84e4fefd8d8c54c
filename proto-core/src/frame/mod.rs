//! EJTP frames: `typecode(1) || header || 0x00 || body`.
//!
//! Four types nest inside one another (a normal send is `r[ s[ j{...} ] ]`):
//!
//! | type | header | body |
//! |---|---|---|
//! | `j` | empty (ignored when read) | strict JSON text |
//! | `s` | the sender's address | `siglen` (u16, big-endian) `\|\| signature \|\| inner frame` |
//! | `r` | the recipient's address | the inner frame, encrypted to the recipient |
//! | `c` | `z` (zlib) or `b` (bz2) | the compressed inner frame |
//!
//! [`decode`] only splits bytes into these parts and borrows them: it never decrypts, verifies,
//! decompresses or parses a JSON body, so each layer's cost is paid only by the caller that
//! decides the layer is worth opening. Headers are the first NUL-free run of bytes because strict
//! JSON escapes every control character, so an encoded header can never contain a raw NUL.

mod compress;
mod decode;
mod encode;
mod error;

use serde_json::Value;

use crate::address::Address;
use crate::json::{self, JsonError};

pub use compress::{decompress, encode_compressed};
pub use decode::decode;
pub use encode::{encode_json, encode_sealed, encode_signed, sealed_prefix};
pub use error::FrameError;

/// Type byte of a JSON frame.
pub const TYPE_JSON: u8 = b'j';
/// Type byte of a signed frame.
pub const TYPE_SIGNED: u8 = b's';
/// Type byte of a sealed (encrypted) frame.
pub const TYPE_SEALED: u8 = b'r';
/// Type byte of a compressed frame.
pub const TYPE_COMPRESSED: u8 = b'c';

/// A borrowed view of one decoded frame: every slice points into the bytes given to [`decode`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// `j`: a JSON message. The reference ignores any header here, and so do we.
    Json {
        /// The JSON text, not yet parsed (see [`Frame::json_value`]).
        body: &'a [u8],
    },
    /// `s`: an inner frame with the sender's signature over it.
    Signed {
        /// The address the sender signed as.
        sender: Address,
        /// The header exactly as received, for callers that need the signed bytes verbatim.
        header: &'a [u8],
        /// The signature bytes (at most `u16::MAX` of them).
        signature: &'a [u8],
        /// The inner frame the signature covers.
        inner: &'a [u8],
    },
    /// `r`: an inner frame encrypted to the recipient.
    Sealed {
        /// The address the frame is for.
        recipient: Address,
        /// The header exactly as received: the associated data is rebuilt from these bytes.
        header: &'a [u8],
        /// The ciphertext, opaque to the codec.
        body: &'a [u8],
    },
    /// `c`: a compressed inner frame.
    Compressed {
        /// How the body is compressed.
        method: Compression,
        /// The compressed bytes (see [`decompress`]).
        body: &'a [u8],
    },
}

/// The compression methods a `c` frame header can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Compression {
    /// Header `z`: a zlib stream (RFC 1950).
    Zlib,
    /// Header `b`: a bzip2 stream. Recognised so it can be reported, but not decompressed: no
    /// `no_std` bzip2 decoder is available and the reference never sends it by default.
    Bzip2,
}

impl Compression {
    /// The header byte naming this method.
    #[must_use]
    pub const fn header_byte(self) -> u8 {
        match self {
            Self::Zlib => b'z',
            Self::Bzip2 => b'b',
        }
    }
}

impl Frame<'_> {
    /// The type byte this frame is encoded with.
    #[must_use]
    pub const fn typecode(&self) -> u8 {
        match self {
            Self::Json { .. } => TYPE_JSON,
            Self::Signed { .. } => TYPE_SIGNED,
            Self::Sealed { .. } => TYPE_SEALED,
            Self::Compressed { .. } => TYPE_COMPRESSED,
        }
    }

    /// For a JSON frame, its body parsed (floats and deep nesting refused); `None` for the other
    /// types. Parsing is separate from [`decode`] so that routing a frame never pays for it.
    #[must_use]
    pub fn json_value(&self) -> Option<Result<Value, JsonError>> {
        match self {
            Self::Json { body } => Some(json::parse_json(body)),
            _ => None,
        }
    }
}
