//! Which packets a link loses: independently, or in bursts (Gilbert-Elliott).
//!
//! Real paths lose packets in bursts (a queue overflowing, a radio fading), and a protocol that
//! copes with independent loss can still fail on bursts: a retry sent right after a loss is
//! likely lost too. The Gilbert-Elliott model gives bursts with two states, each with its own
//! loss probability, and a probability per packet of moving to the other state.

use super::draw::chance;
use crate::rng::CoreRng;

/// Two-state burst loss. In the classic simple form (`loss_good` 0, `loss_bad` 1) the long-run
/// loss rate is `to_bad / (to_bad + to_good)` and a burst lasts `1 / to_good` packets on average.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GilbertElliott {
    /// Probability, per packet in the good state, of moving to the bad state.
    pub to_bad: f64,
    /// Probability, per packet in the bad state, of moving back to the good state.
    pub to_good: f64,
    /// Probability of losing a packet in the good state.
    pub loss_good: f64,
    /// Probability of losing a packet in the bad state.
    pub loss_bad: f64,
}

impl GilbertElliott {
    /// The simple model: every packet in the bad state is lost, none in the good state; for a
    /// loss rate `rate` in bursts of `burst` packets on average (`burst` at least 1).
    #[must_use]
    pub fn bursts(rate: f64, burst: f64) -> Self {
        let to_good = 1.0 / burst.max(1.0);
        // Stationary bad share to_bad / (to_bad + to_good) = rate.
        let rate = rate.clamp(0.0, 0.999);
        Self {
            to_bad: rate * to_good / (1.0 - rate),
            to_good,
            loss_good: 0.0,
            loss_bad: 1.0,
        }
    }

    /// The long-run share of packets lost.
    #[must_use]
    pub fn mean_loss(&self) -> f64 {
        let total = self.to_bad + self.to_good;
        if total <= 0.0 {
            return self.loss_good;
        }
        let bad = self.to_bad / total;
        bad * self.loss_bad + (1.0 - bad) * self.loss_good
    }
}

/// How a link loses packets.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Loss {
    /// No loss (and no draw).
    None,
    /// Each packet lost independently with this probability.
    Random(f64),
    /// Losses in bursts.
    GilbertElliott(GilbertElliott),
}

/// What a loss model remembers between the packets of one link: the Gilbert-Elliott state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LossState {
    bad: bool,
}

impl LossState {
    /// Whether the link is in its bad (bursty) state.
    #[must_use]
    pub fn is_bad(&self) -> bool {
        self.bad
    }
}

impl Loss {
    /// Whether the next packet is lost, moving `state` on. Independent loss draws once (none
    /// at zero), as the simulator always has; Gilbert-Elliott draws for the loss in the current
    /// state, then for the state change.
    pub fn lose(&self, state: &mut LossState, rng: &mut CoreRng) -> bool {
        match self {
            Self::None => false,
            Self::Random(probability) => chance(rng, *probability),
            Self::GilbertElliott(model) => {
                let lost = chance(
                    rng,
                    if state.bad {
                        model.loss_bad
                    } else {
                        model.loss_good
                    },
                );
                let flip = if state.bad {
                    model.to_good
                } else {
                    model.to_bad
                };
                if chance(rng, flip) {
                    state.bad = !state.bad;
                }
                lost
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The share lost and the mean length of runs of consecutive losses over `packets`.
    fn measure(loss: Loss, packets: usize, seed: u8) -> (f64, f64) {
        let mut rng = CoreRng::from_seed([seed; 32]);
        let mut state = LossState::default();
        let (mut lost, mut bursts, mut previous) = (0usize, 0usize, false);
        for _ in 0..packets {
            let now = loss.lose(&mut state, &mut rng);
            lost += usize::from(now);
            bursts += usize::from(now && !previous);
            previous = now;
        }
        (
            lost as f64 / packets as f64,
            lost as f64 / bursts.max(1) as f64,
        )
    }

    #[test]
    fn gilbert_elliott_loses_at_its_rate_in_bursts_of_its_length() {
        let model = GilbertElliott::bursts(0.1, 5.0);
        assert!((model.mean_loss() - 0.1).abs() < 1e-9);
        for seed in 1..4 {
            let (rate, burst) = measure(Loss::GilbertElliott(model), 200_000, seed);
            assert!((rate - 0.1).abs() < 0.01, "seed {seed}: rate {rate}");
            assert!((burst - 5.0).abs() < 0.5, "seed {seed}: burst {burst}");
        }
    }

    #[test]
    fn independent_loss_at_the_same_rate_has_short_bursts() {
        let (rate, burst) = measure(Loss::Random(0.1), 200_000, 7);
        assert!((rate - 0.1).abs() < 0.01, "rate {rate}");
        // Runs of independent losses average 1 / (1 - p), about 1.11 packets.
        assert!(burst < 1.2, "burst {burst}");
    }

    #[test]
    fn a_lossy_good_state_and_a_leaky_bad_state_mix() {
        let model = GilbertElliott {
            to_bad: 0.01,
            to_good: 0.04,
            loss_good: 0.02,
            loss_bad: 0.5,
        };
        // Bad a fifth of the time: 0.2 * 0.5 + 0.8 * 0.02.
        assert!((model.mean_loss() - 0.116).abs() < 1e-9);
        let (rate, _) = measure(Loss::GilbertElliott(model), 400_000, 9);
        assert!((rate - 0.116).abs() < 0.01, "rate {rate}");
    }

    #[test]
    fn no_loss_loses_nothing() {
        assert_eq!(measure(Loss::None, 1000, 1).0, 0.0);
    }
}
