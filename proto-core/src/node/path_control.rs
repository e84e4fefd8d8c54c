//! The node's side of path messages (`crate::path_message`): telling each session peer the
//! address its frames come from, proving a new address with the echo, following a peer to a
//! new address, and keepalives while a session is in use.
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

use alloc::vec::Vec;

use super::Node;
use super::sessions::PathProbe;
use crate::address::Address;
use crate::event::Event;
use crate::identity::PublicKey;
use crate::path_message::{PathMessage, is_path_message};
use crate::time::Instant;
use crate::transport::{Protocol, TransportAddr};

/// The datagram sizes a path MTU probe tries, largest first (each capped at `max_frame_len`):
/// the largest UDP payload (loopback and jumbo paths), a jumbo frame, and Ethernet's 1 500-byte
/// MTU less the IPv4 and UDP headers and some tunnel overhead.
const PROBE_SIZES: [usize; 3] = [65_507, 9_000, 1_452];

/// How often, at most, frames on one session from an unchanged address refresh the routing
/// table's note that the peer was heard there.
const HEARD_NOTE_INTERVAL: core::time::Duration = core::time::Duration::from_secs(1);

/// Least time between two Observed messages for one address on one session (see
/// `SessionEntry::told_recently`).
const OBSERVED_INTERVAL: core::time::Duration = core::time::Duration::from_secs(1);

/// Least time between any two Observed messages on one session: bounds what paths that keep
/// changing can make a session send (10 a second) while a real change is told at once.
const OBSERVED_GAP: core::time::Duration = core::time::Duration::from_millis(100);

/// Addresses remembered per session for that rule (punch candidates on both sides).
const MAX_TOLD: usize = 8;

/// How long a probe waits for its acknowledgement before the next smaller size is tried.
const PROBE_TIMEOUT: core::time::Duration = core::time::Duration::from_secs(1);

impl Node {
    /// A frame opened on session `index`, straight from `from`, carrying `plaintext`.
    pub(super) fn on_session_frame_from(
        &mut self,
        index: u32,
        from: TransportAddr,
        plaintext: &[u8],
    ) {
        let now = self.ctx.now;
        let Some(entry) = self.transport.sessions.sessions.get_mut(&index) else {
            return;
        };
        if !is_path_message(plaintext) {
            entry.last_activity = now;
        }
        // Every content datagram comes this way: the routing table hears of the address when
        // it changes, and at most once a second besides (it only needs to stay within
        // `observed_path_lifetime`).
        let note = entry.last_from != from
            || entry
                .heard_noted
                .is_none_or(|at| now.saturating_duration_since(at) >= HEARD_NOTE_INTERVAL);
        entry.last_from = from;
        if note {
            entry.heard_noted = Some(now);
        }
        let peer = entry.peer;
        self.tell_observed(index, from);
        if note {
            self.heard_directly(peer, from);
        }
    }

    /// Tells the peer of session `index` where we see it, `from`, unless we already told it
    /// that (on UDP only, and once the session is confirmed). Also called when our handshake
    /// is answered, so that the peer hears from us on the session at once and tells us too.
    pub(super) fn tell_observed(&mut self, index: u32, from: TransportAddr) {
        let Some(entry) = self.transport.sessions.sessions.get(&index) else {
            return;
        };
        let since = |at: &Instant| self.ctx.now.saturating_duration_since(*at);
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
        let challenge = self.ctx.rng.array();
        if let Some(entry) = self.transport.sessions.sessions.get_mut(&index) {
            entry.told_address = Some(from);
            entry.told_recently.retain(|(told, _)| *told != from);
            if entry.told_recently.len() >= MAX_TOLD {
                entry.told_recently.remove(0);
            }
            entry.told_recently.push((from, self.ctx.now));
            entry.challenge = Some((challenge, from));
        }
        let observed = PathMessage::Observed {
            challenge,
            address: from.addr,
        };
        self.send_path_message(&peer, from, &observed);
        self.start_probing(index, from);
    }

    /// Starts path MTU probing of session `index` toward `to` (validated addresses only: a
    /// probe is large), with the largest size above `max_datagram_size` to try.
    fn start_probing(&mut self, index: u32, to: TransportAddr) {
        if !self.ctx.config.path_mtu_probing || !self.transport.paths.is_validated(&to) {
            return;
        }
        let Some(size) = self.next_probe_size(usize::MAX) else {
            return;
        };
        self.send_probe(index, to, size);
    }

