//! The body of an `r` frame: which construction protects it, and the clear fields it needs.
//!
//! ```text
//! Sealed            = 0x01 || hops u8 || timestamp u64 BE (Unix ms) || enc (32) || HPKE ciphertext
//! Session           = 0x02 || hops u8 || receiver_index u32 BE || counter u64 BE || AEAD ciphertext
//! HandshakeInit     = 0x03 || sender_index u32 BE || Noise message 1
//! HandshakeResponse = 0x04 || sender_index u32 BE || receiver_index u32 BE || Noise message 2
//! SessionReset      = 0x05 || receiver_index u32 BE || timestamp u64 BE || key (32) || signature (64)
//! MailboxRequest    = 0x08 || op u8 || timestamp u64 BE || key (32) || signature (64) || address
//! CookieChallenge   = 0x09 || echoed tag (16) || cookie (16)
//! CookieEcho        = 0x0a || cookie (16) || frame
//! ```
//!
//! A `CookieChallenge` answers, under load, a frame that would cost key work from an address
//! that has not proved it receives: it echoes the frame's last 16 bytes (its AEAD tag, so the
//! sender knows which frame) and gives a cookie bound to the address. A `CookieEcho` carries
//! that cookie and the whole frame again: the cookie proves the round trip (see
//! [`cookie`](crate::crypto::cookie)).
//!
//! A `MailboxRequest` asks a store-and-forward relay to hold, hand over or stop holding the
//! frames for `address` (strict JSON), signed by the recipient (see
//! [`mailbox`](crate::crypto::mailbox)).
//!
//! A `SessionReset` tells a peer that a session frame arrived for an index we do not have (we
//! restarted, or dropped the session): it is signed by our identity key (see
//! [`reset`](crate::crypto::reset)) and makes the peer drop its side of that session.
//!
//! `hops` counts how many times the frame has been wrapped for a default route (the loop
//! safeguard). The associated data of the AEAD authenticates every clear field of the frame,
//! the recipient address (the `r` header) included; the caller builds it:
//!
//! - `Session`: everything before the ciphertext, `b"r" || header || 0x00 ||` the 14-byte fixed
//!   part;
//! - `Sealed`: everything before `enc`, `b"r" || header || 0x00 ||` kind, hops and timestamp
//!   (see [`write_sealed_aad_part`]). HPKE produces `enc` while sealing, so it cannot be in the
//!   associated data; it needs no such help, since HPKE's key schedule already binds it (the
//!   KEM context is `enc || pkR`): a changed `enc` gives another key and the frame fails to open.
//!
//! For a decoded body, the trailing part is [`RBody::ciphertext_len`] bytes long; the associated
//! data is the frame without it, and for `Sealed` also without the 32 bytes of `enc`.

use alloc::vec::Vec;

use crate::crypto::CryptoError;
use crate::time::UnixMillis;

/// Kind byte of an HPKE-sealed single frame.
pub const KIND_SEALED: u8 = 0x01;
/// Kind byte of a frame inside a Noise session.
pub const KIND_SESSION: u8 = 0x02;
/// Kind byte of a Noise handshake's first message.
pub const KIND_HANDSHAKE_INIT: u8 = 0x03;
/// Kind byte of a Noise handshake's answer.
pub const KIND_HANDSHAKE_RESPONSE: u8 = 0x04;
/// Kind byte of a signed notice that a session index is unknown here.
pub const KIND_SESSION_RESET: u8 = 0x05;
/// Kind byte of a signed request to a store-and-forward relay.
pub const KIND_MAILBOX_REQUEST: u8 = 0x08;
/// Kind byte of a cookie challenge (work under load).
pub const KIND_COOKIE_CHALLENGE: u8 = 0x09;
/// Kind byte of a frame sent again with the cookie of a challenge.
pub const KIND_COOKIE_ECHO: u8 = 0x0a;
/// Bytes of a whole cookie-challenge body.
pub const COOKIE_CHALLENGE_LEN: usize = 1 + 16 + 16;
/// Bytes of a cookie-echo body before its frame.
pub const COOKIE_ECHO_HEADER_LEN: usize = 1 + 16;
/// Bytes of a mailbox-request body before its address.
pub const MAILBOX_REQUEST_HEADER_LEN: usize = 1 + 1 + 8 + 32 + 64;
/// Bytes of a whole session-reset body.
pub const SESSION_RESET_LEN: usize = 1 + 4 + 8 + 32 + 64;

