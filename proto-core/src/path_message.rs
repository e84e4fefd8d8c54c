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
//! PunchRequest = 'p' || 0x06 || target node id [32]
//! Punch     = 'p' || 0x07 || peer key [32] || count u8 (1..=4) || count x candidate
//! Publish   = 'p' || 0x08 || signed address record (1..=MAX_RECORD_LEN bytes)
//! FragmentAck = 'p' || 0x09 || message id u32 BE || next u16 BE || held u64 BE || highest u16 BE
//! PublishAck  = 'p' || 0x0a || record seq u64 BE
//! candidate = family u8 (4 or 6) || ip [4 or 16] || port u16 BE
//! ```
//!
//! See `docs/PROTOCOL.md` sections 21 and 22.
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
const KIND_PUNCH_REQUEST: u8 = 6;
const KIND_PUNCH: u8 = 7;
const KIND_PUBLISH: u8 = 8;
const KIND_FRAGMENT_ACK: u8 = 9;
const KIND_PUBLISH_ACK: u8 = 10;

/// Most candidate addresses one [`PathMessage::Punch`] carries.
pub const MAX_PUNCH_CANDIDATES: usize = 4;

/// The bytes of a [`PathMessage::Probe`] before its padding.
pub const PROBE_HEADER_LEN: usize = 6;

