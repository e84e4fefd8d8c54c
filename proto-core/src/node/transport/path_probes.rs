//! The transport's path control (`crate::path_message`): telling each session peer the address
//! its frames come from, proving a new address with the echo, probing the path's MTU with
//! don't-fragment datagrams, path messages on a session, and keepalives while a session is in
//! use.
//!
//! **Following a peer.** A session is keyed by index, not by address. A frame that opens on
//! it from a new UDP address (the peer's NAT rebound, or the peer moved) makes that address
//! the peer's most recent one, so what the node sends goes there, within the amplification
//! limit until the address echoes the observation the node sends it (`node/paths/`).
//!
//! **Keepalives.** A NAT forgets an idle UDP mapping after 30 s to a few minutes. While a
//! session has carried something other than path messages within
//! [`Config::keepalive_while_used`](crate::Config::keepalive_while_used), the node sends a
//! keepalive on it whenever it has sent nothing for
//! [`Config::keepalive_interval`](crate::Config::keepalive_interval). A session not in use
//! costs nothing and ends at its idle timeout, except the one with the default route: that is
//! the node this one stays reachable through, so it is kept alive for as long as it lasts.

use super::Transport;
use crate::address::Address;
use crate::identity::PublicKey;
use crate::node::context::Context;
use crate::node::sessions::PathProbe;
use crate::path_message::PathMessage;
use crate::time::Instant;
use crate::transport::{Protocol, TransportAddr};
use alloc::vec::Vec;

/// The datagram sizes a path MTU probe tries, largest first (each capped at `max_frame_len`):
/// the largest UDP payload (loopback and jumbo paths), a jumbo frame, and Ethernet's 1 500-byte
/// MTU less the IPv4 and UDP headers and some tunnel overhead.
pub(super) const PROBE_SIZES: [usize; 3] = [65_507, 9_000, 1_452];

/// Least time between two Observed messages for one address on one session (see
/// `SessionEntry::told_recently`).
pub(super) const OBSERVED_INTERVAL: core::time::Duration = core::time::Duration::from_secs(1);

/// Least time between any two Observed messages on one session: bounds what paths that keep
/// changing can make a session send (10 a second) while a real change is told at once.
pub(super) const OBSERVED_GAP: core::time::Duration = core::time::Duration::from_millis(100);

/// Addresses remembered per session for that rule (punch candidates on both sides).
pub(super) const MAX_TOLD: usize = 8;

/// How long a probe waits for its acknowledgement before the next smaller size is tried.
pub(super) const PROBE_TIMEOUT: core::time::Duration = core::time::Duration::from_secs(1);

impl Transport {
    /// Tells the peer of session `index` where we see it, `from`, unless we already told it
    /// that (on UDP only, and once the session is confirmed). Also called when our handshake
    /// is answered, so that the peer hears from us on the session at once and tells us too.
    pub(in crate::node) fn tell_observed(
        &mut self,
        ctx: &mut Context,
        index: u32,
        from: TransportAddr,
    ) {
        let Some(entry) = self.sessions.sessions.get(&index) else {
            return;
        };
        let since = |at: &Instant| ctx.now.saturating_duration_since(*at);
        let recently = entry.told_recently.iter().any(|(told, at)| {
            (*told == from && since(at) < OBSERVED_INTERVAL) || since(at) < OBSERVED_GAP
        });
        if from.protocol != Protocol::Udp
            || !entry.confirmed
            || entry.told_address == Some(from)
            || recently
        {
            return;
        }
        let peer = entry.peer;
        let challenge = ctx.rng.array();
        if let Some(entry) = self.sessions.sessions.get_mut(&index) {
            entry.told_address = Some(from);
            entry.told_recently.retain(|(told, _)| *told != from);
            if entry.told_recently.len() >= MAX_TOLD {
                entry.told_recently.remove(0);
            }
            entry.told_recently.push((from, ctx.now));
            entry.challenge = Some((challenge, from));
        }
        let observed = PathMessage::Observed {
            challenge,
            address: from.addr,
        };
        self.send_path_message(ctx, &peer, from, &observed);
        self.start_probing(ctx, index, from);
    }

    /// Starts path MTU probing of session `index` toward `to` (validated addresses only: a
    /// probe is large), with the largest size above `max_datagram_size` to try.
    pub(in crate::node) fn start_probing(
        &mut self,
        ctx: &mut Context,
        index: u32,
        to: TransportAddr,
    ) {
        if !ctx.config.path_mtu_probing || !self.paths.is_validated(&to) {
            return;
        }
        let Some(size) = self.next_probe_size(ctx, usize::MAX) else {
            return;
        };
        self.send_probe(ctx, index, to, size);
    }

    /// The largest size to probe below `below`, if any is worth trying.
    pub(in crate::node) fn next_probe_size(&self, ctx: &Context, below: usize) -> Option<usize> {
        PROBE_SIZES
            .iter()
            .map(|size| (*size).min(ctx.config.max_frame_len))
            .find(|size| *size < below && *size > ctx.config.max_datagram_size)
    }

