//! The admitting peer: admission with attempt limits and bans, member liveness, and the signed
//! roster it pushes on every change.

use alloc::collections::{BTreeMap, VecDeque};
use alloc::string::String;
use alloc::vec::Vec;

use super::bans::{AttemptTable, Ban, BanList, BanTarget};
use super::config::GroupConfig;
use super::event::{GroupEvent, GroupOutput};
use super::password::PasswordHash;
use super::roster::{Member, Roster, SignedRoster, valid_name};
use super::wire::{GroupMessage, Refusal};
use super::{Group, GroupError, Role};
use crate::event::Message;
use crate::identity::{Identity, NodeId, PublicIdentity, PublicKey};
use crate::time::Instant;

/// The admitting peer's state.
pub(super) struct Host {
    identity: Identity,
    password: PasswordHash,
    pub(super) signed: SignedRoster,
    /// When each member (but this peer) was last heard from.
    last_heard: BTreeMap<PublicKey, Instant>,
    pub(super) bans: BanList,
    attempts: AttemptTable,
    /// The last refused attempt per peer, so that a retry of it is answered again without
    /// counting twice.
    refused: BTreeMap<NodeId, ([u8; 16], Refusal)>,
    /// The attempt that admitted each member, for the same reason.
    admitted: BTreeMap<PublicKey, [u8; 16]>,
    /// Password checks in the current one-second window: (window start, count).
    checks: (Instant, u32),
    next_heartbeat: Instant,
    pub(super) closed: bool,
}

impl Host {
    pub(super) fn new(
        config: &GroupConfig,
        identity: Identity,
        me: PublicIdentity,
        password: &str,
        salt: [u8; 16],
        now: Instant,
    ) -> Result<Self, GroupError> {
        let password =
            PasswordHash::new(password, salt, config).map_err(|_| GroupError::BadHashParameters)?;
        let roster = Roster {
            host: identity.public_key(),
            version: 1,
            members: alloc::vec![Member {
                name: me.name,
                key: identity.public_key(),
                address: me.location,
            }],
        };
        let signed = roster.sign(&identity);
        Ok(Self {
            identity,
            password,
            signed,
            last_heard: BTreeMap::new(),
            bans: BanList::default(),
            attempts: AttemptTable::default(),
            refused: BTreeMap::new(),
            admitted: BTreeMap::new(),
            checks: (now, 0),
            next_heartbeat: now + config.heartbeat_interval,
            closed: false,
        })
    }

    pub(super) fn key(&self) -> PublicKey {
        self.identity.public_key()
    }

    pub(super) fn heard_from(&mut self, key: &PublicKey, now: Instant) {
        if let Some(last) = self.last_heard.get_mut(key) {
            *last = (*last).max(now);
        }
    }

    pub(super) fn next_timeout(&self, config: &GroupConfig) -> Option<Instant> {
        if self.closed {
            return None;
        }
        let expiry = self
            .last_heard
            .values()
            .min()
            .map(|last| *last + config.heartbeat_timeout);
        Some(expiry.map_or(self.next_heartbeat, |at| at.min(self.next_heartbeat)))
    }

    /// Replaces the members, bumps the version and signs.
    fn set_members(&mut self, mut members: Vec<Member>) {
        members.sort_by(|a, b| a.key.as_bytes().cmp(b.key.as_bytes()));
        let roster = Roster {
            host: self.key(),
            version: self.signed.roster.version.saturating_add(1),
            members,
        };
        self.signed = roster.sign(&self.identity);
    }

    fn members_but_me(&self) -> Vec<Member> {
        let me = self.key();
        self.signed
            .roster
            .members
            .iter()
            .filter(|member| member.key != me)
            .cloned()
            .collect()
    }
}

impl Group {
    /// Sends the current signed roster to every member but this peer.
    fn push_roster(&mut self) {
        let Role::Host(host) = &mut self.role else {
            return;
        };
        let value = GroupMessage::Roster(host.signed.clone()).encode();
        let members = host.members_but_me();
        for member in members {
            send_out(&mut self.outputs, member.identity(), value.clone());
        }
        if let Some(roster) = self.roster().cloned() {
            event_out(&mut self.outputs, GroupEvent::RosterChanged { roster });
        }
    }

