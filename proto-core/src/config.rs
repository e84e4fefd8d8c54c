//! Settings of a [`Node`](crate::Node): limits, timeouts and policies.
//!
//! Every table and queue in the core has a bound here; each field documents its default and the
//! memory the bound costs at its default.

use core::time::Duration;

use serde::{Deserialize, Serialize};

use crate::cjp2p::Cjp2pConfig;

/// Settings of a node. `Config::default()` suits a node on the open internet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
///
/// Build one from the defaults with the `with_*` setters, so that settings added later keep
/// their defaults (the struct is `#[non_exhaustive]`: it can grow without breaking callers).
/// Every field stays public to read and to assign.
///
/// ```
/// use core::time::Duration;
///
/// let config = ejtp_proto::Config::default()
///     .with_max_hops(4)
///     .with_session_idle_timeout(Duration::from_secs(60));
/// assert_eq!(config.max_hops, 4);
/// ```
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct Config {
    /// Largest frame the node sends or accepts, in bytes: a UDP datagram's payload, one TCP
    /// stream frame, and the output of decompressing a `c` frame. Default 65 507 (the largest
    /// UDP payload over IPv4). Each TCP stream buffers at most this much.
    pub max_frame_len: usize,
    /// How far a signed or sealed frame's timestamp may be from our wall clock before it is
    /// refused as stale. Also how long nonces are remembered. Default 120 s.
    #[serde(with = "millis")]
    pub max_clock_skew: Duration,
    /// Nonces remembered per memory (one for signatures, one for sealed frames) to refuse
    /// replays inside the skew window. Default 16 384: about 2 MiB for the two at most
    /// (some 60 bytes an entry). When full the oldest is forgotten and frames at least as old
    /// are refused, so a flood costs freshness, never safety.
    pub nonce_memory_capacity: usize,
    /// Most times a frame may be wrapped for a default route before it is dropped: what kills
    /// routing loops. Default 8.
    pub max_hops: u8,
    /// Most `r` layers opened for one received datagram (onion layers addressed to this node,
    /// compression layers). Default 8.
    pub max_nesting: u8,
    /// Whether to set up Noise sessions with peers we send to, so that steady traffic costs one
    /// AEAD per frame. Single frames are sealed with HPKE until a session is up. Default true.
    pub sessions: bool,
    /// Time before an unanswered handshake is sent again. Default 2 s.
    #[serde(with = "millis")]
    pub handshake_timeout: Duration,
    /// Times a handshake is sent before giving up (frames keep going out sealed meanwhile).
    /// Default 3.
    pub handshake_attempts: u8,
    /// A session unused this long is dropped. Default 180 s.
    #[serde(with = "millis")]
    pub session_idle_timeout: Duration,
    /// Most sessions held (established or awaiting the peer's first frame). Default 1 024:
    /// about 400 KiB (some 400 bytes a session). When full, the least recently used goes.
    pub max_sessions: usize,
    /// Most handshakes we have started and not finished. Default 256 (about 1 KiB each).
    pub max_pending_handshakes: usize,
    /// Most TCP streams with a partial frame buffered. Default 256; each buffers up to
    /// `max_frame_len`, so at most 16 MiB at the defaults.
    pub max_streams: usize,
    /// Most session resets sent per second, in answer to session frames for indices we do not
    /// have (see `docs/PROTOCOL.md`). Default 16. Each costs a signature; a reset is also never
    /// more than three times the size of the frame it answers.
    pub max_resets_per_second: u32,
    /// Most local clients (callsigns). Default 64.
    pub max_clients: usize,
    /// Most transmits waiting to be polled. Default 1 024 (each at most `max_frame_len`). An
    /// application send that would exceed it hands its payload back; see
    /// [`SendError::Blocked`](crate::SendError::Blocked).
    pub max_queued_transmits: usize,
    /// Most events waiting to be polled. Default 4 096. Messages that arrive when it is full are
    /// dropped and counted (`TransportStats::dropped_event_queue_full`).
    pub max_queued_events: usize,
    /// Most queries waiting for a reply ([`Node::query`](crate::Node::query)). Default 4 096:
    /// about 600 KiB at most (some 150 bytes a query). A query beyond it is refused with
    /// [`SendError::TooManyQueries`](crate::SendError::TooManyQueries) before anything is sent.
    pub max_open_queries: usize,
    /// Most peers whose round-trip times are kept for adaptive query timeouts. Default 1 024:
    /// about 200 KiB (the last 16 samples a peer). When full, the least recently updated peer
    /// is forgotten.
    pub max_rtt_peers: usize,
    /// Longest timeout an adaptive query may get, however slow the peer has been. Default
    /// 3 600 s (EGTP's maximum). Configured timeouts longer than this are kept as they are.
    #[serde(with = "millis")]
    pub max_adaptive_timeout: Duration,
    /// Frames a second this node sends to any one destination (transport address): its own
    /// messages and replies, and frames it relays for others. 0 (the default) is unlimited.
    /// Handshakes and session resets are not counted (they have their own bounds). An
    /// application send over the rate is handed back with
    /// [`SendError::Throttled`](crate::SendError::Throttled); a relayed frame over it is
    /// dropped and counted.
    pub peer_rate: u32,
    /// Most frames sent to one destination in a burst, when `peer_rate` is not 0. Default 32.
    pub peer_burst: u32,
    /// Frames a second this node sends in all (same frames as `peer_rate`). 0 (the default) is
    /// unlimited.
    pub total_rate: u32,
    /// Most frames sent in all in a burst, when `total_rate` is not 0. Default 128.
    pub total_burst: u32,
    /// Most destinations with a token bucket. Default 1 024: about 48 KiB (some 48 bytes a
    /// bucket). When full, buckets that have refilled are forgotten; if none has, a send to a
    /// new destination waits, so no destination gets a second burst by being forgotten.
    pub max_throttled_peers: usize,
    /// Most recipients this node holds frames for as a store-and-forward relay (mailboxes).
    /// Default 0: the node is no such relay and refuses mailbox requests. Each mailbox costs
    /// about 200 bytes besides the frames it holds.
    pub max_mailboxes: usize,
    /// Most frames held for one recipient. Default 64. Past it, its oldest is dropped.
    pub max_held_per_mailbox: usize,
    /// Most frames held for all recipients. Default 1 024. Past it, the oldest of all is
    /// dropped.
    pub max_held_frames: usize,
    /// Most bytes of frames held for all recipients. Default 4 MiB: the store's memory bound.
    /// Past it, the oldest frames of all are dropped.
    pub max_held_bytes: usize,
    /// How long a frame is held before it is dropped. Default 60 s. A recipient refuses a
    /// sealed frame older than its `max_clock_skew` (120 s by default), so holding longer than
    /// that is useless.
    #[serde(with = "millis")]
    pub mailbox_hold_time: Duration,
    /// How long a mailbox lasts after the recipient's last request, and with it the memory of
    /// that request's timestamp (what refuses replayed requests). Default 600 s; never less
    /// than `max_clock_skew`.
    #[serde(with = "millis")]
    pub mailbox_lifetime: Duration,
    /// Most peers in the routing table. Default 1 024: about 400 KiB typically (some 100 bytes
    /// a peer, 70 an address, and a held address record of typically 200 bytes, at most
    /// 2.2 KiB, so 2.6 MiB at worst). When full, a new peer evicts the least recently used peer that has no
    /// session with us (the least recently used of all if every peer has one).
    pub max_routes: usize,
    /// Most addresses kept per peer. Default 4 (one per transport and IP version). A new
    /// address beyond it replaces the peer's worst-ranked one (see `docs/PROTOCOL.md` §13).
    pub max_addresses_per_peer: usize,
    /// A peer's address that failed (the adapter reported a failed transmit) is skipped for
    /// this long, unless the peer is heard from there or a newer record lists it. Default 30 s.
    #[serde(with = "millis")]
    pub route_retry_after: Duration,
    /// Most recent direct messages remembered so that they can be sent again on a peer's next
    /// address when a transmit fails. Default 64: each keeps its JSON (at most
    /// `max_frame_len`), so at most 4 MiB, typically a few KiB. The oldest is forgotten first.
    pub max_resend_memory: usize,
    /// How long after it was sent a message is still re-sent when its transmit is reported
    /// failed (unless an authenticated frame came from that address since). Default 2 s.
    #[serde(with = "millis")]
    pub resend_window: Duration,
    /// Most lookups in flight. Default 64 (some 200 bytes each). A lookup beyond it is not
    /// started: sends that needed it fail with `SendError::Unreachable`.
    pub max_pending_lookups: usize,
    /// Peers asked at once in a lookup. Default 3.
    pub lookup_fan_out: usize,
    /// Time a lookup waits for a record before asking again. Default 1 s.
    #[serde(with = "millis")]
    pub lookup_timeout: Duration,
    /// Times a lookup asks before `RoutingEvent::LookupFailed`. Default 3.
    pub lookup_attempts: u8,
    /// Most messages waiting for a lookup to find their recipient. Default 256: each keeps its
    /// JSON (at most `max_frame_len`), typically a few hundred bytes.
    pub max_waiting_messages: usize,
    /// How long this node's own address record stays valid after it is signed. Default
    /// 3 600 s; it is signed again once half of that has passed.
    #[serde(with = "millis")]
    pub record_lifetime: Duration,
    /// The CJP2P side: bootstrap peers and bounds (see [`Cjp2pConfig`]). At the defaults its
    /// tables cost about 200 KiB at most.
    pub cjp2p: Cjp2pConfig,
    /// Most downloads active at once ([`crate::Content::fetch`](crate::Content::fetch)). Default 16: each
    /// holds its bookkeeping (see `DownloadConfig`: about 200 KiB with 2 048 blocks in flight,
    /// plus 0.05% of the content's length), never the content itself.
    pub max_downloads: usize,
    /// Least time between two `DownloadProgress` events of one download. Default 100 ms, so a
    /// download makes at most 10 progress events a second whatever its speed.
    #[serde(with = "millis")]
    pub download_progress_interval: Duration,
    /// Most remote addresses whose proof of receiving (address validation) is tracked, for the
    /// amplification limit: an address that has not proved it receives is sent at most three
    /// times the bytes received from it. Default 4 096 (some 80 bytes each, so about 330 KiB).
    /// When full, the unvalidated address heard from least recently is forgotten first. Zero
    /// turns the limit off: only for tests and closed networks.
    pub max_paths: usize,
    /// How long the address a peer was last authenticated from is preferred over the address
    /// it signed as its own. Behind a NAT the signed address is private and the observed one
    /// is what reaches the peer; a NAT keeps an idle UDP mapping for 30 s to a few minutes.
    /// Default 120 s.
    #[serde(with = "millis")]
    pub observed_path_lifetime: Duration,
    /// Largest UDP payload this node sends another of our nodes on a session: a larger session
    /// plaintext is cut into fragments (`docs/PROTOCOL.md` section 20) that each fit. Default
    /// 1 200 bytes, which crosses any IPv6 path (1 280-byte MTU) and nearly every IPv4 one
    /// without IP fragmentation, which many paths drop. CJP2P answers keep the sizes CJP2P
    /// peers ask for; over TCP the bound is `max_frame_len`.
    pub max_datagram_size: usize,
    /// Largest message (its JSON and signature) sent or accepted on a session in fragments.
    /// Default 16 MiB.
    pub max_message_len: usize,
    /// Most bytes of messages being sent in fragments, all sessions together: each send keeps
    /// its whole message until the receiver has acknowledged every piece. A send that would
    /// pass the bound (or find `max_waiting_messages` sends under way) is refused with
    /// [`SendError::Blocked`](crate::SendError::Blocked), and [`TransportEvent::Writable`](crate::Event)
    /// follows once the sends under way are down to half of both bounds. Default 64 MiB.
    pub max_fragment_send_memory: usize,
    /// Most bytes held for incomplete fragmented messages, all sessions together: each
    /// reserves its declared length when its first fragment arrives, and one that would pass
    /// the bound is refused. Default 32 MiB.
    pub max_reassembly_memory: usize,
    /// Most fragmented messages being put back together at once. Default 64.
    pub max_reassembling: usize,
    /// How long an incomplete fragmented message waits for its missing pieces before it is
    /// dropped (never delivered in part). Default 30 s.
    #[serde(with = "millis")]
    pub reassembly_timeout: Duration,
    /// A session in use that has sent nothing for this long sends a keepalive, so that the NATs
    /// on its path keep their mappings (they forget idle UDP after 30 s to a few minutes).
    /// Default 15 s: a keepalive is about 64 bytes of UDP payload, 92 with UDP and IPv4
    /// headers, so 240 an hour cost about 22 KB per session in use (`docs/PROTOCOL.md` §21).
    /// Zero turns keepalives off.
    #[serde(with = "millis")]
    pub keepalive_interval: Duration,
    /// How long after it last carried anything but path messages a session counts as in use
    /// and is kept alive. Default 120 s; after that it costs nothing and ends at
    /// `session_idle_timeout`. The session with the default route is always kept alive: that
    /// is the node this one stays reachable through.
    #[serde(with = "millis")]
    pub keepalive_while_used: Duration,
    /// Whether a node probes each session's path for datagrams larger than
    /// `max_datagram_size` (65 507, then 9 000, then 1 452 bytes, each given 1 s), and sends
    /// the largest size acknowledged on that path: loopback and LAN paths then carry whole
    /// content answers, while a 1 280-byte path that drops IP fragments stays at
    /// `max_datagram_size`. Probes go only to addresses that proved they receive. Default true.
    pub path_mtu_probing: bool,
    /// Whether this node takes part in hole punching: it asks a relay to introduce it to a
    /// peer it reaches through that relay, coordinates introductions between its own session
    /// peers (rate-limited: one per pair per 2 s, 64 a second), and probes the candidates an
    /// introduction gives it (`docs/PROTOCOL.md` section 22). Default true.
    pub hole_punching: bool,
    /// A session's send key rotates after this long in use (`docs/PROTOCOL.md` §7.5), as
    /// WireGuard rekeys after 2 minutes. Default 120 s.
    #[serde(with = "millis")]
    pub rekey_after: Duration,
    /// A session's send key rotates after it has sealed this many bytes of plaintext. Default
    /// 1 GiB.
    pub rekey_after_bytes: u64,
    /// A session's send key rotates after it has sealed this many frames (at most 2^32, a key
    /// epoch's counters; at least 1). Default 2^32.
    pub rekey_after_frames: u64,
    /// Whether a first message (a sealed or signed single frame) signed before this node
    /// started is refused: what the replay memory held before a restart is not known, so this
    /// is what keeps a replay after a restart from being delivered again. It also refuses
    /// messages a mailbox held while the node was down; a node that keeps a replay journal
    /// (`replay_journal`) restores its memory instead and takes those once. Default true
    /// (`docs/PROTOCOL.md` §8, "Replay protection across restarts").
    pub refuse_before_start: bool,
    /// Whether the node emits an [`Output::Remember`](crate::Output::Remember) for every first
    /// message it accepts, before that message's event, for the adapter to store; at the
    /// next start the adapter restores it with
    /// [`Command::RestoreReplayMemory`](crate::Command::RestoreReplayMemory). At most
    /// `max_queued_events` wait to be polled; a first message arriving when they are full is
    /// dropped (`TransportStats::dropped_journal_full`) rather than accepted unremembered. Default false.
    pub replay_journal: bool,
    /// Frames needing key work (an X25519 or a signature check: sealed frames, handshake
    /// inits, session resets, mailbox requests) taken per second, with a burst of as many,
    /// before the node counts itself under load. Under load, such a frame from a UDP address
    /// that has not proved it receives is answered with a cookie challenge instead (a few
    /// microseconds, and fewer bytes than the frame), and handled once it comes back with the
    /// cookie (`docs/PROTOCOL.md` §8, "Work under load"). 0: never under load. Default 2 000,
    /// about a quarter of one core's X25519 rate.
    pub key_work_per_second: u32,
}

