//! Path messages: what two of our nodes tell each other, inside their session, about the path
//! between them: the address each sees the other at, the echo that proves an address receives,
//! and the keepalive that holds a NAT's mapping open.
//!
//! A fourth kind of session plaintext, after EJTP frames (`j`, `s`, `r`, `c`), content
//! messages (`b`) and fragments (`f`), told apart by its first byte [`PATH_TAG`] (`p`):
//!
//! ```text
//! Observed  = 'p' || 0x01 || challenge [8] || family u8 (4 or 6) || ip [4 or 16] || port u16 BE
//! Echo      = 'p' || 0x02 || challenge [8]
//! Keepalive = 'p' || 0x03
//! Probe     = 'p' || 0x04 || probe id u32 BE || zero bytes (padding up to the size probed)
//! ProbeAck  = 'p' || 0x05 || probe id u32 BE
//! ```
//!
//! See `docs/PROTOCOL.md` section 21.
//!
//! ```
//! use core::net::SocketAddr;
//! use ejtp_proto::path_message::PathMessage;
//!
//! let seen: SocketAddr = "203.0.113.7:40000".parse().unwrap();
//! let message = PathMessage::Observed { challenge: [7; 8], address: seen };
//! let bytes = message.encode();
//! assert_eq!(PathMessage::decode(&bytes), Ok(message));
//! ```

use alloc::vec::Vec;
use core::fmt;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The first byte of every path message.
pub const PATH_TAG: u8 = b'p';

const KIND_OBSERVED: u8 = 1;
const KIND_ECHO: u8 = 2;
const KIND_KEEPALIVE: u8 = 3;
const KIND_PROBE: u8 = 4;
const KIND_PROBE_ACK: u8 = 5;

/// The bytes of a [`PathMessage::Probe`] before its padding.
pub const PROBE_HEADER_LEN: usize = 6;

/// One path message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathMessage {
    /// "I see you at `address`": the sender's view of the receiver's source address (its
    /// reflexive address, a NAT's mapping). The receiver echoes `challenge` from where it is.
    Observed {
        /// Random bytes the receiver sends back in an [`Echo`](Self::Echo).
        challenge: [u8; 8],
        /// The source address the sender saw the receiver's frames come from.
        address: SocketAddr,
    },
    /// The answer to [`Observed`](Self::Observed): arriving from the address the observation
    /// went to, it proves that address receives.
    Echo {
        /// The observation's challenge.
        challenge: [u8; 8],
    },
    /// Nothing but traffic: keeps a NAT's mapping for the session's path open.
    Keepalive,
    /// A path MTU probe: padded so that its datagram is the size being tried. Answered with a
    /// [`ProbeAck`](Self::ProbeAck), which proves datagrams of that size cross the path.
    Probe {
        /// Which probe (the sender remembers the size it tried).
        id: u32,
        /// Zero bytes after the header.
        padding: usize,
    },
    /// The answer to a [`Probe`](Self::Probe) that arrived.
    ProbeAck {
        /// The probe's id.
        id: u32,
    },
}

/// Why bytes are not a path message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathMessageError {
    /// The first byte is not [`PATH_TAG`].
    NotPath,
    /// An unknown kind byte.
    UnknownKind,
    /// Too short or too long for its kind, or an address family other than 4 or 6.
    BadLength,
}

impl fmt::Display for PathMessageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotPath => "not a path message (first byte is not 'p')",
            Self::UnknownKind => "unknown path message kind",
            Self::BadLength => "path message of the wrong length for its kind",
        })
    }
}

impl core::error::Error for PathMessageError {}

/// Whether a session plaintext is a path message.
#[must_use]
pub fn is_path_message(plaintext: &[u8]) -> bool {
    plaintext.first() == Some(&PATH_TAG)
}

