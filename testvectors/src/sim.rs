//! A simulated network of nodes: several nodes, one virtual clock, seeded loss, duplication,
//! delay and the reordering that jitter brings, and through [`SimNetwork::set_link_config`],
//! [`SimNetwork::set_link`] and [`SimNetwork::add_nat`] every other fault of
//! [`ejtp_proto::sim`] (burst loss, rate and queue limits, NATs).
//!
//! The network is [`ejtp_proto::sim::Network`], sans-IO and deterministic: the same seed and
//! the same commands give the same run, and the whole run can be saved as a [`Scenario`]
//! through its [`Recorder`]. This module maps nodes to addresses, datagrams and streams to
//! inputs, and keeps what tests inspect (captured datagrams, events, hosts that are down).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use ejtp_proto::sim::{Fate, LinkConfig, Loss, Nat, NetStats, Network, Packet};
use ejtp_proto::{
    Address, Command, Config, CoreRng, Event, Identity, Input, Instant, MessageId, Node, Output,
    Protocol, PublicIdentity, Transmit, TransportAddr, UnixMillis,
};

use crate::scenario::{NodeSpec, Recorder, Scenario};

/// The wall clock every simulated node starts with (2023-11-14T22:13:20Z).
pub const SIM_WALL_START: UnixMillis = UnixMillis(1_700_000_000_000);

/// How the simulated links treat datagrams. TCP streams are delivered reliably and in order,
/// after `min_delay`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinkConditions {
    /// Probability that a datagram is lost.
    pub loss: f64,
    /// Probability that a datagram is delivered twice.
    pub duplicate: f64,
    /// Shortest one-way delay.
    pub min_delay: Duration,
    /// Longest one-way delay; any spread above `min_delay` reorders datagrams.
    pub max_delay: Duration,
}

impl LinkConditions {
    /// No loss, no duplication, a fixed 10 ms delay.
    pub const PERFECT: Self = Self {
        loss: 0.0,
        duplicate: 0.0,
        min_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(10),
    };
}

/// A datagram the network carried (or an attacker injected), kept for replay attacks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Captured {
    /// The node it went to.
    pub to: usize,
    /// Its source address.
    pub from: TransportAddr,
    /// Its bytes.
    pub payload: Vec<u8>,
}

/// What a packet in the simulated network is: the bytes, and which input they become.
#[derive(Clone, Debug)]
struct Flight {
    kind: Kind,
    payload: Vec<u8>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Datagram,
    Stream,
    /// Not bytes for the receiver: the report that its transmit to the packet's source failed.
    Failure,
}

impl From<LinkConditions> for LinkConfig {
    /// The same link in the simulator's terms: independent loss, duplication, and a delay
    /// spread uniformly between the two bounds (drawn once per copy, as before).
    fn from(conditions: LinkConditions) -> Self {
        Self {
            loss: Loss::Random(conditions.loss),
            duplicate: conditions.duplicate,
            delay: conditions.min_delay,
            jitter: conditions.max_delay.saturating_sub(conditions.min_delay),
            ..Self::PERFECT
        }
    }
}

/// The simulated network and its nodes: [`ejtp_proto::sim::Network`] carrying their datagrams
/// and streams, with the nodes' inputs recorded.
pub struct SimNetwork {
    recorder: Recorder,
    /// The recorder's node for each simulated host: a restart puts a new node in the slot.
    slots: Vec<usize>,
    udp: Vec<SocketAddr>,
    tcp: Vec<SocketAddr>,
    net: Network<Flight>,
    events: Vec<(usize, Event)>,
    captured: Vec<Captured>,
    /// Hosts that are down: datagrams to them are lost and their timers do not run.
    down: Vec<bool>,
    /// Addresses whose transmits fail (and are reported to the sender, like an ICMP error).
    failing: std::collections::BTreeSet<TransportAddr>,
    /// Safety valve for tests: a run that takes more steps than this is a livelock.
    pub max_steps: u64,
}

impl SimNetwork {
    /// An empty network whose random choices follow `seed`.
    #[must_use]
    pub fn new(seed: u64, conditions: LinkConditions) -> Self {
        let mut seed_bytes = [0u8; 32];
        seed_bytes[..8].copy_from_slice(&seed.to_be_bytes());
        Self {
            recorder: Recorder::new(),
            slots: Vec::new(),
            udp: Vec::new(),
            tcp: Vec::new(),
            net: Network::new(CoreRng::from_seed(seed_bytes), conditions.into()),
            events: Vec::new(),
            captured: Vec::new(),
            down: Vec::new(),
            failing: std::collections::BTreeSet::new(),
            max_steps: 1_000_000,
        }
    }

