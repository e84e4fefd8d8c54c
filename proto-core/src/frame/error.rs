//! Why bytes are not a frame, or a frame cannot be built.

use core::fmt;

use crate::address::AddressError;
use crate::json::JsonError;

/// Why bytes are not a frame, or why a frame cannot be encoded.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FrameError {
    /// No bytes at all.
    Empty,
    /// A type byte other than `j`, `s`, `r` or `c`.
    UnknownType(u8),
    /// No NUL byte ends the header.
    MissingSeparator,
    /// The `s` or `r` header is not an address (or the address to encode has no strict JSON).
    Header(AddressError),
    /// A `c` header other than `z` or `b`.
    BadCompressionHeader,
    /// An `s` body too short for its signature length or the signature it announces.
    Truncated,
    /// A signature longer than the 16-bit length field can announce.
    SignatureTooLong,
    /// A compression method this implementation cannot decompress (bzip2).
    UnsupportedCompression,
    /// Decompressed output would exceed the limit given.
    TooLarge,
    /// The compressed body is not a valid stream.
    Decompress,
    /// The JSON value cannot be written as strict JSON.
    Json(JsonError),
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("empty frame"),
            Self::UnknownType(byte) => write!(f, "unknown frame type byte 0x{byte:02x}"),
            Self::MissingSeparator => f.write_str("frame header is not terminated by a NUL byte"),
            Self::Header(err) => write!(f, "bad frame header: {err}"),
            Self::BadCompressionHeader => f.write_str("compressed frame header must be z or b"),
            Self::Truncated => f.write_str("signed frame shorter than its signature length"),
            Self::SignatureTooLong => f.write_str("signature longer than 65535 bytes"),
            Self::UnsupportedCompression => f.write_str("unsupported compression method"),
            Self::TooLarge => f.write_str("decompressed frame exceeds the size limit"),
            Self::Decompress => f.write_str("corrupt compressed data"),
            Self::Json(err) => write!(f, "bad JSON body: {err}"),
        }
    }
}

impl core::error::Error for FrameError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Header(err) => Some(err),
            Self::Json(err) => Some(err),
            _ => None,
        }
    }
}

impl From<AddressError> for FrameError {
    fn from(err: AddressError) -> Self {
        Self::Header(err)
    }
}

impl From<JsonError> for FrameError {
    fn from(err: JsonError) -> Self {
        Self::Json(err)
    }
}
