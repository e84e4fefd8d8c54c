//! The transport's path control: telling a session peer where we see it, probing the path's
//! MTU with don't-fragment datagrams, path messages on a session, and keepalives.

use super::Transport;
use crate::address::Address;
use crate::identity::PublicKey;
use crate::node::context::Context;
use crate::node::path_control::{
    MAX_TOLD, OBSERVED_GAP, OBSERVED_INTERVAL, PROBE_SIZES, PROBE_TIMEOUT,
};
use crate::node::sessions::PathProbe;
use crate::path_message::PathMessage;
use crate::time::Instant;
use crate::transport::{Protocol, TransportAddr};
use alloc::vec::Vec;

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
            ctx.stats.path_probes_sent += 1;
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
