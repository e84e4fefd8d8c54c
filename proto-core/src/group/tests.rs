//! Group machines wired directly to each other (no nodes): admission, attempt limits and bans,
//! heartbeats, rosters and messages, over the simulated network's instant links and clock.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::time::Duration;

use serde_json::{Value, json};

use super::*;
use crate::address::Address;
use crate::event::{Message, MessageId, Protection, Sender};
use crate::identity::{Identity, PublicIdentity};
use crate::rng::CoreRng;
use crate::sim::{LinkConfig, Network};
use crate::transport::TransportAddr;

const WALL: UnixMillis = UnixMillis(1_700_000_000_000);

fn identity(index: usize) -> Identity {
    Identity::from_secret_bytes(&[u8::try_from(index).unwrap() + 1; 32])
}

fn address(index: usize) -> Address {
    let port = 9000 + u16::try_from(index).unwrap();
    Address::udp(
        core::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Some("chat"),
    )
}

fn public(index: usize) -> PublicIdentity {
    PublicIdentity {
        name: name(index),
        location: address(index),
        key: identity(index).public_key(),
    }
}

fn name(index: usize) -> String {
    alloc::format!("m{index}")
}

/// Where peer `index` is on the simulated network (the port its signed address names).
fn transport(index: usize) -> TransportAddr {
    TransportAddr::udp(core::net::SocketAddr::from((
        [127, 0, 0, 1],
        9000 + u16::try_from(index).unwrap(),
    )))
}

/// Peers by index (0 is the admitting peer); a peer whose group is `None` has no machine yet.
/// Messages travel over the simulated network (`crate::sim`) on perfect links with no
/// latency: these tests are about the group's logic, so each message arrives at once, in the
/// order it was sent, and the clock is the network's.
struct Net {
    groups: Vec<Option<Group>>,
    /// The address each peer signs as its own (a test may change it).
    addresses: Vec<Address>,
    alive: Vec<bool>,
    events: Vec<Vec<GroupEvent>>,
    /// Every value sent, with its recipient's key.
    sent: Vec<(PublicKey, Value)>,
    /// The next value sent goes over a link that duplicates everything.
    duplicate_next: bool,
    /// Joins made so far: each gets its own seed, as each run of a real joiner would.
    joins: u8,
    sim: Network<Value>,
}

impl Net {
    fn new(peers: usize, config: &GroupConfig) -> Self {
        let host = Group::create(
            config.clone(),
            identity(0),
            public(0),
            "secret",
            [1; 32],
            Instant::ZERO,
            WALL,
        )
        .unwrap();
        let mut groups = alloc::vec![Some(host)];
        groups.resize_with(peers, || None);
        let mut sim = Network::new(CoreRng::from_seed([0x47; 32]), LinkConfig::PERFECT);
        for index in 0..peers {
            sim.attach(transport(index));
        }
        let mut net = Self {
            groups,
            addresses: (0..peers).map(address).collect(),
            alive: alloc::vec![true; peers],
            events: alloc::vec![Vec::new(); peers],
            sent: Vec::new(),
            duplicate_next: false,
            joins: 0,
            sim,
        };
        net.pump();
        net
    }

    /// The virtual clock.
    fn now(&self) -> Instant {
        self.sim.now()
    }

    fn join(&mut self, index: usize, password: &str, config: &GroupConfig) {
        let now = self.now();
        let group = Group::join(
            config.clone(),
            identity(index).public_key(),
            &name(index),
            public(0),
            password,
            [self.joins; 32],
            now,
            WALL.saturating_add(now - Instant::ZERO),
        )
        .unwrap();
        self.joins += 1;
        self.groups[index] = Some(group);
        self.pump();
    }

    fn group(&mut self, index: usize) -> &mut Group {
        self.groups[index].as_mut().unwrap()
    }

    fn index_of(&self, key: &PublicKey) -> Option<usize> {
        (0..self.groups.len()).find(|index| identity(*index).public_key() == *key)
    }

