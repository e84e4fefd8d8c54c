//! Splitting bytes into a [`Frame`]'s parts, without copying the bodies.

use crate::address::Address;

use super::{Compression, Frame, FrameError, TYPE_COMPRESSED, TYPE_JSON, TYPE_SEALED, TYPE_SIGNED};

/// Reads one frame from `bytes`, which may be anything a peer sent.
///
/// Only the structure is checked: the type byte, the NUL ending the header, an address in `s`
/// and `r` headers (any JSON spelling of one is accepted, as the reference accepts it; the raw
/// header is kept for callers that need the exact bytes), the compression method in `c` headers
/// and the signature length in `s` bodies. Bodies are borrowed, not parsed: work on them is
/// left to whoever decides to open that layer.
///
/// # Errors
/// [`FrameError::Empty`], [`FrameError::UnknownType`], [`FrameError::MissingSeparator`],
/// [`FrameError::Header`], [`FrameError::BadCompressionHeader`] or [`FrameError::Truncated`].
pub fn decode(bytes: &[u8]) -> Result<Frame<'_>, FrameError> {
    let (&typecode, rest) = bytes.split_first().ok_or(FrameError::Empty)?;
    if !matches!(
        typecode,
        TYPE_JSON | TYPE_SIGNED | TYPE_SEALED | TYPE_COMPRESSED
    ) {
        // Refuse before scanning the header, so junk costs one byte of work.
        return Err(FrameError::UnknownType(typecode));
    }
    let mut parts = rest.splitn(2, |&byte| byte == 0);
    let header = parts.next().unwrap_or_default();
    let body = parts.next().ok_or(FrameError::MissingSeparator)?;
    match typecode {
        TYPE_JSON => Ok(Frame::Json { body }),
        TYPE_SIGNED => {
            let sender = Address::from_json_bytes(header)?;
            let (signature, inner) = split_signature(body)?;
            Ok(Frame::Signed {
                sender,
                header,
                signature,
                inner,
            })
        }
        TYPE_SEALED => Ok(Frame::Sealed {
            recipient: Address::from_json_bytes(header)?,
            header,
            body,
        }),
        _ => Ok(Frame::Compressed {
            method: compression_method(header)?,
            body,
        }),
    }
}

/// Splits an `s` body into its signature and inner frame.
fn split_signature(body: &[u8]) -> Result<(&[u8], &[u8]), FrameError> {
    let (len, rest) = body.split_at_checked(2).ok_or(FrameError::Truncated)?;
    let [hi, lo] = len else {
        return Err(FrameError::Truncated);
    };
    let siglen = usize::from(u16::from_be_bytes([*hi, *lo]));
    rest.split_at_checked(siglen).ok_or(FrameError::Truncated)
}

fn compression_method(header: &[u8]) -> Result<Compression, FrameError> {
    match header {
        b"z" => Ok(Compression::Zlib),
        b"b" => Ok(Compression::Bzip2),
        _ => Err(FrameError::BadCompressionHeader),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::AddressError;
    use crate::json::JsonError;
    use serde_json::json;

    #[test]
    fn json_frame_ignores_its_header_and_borrows_its_body() {
        assert_eq!(decode(b"j\0{}").unwrap(), Frame::Json { body: b"{}" });
        let frame = decode(b"j[\"local\",null,\"x\"]\0[1]").unwrap();
        assert_eq!(frame, Frame::Json { body: b"[1]" });
        assert_eq!(frame.typecode(), b'j');
        assert_eq!(frame.json_value(), Some(Ok(json!([1]))));
    }

    #[test]
    fn json_body_is_not_parsed_until_asked() {
        let frame = decode(b"j\0{not json").unwrap();
        assert_eq!(frame.json_value(), Some(Err(JsonError::Syntax)));
    }

    #[test]
    fn only_the_first_nul_ends_the_header() {
        assert_eq!(decode(b"j\0a\0b").unwrap(), Frame::Json { body: b"a\0b" });
    }

    #[test]
    fn signed_frame_splits_signature_and_inner() {
        let bytes = b"s[\"local\",null,\"a\"]\0\x00\x03sigj\0{}";
        let Frame::Signed {
            sender,
            header,
            signature,
            inner,
        } = decode(bytes).unwrap()
        else {
            panic!("not signed");
        };
        assert_eq!(sender, Address::local("a"));
        assert_eq!(header, b"[\"local\",null,\"a\"]");
        assert_eq!(signature, b"sig");
        assert_eq!(inner, b"j\0{}");
    }

    #[test]
    fn signed_frame_shorter_than_its_signature_is_truncated() {
        for bytes in [
            &b"s[\"x\"]\0"[..],
            b"s[\"x\"]\0\x00",
            b"s[\"x\"]\0\x00\x04abc",
            b"s[\"x\"]\0\xff\xff",
        ] {
            assert_eq!(decode(bytes), Err(FrameError::Truncated), "{bytes:?}");
        }
        // A zero-length signature and an empty inner frame are structurally fine.
        assert!(decode(b"s[\"x\"]\0\x00\x00").is_ok());
    }

    #[test]
    fn sealed_frame_keeps_raw_header_and_opaque_body() {
        let frame = decode(b"r[ \"testing\" ]\0\x00\x01\xff").unwrap();
        assert_eq!(
            frame,
            Frame::Sealed {
                recipient: Address::other("testing", None, None).unwrap(),
                header: b"[ \"testing\" ]",
                body: b"\x00\x01\xff",
            }
        );
        assert_eq!(frame.typecode(), b'r');
        assert_eq!(frame.json_value(), None);
    }

    #[test]
    fn address_headers_must_be_addresses() {
        assert_eq!(
            decode(b"r\0body"),
            Err(FrameError::Header(AddressError::Json(JsonError::Syntax)))
        );
        assert_eq!(
            decode(b"s{\"a\":1}\0\x00\x00"),
            Err(FrameError::Header(AddressError::Shape))
        );
        assert_eq!(
            decode(b"r[\"x\",1.5]\0"),
            Err(FrameError::Header(AddressError::Json(JsonError::Float)))
        );
    }

    #[test]
    fn compression_header_names_the_method() {
        assert_eq!(
            decode(b"cz\0abc").unwrap(),
            Frame::Compressed {
                method: Compression::Zlib,
                body: b"abc"
            }
        );
        assert_eq!(
            decode(b"cb\0abc").unwrap(),
            Frame::Compressed {
                method: Compression::Bzip2,
                body: b"abc"
            }
        );
        for bytes in [&b"c\0abc"[..], b"czz\0", b"cx\0"] {
            assert_eq!(decode(bytes), Err(FrameError::BadCompressionHeader));
        }
    }

    #[test]
    fn malformed_frames_are_errors_not_panics() {
        assert_eq!(decode(b""), Err(FrameError::Empty));
        assert_eq!(decode(b"x\0"), Err(FrameError::UnknownType(b'x')));
        assert_eq!(decode(b"J\0{}"), Err(FrameError::UnknownType(b'J')));
        assert_eq!(decode(b"j"), Err(FrameError::MissingSeparator));
        assert_eq!(decode(b"r[\"x\"]"), Err(FrameError::MissingSeparator));
    }
}
