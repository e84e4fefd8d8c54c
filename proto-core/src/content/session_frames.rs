//! Content requests and answers inside an EJTP session: binary, no base64, no JSON.
//!
//! Two of our nodes that have a Noise session fetch content with these messages instead of
//! CJP2P's `PleaseSendContent` / `Content` datagrams. Each is the whole plaintext of one session
//! frame (`r` body kind `0x02`), so the session encrypts and authenticates it, and the first
//! byte `b` tells it from an EJTP frame (`j`, `s`, `r`, `c`):
//!
//! ```text
//! Request = 'b' || 0x01 || id (32) || offset u64 BE || length u32 BE
//! Data    = 'b' || 0x02 || id (32) || offset u64 BE || eof u64 BE || bytes
//! Missing = 'b' || 0x03 || id (32)
//! ```
//!
//! `Data` answers a `Request` with the bytes at `offset` (fewer than asked at the end of the
//! content, none past it) and the content's total length `eof`, like CJP2P's `Content`;
//! `Missing` says the sender does not hold the content. See `docs/PROTOCOL.md` section 19.

use alloc::vec::Vec;
use core::fmt;

use super::ContentId;

/// The first byte of every content message: no EJTP frame type starts with it.
pub const CONTENT_FRAME_TAG: u8 = b'b';
/// Kind byte of a [`SessionContent::Request`].
pub const KIND_REQUEST: u8 = 0x01;
/// Kind byte of a [`SessionContent::Data`].
pub const KIND_DATA: u8 = 0x02;
/// Kind byte of a [`SessionContent::Missing`].
pub const KIND_MISSING: u8 = 0x03;
/// Bytes of a `Request`.
pub const REQUEST_LEN: usize = 2 + 32 + 8 + 4;
/// Bytes of a `Data` before its content bytes.
pub const DATA_HEADER_LEN: usize = 2 + 32 + 8 + 8;
/// Bytes of a `Missing`.
pub const MISSING_LEN: usize = 2 + 32;

/// One content message carried in a session frame, borrowing its bytes from the plaintext.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionContent<'a> {
    /// Asks for `length` bytes of `id` from `offset`.
    Request {
        /// The content asked for.
        id: ContentId,
        /// The first byte asked for.
        offset: u64,
        /// How many bytes.
        length: u32,
    },
    /// Bytes of `id` from `offset`; the content is `eof` bytes long.
    Data {
        /// The content.
        id: ContentId,
        /// Where `bytes` start.
        offset: u64,
        /// The content's total length.
        eof: u64,
        /// The bytes (empty past the end).
        bytes: &'a [u8],
    },
    /// The sender does not hold `id`.
    Missing {
        /// The content.
        id: ContentId,
    },
}

/// Why a session plaintext is not a content message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionContentError {
    /// It does not start with [`CONTENT_FRAME_TAG`].
    NotContent,
    /// The kind byte is not one of ours.
    UnknownKind,
    /// Shorter or longer than its kind requires.
    BadLength,
}

impl fmt::Display for SessionContentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotContent => "not a content message",
            Self::UnknownKind => "unknown content message kind",
            Self::BadLength => "content message of the wrong length",
        })
    }
}

impl core::error::Error for SessionContentError {}

/// Whether a session plaintext is a content message (rather than an EJTP frame).
#[must_use]
pub fn is_session_content(plaintext: &[u8]) -> bool {
    plaintext.first() == Some(&CONTENT_FRAME_TAG)
}

impl<'a> SessionContent<'a> {
    /// Reads a content message; any byte string gives a value or an error, never a panic.
    ///
    /// # Errors
    /// [`SessionContentError`] when the bytes are not exactly one content message.
    pub fn decode(plaintext: &'a [u8]) -> Result<Self, SessionContentError> {
        let Some((&CONTENT_FRAME_TAG, rest)) = plaintext.split_first() else {
            return Err(SessionContentError::NotContent);
        };
        let (&kind, rest) = rest.split_first().ok_or(SessionContentError::BadLength)?;
        let (id, rest) = split_array::<32>(rest)?;
        let id = ContentId(id);
        match kind {
            KIND_REQUEST => {
                let (offset, rest) = split_array::<8>(rest)?;
                let (length, rest) = split_array::<4>(rest)?;
                if !rest.is_empty() {
                    return Err(SessionContentError::BadLength);
                }
                Ok(Self::Request {
                    id,
                    offset: u64::from_be_bytes(offset),
                    length: u32::from_be_bytes(length),
                })
            }
            KIND_DATA => {
                let (offset, rest) = split_array::<8>(rest)?;
                let (eof, bytes) = split_array::<8>(rest)?;
                Ok(Self::Data {
                    id,
                    offset: u64::from_be_bytes(offset),
                    eof: u64::from_be_bytes(eof),
                    bytes,
                })
            }
            KIND_MISSING if rest.is_empty() => Ok(Self::Missing { id }),
            KIND_MISSING => Err(SessionContentError::BadLength),
            _ => Err(SessionContentError::UnknownKind),
        }
    }