    /// Sends session `index` a probe whose datagram to `to` is `size` bytes.
    pub(in crate::node) fn send_probe(
        &mut self,
        ctx: &mut Context,
        index: u32,
        to: TransportAddr,
        size: usize,
    ) {
        let Some(entry) = self.sessions.sessions.get(&index) else {
            return;
        };
        let peer = entry.peer;
        let prefix = crate::frame::sealed_prefix(&Address::from_transport(to));
        let overhead =
            Self::session_frame_overhead(&prefix) + crate::path_message::PROBE_HEADER_LEN;
        let id = ctx.rng.next_u32();
        let probe = PathMessage::Probe {
            id,
            padding: size.saturating_sub(overhead),
        };
        let deadline = ctx.now + PROBE_TIMEOUT;
        if let Some(entry) = self.sessions.sessions.get_mut(&index) {
            entry.probe = Some(PathProbe {
                id,
                to,
                size,
                deadline,
            });
        }
        if let Some(frame) = self.seal_session_after(ctx, &peer, &prefix, &probe.encode()) {
            // Whole or not at all: a probe that crosses only in IP fragments proves nothing.
            self.queue_transmit_marked(ctx, to, frame, true);
            ctx.stats.transport.path_probes_sent += 1;
        }
    }

    /// The probes whose time is up: each tries the next smaller size, or gives up.
    pub(in crate::node) fn retry_path_probes(&mut self, ctx: &mut Context) {
        let now = ctx.now;
        let due: Vec<(u32, PathProbe)> = self
            .sessions
            .sessions
            .iter()
            .filter_map(|(index, entry)| entry.probe.map(|probe| (*index, probe)))
            .filter(|(_, probe)| probe.deadline <= now)
            .collect();
        for (index, probe) in due {
            if let Some(entry) = self.sessions.sessions.get_mut(&index) {
                entry.probe = None;
            }
            if let Some(size) = self.next_probe_size(ctx, probe.size) {
                self.send_probe(ctx, index, probe.to, size);
            }
        }
    }

    /// The largest datagram to send on the session with `key` to `to`: what a probe proved
    /// for that address, else `max_datagram_size` (UDP) or `max_frame_len` (TCP).
    pub(in crate::node) fn session_datagram_limit(
        &mut self,
        ctx: &mut Context,
        key: &PublicKey,
        to: TransportAddr,
    ) -> usize {
        let proved = self
            .sessions
            .sending_session(&key.node_id())
            .and_then(|(_, entry)| entry.path_size)
            .filter(|(path, _)| *path == to)
            .map(|(_, size)| size.min(ctx.config.max_frame_len));
        proved.unwrap_or_else(|| self.datagram_limit(ctx, to))
    }

    /// Seals `message` on the session with `peer` and sends it to `to` (within the
    /// amplification limit if `to` has not proved it receives).
    pub(in crate::node) fn send_path_message(
        &mut self,
        ctx: &mut Context,
        peer: &PublicKey,
        to: TransportAddr,
        message: &PathMessage,
    ) {
        let bytes = message.encode();
        if let Some(frame) =
            self.seal_session_plaintext(ctx, peer, &Address::from_transport(to), &bytes)
        {
            self.queue_to_observed(ctx, to, frame);
        }
    }

    /// When the next keepalive is due, if any session is in use.
    pub(in crate::node) fn next_keepalive(&self, ctx: &Context) -> Option<Instant> {
        let interval = ctx.config.keepalive_interval;
        if interval.is_zero() {
            return None;
        }
        self.sessions
            .sessions
            .iter()
            .filter(|(index, entry)| self.keeps_alive(ctx, **index, entry))
            .map(|(_, entry)| entry.last_sent + interval)
            .min()
    }

    /// When the next path MTU probe is given up, if one is in flight.
    pub(in crate::node) fn next_probe_deadline(&self) -> Option<Instant> {
        self.sessions
            .sessions
            .values()
            .filter_map(|entry| entry.probe.map(|probe| probe.deadline))
            .min()
    }

    /// Whether session `index` is kept alive: confirmed, the one we send to its peer on, and
    /// in use, or with our default route (the node we stay reachable through).
    pub(in crate::node) fn keeps_alive(
        &self,
        ctx: &Context,
        index: u32,
        entry: &crate::node::sessions::SessionEntry,
    ) -> bool {
        let default_route = self
            .default_route
            .as_ref()
            .is_some_and(|route| route.key == entry.peer);
        entry.confirmed
            && self.sessions.by_peer.get(&entry.peer.node_id()) == Some(&index)
            && (default_route
                || ctx.now.saturating_duration_since(entry.last_activity)
                    < ctx.config.keepalive_while_used)
    }
}
