//! A seeded mix of hostile datagrams for nodes under soak: what a peer that means harm, or a
//! broken one, might send a node's UDP socket.
//!
//! Every datagram is built from a [`SplitMix64`] stream, so one seed gives the same sequence
//! of kinds, sizes and bytes on every run. The kinds, by share of the mix:
//!
//! - random bytes, of any length up to a full UDP datagram;
//! - `r` frames (`r`, the recipient's strict JSON address, NUL, a body) whose body has a real
//!   kind byte and random contents: sealed (0x01, a current or random timestamp, random `enc`
//!   and ciphertext), handshake inits (0x03, a Noise message 1 of the real length, or of the
//!   128 bytes `docs/PROTOCOL.md` section 7 names, or of neither), session frames for indices
//!   nobody chose (0x02), session resets and mailbox requests with random signatures (0x05,
//!   0x08), lookup requests (0x06) for the target or for nobody, short or padded;
//! - truncations of the above and of real datagrams;
//! - CJP2P-looking JSON arrays: requests for the content the nodes share and for content
//!   nobody has, forged `Content` for the downloads in progress, cookies that are not ours,
//!   bad signatures, peer lists, nesting and element counts past the bounds, and junk after
//!   the `[`;
//! - `c` frames: zlib bombs at and past `max_frame_len`, nested past `max_nesting`, corrupt
//!   streams;
//! - replays of real datagrams (the caller captures them, see
//!   [`replay_capture`](crate::replay_capture)).
//!
//! Addresses in peer lists are only the hostile sender's own (loopback) sockets.

use std::fmt::Write as _;
use std::net::SocketAddr;

use ejtp_proto::cjp2p::base64;
use ejtp_proto::content::ContentId;
use ejtp_proto::crypto::body::{
    KIND_HANDSHAKE_INIT, KIND_MAILBOX_REQUEST, KIND_SEALED, KIND_SESSION, KIND_SESSION_RESET,
};
use ejtp_proto::crypto::handshake::HANDSHAKE_INIT_LEN;
use ejtp_proto::frame::{encode_compressed, sealed_prefix};
use ejtp_proto::routing::wire::{KIND_LOOKUP_REQUEST, LOOKUP_REQUEST_LEN, LOOKUP_REQUEST_MAX_LEN};
use ejtp_proto::{Address, NodeId, UnixMillis};

use crate::splitmix::SplitMix64;

/// The largest UDP payload over IPv4.
const MAX_DATAGRAM: usize = 65_507;

/// A node the mix is aimed at.
#[derive(Clone, Debug)]
pub struct Target {
    /// Its UDP socket.
    pub addr: SocketAddr,
    /// A client it hosts.
    pub callsign: String,
    /// Its node id (for lookups).
    pub node_id: NodeId,
}

/// What a hostile datagram is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Random bytes.
    RandomBytes,
    /// An `r` frame with a sealed (0x01) body of random `enc` and ciphertext.
    Sealed,
    /// An `r` frame with a handshake init (0x03) of random bytes.
    HandshakeInit,
    /// An `r` frame with a session (0x02) body for a random index.
    Session,
    /// An `r` frame with a session reset (0x05) or mailbox request (0x08), badly signed.
    SignedNotice,
    /// An `r` frame with a lookup request (0x06).
    Lookup,
    /// One of the frames above, or a real datagram, cut short.
    Truncated,
    /// A JSON array that looks like CJP2P, with junk.
    Cjp2p,
    /// A `c` frame: a bomb, a nest, or a corrupt stream.
    Compressed,
    /// A real datagram sent again.
    Replay,
}

impl Kind {
    /// Every kind with its share of the mix, per mille (they add up to 1 000).
    pub const WEIGHTS: [(Self, u64); 10] = [
        (Self::RandomBytes, 150),
        (Self::Sealed, 150),
        (Self::HandshakeInit, 120),
        (Self::Session, 80),
        (Self::SignedNotice, 50),
        (Self::Lookup, 40),
        (Self::Truncated, 100),
        (Self::Cjp2p, 180),
        (Self::Compressed, 30),
        (Self::Replay, 100),
    ];

