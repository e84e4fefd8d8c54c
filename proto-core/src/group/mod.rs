//! Groups in the spirit of Pyile: an admitting peer, password admission, attempt limits and
//! bans, heartbeats both ways, a signed roster pushed on every change, and broadcast and direct
//! messages among members.
//!
//! A [`Group`] is a sans-IO state machine of its own, layered on a [`Node`](crate::Node): it
//! consumes the node's [`Message`]s for one client (the group's callsign) and time, and produces
//! [`GroupOutput::Send`]s, which the driver hands to [`Node::send`](crate::Node::send) from that
//! client, and [`GroupEvent`]s. Node messages are already signed by their sender and encrypted
//! to their recipient, so the group layer knows who sent what and never exposes the password:
//! a join travels only inside a frame sealed to the admitting peer's verified key.
//!
//! Time and randomness come in as inputs (`now`, the wall clock, a seed), so a group run is as
//! reproducible as a node's.
//!
//! ```
//! use ejtp_proto::group::{Group, GroupConfig, GroupEvent, GroupOutput};
//! use ejtp_proto::{Address, Identity, Instant, Message, MessageId, Protection, PublicIdentity, Sender, UnixMillis};
//!
//! let (now, wall) = (Instant::ZERO, UnixMillis(1_700_000_000_000));
//! let host_identity = Identity::from_secret_bytes(&[1; 32]);
//! let host_id = PublicIdentity { name: "host".into(), location: Address::local("chat"), key: host_identity.public_key() };
//! let mut host = Group::create(GroupConfig::for_tests(), host_identity, host_id.clone(), "pw", [1; 32], now, wall)?;
//! let bob_key = Identity::from_secret_bytes(&[2; 32]).public_key();
//! let mut bob = Group::join(GroupConfig::for_tests(), bob_key, "bob", host_id, "pw", [2; 32], now, wall)?;
//! // The driver would send this through the node; here it is handed over directly.
//! let Some(GroupOutput::Send { value, .. }) = bob.poll_output() else { panic!() };
//! let join = Message {
//!     to: "chat".into(),
//!     from: Sender { key: bob_key, node_id: bob_key.node_id(), address: Address::local("chat") },
//!     id: MessageId([0; 16]), value, sent_at: None, protection: Protection::Local, relayed_by: None,
//! };
//! assert!(host.handle_message(now, &join));
//! assert_eq!(host.roster().map(|roster| roster.members.len()), Some(2));
//! # Ok::<(), ejtp_proto::group::GroupError>(())
//! ```

mod bans;
mod config;
mod dedupe;
mod event;
mod host;
mod member;
mod password;
mod roster;
#[cfg(test)]
mod tests;
mod wire;

use alloc::collections::VecDeque;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use serde_json::Value;

use crate::event::Message;
use crate::identity::{Identity, PublicIdentity, PublicKey};
use crate::rng::CoreRng;
use crate::time::{Instant, UnixMillis};

pub use bans::{Ban, BanTarget};
pub use config::GroupConfig;
pub use event::{GroupEvent, GroupOutput};
pub use roster::{Member, ROSTER_SIGNING_CONTEXT, Roster, SignedRoster, valid_name};
pub use wire::{GROUP_KEY, Refusal};

use host::Host;
use member::{Joiner, Phase};
use wire::GroupMessage;

/// Misuse of a group machine.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GroupError {
    /// The Argon2 cost settings are not usable.
    BadHashParameters,
    /// The member name is empty, too long, or not printable ASCII.
    BadName,
    /// This machine is not in the group (not admitted yet, or out).
    NotInGroup,
    /// No member has this name.
    UnknownMember(String),
    /// Only a member that left or was dropped can join again.
    AlreadyInGroup,
}

impl fmt::Display for GroupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadHashParameters => f.write_str("the Argon2 cost settings are not usable"),
            Self::BadName => {
                f.write_str("a member name is 1 to 32 printable characters, no spaces")
            }
            Self::NotInGroup => f.write_str("not in the group"),
            Self::UnknownMember(name) => write!(f, "no member is called {name}"),
            Self::AlreadyInGroup => f.write_str("already in the group"),
        }
    }
}

impl core::error::Error for GroupError {}