/// Bytes of a sealed body covered by the associated data: kind, hops and timestamp.
pub const SEALED_AAD_PART_LEN: usize = 1 + 1 + 8;
/// Bytes of a sealed body before its ciphertext: the associated part, then `enc`.
pub const SEALED_HEADER_LEN: usize = SEALED_AAD_PART_LEN + 32;
/// Bytes of a session body before its ciphertext.
pub const SESSION_HEADER_LEN: usize = 1 + 1 + 4 + 8;
/// Bytes of a handshake-init body before its Noise message.
pub const HANDSHAKE_INIT_HEADER_LEN: usize = 1 + 4;
/// Bytes of a handshake-response body before its Noise message.
pub const HANDSHAKE_RESPONSE_HEADER_LEN: usize = 1 + 4 + 4;
/// The authentication tag every ciphertext ends with (ChaCha20-Poly1305): a shorter one cannot
/// be authentic, so the decoder refuses it before any key work.
pub const TAG_LEN: usize = 16;

/// A decoded `r` frame body, borrowing from the frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RBody<'a> {
    /// A single frame sealed with HPKE to the recipient's key.
    Sealed {
        /// Times the frame was wrapped for a default route.
        hops: u8,
        /// When the sender sealed it (checked against the clock skew window).
        timestamp: UnixMillis,
        /// HPKE's encapsulated key.
        enc: &'a [u8; 32],
        /// HPKE ciphertext, tag included.
        ciphertext: &'a [u8],
    },
    /// A frame in an established Noise session.
    Session {
        /// Times the frame was wrapped for a default route.
        hops: u8,
        /// The index the receiver chose for the session.
        receiver_index: u32,
        /// The AEAD nonce counter.
        counter: u64,
        /// AEAD ciphertext, tag included.
        ciphertext: &'a [u8],
    },
    /// A Noise IK handshake's first message.
    HandshakeInit {
        /// The initiator's index for the session (what the responder will send to).
        sender_index: u32,
        /// Noise message 1.
        message: &'a [u8],
    },
    /// A Noise IK handshake's answer.
    HandshakeResponse {
        /// The responder's index for the session.
        sender_index: u32,
        /// The initiator's index, echoed to match the handshake.
        receiver_index: u32,
        /// Noise message 2.
        message: &'a [u8],
    },
    /// A signed notice: "I have no session with index `receiver_index`".
    SessionReset {
        /// The index the reset's sender found unknown (its own index, which the receiver of the
        /// reset sends to).
        receiver_index: u32,
        /// When the notice was signed.
        timestamp: UnixMillis,
        /// The signer's ed25519 public key.
        key: &'a [u8; 32],
        /// The signature (see [`reset`](crate::crypto::reset)).
        signature: &'a [u8; 64],
    },
    /// A recipient's signed request to a store-and-forward relay.
    MailboxRequest {
        /// What it asks (see [`MailboxOp`](crate::MailboxOp)); unknown values are refused by
        /// the relay, not here.
        op: u8,
        /// When it was signed.
        timestamp: UnixMillis,
        /// The recipient's ed25519 public key.
        key: &'a [u8; 32],
        /// The signature (see [`mailbox`](crate::crypto::mailbox)).
        signature: &'a [u8; 64],
        /// The strict JSON address held frames are handed over to.
        address: &'a [u8],
    },
    /// "Under load: send that frame again with this cookie."
    CookieChallenge {
        /// The last 16 bytes of the frame refused (its AEAD tag).
        echoed: &'a [u8; 16],
        /// The cookie, bound to the address the frame came from.
        cookie: &'a [u8; 16],
    },
    /// A frame sent again with the cookie a challenge gave.
    CookieEcho {
        /// The cookie.
        cookie: &'a [u8; 16],
        /// The whole frame, as first sent.
        frame: &'a [u8],
    },
}