    /// Sends `value` from peer `from` to peer `to` and delivers what has arrived.
    fn send(&mut self, from: usize, to: usize, value: Value) {
        if self.duplicate_next {
            self.duplicate_next = false;
            let duplicating = LinkConfig {
                duplicate: 1.0,
                ..LinkConfig::PERFECT
            };
            self.sim.set_default_link(duplicating);
            self.sim.send(transport(from), transport(to), value, 0);
            self.sim.set_default_link(LinkConfig::PERFECT);
        } else {
            self.sim.send(transport(from), transport(to), value, 0);
        }
        let now = self.now();
        while let Some(packet) = self.sim.pop_due(now) {
            let from = usize::from(packet.from.addr.port() - 9000);
            let to = usize::from(packet.to.addr.port() - 9000);
            if !self.alive[to] {
                continue;
            }
            let message = Message {
                to: "chat".into(),
                from: Sender {
                    key: identity(from).public_key(),
                    node_id: identity(from).node_id(),
                    address: self.addresses[from].clone(),
                },
                id: MessageId([0; 16]),
                value: packet.body,
                sent_at: None,
                protection: Protection::Sealed,
                relayed_by: None,
            };
            if let Some(target) = self.groups[to].as_mut() {
                assert!(target.handle_message(now, &message));
            }
        }
    }

    /// Delivers everything queued, until nothing moves.
    fn pump(&mut self) {
        loop {
            let mut moved = false;
            for from in 0..self.groups.len() {
                let Some(group) = self.groups[from].as_mut() else {
                    continue;
                };
                let mut outputs = Vec::new();
                while let Some(output) = group.poll_output() {
                    outputs.push(output);
                }
                for output in outputs {
                    moved = true;
                    match output {
                        GroupOutput::Event(event) => self.events[from].push(event),
                        GroupOutput::Send { to, value } => {
                            self.sent.push((to.key, value.clone()));
                            let Some(to_index) = self.index_of(&to.key) else {
                                continue;
                            };
                            if self.alive[from] {
                                self.send(from, to_index, value);
                            }
                        }
                    }
                }
            }
            if !moved {
                return;
            }
        }
    }

    /// Runs the clock forward in 50 ms steps, firing due timeouts of live peers.
    fn run_for(&mut self, duration: Duration) {
        let end = self.now() + duration;
        while self.now() < end {
            self.sim.advance_to(self.now() + Duration::from_millis(50));
            let now = self.now();
            for index in 0..self.groups.len() {
                if !self.alive[index] {
                    continue;
                }
                if let Some(group) = self.groups[index].as_mut() {
                    if group.poll_timeout().is_some_and(|at| at <= now) {
                        group.handle_timeout(now);
                    }
                }
            }
            self.pump();
        }
    }

    fn take_events(&mut self, index: usize) -> Vec<GroupEvent> {
        core::mem::take(&mut self.events[index])
    }

    fn roster_keys(&mut self, index: usize) -> Vec<PublicKey> {
        self.group(index)
            .roster()
            .map(|roster| roster.members.iter().map(|member| member.key).collect())
            .unwrap_or_default()
    }
}

fn config() -> GroupConfig {
    GroupConfig::for_tests()
}

fn refusals(events: &[GroupEvent]) -> Vec<Refusal> {
    events
        .iter()
        .filter_map(|event| match event {
            GroupEvent::JoinRefused { reason } => Some(*reason),
            _ => None,
        })
        .collect()
}