    /// The largest size to probe below `below`, if any is worth trying.
    fn next_probe_size(&self, below: usize) -> Option<usize> {
        PROBE_SIZES
            .iter()
            .map(|size| (*size).min(self.ctx.config.max_frame_len))
            .find(|size| *size < below && *size > self.ctx.config.max_datagram_size)
    }

    /// Sends session `index` a probe whose datagram to `to` is `size` bytes.
    fn send_probe(&mut self, index: u32, to: TransportAddr, size: usize) {
        let Some(entry) = self.transport.sessions.sessions.get(&index) else {
            return;
        };
        let peer = entry.peer;
        let prefix = crate::frame::sealed_prefix(&Address::from_transport(to));
        let overhead =
            Self::session_frame_overhead(&prefix) + crate::path_message::PROBE_HEADER_LEN;
        let id = self.ctx.rng.next_u32();
        let probe = PathMessage::Probe {
            id,
            padding: size.saturating_sub(overhead),
        };
        let deadline = self.ctx.now + PROBE_TIMEOUT;
        if let Some(entry) = self.transport.sessions.sessions.get_mut(&index) {
            entry.probe = Some(PathProbe {
                id,
                to,
                size,
                deadline,
            });
        }
        if let Some(frame) = self.seal_session_after(&peer, &prefix, &probe.encode()) {
            // Whole or not at all: a probe that crosses only in IP fragments proves nothing.
            self.queue_transmit_marked(to, frame, true);
            self.ctx.stats.path_probes_sent += 1;
        }
    }

    /// The probes whose time is up: each tries the next smaller size, or gives up.
    fn retry_path_probes(&mut self) {
        let now = self.ctx.now;
        let due: Vec<(u32, PathProbe)> = self
            .transport
            .sessions
            .sessions
            .iter()
            .filter_map(|(index, entry)| entry.probe.map(|probe| (*index, probe)))
            .filter(|(_, probe)| probe.deadline <= now)
            .collect();
        for (index, probe) in due {
            if let Some(entry) = self.transport.sessions.sessions.get_mut(&index) {
                entry.probe = None;
            }
            if let Some(size) = self.next_probe_size(probe.size) {
                self.send_probe(index, probe.to, size);
            }
        }
    }

    /// A path message that opened on session `index` with `peer`, straight from `from`.
    pub(super) fn on_path_message(
        &mut self,
        index: u32,
        peer: PublicKey,
        from: TransportAddr,
        plaintext: &[u8],
    ) {
        let Ok(message) = PathMessage::decode(plaintext) else {
            self.ctx.stats.dropped_malformed += 1;
            return;
        };
        match message {
            PathMessage::Observed { challenge, address } => {
                self.send_path_message(&peer, from, &PathMessage::Echo { challenge });
                let by = peer.node_id();
                let observation = self.transport.reflexive.observe(by, address, self.ctx.now);
                // Where the node we stay reachable through sees us is in our record.
                if self
                    .default_route
                    .as_ref()
                    .is_some_and(|route| route.key == peer)
                {
                    self.publish_record_if_due();
                }
                let changed_from = match observation {
                    super::reflexive::Observation::Same => return,
                    super::reflexive::Observation::New => None,
                    super::reflexive::Observation::Changed { before } => Some(before),
                };
                let agreeing = self.transport.reflexive.agreeing(address);
                self.ctx.push_event(Event::AddressObserved {
                    address,
                    by,
                    agreeing,
                    changed_from,
                });
            }
            PathMessage::Echo { challenge } => {
                let Some(entry) = self.transport.sessions.sessions.get_mut(&index) else {
                    return;
                };
                if entry.challenge == Some((challenge, from)) {
                    entry.challenge = None;
                    self.transport.paths.validate(from, self.ctx.now);
                    self.on_peer_proved(&peer);
                }
            }
            PathMessage::Keepalive => {}
            PathMessage::Probe { id, .. } => {
                self.send_path_message(&peer, from, &PathMessage::ProbeAck { id });
            }
            PathMessage::ProbeAck { id } => {
                let Some(entry) = self.transport.sessions.sessions.get_mut(&index) else {
                    return;
                };
                if let Some(probe) = entry.probe.filter(|probe| probe.id == id) {
                    entry.probe = None;
                    entry.path_size = Some((probe.to, probe.size));
                }
            }
            PathMessage::PunchRequest { target } => {
                self.on_punch_request(peer, from, crate::identity::NodeId::from_bytes(target));
            }
            PathMessage::Punch {
                peer: other,
                candidates,
            } => {
                self.on_punch(&peer, other, &candidates);
            }
            PathMessage::Publish { record } => self.on_publish(&peer, from, &record),
            PathMessage::PublishAck { seq } => self.on_publish_ack(&peer, seq),
            PathMessage::FragmentAck {
                message_id,
                next,
                held,
                highest,
            } => self.on_fragment_ack(&peer, message_id, (next, held, highest)),
        }
    }