/// What the group machine dropped, by reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GroupStats {
    /// Values marked as group messages that do not decode.
    pub malformed: u64,
    /// Messages from peers that are not members (or not the admitting peer, where only it may
    /// speak).
    pub from_non_members: u64,
    /// Rosters with a bad signature or the wrong host key.
    pub forged_rosters: u64,
    /// Rosters no newer than the one held.
    pub stale_rosters: u64,
    /// Chat messages seen before.
    pub duplicates: u64,
    /// Joins dropped past `max_password_checks_per_second`.
    pub rate_limited: u64,
}

// One group machine per group client: boxing would save a few hundred bytes once.
#[allow(clippy::large_enum_variant)]
enum Role {
    Host(Host),
    Member(Joiner),
}

/// One peer's part in a group: the admitting peer's or a member's.
///
/// # Methods
/// - **Getters**: [`roster`](Self::roster), [`is_host`](Self::is_host),
///   [`in_group`](Self::in_group), [`bans`](Self::bans), [`stats`](Self::stats).
/// - **Inputs**: [`handle_message`](Self::handle_message) (every node message for the group's
///   client), [`handle_timeout`](Self::handle_timeout),
///   [`handle_wall_clock`](Self::handle_wall_clock).
/// - **Commands**: [`broadcast`](Self::broadcast), [`direct`](Self::direct),
///   [`leave`](Self::leave), [`rejoin`](Self::rejoin), [`import_bans`](Self::import_bans).
/// - **Polls**: [`poll_output`](Self::poll_output), [`poll_timeout`](Self::poll_timeout).
///
/// After every input or command, drain [`poll_output`](Self::poll_output): send each
/// [`GroupOutput::Send`] through the node from the group's client, hand each event to the
/// application. Then call [`handle_timeout`](Self::handle_timeout) at
/// [`poll_timeout`](Self::poll_timeout).
pub struct Group {
    config: GroupConfig,
    me: PublicKey,
    rng: CoreRng,
    now: Instant,
    wall_anchor: (Instant, UnixMillis),
    role: Role,
    seen: dedupe::SeenMessages,
    outputs: VecDeque<GroupOutput>,
    stats: GroupStats,
}

impl Group {
    /// Creates a group as its admitting peer. `me` is how members reach this peer's group
    /// client (its name is this peer's member name); `identity` signs the rosters; only a
    /// salted Argon2id hash of `password` is kept.
    ///
    /// # Errors
    /// [`GroupError::BadHashParameters`] or [`GroupError::BadName`].
    pub fn create(
        config: GroupConfig,
        identity: Identity,
        me: PublicIdentity,
        password: &str,
        seed: [u8; 32],
        now: Instant,
        wall: UnixMillis,
    ) -> Result<Self, GroupError> {
        if !valid_name(&me.name, config.max_name_len) {
            return Err(GroupError::BadName);
        }
        let mut rng = CoreRng::from_seed(seed);
        let host = Host::new(&config, identity, me, password, rng.array(), now)?;
        let mut group = Self::with_role(config, host.key(), rng, now, wall, Role::Host(host));
        group.push_event(GroupEvent::Joined {
            roster: group.roster().cloned().unwrap_or_else(|| Roster {
                host: group.me,
                version: 0,
                members: Vec::new(),
            }),
        });
        Ok(group)
    }

    /// Joins the group whose admitting peer is `host`, as `name`, with `password` (sent only
    /// to `host`'s key, inside an encrypted node message). The first join goes out at once.
    ///
    /// # Errors
    /// [`GroupError::BadName`].
    #[allow(clippy::too_many_arguments)] // each is a distinct input the caller owns
    pub fn join(
        config: GroupConfig,
        me: PublicKey,
        name: &str,
        host: PublicIdentity,
        password: &str,
        seed: [u8; 32],
        now: Instant,
        wall: UnixMillis,
    ) -> Result<Self, GroupError> {
        if !valid_name(name, config.max_name_len) {
            return Err(GroupError::BadName);
        }
        let joiner = Joiner::new(host, name.to_string(), password.to_string());
        let rng = CoreRng::from_seed(seed);
        let mut group = Self::with_role(config, me, rng, now, wall, Role::Member(joiner));
        group.start_join();
        Ok(group)
    }