fn take<const N: usize>(bytes: &[u8]) -> Result<(&[u8; N], &[u8]), CryptoError> {
    bytes.split_first_chunk::<N>().ok_or(CryptoError::Malformed)
}

fn take_u32(bytes: &[u8]) -> Result<(u32, &[u8]), CryptoError> {
    take::<4>(bytes).map(|(value, rest)| (u32::from_be_bytes(*value), rest))
}

fn take_u64(bytes: &[u8]) -> Result<(u64, &[u8]), CryptoError> {
    take::<8>(bytes).map(|(value, rest)| (u64::from_be_bytes(*value), rest))
}

fn ciphertext(rest: &[u8]) -> Result<&[u8], CryptoError> {
    if rest.len() < TAG_LEN {
        return Err(CryptoError::Malformed);
    }
    Ok(rest)
}

impl<'a> RBody<'a> {
    /// Decodes the body of an `r` frame (the bytes after the header's NUL).
    ///
    /// # Errors
    /// [`CryptoError::Malformed`] for an unknown kind, a truncated fixed part, or a ciphertext
    /// shorter than its tag.
    pub fn decode(body: &'a [u8]) -> Result<Self, CryptoError> {
        let (&kind, rest) = body.split_first().ok_or(CryptoError::Malformed)?;
        match kind {
            KIND_SEALED => {
                let (&hops, rest) = rest.split_first().ok_or(CryptoError::Malformed)?;
                let (timestamp, rest) = take_u64(rest)?;
                let (enc, rest) = take::<32>(rest)?;
                Ok(Self::Sealed {
                    hops,
                    timestamp: UnixMillis(timestamp),
                    enc,
                    ciphertext: ciphertext(rest)?,
                })
            }
            KIND_SESSION => {
                let (&hops, rest) = rest.split_first().ok_or(CryptoError::Malformed)?;
                let (receiver_index, rest) = take_u32(rest)?;
                let (counter, rest) = take_u64(rest)?;
                Ok(Self::Session {
                    hops,
                    receiver_index,
                    counter,
                    ciphertext: ciphertext(rest)?,
                })
            }
            KIND_HANDSHAKE_INIT => {
                let (sender_index, message) = take_u32(rest)?;
                Ok(Self::HandshakeInit {
                    sender_index,
                    message,
                })
            }
            KIND_HANDSHAKE_RESPONSE => {
                let (sender_index, rest) = take_u32(rest)?;
                let (receiver_index, message) = take_u32(rest)?;
                Ok(Self::HandshakeResponse {
                    sender_index,
                    receiver_index,
                    message,
                })
            }
            KIND_SESSION_RESET => {
                let (receiver_index, rest) = take_u32(rest)?;
                let (timestamp, rest) = take_u64(rest)?;
                let (key, rest) = take::<32>(rest)?;
                let (signature, rest) = take::<64>(rest)?;
                if !rest.is_empty() {
                    return Err(CryptoError::Malformed);
                }
                Ok(Self::SessionReset {
                    receiver_index,
                    timestamp: UnixMillis(timestamp),
                    key,
                    signature,
                })
            }
            KIND_MAILBOX_REQUEST => {
                let (&op, rest) = rest.split_first().ok_or(CryptoError::Malformed)?;
                let (timestamp, rest) = take_u64(rest)?;
                let (key, rest) = take::<32>(rest)?;
                let (signature, address) = take::<64>(rest)?;
                if address.is_empty() {
                    return Err(CryptoError::Malformed);
                }
                Ok(Self::MailboxRequest {
                    op,
                    timestamp: UnixMillis(timestamp),
                    key,
                    signature,
                    address,
                })
            }
            KIND_COOKIE_CHALLENGE => {
                let (echoed, rest) = take::<16>(rest)?;
                let (cookie, rest) = take::<16>(rest)?;
                if !rest.is_empty() {
                    return Err(CryptoError::Malformed);
                }
                Ok(Self::CookieChallenge { echoed, cookie })
            }
            KIND_COOKIE_ECHO => {
                let (cookie, frame) = take::<16>(rest)?;
                if frame.is_empty() {
                    return Err(CryptoError::Malformed);
                }
                Ok(Self::CookieEcho { cookie, frame })
            }
            _ => Err(CryptoError::Malformed),
        }
    }