    /// Appends the message's bytes to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.push(CONTENT_FRAME_TAG);
        match self {
            Self::Request { id, offset, length } => {
                out.push(KIND_REQUEST);
                out.extend_from_slice(&id.0);
                out.extend_from_slice(&offset.to_be_bytes());
                out.extend_from_slice(&length.to_be_bytes());
            }
            Self::Data {
                id,
                offset,
                eof,
                bytes,
            } => {
                out.push(KIND_DATA);
                out.extend_from_slice(&id.0);
                out.extend_from_slice(&offset.to_be_bytes());
                out.extend_from_slice(&eof.to_be_bytes());
                out.extend_from_slice(bytes);
            }
            Self::Missing { id } => {
                out.push(KIND_MISSING);
                out.extend_from_slice(&id.0);
            }
        }
    }

    /// The message's bytes.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.encode_into(&mut out);
        out
    }

    /// How many bytes [`encode`](Self::encode) writes.
    #[must_use]
    pub fn encoded_len(&self) -> usize {
        match self {
            Self::Request { .. } => REQUEST_LEN,
            Self::Data { bytes, .. } => DATA_HEADER_LEN + bytes.len(),
            Self::Missing { .. } => MISSING_LEN,
        }
    }
}

fn split_array<const N: usize>(bytes: &[u8]) -> Result<([u8; N], &[u8]), SessionContentError> {
    crate::bytes::split_array(bytes).ok_or(SessionContentError::BadLength)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use proptest::prelude::*;

    fn id(byte: u8) -> ContentId {
        ContentId([byte; 32])
    }

    #[test]
    fn request_layout_is_as_documented() {
        let request = SessionContent::Request {
            id: id(0xab),
            offset: 0x0102_0304_0506_0708,
            length: 40_960,
        };
        let bytes = request.encode();
        assert_eq!(bytes.len(), REQUEST_LEN);
        assert_eq!(&bytes[..2], b"b\x01");
        assert_eq!(&bytes[2..34], &[0xab; 32]);
        assert_eq!(&bytes[34..42], &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(&bytes[42..], &40_960u32.to_be_bytes());
        assert_eq!(SessionContent::decode(&bytes), Ok(request));
    }

    #[test]
    fn data_carries_its_bytes_unchanged() {
        let data = SessionContent::Data {
            id: id(1),
            offset: 4096,
            eof: 10_000,
            bytes: b"hello",
        };
        let bytes = data.encode();
        assert_eq!(bytes.len(), DATA_HEADER_LEN + 5);
        assert_eq!(&bytes[DATA_HEADER_LEN..], b"hello");
        assert_eq!(SessionContent::decode(&bytes), Ok(data));
    }

    #[test]
    fn wrong_lengths_and_kinds_are_errors() {
        let request = SessionContent::Request {
            id: id(2),
            offset: 0,
            length: 1,
        }
        .encode();
        assert_eq!(
            SessionContent::decode(&request[..REQUEST_LEN - 1]),
            Err(SessionContentError::BadLength)
        );
        let mut longer = request.clone();
        longer.push(0);
        assert_eq!(
            SessionContent::decode(&longer),
            Err(SessionContentError::BadLength)
        );
        let mut unknown = request;
        unknown[1] = 0x7f;
        assert_eq!(
            SessionContent::decode(&unknown),
            Err(SessionContentError::UnknownKind)
        );
        assert_eq!(
            SessionContent::decode(b"s{}"),
            Err(SessionContentError::NotContent)
        );
        assert_eq!(
            SessionContent::decode(b""),
            Err(SessionContentError::NotContent)
        );
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
            let _ = SessionContent::decode(&bytes);
        }

        #[test]
        fn tagged_arbitrary_bytes_round_trip_when_they_decode(
            kind in 0u8..5,
            rest in proptest::collection::vec(any::<u8>(), 0..96),
        ) {
            let mut bytes = vec![CONTENT_FRAME_TAG, kind];
            bytes.extend_from_slice(&rest);
            if let Ok(message) = SessionContent::decode(&bytes) {
                prop_assert_eq!(message.encode(), bytes);
            }
        }

        #[test]
        fn every_message_round_trips(
            raw in any::<[u8; 32]>(),
            offset in any::<u64>(),
            eof in any::<u64>(),
            length in any::<u32>(),
            data in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let id = ContentId(raw);
            let messages = [
                SessionContent::Request { id, offset, length },
                SessionContent::Data { id, offset, eof, bytes: &data },
                SessionContent::Missing { id },
            ];
            for message in messages {
                let bytes = message.encode();
                prop_assert_eq!(bytes.len(), message.encoded_len());
                prop_assert_eq!(SessionContent::decode(&bytes), Ok(message));
            }
        }
    }
}
