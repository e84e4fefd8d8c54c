//! The two `r` frame bodies of lookups: a request for a node's address record and its answer.
//!
//! ```text
//! LookupRequest = 0x06 || request_id (16) || target node id (32) || padding
//!                 (the body is LOOKUP_REQUEST_LEN bytes at least, at most LOOKUP_REQUEST_MAX_LEN)
//! LookupAnswer  = 0x07 || request_id (16) || address record (see [`record`](super::record))
//! ```
//!
//! Both travel in the clear in an `r` frame whose header is the recipient's node address: the
//! record they carry is signed by its subject, so nothing in them needs a sender's
//! authentication. The request is padded so that an answer (at most three times the request's
//! frame) cannot turn a node into an amplifier for forged source addresses.

use alloc::vec::Vec;

use crate::identity::NodeId;

/// Kind byte of a lookup request.
pub const KIND_LOOKUP_REQUEST: u8 = 0x06;
/// Kind byte of a lookup answer.
pub const KIND_LOOKUP_ANSWER: u8 = 0x07;
/// Least length of a lookup request body (padding included), in bytes.
pub const LOOKUP_REQUEST_LEN: usize = 256;
/// Greatest length of a lookup request body accepted.
pub const LOOKUP_REQUEST_MAX_LEN: usize = 1_024;

/// A decoded lookup body, borrowing from the frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LookupBody<'a> {
    /// "Send me the newest record you hold for `target`."
    Request {
        /// Chosen by the requester; the answer echoes it.
        request_id: [u8; 16],
        /// The node looked up.
        target: NodeId,
    },
    /// A record held for the target of request `request_id`.
    Answer {
        /// The request answered.
        request_id: [u8; 16],
        /// The record's bytes, not yet checked.
        record: &'a [u8],
    },
}

/// Why bytes are not a lookup body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LookupBodyError;

impl core::fmt::Display for LookupBodyError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("malformed lookup body")
    }
}

impl core::error::Error for LookupBodyError {}

/// Whether an `r` body's kind byte is one of the lookup kinds.
#[must_use]
pub fn is_lookup_body(body: &[u8]) -> bool {
    matches!(
        body.first(),
        Some(&(KIND_LOOKUP_REQUEST | KIND_LOOKUP_ANSWER))
    )
}

impl<'a> LookupBody<'a> {
    /// Decodes a lookup body.
    ///
    /// # Errors
    /// [`LookupBodyError`] for another kind, a request shorter than [`LOOKUP_REQUEST_LEN`] or
    /// longer than [`LOOKUP_REQUEST_MAX_LEN`], or a truncated answer.
    pub fn decode(body: &'a [u8]) -> Result<Self, LookupBodyError> {
        let (&kind, rest) = body.split_first().ok_or(LookupBodyError)?;
        let (request_id, rest) = rest.split_first_chunk::<16>().ok_or(LookupBodyError)?;
        match kind {
            KIND_LOOKUP_REQUEST => {
                if body.len() < LOOKUP_REQUEST_LEN || body.len() > LOOKUP_REQUEST_MAX_LEN {
                    return Err(LookupBodyError);
                }
                let (target, _padding) = rest.split_first_chunk::<32>().ok_or(LookupBodyError)?;
                Ok(Self::Request {
                    request_id: *request_id,
                    target: NodeId::from_bytes(*target),
                })
            }
            KIND_LOOKUP_ANSWER if !rest.is_empty() => Ok(Self::Answer {
                request_id: *request_id,
                record: rest,
            }),
            _ => Err(LookupBodyError),
        }
    }
}

/// Appends a lookup request body, padded with zeros to [`LOOKUP_REQUEST_LEN`].
pub fn write_lookup_request(out: &mut Vec<u8>, request_id: &[u8; 16], target: &NodeId) {
    let start = out.len();
    out.push(KIND_LOOKUP_REQUEST);
    out.extend_from_slice(request_id);
    out.extend_from_slice(target.as_bytes());
    out.resize(start + LOOKUP_REQUEST_LEN, 0);
}

/// Appends a lookup answer body.
pub fn write_lookup_answer(out: &mut Vec<u8>, request_id: &[u8; 16], record: &[u8]) {
    out.push(KIND_LOOKUP_ANSWER);
    out.extend_from_slice(request_id);
    out.extend_from_slice(record);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_bodies_round_trip_with_the_documented_bytes() {
        let mut request = Vec::new();
        write_lookup_request(&mut request, &[1; 16], &NodeId::from_bytes([2; 32]));
        assert_eq!(request.len(), LOOKUP_REQUEST_LEN);
        assert_eq!(request[0], 0x06);
        assert_eq!(&request[1..17], &[1; 16]);
        assert_eq!(&request[17..49], &[2; 32]);
        assert!(request[49..].iter().all(|byte| *byte == 0));
        assert_eq!(
            LookupBody::decode(&request),
            Ok(LookupBody::Request {
                request_id: [1; 16],
                target: NodeId::from_bytes([2; 32])
            })
        );
        assert_eq!(
            LookupBody::decode(&request[..LOOKUP_REQUEST_LEN - 1]),
            Err(LookupBodyError)
        );
        let mut answer = Vec::new();
        write_lookup_answer(&mut answer, &[3; 16], b"rec");
        assert_eq!(answer, [&[7][..], &[3; 16], b"rec"].concat());
        assert_eq!(
            LookupBody::decode(&answer),
            Ok(LookupBody::Answer {
                request_id: [3; 16],
                record: b"rec"
            })
        );
        assert_eq!(LookupBody::decode(&answer[..17]), Err(LookupBodyError));
    }
}