/// One path message.
#[derive(Clone, Debug, PartialEq, Eq)]
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
    /// To a node that both ends know (the coordinator): "introduce me to `target`, so that we
    /// can open a direct path". Answered, if the coordinator has a session with the target,
    /// by a [`Punch`](Self::Punch) to each end.
    PunchRequest {
        /// The node id of the peer to reach directly.
        target: [u8; 32],
    },
    /// From the coordinator: "`peer` is trying to reach you directly now; it may be at these
    /// addresses". Both ends get one at the same moment and send handshakes to each other's
    /// candidates, which opens each NAT for the other (hole punching).
    Punch {
        /// The other end's ed25519 key.
        peer: [u8; 32],
        /// Where the coordinator sees the other end first, then the addresses it signed
        /// (1 to [`MAX_PUNCH_CANDIDATES`]).
        candidates: Vec<SocketAddr>,
    },
    /// What the receiver of a message in fragments holds of it (`crate::fragment::window`):
    /// every piece below `next` and, for each bit `i` set in `held`, piece `next + 1 + i`;
    /// `next` = `u16::MAX` says the whole message arrived.
    FragmentAck {
        /// The fragmented message's id (its fragments' `message_id`).
        message_id: u32,
        /// The first piece missing.
        next: u16,
        /// The 64 pieces after `next`, lowest bit first.
        held: u64,
        /// The highest piece held.
        highest: u16,
    },
    /// The answer to [`Publish`](Self::Publish): the record with this seq (or a newer one) is
    /// held. Until it comes, the publisher sends the record again.
    PublishAck {
        /// The record's seq.
        seq: u64,
    },
    /// "Hold my signed address record and hand it to whoever looks me up": sent to the node
    /// this one stays reachable through.
    Publish {
        /// The record's bytes, as signed.
        record: Vec<u8>,
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
                write_address(&mut out, address);
            }
            Self::PunchRequest { target } => {
                out.push(KIND_PUNCH_REQUEST);
                out.extend_from_slice(target);
            }
            Self::Punch { peer, candidates } => {
                out.push(KIND_PUNCH);
                out.extend_from_slice(peer);
                let count = candidates.len().min(MAX_PUNCH_CANDIDATES);
                out.push(u8::try_from(count).unwrap_or(0));
                for candidate in candidates.iter().take(count) {
                    write_address(&mut out, candidate);
                }
            }
            Self::Publish { record } => {
                out.push(KIND_PUBLISH);
                out.extend_from_slice(record);
            }
            Self::PublishAck { seq } => {
                out.push(KIND_PUBLISH_ACK);
                out.extend_from_slice(&seq.to_be_bytes());
            }
            Self::FragmentAck {
                message_id,
                next,
                held,
                highest,
            } => {
                out.push(KIND_FRAGMENT_ACK);
                out.extend_from_slice(&message_id.to_be_bytes());
                out.extend_from_slice(&next.to_be_bytes());
                out.extend_from_slice(&held.to_be_bytes());
                out.extend_from_slice(&highest.to_be_bytes());
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
                let (address, rest) = read_address(rest)?;
                if !rest.is_empty() {
                    return Err(PathMessageError::BadLength);
                }
                Ok(Self::Observed { challenge, address })
            }
            KIND_PUNCH_REQUEST => {
                let (target, rest) = split_array::<32>(rest)?;
                if !rest.is_empty() {
                    return Err(PathMessageError::BadLength);
                }
                Ok(Self::PunchRequest { target })
            }
            KIND_PUNCH => {
                let (peer, rest) = split_array::<32>(rest)?;
                let (&count, mut rest) = rest.split_first().ok_or(PathMessageError::BadLength)?;
                let count = usize::from(count);
                if count == 0 || count > MAX_PUNCH_CANDIDATES {
                    return Err(PathMessageError::BadLength);
                }
                let mut candidates = Vec::with_capacity(count);
                for _ in 0..count {
                    let (address, after) = read_address(rest)?;
                    candidates.push(address);
                    rest = after;
                }
                if !rest.is_empty() {
                    return Err(PathMessageError::BadLength);
                }
                Ok(Self::Punch { peer, candidates })
            }
            KIND_PUBLISH_ACK => {
                let (seq, rest) = split_array::<8>(rest)?;
                if !rest.is_empty() {
                    return Err(PathMessageError::BadLength);
                }
                Ok(Self::PublishAck {
                    seq: u64::from_be_bytes(seq),
                })
            }
            KIND_FRAGMENT_ACK => {
                let (message_id, rest) = split_array::<4>(rest)?;
                let (next, rest) = split_array::<2>(rest)?;
                let (held, rest) = split_array::<8>(rest)?;
                let (highest, rest) = split_array::<2>(rest)?;
                if !rest.is_empty() {
                    return Err(PathMessageError::BadLength);
                }
                Ok(Self::FragmentAck {
                    message_id: u32::from_be_bytes(message_id),
                    next: u16::from_be_bytes(next),
                    held: u64::from_be_bytes(held),
                    highest: u16::from_be_bytes(highest),
                })
            }
            KIND_PUBLISH => {
                if rest.is_empty() || rest.len() > crate::routing::record::MAX_RECORD_LEN {
                    return Err(PathMessageError::BadLength);
                }
                Ok(Self::Publish {
                    record: rest.to_vec(),
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

/// Appends `family u8 (4 or 6) || ip || port u16 BE`.
fn write_address(out: &mut Vec<u8>, address: &SocketAddr) {
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

/// Reads what [`write_address`] writes; returns the address and the bytes after it.
fn read_address(bytes: &[u8]) -> Result<(SocketAddr, &[u8]), PathMessageError> {
    let (&family, rest) = bytes.split_first().ok_or(PathMessageError::BadLength)?;
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
    Ok((SocketAddr::new(ip, u16::from_be_bytes(port)), rest))
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
            PathMessage::PunchRequest { target: [9; 32] },
            PathMessage::Punch {
                peer: [10; 32],
                candidates: alloc::vec![
                    "203.0.113.9:40001".parse().unwrap(),
                    "[2001:db8::2]:7".parse().unwrap(),
                ],
            },
            PathMessage::Publish {
                record: alloc::vec![1, 2, 3],
            },
            PathMessage::FragmentAck {
                message_id: 7,
                next: 300,
                held: 0b1011,
                highest: 900,
            },
            PathMessage::PublishAck { seq: 42 },
        ] {
            assert_eq!(PathMessage::decode(&message.encode()), Ok(message.clone()));
            assert!(is_path_message(&message.encode()));
        }
    }

    #[test]
    fn wrong_lengths_and_kinds_are_errors() {
        assert_eq!(PathMessage::decode(b""), Err(PathMessageError::NotPath));
        assert_eq!(PathMessage::decode(b"b"), Err(PathMessageError::NotPath));
        assert_eq!(PathMessage::decode(b"p"), Err(PathMessageError::BadLength));
        assert_eq!(
            PathMessage::decode(b"p\x0c"),
            Err(PathMessageError::UnknownKind)
        );
        assert_eq!(
            PathMessage::decode(b"p\x08"),
            Err(PathMessageError::BadLength),
            "an empty record"
        );
        let mut punch = PathMessage::Punch {
            peer: [1; 32],
            candidates: alloc::vec!["198.51.100.1:1".parse().unwrap()],
        }
        .encode();
        punch[34] = 0;
        assert_eq!(
            PathMessage::decode(&punch),
            Err(PathMessageError::BadLength),
            "no candidates"
        );
        punch[34] = 5;
        assert_eq!(
            PathMessage::decode(&punch),
            Err(PathMessageError::BadLength),
            "too many candidates"
        );
        assert_eq!(
            PathMessage::decode(b"p\x09\0\0\0\x01\0\x01"),
            Err(PathMessageError::BadLength),
            "a fragment ack without its bitmap"
        );
        assert_eq!(
            PathMessage::decode(b"p\x0b"),
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
        fn arbitrary_bytes_never_panic_and_what_decodes_encodes_back(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
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
