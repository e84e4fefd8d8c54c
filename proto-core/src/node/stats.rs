//! Counters of what a node did with its input.

use serde::{Deserialize, Serialize};

/// What a node has received, delivered, forwarded and dropped since it started, grouped by
/// the sub-machine that counts it.
///
/// Bad network input is never an error: it lands in one of the `dropped_*` counters. The
/// groups are flattened when serialised, so the JSON form is one object of counters.
///
/// ```
/// let stats = ejtp_proto::Stats::default();
/// assert_eq!(stats.transport.dropped_malformed, 0);
/// assert_eq!(stats.queries.delivered, 0);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Stats {
    /// What the EJTP transport did: frames, sessions, key work, paths and punching.
    #[serde(flatten)]
    pub transport: TransportStats,
    /// What the delivery of messages and the query table did.
    #[serde(flatten)]
    pub queries: QueryStats,
    /// What routing did: lookups, address records, relayed sends and failed transmits.
    #[serde(flatten)]
    pub routing: RoutingStats,
    /// What the store-and-forward relay did: frames held for away recipients and mailboxes.
    #[serde(flatten)]
    pub relay: RelayStats,
    /// What the CJP2P peer did with the datagrams it read.
    #[serde(flatten)]
    pub cjp2p: Cjp2pStats,
    /// What downloads and content sessions did.
    #[serde(flatten)]
    pub fetch: FetchStats,
}

/// What the EJTP transport did: frames read and sent, sessions, key work, paths,
/// fragments, hole punching, and what it dropped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct TransportStats {
    /// Datagrams handed to the node.
    pub datagrams_received: u64,
    /// Complete frames read from TCP streams.
    pub stream_frames_received: u64,
    /// Frames sent on for someone else (onion relay and default route).
    pub forwarded: u64,
    /// Transmits queued.
    pub transmits: u64,
    /// Input that does not parse (frames, bodies, stream framing).
    pub dropped_malformed: u64,
    /// Frames that carry no sender authentication (a bare `j`, or `s` outside a session without
    /// a signature).
    pub dropped_unauthenticated: u64,
    /// Frames that failed to decrypt or whose signature did not verify.
    pub dropped_crypto: u64,
    /// Frames seen before (nonce, ephemeral key or session counter).
    pub dropped_replay: u64,
    /// Frames whose timestamp is outside the allowed clock skew.
    pub dropped_stale: u64,
    /// Session frames for a session we do not have.
    pub dropped_unknown_session: u64,
    /// First messages dropped because `Config::replay_journal` is on and the records waiting
    /// to be stored are at their bound.
    pub dropped_journal_full: u64,
    /// Times a session's send key rotated (`Config::rekey_after` and its siblings).
    pub session_rekeys: u64,
    /// Frames needing key work answered with a cookie challenge instead: the node was under
    /// load (`Config::key_work_per_second`) and their address had not proved it receives.
    pub cookie_challenges_sent: u64,
    /// Frames that came back with a good cookie and were handled.
    pub cookie_echoes_taken: u64,
    /// Cookie echoes whose cookie was not one this node made for their address lately.
    pub dropped_bad_cookie: u64,
    /// Cookie challenges that named no frame this node had sent there: ignored.
    pub dropped_stray_challenge: u64,
    /// Frames sent with a cookie a peer under load gave this node.
    pub frames_sent_with_cookie: u64,
    /// Frames that would pass `max_hops` or `max_nesting`.
    pub dropped_hop_limit: u64,
    /// Frames to forward with no route and no default route.
    pub dropped_no_route: u64,
    /// Frames larger than `max_frame_len`.
    pub dropped_too_large: u64,
    /// Traffic this node does not speak (CJP2P datagrams when `Config::cjp2p.enabled` is off or
    /// on TCP, bz2 compression, handshakes when sessions are off).
    pub dropped_unsupported: u64,
    /// Transmits dropped because the transmit queue was full.
    pub dropped_transmit_queue_full: u64,
    /// Events dropped because the event queue was full.
    pub dropped_event_queue_full: u64,
    /// Stream bytes refused because `max_streams` streams already had partial frames.
    pub dropped_stream_limit: u64,
    /// Frames not sent because a token bucket was empty (relayed frames; application sends are
    /// handed back instead).
    pub dropped_throttled: u64,
    /// Transmits not sent because the address they went to has not proved it receives and
    /// they would have passed three times the bytes received from it (the amplification
    /// limit).
    pub dropped_amplification: u64,
    /// Remote addresses that proved they receive what this node sends there.
    pub paths_validated: u64,
    /// Session frames sent as fragments of a larger plaintext.
    pub fragments_sent: u64,
    /// Fragmented messages put back together and handled.
    pub fragmented_received: u64,
    /// Fragments dropped: malformed, outside a session, inconsistent with their message,
    /// refused by the reassembly bounds, or part of a message that timed out.
    pub fragments_dropped: u64,
    /// Messages too large for one datagram held until the session with their recipient is
    /// up (they then go in fragments).
    pub held_for_session: u64,
    /// Keepalives sent on sessions in use (`Config::keepalive_interval`).
    pub keepalives_sent: u64,
    /// Path MTU probes sent (`Config::path_mtu_probing`).
    pub path_probes_sent: u64,
    /// Messages in fragments given up: the receiver acknowledged nothing for about 30 s of
    /// retransmissions.
    pub fragment_sends_given_up: u64,
    /// Sends refused with `SendError::Blocked` because the messages under way in fragments
    /// held `Config::max_fragment_send_memory` (or `max_waiting_messages` sends).
    pub refused_fragment_memory: u64,
    /// Introductions this node asked a relay for (hole punching).
    pub punch_requests_sent: u64,
    /// Introductions this node made as a coordinator (a `Punch` to each end).
    pub punch_introductions: u64,
    /// Introductions refused: no session with the target, or a rate limit.
    pub punch_introductions_refused: u64,
    /// Hole-punching attempts this node started.
    pub punch_attempts: u64,
    /// Attempts that opened a direct path.
    pub punch_succeeded: u64,
    /// Attempts that sent every probe without a session.
    pub punch_failed: u64,
}