impl Config {
    /// When sessions rotate their send keys.
    pub(crate) fn rekey_policy(&self) -> crate::crypto::session::RekeyPolicy {
        crate::crypto::session::RekeyPolicy {
            max_frames: self.rekey_after_frames,
            max_bytes: self.rekey_after_bytes,
            max_age: self.rekey_after,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_frame_len: 65_507,
            max_clock_skew: Duration::from_secs(120),
            nonce_memory_capacity: 16_384,
            max_hops: 8,
            max_nesting: 8,
            sessions: true,
            handshake_timeout: Duration::from_secs(2),
            handshake_attempts: 3,
            session_idle_timeout: Duration::from_secs(180),
            max_sessions: 1_024,
            max_pending_handshakes: 256,
            max_streams: 256,
            max_resets_per_second: 16,
            max_clients: 64,
            max_queued_transmits: 1_024,
            max_queued_events: 4_096,
            max_open_queries: 4_096,
            max_rtt_peers: 1_024,
            max_adaptive_timeout: Duration::from_secs(3_600),
            peer_rate: 0,
            peer_burst: 32,
            total_rate: 0,
            total_burst: 128,
            max_throttled_peers: 1_024,
            max_mailboxes: 0,
            max_held_per_mailbox: 64,
            max_held_frames: 1_024,
            max_held_bytes: 4 * 1024 * 1024,
            mailbox_hold_time: Duration::from_secs(60),
            mailbox_lifetime: Duration::from_secs(600),
            max_routes: 1_024,
            max_addresses_per_peer: 4,
            route_retry_after: Duration::from_secs(30),
            max_resend_memory: 64,
            resend_window: Duration::from_secs(2),
            max_pending_lookups: 64,
            lookup_fan_out: 3,
            lookup_timeout: Duration::from_secs(1),
            lookup_attempts: 3,
            max_waiting_messages: 256,
            record_lifetime: Duration::from_secs(3_600),
            cjp2p: Cjp2pConfig::default(),
            max_downloads: 16,
            download_progress_interval: Duration::from_millis(100),
            max_paths: 4_096,
            observed_path_lifetime: Duration::from_secs(120),
            max_datagram_size: 1_200,
            max_message_len: 16 << 20,
            max_fragment_send_memory: 64 << 20,
            max_reassembly_memory: 32 << 20,
            max_reassembling: 64,
            reassembly_timeout: Duration::from_secs(30),
            keepalive_interval: Duration::from_secs(15),
            keepalive_while_used: Duration::from_secs(120),
            path_mtu_probing: true,
            hole_punching: true,
            rekey_after: Duration::from_secs(120),
            rekey_after_bytes: 1 << 30,
            rekey_after_frames: 1 << 32,
            refuse_before_start: true,
            replay_journal: false,
            key_work_per_second: 2_000,
        }
    }
}