    /// A short name, for reports.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::RandomBytes => "random",
            Self::Sealed => "sealed",
            Self::HandshakeInit => "handshake",
            Self::Session => "session",
            Self::SignedNotice => "reset/mailbox",
            Self::Lookup => "lookup",
            Self::Truncated => "truncated",
            Self::Cjp2p => "cjp2p",
            Self::Compressed => "compressed",
            Self::Replay => "replay",
        }
    }

    /// The kind's place in [`WEIGHTS`](Self::WEIGHTS).
    #[must_use]
    pub fn index(self) -> usize {
        Self::WEIGHTS
            .iter()
            .position(|(kind, _)| *kind == self)
            .unwrap_or(0)
    }
}

/// The generator: a seeded stream of hostile datagrams.
#[derive(Debug)]
pub struct HostileMix {
    rng: SplitMix64,
    /// Content the nodes share or download.
    content: Vec<ContentId>,
    /// The sender's own sockets, the only addresses put in peer lists.
    own: Vec<SocketAddr>,
    /// `c` frames, built once (compressing is the slow part).
    compressed: Vec<Vec<u8>>,
    /// Datagrams sent of each kind, in the order of [`Kind::WEIGHTS`].
    counts: [u64; Kind::WEIGHTS.len()],
}

impl HostileMix {
    /// The mix of `seed`, aimed also at the content `content`.
    #[must_use]
    pub fn new(seed: u64, content: Vec<ContentId>) -> Self {
        let mut rng = SplitMix64::new(seed);
        let compressed = compressed_frames(&mut rng);
        Self {
            rng,
            content,
            own: Vec::new(),
            compressed,
            counts: [0; Kind::WEIGHTS.len()],
        }
    }

    /// The sender's own socket addresses, for peer lists.
    pub fn set_own_addrs(&mut self, own: Vec<SocketAddr>) {
        self.own = own;
    }

    /// Datagrams built so far of each kind, with the kind.
    #[must_use]
    pub fn counts(&self) -> Vec<(Kind, u64)> {
        Kind::WEIGHTS
            .iter()
            .zip(self.counts)
            .map(|((kind, _), count)| (*kind, count))
            .collect()
    }

    /// Builds the next datagram for `target` into `out` and says what it is. `wall` is the
    /// time now (for timestamps that pass the freshness window); `replays` are real datagrams
    /// to `target` (a replay falls back to random bytes when there are none).
    pub fn next_datagram(
        &mut self,
        target: &Target,
        wall: UnixMillis,
        replays: &[Vec<u8>],
        out: &mut Vec<u8>,
    ) -> Kind {
        out.clear();
        let mut roll = self.rng.below(1_000);
        let mut kind = Kind::RandomBytes;
        for (candidate, weight) in Kind::WEIGHTS {
            if roll < weight {
                kind = candidate;
                break;
            }
            roll -= weight;
        }
        if kind == Kind::Replay && replays.is_empty() {
            kind = Kind::RandomBytes;
        }
        self.datagram_of(kind, target, wall, replays, out);
        kind
    }

    /// Builds one datagram of `kind` for `target` into `out` (as [`next_datagram`](
    /// Self::next_datagram) does once it has drawn the kind), for a flood of one kind. A
    /// replay with no `replays` is random bytes.
    pub fn datagram_of(
        &mut self,
        kind: Kind,
        target: &Target,
        wall: UnixMillis,
        replays: &[Vec<u8>],
        out: &mut Vec<u8>,
    ) {
        out.clear();
        let kind = if kind == Kind::Replay && replays.is_empty() {
            Kind::RandomBytes
        } else {
            kind
        };
        match kind {
            Kind::RandomBytes => self.random_bytes(out),
            Kind::Sealed => self.sealed(target, wall, out),
            Kind::HandshakeInit => self.handshake_init(target, out),
            Kind::Session => self.session(target, out),
            Kind::SignedNotice => self.signed_notice(target, wall, out),
            Kind::Lookup => self.lookup(target, out),
            Kind::Truncated => self.truncated(target, wall, replays, out),
            Kind::Cjp2p => self.cjp2p(out),
            Kind::Compressed => {
                let index = self.rng.below(self.compressed.len() as u64) as usize;
                out.extend_from_slice(&self.compressed[index]);
            }
            Kind::Replay => {
                let index = self.rng.below(replays.len() as u64) as usize;
                out.extend_from_slice(&replays[index]);
            }
        }
        self.counts[kind.index()] += 1;
    }

