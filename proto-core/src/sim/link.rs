//! One direction of a link, netem-like: loss, duplication, latency with jitter, reordering, a
//! rate limit and the queue in front of it.
//!
//! A packet meets the faults in this order: loss (the model's draws), duplication (one draw),
//! then for each copy the queue (no draw), reordering (one draw) and jitter (one draw). Faults
//! that are off draw nothing, so a link with only delay and jitter draws exactly one number per
//! copy, as the simulator's first version did, and recorded runs stay the same.

use alloc::collections::VecDeque;
use core::time::Duration;

use super::draw::{chance, up_to};
use super::loss::{Loss, LossState};
use crate::rng::CoreRng;
use crate::time::Instant;

/// How one direction of a link treats packets.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinkConfig {
    /// Which packets are lost.
    pub loss: Loss,
    /// Probability that a packet is delivered twice (each copy has its own delay).
    pub duplicate: f64,
    /// The fixed one-way latency.
    pub delay: Duration,
    /// Up to this much extra latency, uniform per packet: any jitter reorders packets sent
    /// closer together than it.
    pub jitter: Duration,
    /// Probability that a packet skips the fixed latency (netem's `reorder`): it overtakes the
    /// packets sent shortly before it.
    pub reorder: f64,
    /// Bytes per second the link carries, or `None` (or zero) for no limit. Packets wait their
    /// turn: a packet of `n` bytes holds the link for `n / rate` seconds.
    pub rate: Option<u64>,
    /// Packets that may wait for a rate-limited link (the one being sent included); one more is
    /// dropped, as a router with a full buffer does. `None`: unbounded. Without a rate nothing
    /// waits, so the limit never applies.
    pub queue_limit: Option<usize>,
    /// The largest packet the path delivers, or `None` for any size. A larger one is lost, as
    /// on a path whose MTU is smaller and whose routers drop IP fragments, unless
    /// [`fragments`](Self::fragments) says otherwise. Draws nothing.
    pub mtu: Option<usize>,
    /// Whether a packet larger than [`mtu`](Self::mtu) that lacks the don't-fragment bit is
    /// fragmented and put back together (delivered whole, as its fragments would be), as on
    /// a path whose routers pass IP fragments. A don't-fragment packet larger than the MTU is
    /// always lost. False by default: the path drops fragments.
    pub fragments: bool,
}

impl LinkConfig {
    /// A perfect link: no loss, nothing delayed.
    pub const PERFECT: Self = Self::with_delay(Duration::ZERO);

    /// A perfect link with a fixed latency.
    #[must_use]
    pub const fn with_delay(delay: Duration) -> Self {
        Self {
            loss: Loss::None,
            duplicate: 0.0,
            delay,
            jitter: Duration::ZERO,
            reorder: 0.0,
            rate: None,
            queue_limit: None,
            mtu: None,
            fragments: false,
        }
    }

    /// The same link, delivering packets of at most `mtu` bytes.
    #[must_use]
    pub const fn with_mtu(mut self, mtu: usize) -> Self {
        self.mtu = Some(mtu);
        self
    }

    /// The same link, passing IP fragments: a packet over the MTU arrives whole unless it
    /// carries the don't-fragment bit ([`fragments`](Self::fragments)).
    #[must_use]
    pub const fn with_fragmentation(mut self) -> Self {
        self.fragments = true;
        self
    }

    /// Whether a packet of `len` bytes, with the don't-fragment bit or not, is too large to
    /// cross.
    const fn too_large(&self, len: usize, dont_fragment: bool) -> bool {
        match self.mtu {
            Some(mtu) => len > mtu && (dont_fragment || !self.fragments),
            None => false,
        }
    }
}

impl Default for LinkConfig {
    fn default() -> Self {
        Self::PERFECT
    }
}

/// Why a link did not carry a packet (or a copy of one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkDrop {
    /// The loss model lost it.
    Lost,
    /// The rate limiter's queue was full.
    QueueFull,
}

