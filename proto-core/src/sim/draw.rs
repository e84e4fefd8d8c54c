//! The two draws the simulator makes from its generator.
//!
//! Both draw nothing when the fault they decide is off, so turning a fault off leaves the
//! generator's stream as if that fault did not exist: recorded scenarios that use only delay
//! keep drawing exactly what they drew before the other faults were added.

use crate::rng::CoreRng;

/// True with probability `probability`, from one draw read as a fraction of `u64::MAX`; no
/// draw at all for a probability of zero or less.
pub fn chance(rng: &mut CoreRng, probability: f64) -> bool {
    probability > 0.0 && (rng.next_u64() as f64 / u64::MAX as f64) < probability
}

/// A draw in `0..=max` (uniform up to a negligible modulo bias); no draw for `max == 0`.
pub fn up_to(rng: &mut CoreRng, max: u64) -> u64 {
    if max == 0 {
        return 0;
    }
    match max.checked_add(1) {
        Some(bound) => rng.next_u64() % bound,
        None => rng.next_u64(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_impossible_fault_draws_nothing() {
        let mut drawn = CoreRng::from_seed([1; 32]);
        let mut untouched = CoreRng::from_seed([1; 32]);
        assert!(!chance(&mut drawn, 0.0));
        assert_eq!(up_to(&mut drawn, 0), 0);
        assert_eq!(drawn.next_u64(), untouched.next_u64());
    }

    #[test]
    fn chance_follows_its_probability_and_up_to_stays_in_range() {
        let mut rng = CoreRng::from_seed([2; 32]);
        let hits = (0..100_000).filter(|_| chance(&mut rng, 0.3)).count();
        assert!((29_000..31_000).contains(&hits), "{hits}");
        assert!((0..10_000).all(|_| up_to(&mut rng, 7) <= 7));
        assert!((0..10_000).any(|_| up_to(&mut rng, 7) == 7));
    }
}