    fn with_role(
        config: GroupConfig,
        me: PublicKey,
        rng: CoreRng,
        now: Instant,
        wall: UnixMillis,
        role: Role,
    ) -> Self {
        Self {
            config,
            me,
            rng,
            now,
            wall_anchor: (now, wall),
            role,
            seen: dedupe::SeenMessages::default(),
            outputs: VecDeque::new(),
            stats: GroupStats::default(),
        }
    }

    // ----- getters -----

    /// The roster in effect here, if this peer is in the group.
    #[must_use]
    pub fn roster(&self) -> Option<&Roster> {
        match &self.role {
            Role::Host(host) => Some(&host.signed.roster),
            Role::Member(joiner) => joiner.roster(),
        }
    }

    /// Whether this peer is the admitting peer.
    #[must_use]
    pub fn is_host(&self) -> bool {
        matches!(self.role, Role::Host(_))
    }

    /// Whether this peer is in the group now (admitted and not out).
    #[must_use]
    pub fn in_group(&self) -> bool {
        match &self.role {
            Role::Host(host) => !host.closed,
            Role::Member(joiner) => joiner.roster().is_some(),
        }
    }

    /// The bans in force (admitting peer only; empty otherwise), to store across restarts.
    #[must_use]
    pub fn bans(&self) -> Vec<Ban> {
        let wall = self.wall_now();
        match &self.role {
            Role::Host(host) => host.bans.export(wall),
            Role::Member(_) => Vec::new(),
        }
    }

    /// What was dropped so far.
    #[must_use]
    pub fn stats(&self) -> GroupStats {
        self.stats
    }

    /// This peer's key.
    #[must_use]
    pub fn key(&self) -> PublicKey {
        self.me
    }

    // ----- inputs -----

    /// A node message for the group's client arrived. Returns false if its value is not a group
    /// message (the application may use it otherwise); group messages that are malformed, or
    /// from peers that may not send them, are counted in [`stats`](Self::stats) and dropped.
    pub fn handle_message(&mut self, now: Instant, message: &Message) -> bool {
        self.advance(now);
        let Some(decoded) = GroupMessage::decode(
            &message.value,
            self.config.max_members,
            self.config.max_name_len,
        ) else {
            return false;
        };
        let Ok(decoded) = decoded else {
            self.stats.malformed += 1;
            return true;
        };
        if message.from.key == self.me {
            // Our own messages never come back through the network; a value that claims to is
            // not ours to act on.
            self.stats.from_non_members += 1;
            return true;
        }
        if let GroupMessage::Chat { id, direct, body } = decoded {
            self.on_chat(&message.from.key, id, direct, body);
            return true;
        }
        match &mut self.role {
            Role::Host(_) => self.host_on_message(message, decoded),
            Role::Member(_) => self.member_on_message(&message.from.key, decoded),
        }
        true
    }