    pub(super) fn host_on_message(&mut self, message: &Message, decoded: GroupMessage) {
        let now = self.now;
        let Role::Host(host) = &mut self.role else {
            return;
        };
        if host.closed {
            return;
        }
        let sender = message.from.key;
        match decoded {
            GroupMessage::Join {
                attempt,
                name,
                password,
            } => self.host_on_join(message, attempt, &name, &password),
            GroupMessage::Heartbeat { version } => {
                if !host.signed.roster.contains(&sender) {
                    self.stats.from_non_members += 1;
                    send_out(
                        &mut self.outputs,
                        sender_identity(message),
                        GroupMessage::NotMember.encode(),
                    );
                    return;
                }
                host.heard_from(&sender, now);
                if version < host.signed.roster.version {
                    let value = GroupMessage::Roster(host.signed.clone()).encode();
                    send_out(&mut self.outputs, sender_identity(message), value);
                }
            }
            GroupMessage::Leave => {
                if !host.signed.roster.contains(&sender) {
                    self.stats.from_non_members += 1;
                    return;
                }
                self.host_remove(&[sender], false);
            }
            GroupMessage::Refused { .. }
            | GroupMessage::Roster(_)
            | GroupMessage::NotMember
            | GroupMessage::Chat { .. } => {
                // Only the admitting peer sends these: from anyone else they are forged.
                self.stats.from_non_members += 1;
            }
        }
    }

    fn host_on_join(&mut self, message: &Message, attempt: [u8; 16], name: &str, password: &str) {
        let (now, wall) = (self.now, self.wall_now());
        let config = self.config.clone();
        let sender = message.from.key;
        let peer = sender.node_id();
        let address = message.from.address.without_callsign();
        let reply_to = sender_identity(message);
        let Role::Host(host) = &mut self.role else {
            return;
        };

        // A retry of an attempt already answered gets the same answer, and counts nothing.
        if host.admitted.get(&sender) == Some(&attempt) && host.signed.roster.contains(&sender) {
            let value = GroupMessage::Roster(host.signed.clone()).encode();
            send_out(&mut self.outputs, reply_to, value);
            return;
        }
        if let Some((refused_attempt, reason)) = host.refused.get(&peer) {
            if *refused_attempt == attempt {
                let value = GroupMessage::Refused {
                    attempt,
                    reason: *reason,
                }
                .encode();
                send_out(&mut self.outputs, reply_to, value);
                return;
            }
        }
        let targets = [BanTarget::Peer(peer), BanTarget::Address(address.clone())];
        let refusal = if host.bans.is_banned(&peer, &address, wall) {
            Some(Refusal::Banned)
        } else if !valid_name(name, config.max_name_len) {
            Some(Refusal::BadName)
        } else {
            // Each check costs a slow hash: a flood of joins is cut to a fixed rate.
            if now.saturating_duration_since(host.checks.0) >= core::time::Duration::from_secs(1) {
                host.checks = (now, 0);
            }
            if host.checks.1 >= config.max_password_checks_per_second {
                self.stats.rate_limited += 1;
                return;
            }
            host.checks.1 += 1;
            if !host.password.matches(password) {
                let failures = host.attempts.fail(
                    &targets,
                    wall,
                    config.ban_duration,
                    config.max_attempt_records,
                );
                if failures >= config.max_failed_attempts {
                    let until = wall.saturating_add(config.ban_duration);
                    for target in &targets {
                        host.bans.ban(target.clone(), until, config.max_bans, wall);
                    }
                    host.attempts.clear(&targets);
                    let bans = targets.clone().map(|target| Ban { target, until });
                    event_out(&mut self.outputs, GroupEvent::Banned { bans });
                    Some(Refusal::Banned)
                } else {
                    Some(Refusal::Password)
                }
            } else if host
                .signed
                .roster
                .member_named(name)
                .is_some_and(|member| member.key != sender)
            {
                Some(Refusal::NameTaken)
            } else if !host.signed.roster.contains(&sender)
                && host.signed.roster.members.len() >= config.max_members
            {
                Some(Refusal::Full)
            } else {
                None
            }
        };
        let Role::Host(host) = &mut self.role else {
            return;
        };
        if let Some(reason) = refusal {
            if host.refused.len() >= config.max_attempt_records {
                host.refused.pop_first();
            }
            host.refused.insert(peer, (attempt, reason));
            let value = GroupMessage::Refused { attempt, reason }.encode();
            send_out(&mut self.outputs, reply_to, value);
            event_out(
                &mut self.outputs,
                GroupEvent::JoinRejected {
                    peer,
                    address,
                    reason,
                },
            );
            return;
        }
        host.attempts.clear(&targets);
        host.refused.remove(&peer);
        host.admitted.insert(sender, attempt);
        host.last_heard.insert(sender, now);
        let joined = Member {
            name: String::from(name),
            key: sender,
            address: message.from.address.clone(),
        };
        let previous = host.signed.roster.member(&sender).cloned();
        if previous.as_ref() == Some(&joined) {
            // Already in with the same name and address: just answer with the roster.
            let value = GroupMessage::Roster(host.signed.clone()).encode();
            send_out(&mut self.outputs, reply_to, value);
            return;
        }
        let mut members: Vec<Member> = host
            .signed
            .roster
            .members
            .iter()
            .filter(|member| member.key != sender)
            .cloned()
            .collect();
        members.push(joined.clone());
        host.set_members(members);
        if previous.is_none() {
            event_out(
                &mut self.outputs,
                GroupEvent::MemberJoined { member: joined },
            );
        }
        self.push_roster();
    }

