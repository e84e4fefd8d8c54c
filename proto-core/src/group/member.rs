//! A member's side: joining (with retries that never count twice), accepting only newer rosters
//! signed by the admitting peer, heartbeats, and noticing the admitting peer's silence.

use alloc::string::String;

use super::config::GroupConfig;
use super::event::GroupEvent;
use super::roster::Roster;
use super::wire::GroupMessage;
use super::{Group, Role};
use crate::identity::{PublicIdentity, PublicKey};
use crate::time::Instant;

/// Where a member stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Phase {
    /// A join is out; `attempt` names it so that retries count once.
    Joining {
        attempt: [u8; 16],
        started: Instant,
        next_retry: Instant,
    },
    /// Admitted, with the newest roster seen.
    In {
        roster: Roster,
        last_heard_host: Instant,
        next_heartbeat: Instant,
    },
    /// Not in the group: left, refused, removed, or the admitting peer went silent.
    Out,
}

/// A member's state.
pub(super) struct Joiner {
    host: PublicIdentity,
    name: String,
    /// Kept to join again; it only ever goes to `host`'s key.
    password: String,
    pub(super) phase: Phase,
}

impl Joiner {
    pub(super) fn new(host: PublicIdentity, name: String, password: String) -> Self {
        Self {
            host,
            name,
            password,
            phase: Phase::Out,
        }
    }

    pub(super) fn roster(&self) -> Option<&Roster> {
        match &self.phase {
            Phase::In { roster, .. } => Some(roster),
            Phase::Joining { .. } | Phase::Out => None,
        }
    }

    pub(super) fn next_timeout(&self, config: &GroupConfig) -> Option<Instant> {
        match &self.phase {
            Phase::Joining {
                started,
                next_retry,
                ..
            } => Some((*started + config.join_timeout).min(*next_retry)),
            Phase::In {
                last_heard_host,
                next_heartbeat,
                ..
            } => Some((*last_heard_host + config.heartbeat_timeout).min(*next_heartbeat)),
            Phase::Out => None,
        }
    }

    fn join_message(&self, attempt: [u8; 16]) -> GroupMessage {
        GroupMessage::Join {
            attempt,
            name: self.name.clone(),
            password: self.password.clone(),
        }
    }
}

impl Group {
    fn joiner_mut(&mut self) -> Option<&mut Joiner> {
        match &mut self.role {
            Role::Member(joiner) => Some(joiner),
            Role::Host(_) => None,
        }
    }

    /// Sends a fresh join.
    pub(super) fn start_join(&mut self) {
        let attempt = self.rng.array();
        let (now, retry) = (self.now, self.config.join_retry);
        let Some(joiner) = self.joiner_mut() else {
            return;
        };
        joiner.phase = Phase::Joining {
            attempt,
            started: now,
            next_retry: now + retry,
        };
        let (host, value) = (joiner.host.clone(), joiner.join_message(attempt).encode());
        self.send(host, value);
    }