/// One builder-style setter per field: `with_<field>(value)` returns the configuration with
/// that field set. Written by a macro so that a new field cannot be left without one.
macro_rules! setters {
    ($($setter:ident => $field:ident: $ty:ty),* $(,)?) => {
        impl Config {
            $(
                #[doc = concat!(
                    "This configuration with [`", stringify!($field), "`](Self::",
                    stringify!($field), ") set to `value`."
                )]
                #[must_use]
                pub fn $setter(mut self, value: $ty) -> Self {
                    self.$field = value;
                    self
                }
            )*
        }

        /// Does not compile when a field of `Config` has no setter: the pattern names every
        /// field and has no `..`.
        #[allow(dead_code)]
        fn every_field_has_a_setter(config: Config) {
            let Config { $($field: _),* } = config;
        }
    };
}

setters! {
    with_max_frame_len => max_frame_len: usize,
    with_max_clock_skew => max_clock_skew: Duration,
    with_nonce_memory_capacity => nonce_memory_capacity: usize,
    with_max_hops => max_hops: u8,
    with_max_nesting => max_nesting: u8,
    with_sessions => sessions: bool,
    with_handshake_timeout => handshake_timeout: Duration,
    with_handshake_attempts => handshake_attempts: u8,
    with_session_idle_timeout => session_idle_timeout: Duration,
    with_max_sessions => max_sessions: usize,
    with_max_pending_handshakes => max_pending_handshakes: usize,
    with_max_streams => max_streams: usize,
    with_max_resets_per_second => max_resets_per_second: u32,
    with_max_clients => max_clients: usize,
    with_max_queued_transmits => max_queued_transmits: usize,
    with_max_queued_events => max_queued_events: usize,
    with_max_open_queries => max_open_queries: usize,
    with_max_rtt_peers => max_rtt_peers: usize,
    with_max_adaptive_timeout => max_adaptive_timeout: Duration,
    with_peer_rate => peer_rate: u32,
    with_peer_burst => peer_burst: u32,
    with_total_rate => total_rate: u32,
    with_total_burst => total_burst: u32,
    with_max_throttled_peers => max_throttled_peers: usize,
    with_max_mailboxes => max_mailboxes: usize,
    with_max_held_per_mailbox => max_held_per_mailbox: usize,
    with_max_held_frames => max_held_frames: usize,
    with_max_held_bytes => max_held_bytes: usize,
    with_mailbox_hold_time => mailbox_hold_time: Duration,
    with_mailbox_lifetime => mailbox_lifetime: Duration,
    with_max_routes => max_routes: usize,
    with_max_addresses_per_peer => max_addresses_per_peer: usize,
    with_route_retry_after => route_retry_after: Duration,
    with_max_resend_memory => max_resend_memory: usize,
    with_resend_window => resend_window: Duration,
    with_max_pending_lookups => max_pending_lookups: usize,
    with_lookup_fan_out => lookup_fan_out: usize,
    with_lookup_timeout => lookup_timeout: Duration,
    with_lookup_attempts => lookup_attempts: u8,
    with_max_waiting_messages => max_waiting_messages: usize,
    with_record_lifetime => record_lifetime: Duration,
    with_cjp2p => cjp2p: Cjp2pConfig,
    with_max_downloads => max_downloads: usize,
    with_download_progress_interval => download_progress_interval: Duration,
    with_max_paths => max_paths: usize,
    with_observed_path_lifetime => observed_path_lifetime: Duration,
    with_max_datagram_size => max_datagram_size: usize,
    with_max_message_len => max_message_len: usize,
    with_max_fragment_send_memory => max_fragment_send_memory: usize,
    with_max_reassembly_memory => max_reassembly_memory: usize,
    with_max_reassembling => max_reassembling: usize,
    with_reassembly_timeout => reassembly_timeout: Duration,
    with_keepalive_interval => keepalive_interval: Duration,
    with_keepalive_while_used => keepalive_while_used: Duration,
    with_path_mtu_probing => path_mtu_probing: bool,
    with_hole_punching => hole_punching: bool,
    with_rekey_after => rekey_after: Duration,
    with_rekey_after_bytes => rekey_after_bytes: u64,
    with_rekey_after_frames => rekey_after_frames: u64,
    with_refuse_before_start => refuse_before_start: bool,
    with_replay_journal => replay_journal: bool,
    with_key_work_per_second => key_work_per_second: u32,
}