impl PathMessage {
    /// The message's bytes.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(29);
        out.push(PATH_TAG);
        match self {
            Self::Observed { challenge, address } => {
                out.push(KIND_OBSERVED);
                out.extend_from_slice(challenge);
                match address.ip() {
                    IpAddr::V4(ip) => {
                        out.push(4);
                        out.extend_from_slice(&ip.octets());
                    }
                    IpAddr::V6(ip) => {
                        out.push(6);
                        out.extend_from_slice(&ip.octets());
                    }
                }
                out.extend_from_slice(&address.port().to_be_bytes());
            }
            Self::Echo { challenge } => {
                out.push(KIND_ECHO);
                out.extend_from_slice(challenge);
            }
            Self::Keepalive => out.push(KIND_KEEPALIVE),
            Self::Probe { id, padding } => {
                out.push(KIND_PROBE);
                out.extend_from_slice(&id.to_be_bytes());
                out.resize(out.len() + padding, 0);
            }
            Self::ProbeAck { id } => {
                out.push(KIND_PROBE_ACK);
                out.extend_from_slice(&id.to_be_bytes());
            }
        }
        out
    }

    /// Reads a path message; any byte string gives a value or an error, never a panic.
    ///
    /// # Errors
    /// [`PathMessageError`] when the bytes are not exactly one path message.
    pub fn decode(bytes: &[u8]) -> Result<Self, PathMessageError> {
        let Some((&PATH_TAG, rest)) = bytes.split_first() else {
            return Err(PathMessageError::NotPath);
        };
        let (&kind, rest) = rest.split_first().ok_or(PathMessageError::BadLength)?;
        match kind {
            KIND_OBSERVED => {
                let (challenge, rest) = split_array::<8>(rest)?;
                let (&family, rest) = rest.split_first().ok_or(PathMessageError::BadLength)?;
                let (ip, rest) = match family {
                    4 => {
                        let (octets, rest) = split_array::<4>(rest)?;
                        (IpAddr::V4(Ipv4Addr::from(octets)), rest)
                    }
                    6 => {
                        let (octets, rest) = split_array::<16>(rest)?;
                        (IpAddr::V6(Ipv6Addr::from(octets)), rest)
                    }
                    _ => return Err(PathMessageError::BadLength),
                };
                let (port, rest) = split_array::<2>(rest)?;
                if !rest.is_empty() {
                    return Err(PathMessageError::BadLength);
                }
                Ok(Self::Observed {
                    challenge,
                    address: SocketAddr::new(ip, u16::from_be_bytes(port)),
                })
            }
            KIND_ECHO => {
                let (challenge, rest) = split_array::<8>(rest)?;
                if !rest.is_empty() {
                    return Err(PathMessageError::BadLength);
                }
                Ok(Self::Echo { challenge })
            }
            KIND_PROBE => {
                let (id, padding) = split_array::<4>(rest)?;
                if padding.iter().any(|byte| *byte != 0) {
                    return Err(PathMessageError::BadLength);
                }
                Ok(Self::Probe {
                    id: u32::from_be_bytes(id),
                    padding: padding.len(),
                })
            }
            KIND_PROBE_ACK => {
                let (id, rest) = split_array::<4>(rest)?;
                if !rest.is_empty() {
                    return Err(PathMessageError::BadLength);
                }
                Ok(Self::ProbeAck {
                    id: u32::from_be_bytes(id),
                })
            }
            KIND_KEEPALIVE if rest.is_empty() => Ok(Self::Keepalive),
            KIND_KEEPALIVE => Err(PathMessageError::BadLength),
            _ => Err(PathMessageError::UnknownKind),
        }
    }
}

fn split_array<const N: usize>(bytes: &[u8]) -> Result<([u8; N], &[u8]), PathMessageError> {
    crate::bytes::split_array(bytes).ok_or(PathMessageError::BadLength)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_kind_round_trips() {
        for message in [
            PathMessage::Observed {
                challenge: [1; 8],
                address: "203.0.113.9:40001".parse().unwrap(),
            },
            PathMessage::Observed {
                challenge: [2; 8],
                address: "[2001:db8::1]:9".parse().unwrap(),
            },
            PathMessage::Echo { challenge: [3; 8] },
            PathMessage::Keepalive,
            PathMessage::Probe { id: 7, padding: 0 },
            PathMessage::Probe {
                id: 8,
                padding: 1_000,
            },
            PathMessage::ProbeAck { id: 8 },
        ] {
            assert_eq!(PathMessage::decode(&message.encode()), Ok(message));
            assert!(is_path_message(&message.encode()));
        }
    }

    #[test]
    fn wrong_lengths_and_kinds_are_errors() {
        assert_eq!(PathMessage::decode(b""), Err(PathMessageError::NotPath));
        assert_eq!(PathMessage::decode(b"b"), Err(PathMessageError::NotPath));
        assert_eq!(PathMessage::decode(b"p"), Err(PathMessageError::BadLength));
        assert_eq!(
            PathMessage::decode(b"p\x09"),
            Err(PathMessageError::UnknownKind)
        );
        assert_eq!(
            PathMessage::decode(b"p\x03x"),
            Err(PathMessageError::BadLength)
        );
        assert_eq!(
            PathMessage::decode(b"p\x02short"),
            Err(PathMessageError::BadLength)
        );
        assert_eq!(
            PathMessage::decode(b"p\x04\0\0\0\x01\0\x01"),
            Err(PathMessageError::BadLength),
            "probe padding is zeros"
        );
        assert_eq!(
            PathMessage::decode(b"p\x05\0\0\0\x01\0"),
            Err(PathMessageError::BadLength)
        );
        let mut observed = PathMessage::Observed {
            challenge: [0; 8],
            address: "198.51.100.1:1".parse().unwrap(),
        }
        .encode();
        observed[10] = 5;
        assert_eq!(
            PathMessage::decode(&observed),
            Err(PathMessageError::BadLength)
        );
        // The tag is free: no EJTP frame, content message or fragment starts with it.
        assert!(crate::frame::decode(b"p\x03").is_err());
        assert!(!crate::content::is_session_content(b"p"));
        assert!(!crate::fragment::is_fragment(b"p"));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic_and_what_decodes_encodes_back(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            if let Ok(message) = PathMessage::decode(&bytes) {
                prop_assert_eq!(message.encode(), bytes);
            }
        }

        #[test]
        fn observations_round_trip(challenge in any::<[u8; 8]>(), v6 in any::<bool>(), ip in any::<[u8; 16]>(), port in any::<u16>()) {
            let ip = if v6 { IpAddr::V6(Ipv6Addr::from(ip)) } else { IpAddr::V4(Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3])) };
            let message = PathMessage::Observed { challenge, address: SocketAddr::new(ip, port) };
            prop_assert_eq!(PathMessage::decode(&message.encode()), Ok(message));
        }
    }
}