    /// Adds a node named `name` whose secret key and seed derive from `key_byte`, reachable at
    /// `127.0.0.1:(9000 + index)` over UDP and `127.0.0.1:(10000 + index)` over TCP, with one
    /// client per callsign. Returns its index.
    pub fn add_node(
        &mut self,
        name: &str,
        key_byte: u8,
        config: Config,
        callsigns: &[&str],
    ) -> usize {
        self.add_node_signing_as(name, key_byte, config, callsigns, None)
    }

    /// [`add_node`](Self::add_node), but the node signs `signs_as` as its address instead of
    /// the one it sends from: an attacker naming a third party (`signs_as`, typically another
    /// node's address) as the sender of what it sends.
    pub fn add_node_signing_as(
        &mut self,
        name: &str,
        key_byte: u8,
        config: Config,
        callsigns: &[&str],
        signs_as: Option<SocketAddr>,
    ) -> usize {
        let index = self.slots.len();
        let port_offset = u16::try_from(index).unwrap_or(u16::MAX);
        let spec = NodeSpec {
            name: name.to_string(),
            secret: [key_byte; 32],
            seed: [key_byte ^ 0x5a; 32],
            start: self.net.now(),
            wall: SIM_WALL_START.saturating_add(self.net.now() - Instant::ZERO),
            config,
        };
        self.slots.push(self.recorder.add_node(spec));
        self.down.push(false);
        let localhost = IpAddr::V4(Ipv4Addr::LOCALHOST);
        self.udp
            .push(SocketAddr::new(localhost, 9000 + port_offset));
        self.net.attach(TransportAddr::udp(SocketAddr::new(
            localhost,
            9000 + port_offset,
        )));
        self.tcp
            .push(SocketAddr::new(localhost, 10_000 + port_offset));
        self.command(
            index,
            Command::AddLocalAddress {
                address: Address::udp(signs_as.unwrap_or(self.udp[index]), None),
            },
        )
        .expect("adding a local address cannot fail");
        for callsign in callsigns {
            self.command(
                index,
                Command::AddClient {
                    callsign: (*callsign).to_string(),
                },
            )
            .expect("a fresh node accepts its first clients");
        }
        index
    }

    /// Restarts node `index`: a fresh node with the same key, address and clients but no
    /// sessions and a new seed, as after a process restart that keeps a replay journal (what
    /// `ejtp run` does): the old node's replay memory is given back to it
    /// ([`Command::RestoreReplayMemory`], recorded). In the recorded scenario it appears as a
    /// new node named `name`.
    pub fn restart(&mut self, index: usize, name: &str, callsigns: &[&str]) {
        let memory = self.node(index).replay_memory();
        self.restart_without_journal(index, name, callsigns);
        self.command(index, Command::RestoreReplayMemory { memory })
            .expect("a fresh node takes back its replay memory");
    }

    /// [`restart`](Self::restart) with no journal: the fresh node remembers nothing, so it
    /// refuses first messages signed before it started
    /// ([`Config::refuse_before_start`](ejtp_proto::Config::refuse_before_start)).
    pub fn restart_without_journal(&mut self, index: usize, name: &str, callsigns: &[&str]) {
        let old = self.recorder.scenario("").nodes[self.slots[index]].clone();
        let spec = NodeSpec {
            name: name.to_string(),
            seed: old.seed.map(|byte| byte ^ 0xff),
            start: self.net.now(),
            wall: SIM_WALL_START.saturating_add(self.net.now() - Instant::ZERO),
            ..old
        };
        self.slots[index] = self.recorder.add_node(spec);
        self.down[index] = false;
        self.command(
            index,
            Command::AddLocalAddress {
                address: Address::udp(self.udp[index], None),
            },
        )
        .expect("adding a local address cannot fail");
        for callsign in callsigns {
            self.command(
                index,
                Command::AddClient {
                    callsign: (*callsign).to_string(),
                },
            )
            .expect("a fresh node accepts its first clients");
        }
    }

    /// Takes node `index` down, as a crashed host: what is sent to it is lost and its timers
    /// stop, until [`restart`](Self::restart) brings up a fresh node in its place.
    pub fn take_down(&mut self, index: usize) {
        self.down[index] = true;
    }

    /// The public identity of client `callsign` on node `index`, reached over UDP.
    #[must_use]
    pub fn identity(&self, index: usize, callsign: &str) -> PublicIdentity {
        PublicIdentity {
            name: format!("{callsign}@node{index}"),
            location: Address::udp(self.udp[index], Some(callsign)),
            key: Identity::from_secret_bytes(&self.recorder_spec_secret(index)).public_key(),
        }
    }

    /// The same identity reached over TCP.
    #[must_use]
    pub fn tcp_identity(&self, index: usize, callsign: &str) -> PublicIdentity {
        PublicIdentity {
            location: Address::tcp(self.tcp[index], Some(callsign)),
            ..self.identity(index, callsign)
        }
    }

