//! The transport's wake-ups: handshake retries, idle sessions, replay memory ageing, throttled
//! peers getting tokens back, reassembly, keepalives, path probes, hole punching and fragment
//! retransmission. Each deadline is derived from the state it concerns.

use super::Transport;
use crate::io::TimerReason;
use crate::node::context::Context;
use crate::time::Instant;

impl Transport {
    /// The transport's earliest deadline, and why; ties go to the reason declared first (as
    /// across the node's sub-machines, see `Node::next_timeout`).
    pub(in crate::node) fn next_timeout(&self, ctx: &Context) -> Option<(Instant, TimerReason)> {
        let prune = [
            self.signature_nonces.next_expiry(),
            self.sealed_nonces.next_expiry(),
        ]
        .into_iter()
        .flatten()
        .min()
        .map(|wall| ctx.instant_at_wall(wall));
        [
            (self.sessions.next_retry(), TimerReason::HandshakeRetry),
            (
                self.sessions.next_idle(ctx.config.session_idle_timeout),
                TimerReason::SessionIdle,
            ),
            (prune, TimerReason::ReplayPrune),
            (self.throttling.next_writable(), TimerReason::Throttle),
            (self.reassembly.next_timeout(), TimerReason::Reassembly),
            (self.next_keepalive(ctx), TimerReason::Keepalive),
            (self.next_probe_deadline(), TimerReason::PathProbe),
            (self.punching.next_timeout(), TimerReason::HolePunch),
            (
                self.next_fragment_retransmit(),
                TimerReason::FragmentRetransmit,
            ),
        ]
        .into_iter()
        .filter_map(|(at, reason)| at.map(|at| (at, reason)))
        .min()
    }
}
