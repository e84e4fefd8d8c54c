//! The network: hosts by address, links between them, NATs at their edges, and every packet in
//! flight on one virtual clock, with one generator for every random choice.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;

use super::link::{LinkConfig, LinkState};
use super::nat::Nat;
use super::schedule::Schedule;
use crate::rng::CoreRng;
use crate::time::Instant;
use crate::transport::TransportAddr;

/// A packet in flight or delivered: its addresses as the receiver sees them (after any NAT) and
/// what it carries, which is whatever the harness needs (datagram bytes, a typed message).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet<P> {
    /// The source address as the receiver sees it.
    pub from: TransportAddr,
    /// The address it is delivered to.
    pub to: TransportAddr,
    /// What it carries.
    pub body: P,
}

/// Why the network did not carry a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dropped {
    /// No host is attached at the destination (after any NAT).
    NoRoute,
    /// A NAT had no mapping for the destination, or its filter refused the sender, or it ran
    /// out of ports, or the destination is a host behind a NAT, which only the NAT's other
    /// inside hosts can reach by its own address.
    Nat,
    /// The link's loss model lost it.
    Lost,
    /// The link's queue was full for every copy.
    QueueFull,
}

/// What [`Network::send`] did with a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// In flight: `copies` of it (two if duplicated), with the addresses it will arrive with.
    Sent {
        /// The source as the receiver will see it.
        from: TransportAddr,
        /// The host it goes to.
        to: TransportAddr,
        /// How many copies are in flight.
        copies: usize,
    },
    /// Not carried.
    Dropped(Dropped),
}

/// Counts of what the network did, for tests that check a fault took effect.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NetStats {
    /// Packets handed to [`Network::send`].
    pub sent: u64,
    /// Copies put in flight by `send` (duplicates included).
    pub carried: u64,
    /// Packets lost by a loss model.
    pub lost: u64,
    /// Packets duplicated.
    pub duplicated: u64,
    /// Copies that skipped the fixed latency.
    pub reordered: u64,
    /// Copies dropped by a full queue.
    pub queue_full: u64,
    /// Packets to an address with no host.
    pub no_route: u64,
    /// Packets a NAT refused.
    pub nat_refused: u64,
}

/// A netem-like network on a virtual clock. It is sans-IO like the node: the harness sends
/// packets into it, asks when the next one arrives, and takes them out in order; it never
/// calls back.
#[derive(Debug)]
pub struct Network<P> {
    rng: CoreRng,
    now: Instant,
    schedule: Schedule<Packet<P>>,
    default_link: LinkConfig,
    links: BTreeMap<(TransportAddr, TransportAddr), LinkConfig>,
    states: BTreeMap<(TransportAddr, TransportAddr), LinkState>,
    hosts: BTreeSet<TransportAddr>,
    nats: Vec<Nat>,
    stats: NetStats,
}

impl<P: Clone> Network<P> {
    /// An empty network at time zero whose every link is `link` until told otherwise, and whose
    /// random choices all come from `rng`.
    #[must_use]
    pub fn new(rng: CoreRng, link: LinkConfig) -> Self {
        Self {
            rng,
            now: Instant::ZERO,
            schedule: Schedule::new(),
            default_link: link,
            links: BTreeMap::new(),
            states: BTreeMap::new(),
            hosts: BTreeSet::new(),
            nats: Vec::new(),
            stats: NetStats::default(),
        }
    }

    /// The virtual clock.
    #[must_use]
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Moves the clock on to `at` (never back): for timers the harness fires itself.
    pub fn advance_to(&mut self, at: Instant) {
        self.now = self.now.max(at);
    }

    /// The network's generator, for harness choices that should follow the same seed (a
    /// simulated peer's behaviour): one stream for the whole run.
    pub fn rng(&mut self) -> &mut CoreRng {
        &mut self.rng
    }

    /// Puts a host at `addr`: packets to it are delivered.
    pub fn attach(&mut self, addr: TransportAddr) {
        self.hosts.insert(addr);
    }

    /// Removes the host at `addr`: packets sent to it from now on have no route.
    pub fn detach(&mut self, addr: &TransportAddr) {
        self.hosts.remove(addr);
    }

    /// The link every pair of hosts has unless [`set_link`](Self::set_link) said otherwise.
    #[must_use]
    pub fn default_link(&self) -> LinkConfig {
        self.default_link
    }

    /// Changes the default link from now on; packets in flight keep their fate.
    pub fn set_default_link(&mut self, link: LinkConfig) {
        self.default_link = link;
    }

    /// Sets the link from `from` to `to` (one direction, addresses as the sender names them).
    pub fn set_link(&mut self, from: TransportAddr, to: TransportAddr, link: LinkConfig) {
        self.links.insert((from, to), link);
    }

    /// The link from `from` to `to`.
    #[must_use]
    pub fn link(&self, from: &TransportAddr, to: &TransportAddr) -> LinkConfig {
        self.links
            .get(&(*from, *to))
            .copied()
            .unwrap_or(self.default_link)
    }

    /// Whether the link from `from` to `to` is in a loss burst (Gilbert-Elliott bad state).
    #[must_use]
    pub fn in_loss_burst(&self, from: &TransportAddr, to: &TransportAddr) -> bool {
        self.states
            .get(&(*from, *to))
            .is_some_and(LinkState::in_loss_burst)
    }