    pub(super) fn member_on_message(&mut self, sender: &PublicKey, decoded: GroupMessage) {
        let (now, interval) = (self.now, self.config.heartbeat_interval);
        let Role::Member(joiner) = &mut self.role else {
            return;
        };
        if *sender != joiner.host.key {
            // Only the admitting peer speaks to members outside chat.
            self.stats.from_non_members += 1;
            return;
        }
        let event = match decoded {
            GroupMessage::Refused { attempt, reason } => match joiner.phase {
                Phase::Joining { attempt: ours, .. } if ours == attempt => {
                    joiner.phase = Phase::Out;
                    Some(GroupEvent::JoinRefused { reason })
                }
                _ => None,
            },
            GroupMessage::Roster(signed) => {
                if signed.roster.host != joiner.host.key || signed.verify().is_err() {
                    self.stats.forged_rosters += 1;
                    return;
                }
                let roster = signed.roster;
                let includes_me = roster.contains(&self.me);
                match &mut joiner.phase {
                    Phase::Joining { .. } if includes_me => {
                        joiner.phase = Phase::In {
                            roster: roster.clone(),
                            last_heard_host: now,
                            next_heartbeat: now + interval,
                        };
                        Some(GroupEvent::Joined { roster })
                    }
                    Phase::In {
                        roster: current,
                        last_heard_host,
                        ..
                    } => {
                        *last_heard_host = now;
                        if roster.version <= current.version {
                            self.stats.stale_rosters += 1;
                            return;
                        }
                        if !includes_me {
                            joiner.phase = Phase::Out;
                            Some(GroupEvent::Removed)
                        } else {
                            let old = core::mem::replace(current, roster.clone());
                            self.push_roster_diff(&old, &roster);
                            Some(GroupEvent::RosterChanged { roster })
                        }
                    }
                    Phase::Joining { .. } | Phase::Out => {
                        self.stats.stale_rosters += 1;
                        None
                    }
                }
            }
            GroupMessage::Heartbeat { version } => {
                if let Phase::In {
                    roster,
                    last_heard_host,
                    next_heartbeat,
                } = &mut joiner.phase
                {
                    *last_heard_host = now;
                    if version > roster.version {
                        // Behind: our heartbeat tells the admitting peer to push the roster.
                        *next_heartbeat = now;
                    }
                }
                None
            }
            GroupMessage::NotMember => match joiner.phase {
                Phase::In { .. } => {
                    joiner.phase = Phase::Out;
                    Some(GroupEvent::Removed)
                }
                _ => None,
            },
            GroupMessage::Leave => match joiner.phase {
                Phase::In { .. } | Phase::Joining { .. } => {
                    joiner.phase = Phase::Out;
                    Some(GroupEvent::HostLeft)
                }
                Phase::Out => None,
            },
            GroupMessage::Join { .. } | GroupMessage::Chat { .. } => {
                self.stats.from_non_members += 1;
                None
            }
        };
        if let Some(event) = event {
            self.push_event(event);
        }
        if matches!(self.joiner_mut().map(|joiner| &joiner.phase), Some(Phase::In { next_heartbeat, .. }) if *next_heartbeat <= now)
        {
            self.member_on_timeout();
        }
    }

    pub(super) fn member_on_timeout(&mut self) {
        let now = self.now;
        let config = self.config.clone();
        let Role::Member(joiner) = &mut self.role else {
            return;
        };
        let host = joiner.host.clone();
        let (event, value) = match &mut joiner.phase {
            Phase::Joining {
                attempt,
                started,
                next_retry,
            } => {
                if *started + config.join_timeout <= now {
                    joiner.phase = Phase::Out;
                    (Some(GroupEvent::JoinFailed), None)
                } else if *next_retry <= now {
                    *next_retry = now + config.join_retry;
                    let attempt = *attempt;
                    (None, Some(joiner.join_message(attempt).encode()))
                } else {
                    (None, None)
                }
            }
            Phase::In {
                roster,
                last_heard_host,
                next_heartbeat,
            } => {
                if *last_heard_host + config.heartbeat_timeout <= now {
                    joiner.phase = Phase::Out;
                    (Some(GroupEvent::HostSilent), None)
                } else if *next_heartbeat <= now {
                    *next_heartbeat = now + config.heartbeat_interval;
                    let version = roster.version;
                    (None, Some(GroupMessage::Heartbeat { version }.encode()))
                } else {
                    (None, None)
                }
            }
            Phase::Out => (None, None),
        };
        if let Some(value) = value {
            self.send(host, value);
        }
        if let Some(event) = event {
            self.push_event(event);
        }
    }

    pub(super) fn member_leave(&mut self) {
        let Some(joiner) = self.joiner_mut() else {
            return;
        };
        let was_in = matches!(joiner.phase, Phase::In { .. });
        joiner.phase = Phase::Out;
        let host = joiner.host.clone();
        if was_in {
            self.send(host, GroupMessage::Leave.encode());
        }
    }
}