/// What the delivery of messages and the query table did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct QueryStats {
    /// Messages delivered to local clients.
    pub delivered: u64,
    /// Messages for a callsign no local client has.
    pub dropped_unknown_client: u64,
    /// Authenticated replies that answer no open query (unknown, already answered, timed out
    /// or cancelled, or not signed by the peer the query went to).
    pub dropped_unmatched_reply: u64,
}

/// What routing did: lookups, address records, relayed sends and failed transmits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct RoutingStats {
    /// Rounds of lookup requests sent.
    pub lookups_sent: u64,
    /// Lookup requests not answered (no record held, or the answer would be more than three
    /// times the request).
    pub lookups_unanswered: u64,
    /// Lookup answers for no lookup in flight.
    pub dropped_unmatched_lookup: u64,
    /// Address records refused: malformed, badly signed, for another node, or expired.
    pub dropped_bad_record: u64,
    /// Address records refused for being no newer than the one held.
    pub dropped_stale_record: u64,
    /// Times this node published its address record to its default route.
    pub records_published: u64,
    /// Messages sent through a relay because their recipient had no direct path open.
    pub relayed_sends: u64,
    /// Transmits the adapter reported failed.
    pub transmits_failed: u64,
}

/// What the store-and-forward relay did: frames held for away recipients and mailboxes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct RelayStats {
    /// Frames held for an away recipient (store-and-forward relay).
    pub held: u64,
    /// Held frames handed over to their recipient.
    pub handed_over: u64,
    /// Held frames dropped, oldest first, to stay within the store's bounds.
    pub dropped_held_overflow: u64,
    /// Held frames dropped because they were held for `mailbox_hold_time`, or their mailbox
    /// ended.
    pub dropped_held_expired: u64,
    /// Mailbox requests refused: replayed or stale, not for us, mailboxes full or off, or an
    /// address we cannot hand over to (bad signatures count as `dropped_crypto`).
    pub dropped_mailbox_request: u64,
}

/// What the CJP2P peer did with the datagrams it read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Cjp2pStats {
    /// CJP2P datagrams read (JSON arrays within the bounds).
    pub cjp2p_datagrams: u64,
    /// CJP2P messages handled (elements that parsed, and those inside verified signed arrays).
    pub cjp2p_messages: u64,
    /// CJP2P elements skipped because they did not parse (or were signed arrays nested too
    /// deep).
    pub cjp2p_skipped: u64,
    /// CJP2P datagrams dropped whole: not JSON, not an array, too large, too many elements or
    /// nested too deeply (also signed payloads that are none of these).
    pub cjp2p_dropped: u64,
    /// CJP2P datagrams that did not return our cookie: answered small.
    pub cjp2p_unverified: u64,
    /// Unverified CJP2P datagrams that got no reply: even our cookie alone would have been more
    /// than three times their size.
    pub cjp2p_withheld: u64,
    /// Answers to verified CJP2P datagrams left out because the reply would not fit in one
    /// datagram.
    pub cjp2p_answers_dropped: u64,
    /// `SignedMessage`s whose signature did not verify: dropped with their inner messages.
    pub cjp2p_bad_signatures: u64,
    /// `Content` answers served.
    pub cjp2p_content_served: u64,
    /// Content requests the store failed to read.
    pub cjp2p_store_failures: u64,
}

/// What downloads and content sessions did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct FetchStats {
    /// CJP2P `Content` or `MaybeTheyHaveSome` for an active download in a datagram that did not
    /// return our cookie: not fed to the download (its source may be forged).
    pub download_unverified: u64,
    /// Download requests not sent because the transmit queue was full (asked again later).
    pub download_requests_dropped: u64,
    /// Downloads that completed (verified and stored).
    pub downloads_completed: u64,
    /// Downloads that failed.
    pub downloads_failed: u64,
    /// Content requests sent in EJTP sessions (to our own nodes) rather than as CJP2P.
    pub session_content_requests: u64,
    /// Content answers (`Data` or `Missing`) sent in EJTP sessions.
    pub session_content_served: u64,
    /// Content bytes received in EJTP sessions and handed to a download.
    pub session_content_bytes: u64,
    /// Content messages in sessions that were dropped: malformed, for no active download, or
    /// from a session whose key is not the one known for the sending address.
    pub session_content_dropped: u64,
}
