//! The node's wake-ups: handshake retries, idle sessions, replay memory ageing, query
//! timeouts, throttled peers getting tokens back, and held frames ageing out.
//!
//! Nothing is scheduled ahead: each deadline is derived from the state it concerns, and the
//! next timeout is the earliest of them.

use core::time::Duration;

use super::Node;
use super::session_timers::DueHandshake;
use crate::event::Event;
use crate::io::{Timeout, TimerReason};
use crate::time::{Instant, UnixMillis};

impl Node {
    pub(super) fn next_timeout(&self) -> Option<Timeout> {
        let retry = self
            .transport
            .sessions
            .next_retry()
            .map(|at| (at, TimerReason::HandshakeRetry));
        let idle = self
            .transport
            .sessions
            .next_idle(self.ctx.config.session_idle_timeout)
            .map(|at| (at, TimerReason::SessionIdle));
        let prune = [
            self.transport.signature_nonces.next_expiry(),
            self.transport.sealed_nonces.next_expiry(),
        ]
        .into_iter()
        .flatten()
        .min()
        .map(|wall| (self.instant_at_wall(wall), TimerReason::ReplayPrune));
        let query = self.queries.next_timeout().map(|(at, soft)| {
            let reason = if soft {
                TimerReason::QuerySoftTimeout
            } else {
                TimerReason::QueryHardTimeout
            };
            (at, reason)
        });
        let writable = self
            .transport
            .throttling
            .next_writable()
            .map(|at| (at, TimerReason::Throttle));
        let held = self
            .relay
            .next_timeout()
            .map(|at| (at, TimerReason::MailboxExpiry));
        let lookup = self
            .routing
            .lookups
            .next_deadline()
            .map(|at| (at, TimerReason::LookupTimeout));
        let cjp2p = self
            .cjp2p
            .next_maintenance()
            .map(|at| (at, TimerReason::Cjp2pMaintenance));
        let download = self
            .downloads
            .next_timeout()
            .map(|at| (at, TimerReason::Download));
        let reassembly = self
            .transport
            .reassembly
            .next_timeout()
            .map(|at| (at, TimerReason::Reassembly));
        let keepalive = self
            .transport
            .next_keepalive(&self.ctx)
            .map(|at| (at, TimerReason::Keepalive));
        let probe = self
            .transport
            .next_probe_deadline()
            .map(|at| (at, TimerReason::PathProbe));
        let punch = self
            .transport
            .punching
            .next_timeout()
            .map(|at| (at, TimerReason::HolePunch));
        let fragments = self
            .transport
            .next_fragment_retransmit()
            .map(|at| (at, TimerReason::FragmentRetransmit));
        let publish = self
            .next_publish_retry()
            .map(|at| (at, TimerReason::Keepalive));
        [
            retry, idle, prune, query, writable, held, lookup, cjp2p, download, reassembly,
            keepalive, probe, punch, fragments, publish,
        ]
        .into_iter()
        .flatten()
        .min_by_key(|(at, _)| *at)
        .map(|(at, reason)| Timeout {
            at: at.max(self.ctx.now),
            reason,
        })
    }

    /// The monotonic instant at which the wall clock will read `wall`.
    fn instant_at_wall(&self, wall: UnixMillis) -> Instant {
        let wall_now = self.ctx.wall_now();
        self.ctx.now + Duration::from_millis(wall.0.saturating_sub(wall_now.0))
    }

    pub(super) fn on_timeout(&mut self) {
        self.queries.expire(self.ctx.now, &mut self.ctx.out);
        self.transport.throttling.release(&mut self.ctx);
        self.relay.expire(self.ctx.now);
        self.expire_lookups();
        self.retry_handshakes();
        self.transport.sessions.drop_idle(&mut self.ctx);
        self.cjp2p.maintain(&mut self.ctx);
        self.download_timeouts();
        self.ctx.stats.fragments_dropped += self.transport.reassembly.expire(self.ctx.now) as u64;
        self.send_keepalives();
        self.transport.send_punch_probes(&mut self.ctx);
        self.transport.retransmit_fragments(&mut self.ctx);
        self.publish_record_if_due();
        let wall = self.ctx.wall_now();
        self.transport.signature_nonces.prune(wall);
        self.transport.sealed_nonces.prune(wall);
        self.transport.handshake_times.prune(wall);
    }

    fn retry_handshakes(&mut self) {
        for due in self.transport.sessions.due_handshakes(&mut self.ctx) {
            match due {
                DueHandshake::Failed(peer) => {
                    self.ctx.push_event(Event::HandshakeFailed { peer });
                    self.fail_held_for_session(peer);
                }
                // Within the same limits as the first attempt: a retry is no less a reply to
                // whatever made us start the handshake.
                DueHandshake::Retry(retry) => {
                    self.transport.queue_on_path(
                        &mut self.ctx,
                        &retry.peer,
                        retry.to,
                        retry.frame,
                        retry.observed,
                    );
                }
            }
        }
    }
}