/// Durations that must replay exactly (download timers) as whole microseconds.
pub(crate) mod micros {
    use core::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(
        duration: &Duration,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(u64::try_from(duration.as_micros()).unwrap_or(u64::MAX))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Duration, D::Error> {
        u64::deserialize(deserializer).map(Duration::from_micros)
    }

    /// The same for an optional duration, `null` for none.
    pub(crate) mod optional {
        use core::time::Duration;

        use serde::{Deserialize, Deserializer, Serializer};

        pub(crate) fn serialize<S: Serializer>(
            duration: &Option<Duration>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            match duration {
                Some(duration) => super::serialize(duration, serializer),
                None => serializer.serialize_none(),
            }
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<Duration>, D::Error> {
            Option::<u64>::deserialize(deserializer).map(|micros| micros.map(Duration::from_micros))
        }
    }
}

/// Durations in vector files and configuration are whole milliseconds.
pub(crate) mod millis {
    use core::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(
        duration: &Duration,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Duration, D::Error> {
        u64::deserialize(deserializer).map(Duration::from_millis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_round_trips_through_json_and_fills_missing_fields() {
        let config = Config {
            max_hops: 3,
            ..Config::default()
        };
        let text = serde_json::to_string(&config).unwrap();
        assert_eq!(serde_json::from_str::<Config>(&text).unwrap(), config);
        let partial: Config =
            serde_json::from_str(r#"{"max_hops":2,"max_clock_skew":5000}"#).unwrap();
        assert_eq!(partial.max_hops, 2);
        assert_eq!(partial.max_clock_skew, Duration::from_secs(5));
        assert_eq!(partial.max_sessions, Config::default().max_sessions);
    }

    #[test]
    fn unknown_config_fields_are_refused() {
        assert!(serde_json::from_str::<Config>(r#"{"max_hopz":2}"#).is_err());
    }
}
