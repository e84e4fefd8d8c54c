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
use crate::event::Event;
use crate::identity::PublicKey;
use crate::path_message::{PathMessage, is_path_message};
use crate::transport::TransportAddr;

/// The datagram sizes a path MTU probe tries, largest first (each capped at `max_frame_len`):
/// the largest UDP payload (loopback and jumbo paths), a jumbo frame, and Ethernet's 1 500-byte
/// MTU less the IPv4 and UDP headers and some tunnel overhead.
pub(in crate::node) const PROBE_SIZES: [usize; 3] = [65_507, 9_000, 1_452];

/// How often, at most, frames on one session from an unchanged address refresh the routing
/// table's note that the peer was heard there.
const HEARD_NOTE_INTERVAL: core::time::Duration = core::time::Duration::from_secs(1);

/// Least time between two Observed messages for one address on one session (see
/// `SessionEntry::told_recently`).
pub(in crate::node) const OBSERVED_INTERVAL: core::time::Duration =
    core::time::Duration::from_secs(1);

/// Least time between any two Observed messages on one session: bounds what paths that keep
/// changing can make a session send (10 a second) while a real change is told at once.
pub(in crate::node) const OBSERVED_GAP: core::time::Duration =
    core::time::Duration::from_millis(100);

/// Addresses remembered per session for that rule (punch candidates on both sides).
pub(in crate::node) const MAX_TOLD: usize = 8;

/// How long a probe waits for its acknowledgement before the next smaller size is tried.
pub(in crate::node) const PROBE_TIMEOUT: core::time::Duration = core::time::Duration::from_secs(1);

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
        self.transport.tell_observed(&mut self.ctx, index, from);
        if note {
            self.heard_directly(peer, from);
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
                self.transport.send_path_message(
                    &mut self.ctx,
                    &peer,
                    from,
                    &PathMessage::Echo { challenge },
                );
                let by = peer.node_id();
                let observation = self.transport.reflexive.observe(by, address, self.ctx.now);
                // Where the node we stay reachable through sees us is in our record.
                if self
                    .transport
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
                self.transport.send_path_message(
                    &mut self.ctx,
                    &peer,
                    from,
                    &PathMessage::ProbeAck { id },
                );
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
            } => self.transport.on_fragment_ack(
                &mut self.ctx,
                &peer,
                message_id,
                (next, held, highest),
            ),
        }
    }

    /// Sends the keepalives due now, and moves on the probes whose time is up.
    pub(super) fn send_keepalives(&mut self) {
        self.transport.retry_path_probes(&mut self.ctx);
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
                self.transport.keeps_alive(&self.ctx, **index, entry)
                    && entry.last_sent + interval <= now
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
            self.transport
                .send_path_message(&mut self.ctx, &peer, to, &PathMessage::Keepalive);
            self.ctx.stats.keepalives_sent += 1;
        }
    }
}