/// What one direction of a link remembers between packets.
#[derive(Clone, Debug, Default)]
pub struct LinkState {
    loss: LossState,
    /// When the rate limiter is free again.
    busy_until: Instant,
    /// When each packet still waiting for (or on) the rate limiter leaves it, oldest first.
    departures: VecDeque<Instant>,
}

/// What happened to one packet on a link.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Carried {
    /// When each copy arrives (none if it was lost, two if it was duplicated and both fit).
    pub arrivals: alloc::vec::Vec<Instant>,
    /// Whether it was lost outright.
    pub lost: bool,
    /// Whether a second copy was made.
    pub duplicated: bool,
    /// Copies dropped by a full queue.
    pub queue_drops: usize,
    /// Copies that skipped the fixed latency.
    pub reordered: usize,
}

impl LinkState {
    /// Carries a packet of `len` bytes sent at `now` under `config`, without the
    /// don't-fragment bit.
    pub fn carry(
        &mut self,
        config: &LinkConfig,
        rng: &mut CoreRng,
        now: Instant,
        len: usize,
    ) -> Carried {
        self.carry_marked(config, rng, now, len, false)
    }

    /// As [`carry`](Self::carry), for a packet with the don't-fragment bit if
    /// `dont_fragment`.
    pub fn carry_marked(
        &mut self,
        config: &LinkConfig,
        rng: &mut CoreRng,
        now: Instant,
        len: usize,
        dont_fragment: bool,
    ) -> Carried {
        let mut carried = Carried::default();
        if config.too_large(len, dont_fragment) {
            carried.lost = true;
            return carried;
        }
        if config.loss.lose(&mut self.loss, rng) {
            carried.lost = true;
            return carried;
        }
        carried.duplicated = chance(rng, config.duplicate);
        for _ in 0..1 + usize::from(carried.duplicated) {
            let Some(departs) = self.depart(config, now, len) else {
                carried.queue_drops += 1;
                continue;
            };
            let skips = chance(rng, config.reorder);
            carried.reordered += usize::from(skips);
            let base = if skips { Duration::ZERO } else { config.delay };
            let jitter = u64::try_from(config.jitter.as_micros()).unwrap_or(u64::MAX);
            let extra = Duration::from_micros(up_to(rng, jitter));
            carried.arrivals.push(departs + base + extra);
        }
        carried
    }

    /// When a copy leaves the rate limiter, or `None` if its queue is full.
    fn depart(&mut self, config: &LinkConfig, now: Instant, len: usize) -> Option<Instant> {
        let Some(rate) = config.rate.filter(|rate| *rate > 0) else {
            return Some(now);
        };
        while self.departures.front().is_some_and(|left| *left <= now) {
            self.departures.pop_front();
        }
        if config
            .queue_limit
            .is_some_and(|limit| self.departures.len() >= limit)
        {
            return None;
        }
        let micros = (len as u128 * 1_000_000).div_ceil(u128::from(rate));
        let hold = Duration::from_micros(u64::try_from(micros).unwrap_or(u64::MAX));
        let departs = self.busy_until.max(now) + hold;
        self.busy_until = departs;
        self.departures.push_back(departs);
        Some(departs)
    }