    fn random_bytes(&mut self, out: &mut Vec<u8>) {
        let len = match self.rng.below(100) {
            0..70 => self.rng.len_between(1, 600),
            70..95 => self.rng.len_between(600, 1_500),
            _ => self.rng.len_between(1_500, MAX_DATAGRAM),
        };
        out.extend_from_slice(&self.rng.bytes(len));
    }

    /// `r || recipient || NUL`: mostly the target's client or node address, sometimes a
    /// callsign it does not host, or another address on 127.0.0.1.
    fn prefix(&mut self, target: &Target, node_address: bool, out: &mut Vec<u8>) {
        let address = match self.rng.below(10) {
            0 => Address::udp(target.addr, Some(&format!("x{}", self.rng.below(1_000)))),
            1 => {
                let port = self.rng.between(1_024, 65_535) as u16;
                Address::udp(SocketAddr::from(([127, 0, 0, 1], port)), None)
            }
            _ if node_address => Address::udp(target.addr, None),
            _ => Address::udp(target.addr, Some(&target.callsign)),
        };
        out.extend_from_slice(&sealed_prefix(&address));
    }

    /// A timestamp: now, give or take a minute (inside the skew window), or anything.
    fn timestamp(&mut self, wall: UnixMillis) -> u64 {
        if self.rng.chance(700) {
            (wall.0 + self.rng.below(120_000)).saturating_sub(60_000)
        } else {
            self.rng.next_u64()
        }
    }

    fn sealed(&mut self, target: &Target, wall: UnixMillis, out: &mut Vec<u8>) {
        self.prefix(target, false, out);
        out.push(KIND_SEALED);
        out.push(if self.rng.chance(900) {
            0
        } else {
            self.rng.below(256) as u8
        });
        let timestamp = self.timestamp(wall);
        out.extend_from_slice(&timestamp.to_be_bytes());
        let ciphertext = self.rng.len_between(16, 1_100);
        out.extend_from_slice(&self.rng.bytes(32 + ciphertext));
    }

    fn handshake_init(&mut self, target: &Target, out: &mut Vec<u8>) {
        self.prefix(target, true, out);
        out.push(KIND_HANDSHAKE_INIT);
        out.extend_from_slice(&self.rng.bytes(4));
        let len = match self.rng.below(100) {
            0..85 => HANDSHAKE_INIT_LEN,
            85..95 => 128,
            _ => self.rng.len_between(0, 400),
        };
        out.extend_from_slice(&self.rng.bytes(len));
    }

    fn session(&mut self, target: &Target, out: &mut Vec<u8>) {
        self.prefix(target, false, out);
        out.push(KIND_SESSION);
        out.push(0);
        let ciphertext = self.rng.len_between(16, 1_200);
        out.extend_from_slice(&self.rng.bytes(4 + 8 + ciphertext));
    }

    fn signed_notice(&mut self, target: &Target, wall: UnixMillis, out: &mut Vec<u8>) {
        self.prefix(target, true, out);
        let timestamp = self.timestamp(wall);
        if self.rng.chance(500) {
            out.push(KIND_SESSION_RESET);
            out.extend_from_slice(&self.rng.bytes(4));
            out.extend_from_slice(&timestamp.to_be_bytes());
            out.extend_from_slice(&self.rng.bytes(32 + 64));
        } else {
            out.push(KIND_MAILBOX_REQUEST);
            out.push(self.rng.below(4) as u8);
            out.extend_from_slice(&timestamp.to_be_bytes());
            out.extend_from_slice(&self.rng.bytes(32 + 64));
            let address = Address::udp(target.addr, Some(&target.callsign));
            out.extend_from_slice(address.to_strict_json().as_bytes());
        }
    }

