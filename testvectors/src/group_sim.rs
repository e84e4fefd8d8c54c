//! Groups over a simulated network: one [`Group`] machine per simulated node, driven from the
//! node's messages for the group client and the network's virtual clock.
//!
//! This is the same drive loop an adapter or the command-line node runs: feed each
//! [`Event::Message`] for the group client to the group, fire its timeouts, and turn every
//! [`GroupOutput::Send`] into a node [`Command::Send`].

use std::time::Duration;

use ejtp_proto::group::{Group, GroupConfig, GroupEvent, GroupOutput};
use ejtp_proto::{Command, Event, Identity, Instant, PublicIdentity, UnixMillis};

use crate::sim::{LinkConditions, SIM_WALL_START, SimNetwork};

/// The callsign of every simulated group client.
pub const GROUP_CALLSIGN: &str = "chat";

/// The password of simulated groups.
pub const GROUP_PASSWORD: &str = "correct horse";

/// How often the driver looks at group timers (their granularity in the simulation).
pub const GROUP_STEP: Duration = Duration::from_millis(50);

/// A simulated network whose nodes each run one group machine (or none).
pub struct GroupSim {
    /// The network.
    pub net: SimNetwork,
    /// Each node's group machine, if it has one.
    pub groups: Vec<Option<Group>>,
    /// Nodes whose group machine is not driven (a crashed or frozen peer): their messages are
    /// dropped and their timers never fire.
    pub frozen: Vec<bool>,
    /// Every group event so far: (node, time, event).
    pub events: Vec<(usize, Instant, GroupEvent)>,
    /// Every node message for a group client that was not a group message: (node, value).
    pub other_messages: Vec<(usize, serde_json::Value)>,
    /// The group settings every machine gets.
    pub config: GroupConfig,
    identities: Vec<PublicIdentity>,
    seeds: u64,
}

impl GroupSim {
    /// `nodes` nodes (node 0 will be the admitting peer), each with a group client.
    #[must_use]
    pub fn new(seed: u64, conditions: LinkConditions, nodes: usize, config: GroupConfig) -> Self {
        let mut net = SimNetwork::new(seed, conditions);
        let mut identities = Vec::new();
        for node in 0..nodes {
            let key_byte = 0x20 + u8::try_from(node).unwrap_or(u8::MAX);
            let name = format!("m{node}");
            let index = net.add_node(&name, key_byte, crate::vector_config(), &[GROUP_CALLSIGN]);
            let mut identity = net.identity(index, GROUP_CALLSIGN);
            identity.name = name;
            identities.push(identity);
        }
        Self {
            net,
            groups: (0..nodes).map(|_| None).collect(),
            frozen: vec![false; nodes],
            events: Vec::new(),
            other_messages: Vec::new(),
            config,
            identities,
            seeds: seed.wrapping_mul(1_000_003),
        }
    }

    /// The identity of node `node`'s group client (its name is the member name `m<node>`).
    #[must_use]
    pub fn identity(&self, node: usize) -> &PublicIdentity {
        &self.identities[node]
    }

    fn next_seed(&mut self) -> [u8; 32] {
        self.seeds = self.seeds.wrapping_add(1);
        let mut seed = [0u8; 32];
        seed[..8].copy_from_slice(&self.seeds.to_be_bytes());
        seed
    }

    fn wall(&self) -> UnixMillis {
        SIM_WALL_START.saturating_add(self.net.now() - Instant::ZERO)
    }

    /// Node `node` creates the group.
    ///
    /// # Panics
    /// If the configuration's Argon2 settings are unusable.
    pub fn create(&mut self, node: usize) {
        let secret = [0x20 + u8::try_from(node).unwrap_or(u8::MAX); 32];
        let seed = self.next_seed();
        let group = Group::create(
            self.config.clone(),
            Identity::from_secret_bytes(&secret),
            self.identities[node].clone(),
            GROUP_PASSWORD,
            seed,
            self.net.now(),
            self.wall(),
        )
        .expect("a valid group");
        self.groups[node] = Some(group);
        self.drain(node);
    }

    /// Node `node` (a fresh machine) joins node `host`'s group with `password`.
    ///
    /// # Panics
    /// Never for the names this simulator gives.
    pub fn join(&mut self, node: usize, host: usize, password: &str) {
        let seed = self.next_seed();
        let group = Group::join(
            self.config.clone(),
            self.identities[node].key,
            &self.identities[node].name,
            self.identities[host].clone(),
            password,
            seed,
            self.net.now(),
            self.wall(),
        )
        .expect("a valid name");
        self.groups[node] = Some(group);
        self.frozen[node] = false;
        self.drain(node);
    }

    /// Runs `f` on node `node`'s group machine at the current time, then sends what it asked.
    pub fn with_group<T>(
        &mut self,
        node: usize,
        f: impl FnOnce(&mut Group, Instant) -> T,
    ) -> Option<T> {
        let now = self.net.now();
        let result = self.groups[node].as_mut().map(|group| f(group, now));
        self.drain(node);
        result
    }

    /// Runs the network and the group machines for `duration`, in [`GROUP_STEP`]s.
    pub fn run_for(&mut self, duration: Duration) {
        let end = self.net.now() + duration;
        while self.net.now() < end {
            self.net.run_for(GROUP_STEP);
            self.step();
        }
    }

    /// Hands node events to the groups and fires due group timers.
    fn step(&mut self) {
        let now = self.net.now();
        for (node, event) in self.net.take_events() {
            let Event::Message(message) = event else {
                continue;
            };
            if message.to != GROUP_CALLSIGN || self.frozen[node] {
                continue;
            }
            let Some(group) = self.groups[node].as_mut() else {
                continue;
            };
            if !group.handle_message(now, &message) {
                self.other_messages.push((node, message.value.clone()));
            }
            self.drain(node);
        }
        for node in 0..self.groups.len() {
            if self.frozen[node] {
                continue;
            }
            let Some(group) = self.groups[node].as_mut() else {
                continue;
            };
            if group.poll_timeout().is_some_and(|at| at <= now) {
                group.handle_timeout(now);
                self.drain(node);
            }
        }
    }

    /// Carries out everything node `node`'s group asked for.
    fn drain(&mut self, node: usize) {
        let now = self.net.now();
        loop {
            let Some(output) = self.groups[node].as_mut().and_then(Group::poll_output) else {
                return;
            };
            match output {
                GroupOutput::Send { to, value } => {
                    // A full queue drops the message; heartbeats and retries repair the loss.
                    let _ = self.net.command(
                        node,
                        Command::Send {
                            from: GROUP_CALLSIGN.into(),
                            to,
                            via: Vec::new(),
                            value,
                        },
                    );
                }
                GroupOutput::Event(event) => self.events.push((node, now, event)),
                _ => {}
            }
        }
    }
}
