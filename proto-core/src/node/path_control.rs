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
use crate::address::Address;
use crate::event::Event;
use crate::identity::PublicKey;
use crate::path_message::{PathMessage, is_path_message};
use crate::time::Instant;
use crate::transport::{Protocol, TransportAddr};

impl Node {
    /// A frame opened on session `index`, straight from `from`, carrying `plaintext`.
    pub(super) fn on_session_frame_from(
        &mut self,
        index: u32,
        from: TransportAddr,
        plaintext: &[u8],
    ) {
        let now = self.now;
        let Some(entry) = self.sessions.sessions.get_mut(&index) else {
            return;
        };
        if !is_path_message(plaintext) {
            entry.last_activity = now;
        }
        entry.last_from = from;
        let peer = entry.peer;
        if from.protocol != Protocol::Udp {
            return;
        }
        self.tell_observed(index, from);
        self.heard_directly(peer, from);
    }

    /// Tells the peer of session `index` where we see it, `from`, unless we already told it
    /// that (on UDP only, and once the session is confirmed). Also called when our handshake
    /// is answered, so that the peer hears from us on the session at once and tells us too.
    pub(super) fn tell_observed(&mut self, index: u32, from: TransportAddr) {
        let Some(entry) = self.sessions.sessions.get(&index) else {
            return;
        };
        if from.protocol != Protocol::Udp || !entry.confirmed || entry.told_address == Some(from) {
            return;
        }
        let peer = entry.peer;
        let challenge = self.rng.array();
        if let Some(entry) = self.sessions.sessions.get_mut(&index) {
            entry.told_address = Some(from);
            entry.challenge = Some((challenge, from));
        }
        let observed = PathMessage::Observed {
            challenge,
            address: from.addr,
        };
        self.send_path_message(&peer, from, &observed);
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
            self.stats.dropped_malformed += 1;
            return;
        };
        match message {
            PathMessage::Observed { challenge, address } => {
                self.send_path_message(&peer, from, &PathMessage::Echo { challenge });
                let by = peer.node_id();
                let changed_from = match self.reflexive.observe(by, address, self.now) {
                    super::reflexive::Observation::Same => return,
                    super::reflexive::Observation::New => None,
                    super::reflexive::Observation::Changed { before } => Some(before),
                };
                let agreeing = self.reflexive.agreeing(address);
                self.push_event(Event::AddressObserved {
                    address,
                    by,
                    agreeing,
                    changed_from,
                });
            }
            PathMessage::Echo { challenge } => {
                let Some(entry) = self.sessions.sessions.get_mut(&index) else {
                    return;
                };
                if entry.challenge == Some((challenge, from)) {
                    entry.challenge = None;
                    self.paths.validate(from, self.now);
                }
            }
            PathMessage::Keepalive => {}
        }
    }

    /// Seals `message` on the session with `peer` and sends it to `to` (within the
    /// amplification limit if `to` has not proved it receives).
    fn send_path_message(&mut self, peer: &PublicKey, to: TransportAddr, message: &PathMessage) {
        let bytes = message.encode();
        if let Some(frame) = self.seal_session_plaintext(peer, &Address::from_transport(to), &bytes)
        {
            self.queue_to_observed(to, frame);
        }
    }

    /// When the next keepalive is due, if any session is in use.
    pub(super) fn next_keepalive(&self) -> Option<Instant> {
        let interval = self.config.keepalive_interval;
        if interval.is_zero() {
            return None;
        }
        self.sessions
            .sessions
            .iter()
            .filter(|(index, entry)| self.keeps_alive(**index, entry))
            .map(|(_, entry)| entry.last_sent + interval)
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
            && self.sessions.by_peer.get(&entry.peer.node_id()) == Some(&index)
            && (default_route
                || self.now.saturating_duration_since(entry.last_activity)
                    < self.config.keepalive_while_used)
    }

    /// Sends the keepalives due now.
    pub(super) fn send_keepalives(&mut self) {
        let interval = self.config.keepalive_interval;
        if interval.is_zero() {
            return;
        }
        let now = self.now;
        let due: Vec<u32> = self
            .sessions
            .sessions
            .iter()
            .filter(|(index, entry)| {
                self.keeps_alive(**index, entry) && entry.last_sent + interval <= now
            })
            .map(|(index, _)| *index)
            .collect();
        for index in due {
            let Some(entry) = self.sessions.sessions.get_mut(&index) else {
                continue;
            };
            // Counted as sent even if sealing fails, so a timer is never due again at once.
            entry.last_sent = now;
            let (peer, last_from) = (entry.peer, entry.last_from);
            let to = self.path_for(&peer, last_from);
            self.send_path_message(&peer, to, &PathMessage::Keepalive);
            self.stats.keepalives_sent += 1;
        }
    }
}