    fn lookup(&mut self, target: &Target, out: &mut Vec<u8>) {
        self.prefix(target, true, out);
        let start = out.len();
        out.push(KIND_LOOKUP_REQUEST);
        out.extend_from_slice(&self.rng.bytes(16));
        if self.rng.chance(500) {
            out.extend_from_slice(target.node_id.as_bytes());
        } else {
            out.extend_from_slice(&self.rng.bytes(32));
        }
        let body_len = match self.rng.below(10) {
            0 => self.rng.len_between(49, LOOKUP_REQUEST_LEN - 1),
            1 => self.rng.len_between(LOOKUP_REQUEST_MAX_LEN + 1, 2_000),
            _ => self
                .rng
                .len_between(LOOKUP_REQUEST_LEN, LOOKUP_REQUEST_MAX_LEN),
        };
        out.resize(start + body_len, 0);
    }

    fn truncated(
        &mut self,
        target: &Target,
        wall: UnixMillis,
        replays: &[Vec<u8>],
        out: &mut Vec<u8>,
    ) {
        match self.rng.below(5) {
            0 => self.sealed(target, wall, out),
            1 => self.handshake_init(target, out),
            2 => self.session(target, out),
            3 => self.cjp2p(out),
            _ if !replays.is_empty() => {
                let index = self.rng.below(replays.len() as u64) as usize;
                out.extend_from_slice(&replays[index]);
            }
            _ => self.lookup(target, out),
        }
        let keep = self.rng.len_between(1, out.len().saturating_sub(1).max(1));
        out.truncate(keep);
    }

    /// A content id: one the nodes share (most of the time) or one nobody has.
    fn content_id(&mut self) -> String {
        if !self.content.is_empty() && self.rng.chance(700) {
            let index = self.rng.below(self.content.len() as u64) as usize;
            self.content[index].to_string()
        } else {
            ejtp_proto::hex::encode(&self.rng.bytes(32))
        }
    }

    fn hex(&mut self, len: usize) -> String {
        ejtp_proto::hex::encode(&self.rng.bytes(len))
    }

    fn own_peers(&mut self) -> String {
        let count = self.rng.len_between(0, self.own.len().min(4));
        let mut text = String::new();
        for index in 0..count {
            let addr = self.own[self.rng.below(self.own.len() as u64) as usize];
            if index > 0 {
                text.push(',');
            }
            let _ = write!(text, "\"{addr}\"");
        }
        text
    }