    fn recorder_spec_secret(&self, index: usize) -> [u8; 32] {
        self.recorder.scenario("").nodes[self.slots[index]].secret
    }

    /// Node `index`.
    #[must_use]
    pub fn node(&self, index: usize) -> &Node {
        self.recorder.node(self.slots[index])
    }

    /// Node `index`, mutably: for state the simulation does not carry as inputs (a content
    /// store). Not recorded: a run that uses it is not a replayable scenario.
    pub fn node_mut(&mut self, index: usize) -> &mut Node {
        self.recorder.node_mut(self.slots[index])
    }

    /// The virtual clock.
    #[must_use]
    pub fn now(&self) -> Instant {
        self.net.now()
    }

    /// Gives node `index` a command now.
    ///
    /// # Errors
    /// The command's error, as text.
    pub fn command(&mut self, index: usize, command: Command) -> Result<(), String> {
        let (error, outputs) = self.recorder.input(
            self.slots[index],
            Input::Command {
                now: self.net.now(),
                command,
            },
        );
        self.dispatch(index, outputs);
        error.map_or(Ok(()), Err)
    }

    /// Gives node `index` a command now and returns the message id it produced (for a send,
    /// query or reply), so tests can follow queries.
    ///
    /// # Errors
    /// The command's error, as text.
    pub fn command_with_id(
        &mut self,
        index: usize,
        command: Command,
    ) -> Result<Option<MessageId>, String> {
        let (result, outputs) = self
            .recorder
            .command(self.slots[index], self.net.now(), command);
        self.dispatch(index, outputs);
        result
    }

    /// Delivers `payload` to node `to` as if `from` had sent it, after the minimum delay (an
    /// attacker's injection: it is neither lost nor duplicated).
    pub fn inject(&mut self, to: usize, from: TransportAddr, payload: Vec<u8>) {
        let at = self.net.now() + self.net.default_link().delay;
        self.captured.push(Captured {
            to,
            from,
            payload: payload.clone(),
        });
        self.net.schedule(
            at,
            Packet {
                from,
                to: TransportAddr::udp(self.udp[to]),
                body: Flight {
                    kind: Kind::Datagram,
                    payload,
                },
            },
        );
    }

    /// Takes `addr` down (or brings it back up): transmits to it are not delivered, and the
    /// sender is told after the minimum delay with
    /// [`Input::TransmitFailed`], as an adapter does when a
    /// send meets an ICMP error or a refused connection.
    pub fn set_down(&mut self, addr: TransportAddr, down: bool) {
        if down {
            self.failing.insert(addr);
        } else {
            self.failing.remove(&addr);
        }
    }

    /// Every datagram delivered or scheduled so far.
    #[must_use]
    pub fn captured(&self) -> &[Captured] {
        &self.captured
    }

    /// Takes the events the nodes have produced so far.
    pub fn take_events(&mut self) -> Vec<(usize, Event)> {
        std::mem::take(&mut self.events)
    }

    /// Changes how the links treat datagrams from now on (datagrams in flight keep their
    /// fate): for runs that heal after a lossy phase.
    pub fn set_conditions(&mut self, conditions: LinkConditions) {
        self.net.set_default_link(conditions.into());
    }

    /// Like [`set_conditions`](Self::set_conditions) with any of the simulator's faults: burst
    /// loss, reordering, a rate limit and its queue. Links set with [`set_link`](Self::set_link)
    /// keep their own.
    pub fn set_link_config(&mut self, link: LinkConfig) {
        self.net.set_default_link(link);
    }

    /// Sets how datagrams from node `from` to node `to` (one direction) are treated.
    pub fn set_link(&mut self, from: usize, to: usize, link: LinkConfig) {
        self.net.set_link(
            TransportAddr::udp(self.udp[from]),
            TransportAddr::udp(self.udp[to]),
            link,
        );
    }

    /// Puts a NAT in the network (its inside hosts named by their UDP addresses, see
    /// [`udp_addr`](Self::udp_addr)); returns its index for [`nat`](Self::nat).
    pub fn add_nat(&mut self, nat: Nat) -> usize {
        self.net.add_nat(nat)
    }

    /// NAT `index`, to read its mappings.
    #[must_use]
    pub fn nat(&self, index: usize) -> Option<&Nat> {
        self.net.nat(index)
    }

    /// NAT `index`, to change it (forget its mappings).
    pub fn nat_mut(&mut self, index: usize) -> Option<&mut Nat> {
        self.net.nat_mut(index)
    }

    /// Node `index`'s UDP address.
    #[must_use]
    pub fn udp_addr(&self, index: usize) -> TransportAddr {
        TransportAddr::udp(self.udp[index])
    }

    /// What the network has done with datagrams so far (losses, duplicates, queue drops).
    #[must_use]
    pub fn net_stats(&self) -> NetStats {
        self.net.stats()
    }

