//! What a session peer says about the path, as the transport handles it: frames noting where
//! the peer is heard, the path messages it answers itself (observations, echoes, MTU probes,
//! fragment acknowledgements), and keepalives. What concerns routing or introductions is
//! handed back to the node.

use alloc::vec::Vec;

use super::Transport;
use crate::event::{Event, TransportEvent};
use crate::identity::PublicKey;
use crate::node::context::Context;
use crate::node::reflexive::Observation;
use crate::path_message::{PathMessage, is_path_message};
use crate::transport::TransportAddr;

/// How often, at most, frames on one session from an unchanged address refresh the routing
/// table's note that the peer was heard there.
const HEARD_NOTE_INTERVAL: core::time::Duration = core::time::Duration::from_secs(1);

/// What a path message asks of the rest of the node once the transport has handled it.
pub(in crate::node) enum PathHandOn {
    /// Nothing.
    Done,
    /// Our default route said where it sees us: our address record may change.
    SeenByRoute,
    /// The peer proved it receives at the address it echoed from.
    Proved,
    /// A punch request, a punch, a published record or its acknowledgement: for the
    /// introductions and routing.
    Message(PathMessage),
}

impl Transport {
    /// A frame opened on session `index`, straight from `from`, carrying `plaintext`: the
    /// session follows the address, and the peer is told where its frames come from. The peer
    /// whose being heard at `from` the routing table should note, when that is due (on a new
    /// address, and at most once a second besides: every content datagram comes this way).
    pub(in crate::node) fn on_session_frame_from(
        &mut self,
        ctx: &mut Context,
        index: u32,
        from: TransportAddr,
        plaintext: &[u8],
    ) -> Option<PublicKey> {
        let now = ctx.now;
        let entry = self.sessions.sessions.get_mut(&index)?;
        if !is_path_message(plaintext) {
            entry.last_activity = now;
        }
        let note = entry.last_from != from
            || entry
                .heard_noted
                .is_none_or(|at| now.saturating_duration_since(at) >= HEARD_NOTE_INTERVAL);
        entry.last_from = from;
        if note {
            entry.heard_noted = Some(now);
        }
        let peer = entry.peer;
        self.tell_observed(ctx, index, from);
        note.then_some(peer)
    }

    /// A path message that opened on session `index` with `peer`, straight from `from`.
    pub(in crate::node) fn on_path_message(
        &mut self,
        ctx: &mut Context,
        index: u32,
        peer: &PublicKey,
        from: TransportAddr,
        message: PathMessage,
    ) -> PathHandOn {
        match message {
            PathMessage::Observed { challenge, address } => {
                self.send_path_message(ctx, peer, from, &PathMessage::Echo { challenge });
                let by = peer.node_id();
                let observation = self.reflexive.observe(by, address, ctx.now);
                let changed_from = match observation {
                    Observation::Same => None,
                    Observation::New => Some(None),
                    Observation::Changed { before } => Some(Some(before)),
                };
                if let Some(changed_from) = changed_from {
                    let agreeing = self.reflexive.agreeing(address);
                    ctx.push_event(Event::Transport(TransportEvent::AddressObserved {
                        address,
                        by,
                        agreeing,
                        changed_from,
                    }));
                }
                // Where the node we stay reachable through sees us is in our record.
                if self.is_default_route(peer) {
                    PathHandOn::SeenByRoute
                } else {
                    PathHandOn::Done
                }
            }
            PathMessage::Echo { challenge } => {
                let Some(entry) = self.sessions.sessions.get_mut(&index) else {
                    return PathHandOn::Done;
                };
                if entry.challenge != Some((challenge, from)) {
                    return PathHandOn::Done;
                }
                entry.challenge = None;
                self.paths.validate(from, ctx.now);
                PathHandOn::Proved
            }
            PathMessage::Keepalive => PathHandOn::Done,
            PathMessage::Probe { id, .. } => {
                self.send_path_message(ctx, peer, from, &PathMessage::ProbeAck { id });
                PathHandOn::Done
            }
            PathMessage::ProbeAck { id } => {
                if let Some(entry) = self.sessions.sessions.get_mut(&index) {
                    if let Some(probe) = entry.probe.filter(|probe| probe.id == id) {
                        entry.probe = None;
                        entry.path_size = Some((probe.to, probe.size));
                    }
                }
                PathHandOn::Done
            }
            PathMessage::FragmentAck {
                message_id,
                next,
                held,
                highest,
            } => {
                self.on_fragment_ack(ctx, peer, message_id, (next, held, highest));
                PathHandOn::Done
            }
            other => PathHandOn::Message(other),
        }
    }

    /// Moves on the MTU probes whose time is up, and says which sessions owe a keepalive now
    /// (`None` when keepalives are off).
    pub(in crate::node) fn keepalives_due(&mut self, ctx: &mut Context) -> Option<Vec<u32>> {
        self.retry_path_probes(ctx);
        let interval = ctx.config.keepalive_interval;
        if interval.is_zero() {
            return None;
        }
        let now = ctx.now;
        Some(
            self.sessions
                .sessions
                .iter()
                .filter(|(index, entry)| {
                    self.keeps_alive(ctx, **index, entry) && entry.last_sent + interval <= now
                })
                .map(|(index, _)| *index)
                .collect(),
        )
    }

    /// Counts a keepalive as sent on session `index` (even if sealing it fails, so a timer is
    /// never due again at once): its peer, and where the session last heard from it.
    pub(in crate::node) fn keepalive_sent(
        &mut self,
        ctx: &Context,
        index: u32,
    ) -> Option<(PublicKey, TransportAddr)> {
        let entry = self.sessions.sessions.get_mut(&index)?;
        entry.last_sent = ctx.now;
        Some((entry.peer, entry.last_from))
    }
}