    /// The largest datagram to send on the session with `key` to `to`: what a probe proved
    /// for that address, else `max_datagram_size` (UDP) or `max_frame_len` (TCP).
    pub(super) fn session_datagram_limit(&mut self, key: &PublicKey, to: TransportAddr) -> usize {
        let proved = self
            .transport
            .sessions
            .sending_session(&key.node_id())
            .and_then(|(_, entry)| entry.path_size)
            .filter(|(path, _)| *path == to)
            .map(|(_, size)| size.min(self.ctx.config.max_frame_len));
        proved.unwrap_or_else(|| self.datagram_limit(to))
    }

    /// Seals `message` on the session with `peer` and sends it to `to` (within the
    /// amplification limit if `to` has not proved it receives).
    pub(super) fn send_path_message(
        &mut self,
        peer: &PublicKey,
        to: TransportAddr,
        message: &PathMessage,
    ) {
        let bytes = message.encode();
        if let Some(frame) = self.seal_session_plaintext(peer, &Address::from_transport(to), &bytes)
        {
            self.queue_to_observed(to, frame);
        }
    }

    /// When the next keepalive is due, if any session is in use.
    pub(super) fn next_keepalive(&self) -> Option<Instant> {
        let interval = self.ctx.config.keepalive_interval;
        if interval.is_zero() {
            return None;
        }
        self.transport
            .sessions
            .sessions
            .iter()
            .filter(|(index, entry)| self.keeps_alive(**index, entry))
            .map(|(_, entry)| entry.last_sent + interval)
            .min()
    }

    /// When the next path MTU probe is given up, if one is in flight.
    pub(super) fn next_probe_deadline(&self) -> Option<Instant> {
        self.transport
            .sessions
            .sessions
            .values()
            .filter_map(|entry| entry.probe.map(|probe| probe.deadline))
            .min()
    }

    /// Whether session `index` is kept alive: confirmed, the one we send to its peer on, and
    /// in use, or with our default route (the node we stay reachable through).
    fn keeps_alive(&self, index: u32, entry: &super::sessions::SessionEntry) -> bool {
        let default_route = self
            .default_route
            .as_ref()
            .is_some_and(|route| route.key == entry.peer);
        entry.confirmed
            && self.transport.sessions.by_peer.get(&entry.peer.node_id()) == Some(&index)
            && (default_route
                || self.ctx.now.saturating_duration_since(entry.last_activity)
                    < self.ctx.config.keepalive_while_used)
    }

    /// Sends the keepalives due now, and moves on the probes whose time is up.
    pub(super) fn send_keepalives(&mut self) {
        self.retry_path_probes();
        let interval = self.ctx.config.keepalive_interval;
        if interval.is_zero() {
            return;
        }
        let now = self.ctx.now;
        let due: Vec<u32> = self
            .transport
            .sessions
            .sessions
            .iter()
            .filter(|(index, entry)| {
                self.keeps_alive(**index, entry) && entry.last_sent + interval <= now
            })
            .map(|(index, _)| *index)
            .collect();
        self.publish_record_if_due();
        for index in due {
            let Some(entry) = self.transport.sessions.sessions.get_mut(&index) else {
                continue;
            };
            // Counted as sent even if sealing fails, so a timer is never due again at once.
            entry.last_sent = now;
            let (peer, last_from) = (entry.peer, entry.last_from);
            let to = self.path_for(&peer, last_from);
            self.send_path_message(&peer, to, &PathMessage::Keepalive);
            self.ctx.stats.keepalives_sent += 1;
        }
    }
}