    /// Adds a NAT; returns its index for [`nat`](Self::nat).
    pub fn add_nat(&mut self, nat: Nat) -> usize {
        self.nats.push(nat);
        self.nats.len() - 1
    }

    /// NAT `index`, to read its mappings.
    #[must_use]
    pub fn nat(&self, index: usize) -> Option<&Nat> {
        self.nats.get(index)
    }

    /// NAT `index`, to change it (forget its mappings).
    pub fn nat_mut(&mut self, index: usize) -> Option<&mut Nat> {
        self.nats.get_mut(index)
    }

    /// What the network has done so far.
    #[must_use]
    pub fn stats(&self) -> NetStats {
        self.stats
    }

    /// How many packets are in flight.
    #[must_use]
    pub fn in_flight(&self) -> usize {
        self.schedule.len()
    }

    /// Sends `body` (`len` bytes on the wire, for the rate limit) from `from` to `to` now,
    /// through NATs and the link's faults.
    pub fn send(&mut self, from: TransportAddr, to: TransportAddr, body: P, len: usize) -> Fate {
        self.send_marked(from, to, body, len, false)
    }

    /// As [`send`](Self::send), for a packet with the don't-fragment bit if `dont_fragment`
    /// (see [`LinkConfig::fragments`]).
    pub fn send_marked(
        &mut self,
        from: TransportAddr,
        to: TransportAddr,
        body: P,
        len: usize,
        dont_fragment: bool,
    ) -> Fate {
        self.stats.sent += 1;
        let link = self.link(&from, &to);
        let Some((seen_from, seen_to)) = self.translate(from, to) else {
            self.stats.nat_refused += 1;
            return Fate::Dropped(Dropped::Nat);
        };
        if !self.hosts.contains(&seen_to) {
            self.stats.no_route += 1;
            return Fate::Dropped(Dropped::NoRoute);
        }
        let carried = self.states.entry((from, to)).or_default().carry_marked(
            &link,
            &mut self.rng,
            self.now,
            len,
            dont_fragment,
        );
        self.stats.duplicated += u64::from(carried.duplicated);
        self.stats.reordered += carried.reordered as u64;
        self.stats.queue_full += carried.queue_drops as u64;
        if carried.lost {
            self.stats.lost += 1;
            return Fate::Dropped(Dropped::Lost);
        }
        if carried.arrivals.is_empty() {
            return Fate::Dropped(Dropped::QueueFull);
        }
        let copies = carried.arrivals.len();
        self.stats.carried += copies as u64;
        for at in carried.arrivals {
            self.schedule.insert(
                at,
                Packet {
                    from: seen_from,
                    to: seen_to,
                    body: body.clone(),
                },
            );
        }
        Fate::Sent {
            from: seen_from,
            to: seen_to,
            copies,
        }
    }

    /// Puts `packet` in flight to arrive at `at`, past every NAT and fault: for what the
    /// simulated network carries reliably (a stream, an error report) and for an attacker's
    /// injection.
    pub fn schedule(&mut self, at: Instant, packet: Packet<P>) {
        self.schedule.insert(at, packet);
    }

    /// Takes out of flight every packet for which `lost` holds, as a host that goes down loses
    /// what it had sent and what was on its way to it; returns how many. No draw, no stats: the
    /// harness decides what is lost, not a fault model.
    pub fn drop_in_flight(&mut self, mut lost: impl FnMut(&Packet<P>) -> bool) -> usize {
        self.schedule.retain(|packet| !lost(packet))
    }

    /// When the next packet arrives.
    #[must_use]
    pub fn next_at(&self) -> Option<Instant> {
        self.schedule.next_at()
    }

    /// The next packet if it arrives no later than `until`, moving the clock to its arrival.
    pub fn pop_due(&mut self, until: Instant) -> Option<Packet<P>> {
        let (at, packet) = self.schedule.pop_due(until)?;
        self.advance_to(at);
        Some(packet)
    }

    /// The addresses a packet from `from` to `to` travels with after the NATs: the source
    /// rewritten by the sender's NAT (unless the destination is behind the same one), the
    /// destination mapped back by the NAT that owns it; `None` if a NAT refuses it or the
    /// destination is private to a NAT the sender is not behind.
    fn translate(
        &mut self,
        from: TransportAddr,
        to: TransportAddr,
    ) -> Option<(TransportAddr, TransportAddr)> {
        let mut from_seen = from;
        if let Some(nat) = self
            .nats
            .iter_mut()
            .find(|nat| nat.is_inside(&from) && !nat.is_inside(&to))
        {
            from_seen = nat.outbound(from, to)?;
        }
        let mut to_seen = to;
        if let Some(nat) = self.nats.iter().find(|nat| nat.owns(&to)) {
            to_seen = nat.inbound(from_seen, to)?;
        } else if self
            .nats
            .iter()
            .any(|nat| nat.is_inside(&to) && !nat.is_inside(&from))
        {
            // An inside address is private: only its NAT's other inside hosts reach it directly.
            return None;
        }
        Some((from_seen, to_seen))
    }
}
