//! Token buckets hold their promise for any pattern of offered frames: over any interval of
//! `T` seconds at most `rate x T + burst` frames pass, and a destination table never outgrows
//! its bound.

use core::net::SocketAddr;

use ejtp_proto::Instant;
use ejtp_proto::TransportAddr;
use ejtp_proto::throttle::{Rate, Throttle, TokenBucket};
use proptest::prelude::*;

proptest! {
    #[test]
    fn no_interval_lets_more_than_rate_times_time_plus_burst_through(
        per_second in 1u32..1_000,
        burst in 1u32..50,
        mut offers in proptest::collection::vec(0u64..10_000_000, 1..400),
    ) {
        offers.sort_unstable();
        let rate = Rate { per_second, burst };
        let mut bucket = TokenBucket::full(rate, Instant::ZERO);
        let passed: Vec<u64> = offers
            .iter()
            .copied()
            .filter(|micros| bucket.take(rate, Instant::from_micros(*micros)))
            .collect();
        for (i, first) in passed.iter().enumerate() {
            for (j, last) in passed.iter().enumerate().skip(i) {
                let frames = (j - i + 1) as u128;
                let bound = u128::from(per_second) * u128::from(last - first) / 1_000_000
                    + u128::from(burst);
                prop_assert!(frames <= bound, "{} frames in {} us", frames, last - first);
            }
        }
    }

    #[test]
    fn the_destination_table_stays_within_its_bound(
        max_peers in 1usize..16,
        sends in proptest::collection::vec((0u16..64, 0u64..5_000_000), 1..300),
    ) {
        let per_peer = Rate { per_second: 10, burst: 2 };
        let off = Rate { per_second: 0, burst: 0 };
        let mut throttle = Throttle::new(per_peer, off, max_peers, Instant::ZERO);
        let mut now = 0u64;
        for (port, step) in sends {
            now += step / 100;
            let peer = TransportAddr::udp(SocketAddr::from(([127, 0, 0, 1], port)));
            let admitted = throttle.admits(peer, Instant::from_micros(now));
            prop_assert_eq!(throttle.take(peer, Instant::from_micros(now)), admitted);
            prop_assert!(throttle.peers_tracked() <= max_peers);
            if !admitted {
                prop_assert!(throttle.next_admit_at(peer) > Instant::from_micros(now));
            }
        }
    }
}
