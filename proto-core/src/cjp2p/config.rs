//! Settings of the CJP2P side of a node: its bounds and its maintenance pace.

use alloc::vec::Vec;
use core::net::SocketAddr;
use core::time::Duration;

use serde::{Deserialize, Serialize};

/// Settings of the CJP2P protocol (`Config::cjp2p`). Every table it keeps is bounded here.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Cjp2pConfig {
    /// Whether the node answers CJP2P datagrams at all. When false they are counted in
    /// `TransportStats::dropped_unsupported`, as before CJP2P was spoken. Default true.
    pub enabled: bool,
    /// Peers to contact from the start (and to keep in the peer table). Default none.
    pub bootstrap: Vec<SocketAddr>,
    /// Most elements read from one datagram; a datagram with more is dropped whole. Default
    /// 128 (the public node sends at most 7). Parsing a datagram costs at most a few times its
    /// own size (64 KiB at most) whatever this is.
    pub max_elements: usize,
    /// Most peers in the peer table (address, key, round-trip time, their cookie). Default
    /// 256: about 100 KiB at most (some 400 bytes a peer with a cookie of the maximum size).
    /// When full, a candidate never heard from goes first, then the least recently heard peer;
    /// bootstrap peers stay.
    pub max_peers: usize,
    /// Largest cookie of a peer that is stored and echoed, as encoded JSON. Default 256 bytes.
    pub max_cookie_len: usize,
    /// Most content ids for which we remember peers that may hold them (for
    /// `MaybeTheyHaveSome`). Default 256, each with up to 8 addresses: about 100 KiB.
    pub max_content_hints: usize,
    /// Most addresses in one `Peers` reply. Default 16.
    pub max_peers_per_reply: usize,
    /// Most content bytes in one `Content` reply. Default 40 960, as the public node; a
    /// request for more gets this much (the requester asks again from where it ends).
    pub max_content_reply: usize,
    /// Most entries in one `ContentList` reply. Default 256 (about 20 KiB of JSON).
    pub max_content_list: usize,
    /// Time between maintenance rounds (peer discovery and round-trip probes). Default 5 s.
    #[serde(with = "crate::config::millis")]
    pub maintenance_interval: Duration,
    /// Most peers probed in one maintenance round: bounds our unsolicited traffic. Default 4.
    pub probes_per_round: usize,
    /// Probes (each with its retries) a peer gets without answering before it is forgotten.
    /// Default 3.
    pub max_unanswered_probes: u8,
    /// Whether downloads from our own nodes (peers that sent `EjtpSessions`) go over an EJTP
    /// Noise session in binary frames (no base64, encrypted) once the session is up, rather
    /// than as CJP2P datagrams. Needs `Config::sessions`. Default true. Either way such peers
    /// are asked for up to `max_content_reply` bytes per request instead of one block.
    pub content_sessions: bool,
    /// A peer that has answered before is forgotten only when, besides its unanswered probes,
    /// it has been silent this long: a few unlucky rounds on a lossy link must not drop a live
    /// peer, as undoing that takes another peer's `Peers` and a new cookie exchange. Candidates
    /// never heard from are forgotten on their probes alone. Default 60 s (twelve rounds).
    #[serde(with = "crate::config::millis")]
    pub forget_heard_after: Duration,
    /// Times a maintenance probe is sent again while no verified datagram answers it. One
    /// probe's round trip gets through only half the time at 30% loss each way; three tries,
    /// 87%. So a live peer is not forgotten, nor a new one's cookie exchange cut short, for a
    /// few lost datagrams. Our unsolicited traffic stays at most `probes_per_round` times
    /// `1 + probe_retries` datagrams a round, and a candidate that never answers gets
    /// `max_unanswered_probes` times `1 + probe_retries` in all (9 with the defaults).
    /// Default 2.
    pub probe_retries: u8,
    /// Wait before the first retry of an unanswered probe; each further retry waits twice as
    /// long as the one before (1 s, then 2 s with the defaults: all within one 5 s round).
    /// Default 1 s: many round trips even on slow links, so an answer on its way is seldom
    /// overtaken by a needless retry.
    #[serde(with = "crate::config::millis")]
    pub probe_retry_interval: Duration,
}

impl Default for Cjp2pConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            bootstrap: Vec::new(),
            max_elements: 128,
            max_peers: 256,
            max_cookie_len: 256,
            max_content_hints: 256,
            max_peers_per_reply: 16,
            max_content_reply: 40_960,
            max_content_list: 256,
            maintenance_interval: Duration::from_secs(5),
            probes_per_round: 4,
            max_unanswered_probes: 3,
            content_sessions: true,
            forget_heard_after: Duration::from_secs(60),
            probe_retries: 2,
            probe_retry_interval: Duration::from_secs(1),
        }
    }
}