    /// Length of the body's trailing variable part: the ciphertext of a `Sealed` or `Session`
    /// body, the Noise message of a handshake body. The body's fixed part is the rest.
    #[must_use]
    pub fn ciphertext_len(&self) -> usize {
        match self {
            Self::Sealed { ciphertext, .. } | Self::Session { ciphertext, .. } => ciphertext.len(),
            Self::HandshakeInit { message, .. } | Self::HandshakeResponse { message, .. } => {
                message.len()
            }
            Self::SessionReset { .. }
            | Self::MailboxRequest { .. }
            | Self::CookieChallenge { .. }
            | Self::CookieEcho { .. } => 0,
        }
    }
}

/// Whether a body of kind `kind` costs key work (an X25519 or a signature check) before
/// anything about its sender is known: what a node under load challenges, and what a frame
/// sent to a node that challenged us carries its cookie for.
#[must_use]
pub const fn kind_needs_key_work(kind: u8) -> bool {
    matches!(
        kind,
        KIND_SEALED | KIND_HANDSHAKE_INIT | KIND_SESSION_RESET | KIND_MAILBOX_REQUEST
    )
}

/// Appends a cookie-challenge body.
pub fn write_cookie_challenge(out: &mut Vec<u8>, echoed: &[u8; 16], cookie: &[u8; 16]) {
    out.reserve(COOKIE_CHALLENGE_LEN);
    out.push(KIND_COOKIE_CHALLENGE);
    out.extend_from_slice(echoed);
    out.extend_from_slice(cookie);
}

/// Appends a cookie-echo body carrying `frame`.
pub fn write_cookie_echo(out: &mut Vec<u8>, cookie: &[u8; 16], frame: &[u8]) {
    out.reserve(COOKIE_ECHO_HEADER_LEN + frame.len());
    out.push(KIND_COOKIE_ECHO);
    out.extend_from_slice(cookie);
    out.extend_from_slice(frame);
}

/// Appends the part of a sealed body that the associated data covers (kind, hops, timestamp)
/// and returns `out.len()` after it: the length of the associated data when `out` holds the
/// frame from its start. `enc` and the HPKE ciphertext are appended after sealing.
pub fn write_sealed_aad_part(out: &mut Vec<u8>, hops: u8, timestamp: UnixMillis) -> usize {
    out.reserve(SEALED_HEADER_LEN);
    out.push(KIND_SEALED);
    out.push(hops);
    out.extend_from_slice(&timestamp.0.to_be_bytes());
    out.len()
}

/// Appends the whole fixed part of a sealed body, `enc` included; the HPKE ciphertext follows.
pub fn write_sealed_header(out: &mut Vec<u8>, hops: u8, timestamp: UnixMillis, enc: &[u8; 32]) {
    write_sealed_aad_part(out, hops, timestamp);
    out.extend_from_slice(enc);
}

/// Appends the fixed part of a session body; the AEAD ciphertext follows it.
pub fn write_session_header(out: &mut Vec<u8>, hops: u8, receiver_index: u32, counter: u64) {
    out.reserve(SESSION_HEADER_LEN);
    out.push(KIND_SESSION);
    out.push(hops);
    out.extend_from_slice(&receiver_index.to_be_bytes());
    out.extend_from_slice(&counter.to_be_bytes());
}