    fn cjp2p(&mut self, out: &mut Vec<u8>) {
        let mut text = String::new();
        match self.rng.below(13) {
            0 => text.push_str(r#"[{"PleaseSendPeers":{}}]"#),
            1 => {
                let id = self.content_id();
                let (length, offset) = (self.rng.below(1 << 20), self.rng.below(8 << 20));
                let _ = write!(
                    text,
                    r#"[{{"PleaseSendContent":{{"id":"{id}","length":{length},"offset":{offset}}}}}]"#
                );
            }
            2 => {
                let (cookie, id) = (self.hex(8), self.content_id());
                let offset = self.rng.below(1_024) * 4_096;
                let _ = write!(
                    text,
                    r#"[{{"AlwaysReturned":{{"cookie":"{cookie}"}}}},{{"PleaseSendContent":{{"id":"{id}","length":40960,"offset":{offset}}}}},{{"PleaseListContent":{{}}}}]"#
                );
            }
            3 => {
                let peers = self.own_peers();
                let _ = write!(text, r#"[{{"Peers":{{"peers":[{peers}]}}}}]"#);
            }
            4 => {
                let id = self.content_id();
                let offset = self.rng.below(1_024) * 4_096;
                let len = self.rng.len_between(0, 4_096);
                let data = base64::encode(&self.rng.bytes(len));
                let eof = self.rng.below(8 << 20);
                let _ = write!(
                    text,
                    r#"[{{"Content":{{"id":"{id}","offset":{offset},"base64":"{data}","eof":{eof}}}}}]"#
                );
            }
            5 => {
                let (key, signature) = (self.hex(32), base64::encode(&self.rng.bytes(64)));
                let _ = write!(
                    text,
                    r#"[{{"SignedMessage":{{"ed25519":"{key}","signature":"{signature}","payload_json":"[{{\"PleaseSendPeers\":{{}}}}]"}}}}]"#
                );
            }
            6 => {
                let key = self.hex(32);
                let _ = write!(
                    text,
                    r#"[{{"MyPublicKey":{{"ed25519h":"{key}"}}}},{{"PleaseSendPeers":{{}}}},{{"PleaseListSupportedMessages":{{}}}}]"#
                );
            }
            7 => {
                let depth = self.rng.len_between(20, 60);
                text.push_str(&"[".repeat(depth));
                text.push_str(&"]".repeat(depth));
            }
            8 => {
                let count = self.rng.len_between(100, 300);
                text.push('[');
                for index in 0..count {
                    if index > 0 {
                        text.push(',');
                    }
                    text.push_str(r#"{"PleaseSendPeers":{}}"#);
                }
                text.push(']');
            }
            9 => {
                // `[` then junk: not JSON.
                let len = self.rng.len_between(0, 1_200);
                out.push(b'[');
                out.extend_from_slice(&self.rng.bytes(len));
                return;
            }
            10 => {
                let (name, junk) = (self.hex(3), self.hex(20));
                let _ = write!(
                    text,
                    r#"[{{"Zz{name}":{{"x":[1,2,{{"y":"{junk}"}}]}}}},1,null,"s",-5,1.5e300,{{"PleaseSendContent":null}},{{"Peers":{{"peers":"nope"}}}}]"#
                );
            }
            11 => {
                let (cookie, micros) = (self.hex(8), self.rng.next_u64());
                let _ = write!(
                    text,
                    r#"[{{"PleaseReturnThisMessage":{{"cookie":"{cookie}"}}}},{{"ReturnedMessage":{{"cookie":"{micros}.{cookie}"}}}},{{"PleaseAlwaysReturnThisMessage":{{"cookie":"{cookie}"}}}}]"#
                );
            }
            _ => {
                let (id, peers) = (self.content_id(), self.own_peers());
                let _ = write!(
                    text,
                    r#"[{{"MaybeTheyHaveSome":{{"id":"{id}","peers":[{peers}]}}}},{{"ContentList":{{"results":[["{id}",1]]}}}}]"#
                );
            }
        }
        out.extend_from_slice(text.as_bytes());
    }
}

/// The `c` frames of the mix: a bomb just within `max_frame_len` (65 507) once inflated, one
/// past it, one nested past `max_nesting` (8), random bytes compressed, and corrupt streams.
fn compressed_frames(rng: &mut SplitMix64) -> Vec<Vec<u8>> {
    let mut within = b"j\0".to_vec();
    within.resize(65_000, b' ');
    let mut nested = b"j\0null".to_vec();
    for _ in 0..10 {
        nested = encode_compressed(&nested);
    }
    let mut frames = vec![
        encode_compressed(&within),
        encode_compressed(&vec![0u8; 70_000]),
        nested,
        encode_compressed(&rng.bytes(900)),
    ];
    for _ in 0..4 {
        let mut corrupt = b"cz\0".to_vec();
        let len = rng.len_between(1, 600);
        corrupt.extend_from_slice(&rng.bytes(len));
        frames.push(corrupt);
    }
    frames
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Target {
        Target {
            addr: SocketAddr::from(([127, 0, 0, 1], 9_001)),
            callsign: "n0".to_string(),
            node_id: NodeId::from_bytes([7; 32]),
        }
    }

    #[test]
    fn the_mix_repeats_with_its_seed_and_covers_every_kind() {
        let replays = vec![b"r-real".to_vec()];
        let run = |seed: u64| {
            let mut mix = HostileMix::new(seed, vec![ContentId([1; 32])]);
            mix.set_own_addrs(vec![SocketAddr::from(([127, 0, 0, 1], 9_002))]);
            let mut datagrams = Vec::new();
            for _ in 0..2_000 {
                let mut out = Vec::new();
                mix.next_datagram(&target(), UnixMillis(1_700_000_000_000), &replays, &mut out);
                assert!(!out.is_empty() && out.len() <= MAX_DATAGRAM);
                datagrams.push(out);
            }
            (datagrams, mix.counts())
        };
        let (first, counts) = run(42);
        assert_eq!(first, run(42).0);
        assert_ne!(first, run(43).0);
        assert!(counts.iter().all(|(_, count)| *count > 0), "{counts:?}");
        assert_eq!(counts.iter().map(|(_, count)| count).sum::<u64>(), 2_000);
    }
}