    /// Whether the loss model is in its bad state.
    #[must_use]
    pub fn in_loss_burst(&self) -> bool {
        self.loss.is_bad()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn rng() -> CoreRng {
        CoreRng::from_seed([4; 32])
    }

    #[test]
    fn duplication_copies_about_its_share() {
        let config = LinkConfig {
            duplicate: 0.2,
            ..LinkConfig::PERFECT
        };
        let (mut state, mut rng) = (LinkState::default(), rng());
        let copies: usize = (0..50_000)
            .map(|_| {
                state
                    .carry(&config, &mut rng, Instant::ZERO, 100)
                    .arrivals
                    .len()
            })
            .sum();
        let ratio = copies as f64 / 50_000.0 - 1.0;
        assert!((ratio - 0.2).abs() < 0.01, "ratio {ratio}");
    }

    #[test]
    fn reordering_lets_packets_overtake_and_jitter_spreads_arrivals() {
        let config = LinkConfig {
            delay: Duration::from_millis(10),
            reorder: 0.25,
            ..LinkConfig::PERFECT
        };
        let (mut state, mut rng) = (LinkState::default(), rng());
        // One packet each millisecond; a reordered one arrives before packets sent before it.
        let arrivals: Vec<Instant> = (0..1000u64)
            .flat_map(|ms| {
                state
                    .carry(&config, &mut rng, Instant::from_millis(ms), 100)
                    .arrivals
            })
            .collect();
        let inversions = arrivals.windows(2).filter(|w| w[1] < w[0]).count();
        assert!((150..350).contains(&inversions), "{inversions} inversions");

        let config = LinkConfig {
            jitter: Duration::from_millis(5),
            ..LinkConfig::with_delay(Duration::from_millis(10))
        };
        let spread: Vec<Instant> = (0..1000)
            .flat_map(|_| state.carry(&config, &mut rng, Instant::ZERO, 100).arrivals)
            .collect();
        assert!(
            spread
                .iter()
                .all(|at| (Instant::from_millis(10)..=Instant::from_millis(15)).contains(at))
        );
        assert!(spread.iter().any(|at| *at > Instant::from_millis(14)));
        assert!(spread.iter().any(|at| *at < Instant::from_millis(11)));
    }

    #[test]
    fn a_rate_limit_bounds_throughput() {
        // 1 MB/s: 1000 packets of 1000 bytes sent at once take a second to leave.
        let config = LinkConfig {
            rate: Some(1_000_000),
            ..LinkConfig::with_delay(Duration::from_millis(5))
        };
        let (mut state, mut rng) = (LinkState::default(), rng());
        let last = (0..1000)
            .filter_map(|_| {
                state
                    .carry(&config, &mut rng, Instant::ZERO, 1000)
                    .arrivals
                    .pop()
            })
            .max()
            .unwrap();
        assert_eq!(last, Instant::from_millis(1005));
        // Sent no faster than the rate, packets are not held at all.
        let mut paced = LinkState::default();
        let arrival = paced
            .carry(&config, &mut rng, Instant::from_millis(10_000), 1000)
            .arrivals;
        assert_eq!(arrival, [Instant::from_millis(10_006)]);
    }

    #[test]
    fn a_full_queue_drops_and_drains_as_packets_leave() {
        let config = LinkConfig {
            rate: Some(1_000_000),
            queue_limit: Some(10),
            ..LinkConfig::PERFECT
        };
        let (mut state, mut rng) = (LinkState::default(), rng());
        let sent: Vec<Carried> = (0..25)
            .map(|_| state.carry(&config, &mut rng, Instant::ZERO, 1000))
            .collect();
        assert_eq!(sent.iter().filter(|c| c.arrivals.len() == 1).count(), 10);
        assert_eq!(sent.iter().map(|c| c.queue_drops).sum::<usize>(), 15);
        // Three packets have left 3 ms later: three more fit.
        let later: Vec<Carried> = (0..5)
            .map(|_| state.carry(&config, &mut rng, Instant::from_millis(3), 1000))
            .collect();
        assert_eq!(later.iter().filter(|c| c.arrivals.len() == 1).count(), 3);
    }

    #[test]
    fn a_link_without_faults_draws_nothing() {
        let config = LinkConfig::with_delay(Duration::from_millis(3));
        let (mut state, mut rng, mut reference) = (LinkState::default(), rng(), rng());
        let carried = state.carry(&config, &mut rng, Instant::ZERO, 10);
        assert_eq!(carried.arrivals, [Instant::from_millis(3)]);
        assert_eq!(rng.next_u64(), reference.next_u64());
    }
}