/// Appends a whole handshake-init body.
pub fn write_handshake_init(out: &mut Vec<u8>, sender_index: u32, message: &[u8]) {
    out.reserve(HANDSHAKE_INIT_HEADER_LEN + message.len());
    out.push(KIND_HANDSHAKE_INIT);
    out.extend_from_slice(&sender_index.to_be_bytes());
    out.extend_from_slice(message);
}

/// Appends a whole handshake-response body.
pub fn write_handshake_response(
    out: &mut Vec<u8>,
    sender_index: u32,
    receiver_index: u32,
    message: &[u8],
) {
    out.reserve(HANDSHAKE_RESPONSE_HEADER_LEN + message.len());
    out.push(KIND_HANDSHAKE_RESPONSE);
    out.extend_from_slice(&sender_index.to_be_bytes());
    out.extend_from_slice(&receiver_index.to_be_bytes());
    out.extend_from_slice(message);
}

/// Appends a whole session-reset body.
pub fn write_session_reset(
    out: &mut Vec<u8>,
    receiver_index: u32,
    timestamp: UnixMillis,
    key: &[u8; 32],
    signature: &[u8; 64],
) {
    out.reserve(SESSION_RESET_LEN);
    out.push(KIND_SESSION_RESET);
    out.extend_from_slice(&receiver_index.to_be_bytes());
    out.extend_from_slice(&timestamp.0.to_be_bytes());
    out.extend_from_slice(key);
    out.extend_from_slice(signature);
}