    /// Runs deliveries and timers for `duration` of virtual time.
    ///
    /// # Panics
    /// If more than [`max_steps`](Self::max_steps) deliveries and timeouts happen (a livelock).
    pub fn run_for(&mut self, duration: Duration) {
        let deadline = self.net.now() + duration;
        let mut steps = 0u64;
        loop {
            steps += 1;
            assert!(
                steps <= self.max_steps,
                "simulation livelock: over {} steps",
                self.max_steps
            );
            let delivery = self.net.next_at();
            let timer = (0..self.slots.len())
                .filter(|index| !self.down[*index])
                .filter_map(|index| {
                    self.recorder
                        .node(self.slots[index])
                        .poll_timeout()
                        .map(|timeout| (timeout.at, index))
                })
                .min();
            let next_is_delivery = match (delivery, timer) {
                (Some(at), Some((timer_at, _))) => at <= timer_at,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => break,
            };
            if next_is_delivery {
                let Some(packet) = self.net.pop_due(deadline) else {
                    break;
                };
                self.deliver(packet);
            } else if let Some((at, index)) = timer {
                if at > deadline {
                    break;
                }
                self.net.advance_to(at);
                let (_, outputs) = self.recorder.input(
                    self.slots[index],
                    Input::Timeout {
                        now: self.net.now(),
                    },
                );
                self.dispatch(index, outputs);
            }
        }
        self.net.advance_to(deadline);
    }

    /// Hands an arrived packet to the node at its address, as the input its kind says.
    fn deliver(&mut self, packet: Packet<Flight>) {
        let Some(to) = self.index_of(&packet.to) else {
            return;
        };
        if self.down[to] {
            return;
        }
        let now = self.net.now();
        let Packet { from, body, .. } = packet;
        let input = match body.kind {
            Kind::Failure => Input::TransmitFailed {
                now,
                to: from,
                data: body.payload,
            },
            Kind::Stream => Input::StreamData {
                now,
                from,
                data: body.payload,
            },
            Kind::Datagram => Input::Datagram {
                now,
                from,
                data: body.payload,
            },
        };
        let (_, outputs) = self.recorder.input(self.slots[to], input);
        self.dispatch(to, outputs);
    }

    /// The node at `addr` (its UDP or TCP address).
    fn index_of(&self, addr: &TransportAddr) -> Option<usize> {
        let addresses = match addr.protocol {
            Protocol::Udp => &self.udp,
            Protocol::Tcp => &self.tcp,
        };
        addresses.iter().position(|own| *own == addr.addr)
    }

    /// The whole run so far as a scenario vector.
    #[must_use]
    pub fn scenario(&self, description: &str) -> Scenario {
        self.recorder.scenario(description)
    }

    fn dispatch(&mut self, from_index: usize, outputs: Vec<Output>) {
        for output in outputs {
            match output {
                Output::Transmit(transmit) => self.carry(from_index, transmit),
                Output::Event(event) => self.events.push((from_index, event)),
                _ => {}
            }
        }
    }

    fn carry(&mut self, from_index: usize, transmit: Transmit) {
        let Transmit {
            to,
            payload,
            dont_fragment,
        } = transmit;
        let min_delay = self.net.default_link().delay;
        if self.failing.contains(&to) {
            // Reported to the sender at its own address of the failed transmit's protocol.
            let own = match to.protocol {
                Protocol::Udp => TransportAddr::udp(self.udp[from_index]),
                Protocol::Tcp => TransportAddr::tcp(self.tcp[from_index]),
            };
            let at = self.net.now() + min_delay;
            self.net.schedule(
                at,
                Packet {
                    from: to,
                    to: own,
                    body: Flight {
                        kind: Kind::Failure,
                        payload,
                    },
                },
            );
            return;
        }
        match to.protocol {
            Protocol::Udp => {
                let from = TransportAddr::udp(self.udp[from_index]);
                let len = payload.len();
                let flight = Flight {
                    kind: Kind::Datagram,
                    payload,
                };
                if let Fate::Sent { from, to, copies } =
                    self.net
                        .send_marked(from, to, flight.clone(), len, dont_fragment)
                {
                    let Some(to_index) = self.index_of(&to) else {
                        return;
                    };
                    for _ in 0..copies {
                        self.captured.push(Captured {
                            to: to_index,
                            from,
                            payload: flight.payload.clone(),
                        });
                    }
                }
            }
            Protocol::Tcp => {
                if self.index_of(&to).is_none() {
                    return;
                }
                let from = TransportAddr::tcp(self.tcp[from_index]);
                let at = self.net.now() + min_delay;
                self.net.schedule(
                    at,
                    Packet {
                        from,
                        to,
                        body: Flight {
                            kind: Kind::Stream,
                            payload,
                        },
                    },
                );
            }
        }
    }
}