    /// Removes members (timed out, or left) and pushes the new roster.
    fn host_remove(&mut self, keys: &[PublicKey], timed_out: bool) {
        let Role::Host(host) = &mut self.role else {
            return;
        };
        let removed: Vec<Member> = host
            .signed
            .roster
            .members
            .iter()
            .filter(|member| keys.contains(&member.key))
            .cloned()
            .collect();
        if removed.is_empty() {
            return;
        }
        for key in keys {
            host.last_heard.remove(key);
            host.admitted.remove(key);
        }
        let members = host
            .signed
            .roster
            .members
            .iter()
            .filter(|member| !keys.contains(&member.key))
            .cloned()
            .collect();
        host.set_members(members);
        for member in removed {
            event_out(
                &mut self.outputs,
                if timed_out {
                    GroupEvent::MemberTimedOut { member }
                } else {
                    GroupEvent::MemberLeft { member }
                },
            );
        }
        self.push_roster();
    }

    pub(super) fn host_on_timeout(&mut self) {
        let (now, config) = (self.now, self.config.clone());
        let wall = self.wall_now();
        let Role::Host(host) = &mut self.role else {
            return;
        };
        if host.closed {
            return;
        }
        host.bans.prune(wall);
        let silent: Vec<PublicKey> = host
            .last_heard
            .iter()
            .filter(|(_, last)| **last + config.heartbeat_timeout <= now)
            .map(|(key, _)| *key)
            .collect();
        if !silent.is_empty() {
            self.host_remove(&silent, true);
        }
        let Role::Host(host) = &mut self.role else {
            return;
        };
        if host.next_heartbeat <= now {
            // Skipped ticks are not made up: one heartbeat per member, then the next interval.
            host.next_heartbeat = now + config.heartbeat_interval;
            let value = GroupMessage::Heartbeat {
                version: host.signed.roster.version,
            }
            .encode();
            for member in host.members_but_me() {
                send_out(&mut self.outputs, member.identity(), value.clone());
            }
        }
    }

    pub(super) fn host_close(&mut self) {
        let Role::Host(host) = &mut self.role else {
            return;
        };
        if host.closed {
            return;
        }
        host.closed = true;
        let members = host.members_but_me();
        host.last_heard.clear();
        let value = GroupMessage::Leave.encode();
        for member in members {
            send_out(&mut self.outputs, member.identity(), value.clone());
        }
    }
}

fn send_out(outputs: &mut VecDeque<GroupOutput>, to: PublicIdentity, value: serde_json::Value) {
    outputs.push_back(GroupOutput::Send { to, value });
}

fn event_out(outputs: &mut VecDeque<GroupOutput>, event: GroupEvent) {
    outputs.push_back(GroupOutput::Event(event));
}

/// Where to answer a message: the address its sender signed, with its key.
fn sender_identity(message: &Message) -> PublicIdentity {
    PublicIdentity {
        name: String::new(),
        location: message.from.address.clone(),
        key: message.from.key,
    }
}