    /// Time passed: heartbeats, liveness checks and join retries due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.advance(now);
        match self.role {
            Role::Host(_) => self.host_on_timeout(),
            Role::Member(_) => self.member_on_timeout(),
        }
    }

    /// The wall clock read `wall` at `now` (bans are kept in wall-clock time).
    pub fn handle_wall_clock(&mut self, now: Instant, wall: UnixMillis) {
        self.advance(now);
        self.wall_anchor = (self.now, wall);
    }

    // ----- commands -----

    /// Sends `body` to every other member. Returns the message id.
    ///
    /// # Errors
    /// [`GroupError::NotInGroup`].
    pub fn broadcast(&mut self, now: Instant, body: Value) -> Result<[u8; 16], GroupError> {
        self.advance(now);
        let roster = self.roster().ok_or(GroupError::NotInGroup)?.clone();
        if !self.in_group() {
            return Err(GroupError::NotInGroup);
        }
        let id = self.rng.array();
        let value = GroupMessage::Chat {
            id,
            direct: false,
            body,
        }
        .encode();
        let me = self.me;
        for member in roster.members.iter().filter(|member| member.key != me) {
            self.send(member.identity(), value.clone());
        }
        Ok(id)
    }

    /// Sends `body` to the member called `name` only. Returns the message id.
    ///
    /// # Errors
    /// [`GroupError::NotInGroup`] or [`GroupError::UnknownMember`].
    pub fn direct(
        &mut self,
        now: Instant,
        name: &str,
        body: Value,
    ) -> Result<[u8; 16], GroupError> {
        self.advance(now);
        if !self.in_group() {
            return Err(GroupError::NotInGroup);
        }
        let roster = self.roster().ok_or(GroupError::NotInGroup)?;
        let member = roster
            .member_named(name)
            .filter(|member| member.key != self.me)
            .ok_or_else(|| GroupError::UnknownMember(name.to_string()))?
            .identity();
        let id = self.rng.array();
        let value = GroupMessage::Chat {
            id,
            direct: true,
            body,
        }
        .encode();
        self.send(member, value);
        Ok(id)
    }

    /// Leaves the group: a member tells the admitting peer; the admitting peer closes the
    /// group and tells every member. Harmless when already out.
    pub fn leave(&mut self, now: Instant) {
        self.advance(now);
        match self.role {
            Role::Host(_) => self.host_close(),
            Role::Member(_) => self.member_leave(),
        }
    }

    /// A member that is out (it left, was removed, was refused, or lost the admitting peer)
    /// joins again with a fresh attempt.
    ///
    /// # Errors
    /// [`GroupError::AlreadyInGroup`] for the admitting peer or a member still joining or in.
    pub fn rejoin(&mut self, now: Instant) -> Result<(), GroupError> {
        self.advance(now);
        match &self.role {
            Role::Member(joiner) if joiner.phase == Phase::Out => {
                self.start_join();
                Ok(())
            }
            _ => Err(GroupError::AlreadyInGroup),
        }
    }

    /// Loads bans stored by a previous run (admitting peer only); those already over are
    /// skipped, and at most `max_bans` are kept.
    pub fn import_bans(&mut self, bans: Vec<Ban>) {
        let wall = self.wall_now();
        let max = self.config.max_bans;
        if let Role::Host(host) = &mut self.role {
            for ban in bans {
                host.bans.ban(ban.target, ban.until, max, wall);
            }
        }
    }

    // ----- polls -----

    /// The next thing to send or to tell the application.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<GroupOutput> {
        self.outputs.pop_front()
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next; never before the latest
    /// `now` seen.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let at = match &self.role {
            Role::Host(host) => host.next_timeout(&self.config),
            Role::Member(joiner) => joiner.next_timeout(&self.config),
        };
        at.map(|at| at.max(self.now))
    }

    // ----- shared internals -----

    fn advance(&mut self, now: Instant) {
        self.now = self.now.max(now);
    }

    fn wall_now(&self) -> UnixMillis {
        let (at, wall) = self.wall_anchor;
        wall.saturating_add(self.now.saturating_duration_since(at))
    }

    fn send(&mut self, to: PublicIdentity, value: Value) {
        self.outputs.push_back(GroupOutput::Send { to, value });
    }

    fn push_event(&mut self, event: GroupEvent) {
        self.outputs.push_back(GroupOutput::Event(event));
    }

    /// A chat message: delivered once if its sender is a member and so is this peer.
    fn on_chat(&mut self, sender: &PublicKey, id: [u8; 16], direct: bool, body: Value) {
        let from = if self.in_group() {
            self.roster()
                .and_then(|roster| roster.member(sender))
                .cloned()
        } else {
            None
        };
        let Some(from) = from else {
            self.stats.from_non_members += 1;
            return;
        };
        if let Role::Host(host) = &mut self.role {
            host.heard_from(sender, self.now);
        }
        if !self
            .seen
            .first_time(sender.node_id(), id, self.config.max_seen_messages)
        {
            self.stats.duplicates += 1;
            return;
        }
        self.push_event(GroupEvent::Message {
            from,
            id,
            direct,
            body,
        });
    }

    /// Events for the members that appear in `new` and are gone from `old`.
    fn push_roster_diff(&mut self, old: &Roster, new: &Roster) {
        for member in &new.members {
            if !old.contains(&member.key) {
                self.push_event(GroupEvent::MemberJoined {
                    member: member.clone(),
                });
            }
        }
        for member in &old.members {
            if !new.contains(&member.key) {
                self.push_event(GroupEvent::MemberLeft {
                    member: member.clone(),
                });
            }
        }
    }
}