/// Appends a whole mailbox-request body.
pub fn write_mailbox_request(
    out: &mut Vec<u8>,
    op: u8,
    timestamp: UnixMillis,
    key: &[u8; 32],
    signature: &[u8; 64],
    address: &[u8],
) {
    out.reserve(MAILBOX_REQUEST_HEADER_LEN + address.len());
    out.push(KIND_MAILBOX_REQUEST);
    out.push(op);
    out.extend_from_slice(&timestamp.0.to_be_bytes());
    out.extend_from_slice(key);
    out.extend_from_slice(signature);
    out.extend_from_slice(address);
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn sealed_body_round_trips_with_the_documented_bytes() {
        let mut body = Vec::new();
        write_sealed_header(&mut body, 3, UnixMillis(0x0102_0304_0506_0708), &[0xee; 32]);
        assert_eq!(body.len(), SEALED_HEADER_LEN);
        assert_eq!(&body[..10], &[1, 3, 1, 2, 3, 4, 5, 6, 7, 8]);
        body.extend_from_slice(&[0xcc; 20]);
        assert_eq!(
            RBody::decode(&body),
            Ok(RBody::Sealed {
                hops: 3,
                timestamp: UnixMillis(0x0102_0304_0506_0708),
                enc: &[0xee; 32],
                ciphertext: &[0xcc; 20],
            })
        );
    }

    #[test]
    fn sealed_aad_part_is_the_header_without_enc() {
        let mut frame = b"r[\"local\",null,\"c\"]\0".to_vec();
        let prefix = frame.len();
        let aad_len = write_sealed_aad_part(&mut frame, 2, UnixMillis(9));
        assert_eq!(aad_len, prefix + SEALED_AAD_PART_LEN);
        assert_eq!(aad_len, frame.len());
        frame.extend_from_slice(&[0xee; 32]);
        frame.extend_from_slice(&[0xcc; TAG_LEN]);
        let mut whole = b"r[\"local\",null,\"c\"]\0".to_vec();
        write_sealed_header(&mut whole, 2, UnixMillis(9), &[0xee; 32]);
        whole.extend_from_slice(&[0xcc; TAG_LEN]);
        assert_eq!(frame, whole);
        let body = RBody::decode(&frame[prefix..]).unwrap();
        assert_eq!(frame.len() - body.ciphertext_len() - 32, aad_len);
    }

    #[test]
    fn session_body_round_trips_with_the_documented_bytes() {
        let mut body = Vec::new();
        write_session_header(&mut body, 0, 0xdead_beef, 7);
        assert_eq!(body, [2, 0, 0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0, 0, 0, 0, 7]);
        body.extend_from_slice(&[0xcc; TAG_LEN]);
        assert_eq!(
            RBody::decode(&body),
            Ok(RBody::Session {
                hops: 0,
                receiver_index: 0xdead_beef,
                counter: 7,
                ciphertext: &[0xcc; TAG_LEN],
            })
        );
    }

    #[test]
    fn handshake_bodies_round_trip() {
        let mut init = Vec::new();
        write_handshake_init(&mut init, 9, b"msg1");
        assert_eq!(init, [3, 0, 0, 0, 9, b'm', b's', b'g', b'1']);
        assert_eq!(
            RBody::decode(&init),
            Ok(RBody::HandshakeInit {
                sender_index: 9,
                message: b"msg1"
            })
        );
        let mut response = Vec::new();
        write_handshake_response(&mut response, 1, 2, b"msg2");
        assert_eq!(response.len(), HANDSHAKE_RESPONSE_HEADER_LEN + 4);
        assert_eq!(
            RBody::decode(&response),
            Ok(RBody::HandshakeResponse {
                sender_index: 1,
                receiver_index: 2,
                message: b"msg2"
            })
        );
    }

    #[test]
    fn truncated_unknown_and_tagless_bodies_are_malformed() {
        assert_eq!(RBody::decode(&[]), Err(CryptoError::Malformed));
        assert_eq!(RBody::decode(&[0]), Err(CryptoError::Malformed));
        assert_eq!(RBody::decode(&[5, 0, 0, 0, 0]), Err(CryptoError::Malformed));
        assert_eq!(RBody::decode(&[3, 0, 0, 0]), Err(CryptoError::Malformed));
        assert_eq!(
            RBody::decode(&[4, 0, 0, 0, 0, 0, 0, 0]),
            Err(CryptoError::Malformed)
        );
        let mut sealed = vec![1; SEALED_HEADER_LEN + TAG_LEN - 1];
        assert_eq!(RBody::decode(&sealed), Err(CryptoError::Malformed));
        sealed.push(0);
        assert!(RBody::decode(&sealed).is_ok());
        let session = vec![2; SESSION_HEADER_LEN + TAG_LEN - 1];
        assert_eq!(RBody::decode(&session), Err(CryptoError::Malformed));
    }

    #[test]
    fn mailbox_request_round_trips_with_the_documented_bytes() {
        let mut body = Vec::new();
        write_mailbox_request(
            &mut body,
            3,
            UnixMillis(9),
            &[0xaa; 32],
            &[0xbb; 64],
            b"[1]",
        );
        assert_eq!(body.len(), MAILBOX_REQUEST_HEADER_LEN + 3);
        assert_eq!(&body[..10], &[8, 3, 0, 0, 0, 0, 0, 0, 0, 9]);
        assert_eq!(
            RBody::decode(&body),
            Ok(RBody::MailboxRequest {
                op: 3,
                timestamp: UnixMillis(9),
                key: &[0xaa; 32],
                signature: &[0xbb; 64],
                address: b"[1]",
            })
        );
        assert_eq!(
            RBody::decode(&body[..MAILBOX_REQUEST_HEADER_LEN]),
            Err(CryptoError::Malformed)
        );
    }

    #[test]
    fn every_prefix_of_a_body_decodes_or_errs() {
        let mut body = Vec::new();
        write_sealed_header(&mut body, 1, UnixMillis(2), &[3; 32]);
        body.extend_from_slice(&[4; 32]);
        for len in 0..=body.len() {
            let _ = RBody::decode(&body[..len]);
        }
    }
}