fn messages(events: &[GroupEvent]) -> Vec<(String, bool, Value)> {
    events
        .iter()
        .filter_map(|event| match event {
            GroupEvent::Message {
                from, direct, body, ..
            } => Some((from.name.clone(), *direct, body.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn admission_returns_the_roster_and_every_member_sees_every_other() {
    let mut net = Net::new(4, &config());
    for index in 1..4 {
        net.join(index, "secret", &config());
        assert!(matches!(
            net.take_events(index).first(),
            Some(GroupEvent::Joined { .. })
        ));
    }
    let host_roster = net.group(0).roster().cloned().unwrap();
    assert_eq!(host_roster.members.len(), 4);
    assert_eq!(host_roster.version, 4);
    for index in 1..4 {
        assert_eq!(net.group(index).roster(), Some(&host_roster));
    }
}

#[test]
fn the_password_is_only_ever_sent_to_the_admitting_peer() {
    let mut net = Net::new(3, &config());
    net.join(1, "secret", &config());
    net.join(2, "wrong", &config());
    let host_key = identity(0).public_key();
    let joins: Vec<_> = net
        .sent
        .iter()
        .filter(|(_, value)| value.get("password").is_some())
        .collect();
    assert_eq!(joins.len(), 2);
    assert!(joins.iter().all(|(to, _)| *to == host_key));
    // And nothing the admitting peer sends carries it.
    assert!(
        net.sent
            .iter()
            .all(|(_, value)| !value.to_string().contains("\"secret\"")
                || value.get("password").is_some())
    );
}

#[test]
fn one_failure_short_of_the_limit_still_admits_with_the_right_password() {
    let config = config();
    let mut net = Net::new(2, &config);
    for _ in 0..config.max_failed_attempts - 1 {
        net.join(1, "wrong", &config);
        assert_eq!(refusals(&net.take_events(1)), [Refusal::Password]);
    }
    net.join(1, "secret", &config);
    assert!(net.group(1).in_group());
    assert!(net.group(0).bans().is_empty());
}

#[test]
fn exactly_the_limit_of_failures_bans_the_peer_and_its_address() {
    let config = config();
    let mut net = Net::new(3, &config);
    for _ in 0..config.max_failed_attempts - 1 {
        net.join(1, "wrong", &config);
        assert_eq!(refusals(&net.take_events(1)), [Refusal::Password]);
    }
    net.join(1, "wrong", &config);
    assert_eq!(refusals(&net.take_events(1)), [Refusal::Banned]);
    assert!(
        net.take_events(0)
            .iter()
            .any(|e| matches!(e, GroupEvent::Banned { .. }))
    );
    assert_eq!(net.group(0).bans().len(), 2);
    // The right password no longer helps.
    net.join(1, "secret", &config);
    assert_eq!(refusals(&net.take_events(1)), [Refusal::Banned]);
    // Another key from the banned address is refused too.
    net.addresses[2] = net.addresses[1].clone();
    net.join(2, "secret", &config);
    assert_eq!(refusals(&net.take_events(2)), [Refusal::Banned]);
    // The ban ends after ban_duration.
    net.run_for(config.ban_duration);
    net.join(1, "secret", &config);
    assert!(net.group(1).in_group());
}

#[test]
fn a_retried_join_counts_once() {
    let config = GroupConfig {
        max_failed_attempts: 2,
        ..GroupConfig::for_tests()
    };
    let mut net = Net::new(2, &config);
    net.duplicate_next = true;
    net.join(1, "wrong", &config);
    // Both copies were answered the same way, and only one failure was counted.
    assert_eq!(refusals(&net.take_events(1)), [Refusal::Password]);
    assert!(net.group(0).bans().is_empty());
}

#[test]
fn bans_survive_a_restart_of_the_admitting_peer() {
    let config = config();
    let mut net = Net::new(2, &config);
    for _ in 0..config.max_failed_attempts {
        net.join(1, "wrong", &config);
    }
    let stored = serde_json::to_string(&net.group(0).bans()).unwrap();
    let mut restarted = Net::new(2, &config);
    restarted
        .group(0)
        .import_bans(serde_json::from_str(&stored).unwrap());
    restarted.join(1, "secret", &config);
    assert_eq!(refusals(&restarted.take_events(1)), [Refusal::Banned]);
}

#[test]
fn a_silent_member_is_removed_within_the_timeout_and_everyone_is_told() {
    let config = config();
    let mut net = Net::new(4, &config);
    for index in 1..4 {
        net.join(index, "secret", &config);
    }
    net.run_for(Duration::from_secs(5));
    for index in 0..4 {
        net.take_events(index);
    }
    net.alive[3] = false;
    let died = net.now();
    net.run_for(config.heartbeat_timeout + config.heartbeat_interval + Duration::from_millis(100));
    let host_events = net.take_events(0);
    assert!(
        host_events
            .iter()
            .any(|e| matches!(e, GroupEvent::MemberTimedOut { member } if member.name == "m3"))
    );
    let expected: Vec<_> = net.roster_keys(0);
    assert_eq!(expected.len(), 3);
    for index in 1..3 {
        assert_eq!(net.roster_keys(index), expected);
        assert!(
            net.take_events(index)
                .iter()
                .any(|e| matches!(e, GroupEvent::MemberLeft { member } if member.name == "m3"))
        );
    }
    // Heard from last at most one heartbeat interval before it died, removed by then + timeout.
    assert!(
        net.now() - died
            <= config.heartbeat_timeout + config.heartbeat_interval + Duration::from_millis(100)
    );
}

#[test]
fn members_detect_a_silent_admitting_peer_and_can_rejoin() {
    let config = config();
    let mut net = Net::new(2, &config);
    net.join(1, "secret", &config);
    net.take_events(1);
    net.alive[0] = false;
    net.run_for(config.heartbeat_timeout + Duration::from_millis(100));
    assert!(net.take_events(1).contains(&GroupEvent::HostSilent));
    assert!(!net.group(1).in_group());
    net.alive[0] = true;
    let now = net.now();
    net.group(1).rejoin(now).unwrap();
    net.pump();
    assert!(net.group(1).in_group());
    assert_eq!(net.roster_keys(1), net.roster_keys(0));
}

#[test]
fn a_removed_member_that_comes_back_learns_it_and_rejoins() {
    let config = config();
    let mut net = Net::new(3, &config);
    net.join(1, "secret", &config);
    net.join(2, "secret", &config);
    net.alive[2] = false;
    // Long enough for the host to drop m2, short enough that m2 has not given up on the host.
    net.run_for(config.heartbeat_timeout + Duration::from_millis(200));
    assert_eq!(net.roster_keys(0).len(), 2);
    net.alive[2] = true;
    net.take_events(2);
    net.run_for(config.heartbeat_interval * 2);
    let events = net.take_events(2);
    assert!(events.contains(&GroupEvent::Removed) || events.contains(&GroupEvent::HostSilent));
    let now = net.now();
    net.group(2).rejoin(now).unwrap();
    net.pump();
    assert_eq!(net.roster_keys(0).len(), 3);
    assert_eq!(net.roster_keys(2), net.roster_keys(0));
}

fn deliver(net: &mut Net, from: usize, to: usize, value: Value) {
    let message = Message {
        to: "chat".into(),
        from: Sender {
            key: identity(from).public_key(),
            node_id: identity(from).node_id(),
            address: address(from),
        },
        id: MessageId([0; 16]),
        value,
        sent_at: None,
        protection: Protection::Sealed,
        relayed_by: None,
    };
    let now = net.now();
    assert!(net.group(to).handle_message(now, &message));
}

#[test]
fn forged_and_older_rosters_are_refused() {
    let config = config();
    let mut net = Net::new(3, &config);
    net.join(1, "secret", &config);
    net.join(2, "secret", &config);
    let current = net.group(1).roster().cloned().unwrap();
    // Signed by another key, even sent "from" the admitting peer.
    let mut forged = current.clone();
    forged.version += 10;
    forged.members.retain(|member| member.name != "m2");
    let value = GroupMessage::Roster(forged.clone().sign(&identity(2))).encode();
    deliver(&mut net, 0, 1, value);
    // Properly signed but sent by a member: only the admitting peer distributes rosters.
    let value = GroupMessage::Roster(forged.sign(&identity(0))).encode();
    deliver(&mut net, 2, 1, value);
    // Older, but genuinely signed.
    let mut older = current.clone();
    older.version -= 1;
    let value = GroupMessage::Roster(older.sign(&identity(0))).encode();
    deliver(&mut net, 0, 1, value);
    assert_eq!(net.group(1).roster(), Some(&current));
    let stats = net.group(1).stats();
    assert_eq!(stats.forged_rosters, 1);
    assert_eq!(stats.from_non_members, 1);
    assert_eq!(stats.stale_rosters, 1);
}

#[test]
fn a_broadcast_reaches_every_other_member_once_and_a_direct_message_one() {
    let config = config();
    let mut net = Net::new(4, &config);
    for index in 1..4 {
        net.join(index, "secret", &config);
    }
    for index in 0..4 {
        net.take_events(index);
    }
    let now = net.now();
    net.duplicate_next = true;
    net.group(1).broadcast(now, json!("hello all")).unwrap();
    net.pump();
    assert!(messages(&net.take_events(1)).is_empty());
    for index in [0, 2, 3] {
        assert_eq!(
            messages(&net.take_events(index)),
            [("m1".to_string(), false, json!("hello all"))]
        );
    }
    assert_eq!(net.group(0).stats().duplicates, 1);
    net.group(2).direct(now, "m3", json!("psst")).unwrap();
    net.pump();
    assert_eq!(
        messages(&net.take_events(3)),
        [("m2".to_string(), true, json!("psst"))]
    );
    for index in [0, 1] {
        assert!(messages(&net.take_events(index)).is_empty());
    }
    assert_eq!(
        net.group(2).direct(now, "nobody", json!(1)),
        Err(GroupError::UnknownMember("nobody".into()))
    );
}

#[test]
fn no_chat_is_accepted_from_or_delivered_to_a_non_member() {
    let config = config();
    let mut net = Net::new(3, &config);
    net.join(1, "secret", &config);
    // Peer 2 never joined: its chat is dropped, and it cannot send.
    let chat = GroupMessage::Chat {
        id: [9; 16],
        direct: false,
        body: json!("spam"),
    }
    .encode();
    deliver(&mut net, 2, 1, chat.clone());
    deliver(&mut net, 2, 0, chat.clone());
    assert!(messages(&net.take_events(1)).is_empty());
    assert!(messages(&net.take_events(0)).is_empty());
    // A joiner refused is not in the group: chat sent to it is not delivered.
    net.join(2, "wrong", &config);
    deliver(&mut net, 1, 2, chat);
    assert!(messages(&net.take_events(2)).is_empty());
    let now = net.now();
    assert_eq!(
        net.group(2).broadcast(now, json!(1)),
        Err(GroupError::NotInGroup)
    );
}

#[test]
fn leaving_removes_the_member_and_closing_tells_everyone() {
    let config = config();
    let mut net = Net::new(3, &config);
    net.join(1, "secret", &config);
    net.join(2, "secret", &config);
    let now = net.now();
    net.group(2).leave(now);
    net.pump();
    assert_eq!(net.roster_keys(0).len(), 2);
    assert_eq!(net.roster_keys(1), net.roster_keys(0));
    assert!(
        net.take_events(1)
            .iter()
            .any(|e| matches!(e, GroupEvent::MemberLeft { member } if member.name == "m2"))
    );
    net.group(0).leave(now);
    net.pump();
    assert!(net.take_events(1).contains(&GroupEvent::HostLeft));
    assert!(!net.group(1).in_group());
}

#[test]
fn names_must_be_unique_and_the_group_is_bounded() {
    let config = GroupConfig {
        max_members: 2,
        ..GroupConfig::for_tests()
    };
    let mut net = Net::new(3, &config);
    net.join(1, "secret", &config);
    net.join(2, "secret", &config);
    assert_eq!(refusals(&net.take_events(2)), [Refusal::Full]);
    let taken = Group::join(
        config.clone(),
        identity(2).public_key(),
        "m0",
        public(0),
        "secret",
        [5; 32],
        net.now(),
        WALL,
    )
    .unwrap();
    net.groups[2] = Some(taken);
    net.pump();
    assert_eq!(refusals(&net.take_events(2)), [Refusal::NameTaken]);
}

#[test]
fn password_checks_are_rate_limited() {
    let config = GroupConfig {
        max_password_checks_per_second: 1,
        max_failed_attempts: 100,
        ..GroupConfig::for_tests()
    };
    let mut net = Net::new(3, &config);
    net.join(1, "wrong", &config);
    net.join(2, "secret", &config);
    assert_eq!(net.group(0).stats().rate_limited, 1);
    assert!(!net.group(2).in_group());
    // The joiner's retry comes in a later second and gets through.
    net.run_for(Duration::from_millis(1100));
    assert!(net.group(2).in_group());
}

#[test]
fn an_unanswered_join_fails_after_the_join_timeout() {
    let config = config();
    let mut net = Net::new(2, &config);
    net.alive[0] = false;
    net.join(1, "secret", &config);
    net.run_for(config.join_timeout);
    assert!(net.take_events(1).contains(&GroupEvent::JoinFailed));
}

#[test]
fn values_that_are_not_group_messages_are_left_to_the_application() {
    let mut group = Group::join(
        config(),
        identity(1).public_key(),
        "m1",
        public(0),
        "secret",
        [1; 32],
        Instant::ZERO,
        WALL,
    )
    .unwrap();
    let message = Message {
        to: "chat".into(),
        from: Sender {
            key: identity(0).public_key(),
            node_id: identity(0).node_id(),
            address: address(0),
        },
        id: MessageId([0; 16]),
        value: json!({"hello": 1}),
        sent_at: None,
        protection: Protection::Sealed,
        relayed_by: None,
    };
    assert!(!group.handle_message(Instant::ZERO, &message));
    let malformed = Message {
        value: json!({"group": "roster"}),
        ..message
    };
    assert!(group.handle_message(Instant::ZERO, &malformed));
    assert_eq!(group.stats().malformed, 1);
}
