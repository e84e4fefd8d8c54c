//! Building `j`, `s` and `r` frames.

use alloc::vec::Vec;

use serde_json::Value;

use crate::address::{Address, AddressError};
use crate::json;

use super::{FrameError, TYPE_JSON, TYPE_SEALED, TYPE_SIGNED};

/// A `j` frame carrying `value` as strict JSON: `j\0{...}`.
///
/// # Errors
/// [`FrameError::Json`] if the value holds a float or is nested too deeply.
pub fn encode_json(value: &Value) -> Result<Vec<u8>, FrameError> {
    let mut out = Vec::from([TYPE_JSON, 0]);
    json::write_strict_json(value, &mut out)?;
    Ok(out)
}

/// An `s` frame: `sender` says it made `signature` over `inner`.
///
/// The codec does not sign: the caller computes the signature and this only lays the bytes out.
///
/// # Errors
/// [`FrameError::SignatureTooLong`] past `u16::MAX` bytes; [`FrameError::Header`] if the
/// sender address has no strict JSON form (details holding a float, built with
/// [`Address::other`]), since writing a placeholder instead would sign as someone else.
pub fn encode_signed(
    sender: &Address,
    signature: &[u8],
    inner: &[u8],
) -> Result<Vec<u8>, FrameError> {
    let siglen = u16::try_from(signature.len()).map_err(|_| FrameError::SignatureTooLong)?;
    let header = json::to_strict_json(&sender.to_value()).map_err(AddressError::Json)?;
    let mut out = Vec::with_capacity(
        header
            .len()
            .saturating_add(4)
            .saturating_add(signature.len())
            .saturating_add(inner.len()),
    );
    out.push(TYPE_SIGNED);
    out.extend_from_slice(header.as_bytes());
    out.push(0);
    out.extend_from_slice(&siglen.to_be_bytes());
    out.extend_from_slice(signature);
    out.extend_from_slice(inner);
    Ok(out)
}

/// The bytes of an `r` frame before its body: `r`, the recipient's strict JSON address, NUL.
///
/// Sealing code binds the ciphertext to exactly these bytes (as AEAD associated data), so a
/// sealed body cannot be re-addressed to someone else without failing to open.
#[must_use]
pub fn sealed_prefix(recipient: &Address) -> Vec<u8> {
    let header = recipient.to_strict_json();
    let mut out = Vec::with_capacity(header.len().saturating_add(2));
    out.push(TYPE_SEALED);
    out.extend_from_slice(header.as_bytes());
    out.push(0);
    out
}

/// An `r` frame: `body` (already encrypted to `recipient`) behind the recipient's address.
#[must_use]
pub fn encode_sealed(recipient: &Address, body: &[u8]) -> Vec<u8> {
    let mut out = sealed_prefix(recipient);
    out.extend_from_slice(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{Frame, decode};
    use crate::json::JsonError;
    use core::net::SocketAddr;
    use serde_json::json;

    fn alice() -> Address {
        let addr: SocketAddr = "127.0.0.1:9001".parse().unwrap();
        Address::udp(addr, Some("alice"))
    }

    #[test]
    fn json_frame_is_j_nul_strict_json() {
        let frame = encode_json(&json!({"type": "greeting", "n": 7, "text": "hi"})).unwrap();
        assert_eq!(frame, b"j\0{\"n\":7,\"text\":\"hi\",\"type\":\"greeting\"}");
    }

    #[test]
    fn json_frame_refuses_floats() {
        assert_eq!(
            encode_json(&json!({"x": 0.5})),
            Err(FrameError::Json(JsonError::Float))
        );
    }

    #[test]
    fn signed_frame_layout_and_round_trip() {
        let frame = encode_signed(&alice(), b"SIG", b"j\0{}").unwrap();
        let header = br#"["udp4",["127.0.0.1",9001],"alice"]"#;
        let mut expected = b"s".to_vec();
        expected.extend_from_slice(header);
        expected.extend_from_slice(b"\0\x00\x03SIGj\0{}");
        assert_eq!(frame, expected);
        assert_eq!(
            decode(&frame).unwrap(),
            Frame::Signed {
                sender: alice(),
                header,
                signature: b"SIG",
                inner: b"j\0{}",
            }
        );
    }

    #[test]
    fn signature_length_must_fit_sixteen_bits() {
        let max = alloc::vec![7u8; usize::from(u16::MAX)];
        let frame = encode_signed(&alice(), &max, b"j\0{}").unwrap();
        let Ok(Frame::Signed { signature, .. }) = decode(&frame) else {
            panic!("not signed");
        };
        assert_eq!(signature.len(), usize::from(u16::MAX));
        let too_long = alloc::vec![7u8; usize::from(u16::MAX) + 1];
        assert_eq!(
            encode_signed(&alice(), &too_long, b""),
            Err(FrameError::SignatureTooLong)
        );
    }

    #[test]
    fn addresses_without_strict_json_cannot_be_built() {
        assert_eq!(
            Address::other("x", Some(json!(1.5)), None),
            Err(AddressError::Json(JsonError::Float))
        );
    }

    #[test]
    fn sealed_prefix_is_the_start_of_the_sealed_frame() {
        let bob = Address::local("bob");
        let prefix = sealed_prefix(&bob);
        assert_eq!(prefix, b"r[\"local\",null,\"bob\"]\0");
        let frame = encode_sealed(&bob, b"\0ciphertext");
        assert!(frame.starts_with(&prefix));
        assert_eq!(
            decode(&frame).unwrap(),
            Frame::Sealed {
                recipient: bob,
                header: b"[\"local\",null,\"bob\"]",
                body: b"\0ciphertext",
            }
        );
    }

    #[test]
    fn nul_in_a_callsign_is_escaped_so_the_header_still_ends_at_the_separator() {
        let odd = Address::local("a\0b");
        let frame = encode_sealed(&odd, b"x");
        let Ok(Frame::Sealed {
            recipient, body, ..
        }) = decode(&frame)
        else {
            panic!("not sealed");
        };
        assert_eq!(recipient, odd);
        assert_eq!(body, b"x");
    }
}
