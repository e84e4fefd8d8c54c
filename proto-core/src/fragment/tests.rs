//! Splitting and reassembly together: round trips in any order, bounds under any input.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec;
use alloc::vec::Vec;
use core::time::Duration;

use proptest::prelude::*;

use super::*;
use crate::time::Instant;

fn seconds(s: u64) -> Instant {
    Instant::from_millis(s * 1000)
}

fn decode_all(plaintexts: &[Vec<u8>]) -> Vec<Fragment<'_>> {
    plaintexts
        .iter()
        .map(|plaintext| Fragment::decode(plaintext).unwrap())
        .collect()
}

/// A small deterministic shuffle (xorshift64), so a seed picks the order.
fn shuffle<T>(items: &mut [T], mut seed: u64) {
    seed |= 1;
    for i in (1..items.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let j = (seed % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}

/// Delivers `order` (indices into `fragments`) and checks the message comes back exactly
/// once, when the last distinct piece arrives.
fn deliver(message: &[u8], fragments: &[Fragment<'_>], order: &[usize]) {
    let mut reassembler = Reassembler::new(ReassemblyLimits::default());
    let mut seen = BTreeSet::new();
    let mut delivered = 0;
    for &i in order {
        seen.insert(i);
        let out = reassembler
            .insert(Instant::ZERO, 3u8, &fragments[i])
            .unwrap();
        if let Some(whole) = out {
            assert_eq!(
                seen.len(),
                fragments.len(),
                "returned before every piece came"
            );
            assert_eq!(whole, message);
            delivered += 1;
        }
        assert!(reassembler.memory_in_use() <= message.len());
    }
    assert_eq!(delivered, 1);
    assert_eq!(reassembler.memory_in_use(), 0);
    assert_eq!(reassembler.in_flight(), 0);
    let stats = reassembler.stats();
    assert_eq!(stats.completed, 1);
    assert_eq!(stats.duplicates, (order.len() - fragments.len()) as u64);
}

#[test]
fn sixteen_mib_round_trips_out_of_order_with_duplicates() {
    let message: Vec<u8> = (0..16u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let plaintexts: Vec<Vec<u8>> = split(&message, 0xdead_beef, 1100).unwrap().collect();
    assert_eq!(plaintexts.len(), 15_435);
    assert!(plaintexts.iter().all(|plaintext| plaintext.len() <= 1100));
    let fragments = decode_all(&plaintexts);
    let mut order: Vec<usize> = (0..fragments.len()).collect();
    shuffle(&mut order, 0x1234_5678);
    order.extend([0, 7, 15_434, 15_434]);
    shuffle(&mut order, 99);
    deliver(&message, &fragments, &order);
}

#[test]
fn timeout_drops_incomplete_messages() {
    let limits = ReassemblyLimits::default().with_timeout(Duration::from_secs(30));
    let mut reassembler = Reassembler::new(limits);
    let message = [1u8; 300];
    let plaintexts: Vec<_> = split(&message, 1, HEADER_LEN + 100).unwrap().collect();
    let fragments = decode_all(&plaintexts);
    assert_eq!(reassembler.next_timeout(), None);
    assert_eq!(
        reassembler.insert(seconds(10), 1u32, &fragments[0]),
        Ok(None)
    );
    assert_eq!(
        reassembler.insert(seconds(20), 2u32, &fragments[0]),
        Ok(None)
    );
    assert_eq!(reassembler.next_timeout(), Some(seconds(40)));
    assert_eq!(reassembler.memory_in_use(), 600);

    // The deadline counts from the first piece: later pieces do not push it back.
    assert_eq!(
        reassembler.insert(seconds(39), 2u32, &fragments[1]),
        Ok(None)
    );
    assert_eq!(reassembler.expire(seconds(39)), 0);
    assert_eq!(reassembler.expire(seconds(40)), 1);
    assert_eq!(reassembler.next_timeout(), Some(seconds(50)));
    assert_eq!(reassembler.memory_in_use(), 300);
    assert_eq!(reassembler.expire(seconds(50)), 1);
    assert_eq!(reassembler.next_timeout(), None);
    assert_eq!(reassembler.memory_in_use(), 0);
    assert_eq!(reassembler.stats().expired, 2);

    // A late piece of an expired message starts it again rather than completing it.
    assert_eq!(
        reassembler.insert(seconds(51), 1u32, &fragments[1]),
        Ok(None)
    );
    assert_eq!(
        reassembler.insert(seconds(51), 1u32, &fragments[2]),
        Ok(None)
    );
    assert_eq!(reassembler.in_flight(), 1);
    // `insert` expires what is due first: the message's first fragment is 30 s old at 81 s.
    assert_eq!(
        reassembler.insert(seconds(81), 1u32, &fragments[0]),
        Ok(None)
    );
    assert_eq!(reassembler.stats().expired, 3);
    assert_eq!(reassembler.stats().completed, 0);
}

#[test]
fn in_flight_bound_refuses_new_messages() {
    let limits = ReassemblyLimits::default().with_max_in_flight(2);
    let mut reassembler = Reassembler::new(limits);
    let message = [2u8; 20];
    let plaintexts: Vec<_> = split(&message, 1, HEADER_LEN + 10).unwrap().collect();
    let fragments = decode_all(&plaintexts);
    assert_eq!(
        reassembler.insert(Instant::ZERO, 1u8, &fragments[0]),
        Ok(None)
    );
    assert_eq!(
        reassembler.insert(Instant::ZERO, 2u8, &fragments[0]),
        Ok(None)
    );
    assert_eq!(
        reassembler.insert(Instant::ZERO, 3u8, &fragments[0]),
        Err(ReassemblyError::TooManyInFlight)
    );
    assert_eq!(reassembler.stats().refused_in_flight, 1);
    // Messages under way keep their room and complete.
    assert_eq!(
        reassembler.insert(Instant::ZERO, 1u8, &fragments[1]),
        Ok(Some(message.to_vec()))
    );
    // A single-fragment message needs no room.
    let single: Vec<_> = split(b"hi", 9, 100).unwrap().collect();
    let single = Fragment::decode(&single[0]).unwrap();
    assert_eq!(
        reassembler.insert(Instant::ZERO, 4u8, &single),
        Ok(Some(b"hi".to_vec()))
    );
    assert_eq!(
        reassembler.insert(Instant::ZERO, 3u8, &fragments[0]),
        Ok(None)
    );
    assert_eq!(
        reassembler.insert(Instant::ZERO, 5u8, &fragments[0]),
        Err(ReassemblyError::TooManyInFlight)
    );
    assert_eq!(reassembler.in_flight(), 2);
}

#[test]
fn inconsistent_fragment_drops_its_message() {
    let mut reassembler = Reassembler::new(ReassemblyLimits::default());
    let ten = Fragment::new(1, 0, 4, 10, b"abc").unwrap();
    assert_eq!(reassembler.insert(Instant::ZERO, 1u8, &ten), Ok(None));
    assert_eq!(reassembler.memory_in_use(), 10);
    // Another total under the same key.
    let eleven = Fragment::new(1, 3, 4, 11, b"ab").unwrap();
    assert_eq!(
        reassembler.insert(Instant::ZERO, 1u8, &eleven),
        Err(ReassemblyError::Inconsistent)
    );
    assert_eq!(reassembler.memory_in_use(), 0);
    assert_eq!(reassembler.in_flight(), 0);
    assert_eq!(reassembler.next_timeout(), None);

    // Another count under the same key.
    assert_eq!(reassembler.insert(Instant::ZERO, 1u8, &ten), Ok(None));
    let five = Fragment::new(1, 1, 5, 10, b"cd").unwrap();
    assert_eq!(
        reassembler.insert(Instant::ZERO, 1u8, &five),
        Err(ReassemblyError::Inconsistent)
    );
    assert_eq!(reassembler.stats().refused_inconsistent, 2);

    // A piece of the wrong length never gets as far as the reassembler.
    let mut bad = ten.encode();
    bad.pop();
    assert_eq!(Fragment::decode(&bad), Err(FragmentError::BadPieceLength));
}

#[test]
fn memory_bound_refuses_declared_totals() {
    let limits = ReassemblyLimits::default()
        .with_max_memory(1000)
        .with_max_message_len(600);
    let mut reassembler = Reassembler::new(limits);
    // Forged first pieces that declare large totals.
    let declare = |total: u32| {
        let count = fragment_count(total as usize, HEADER_LEN + 100).unwrap();
        let (_, len) = piece_range(total, count, 0).unwrap();
        (count, vec![7u8; len as usize])
    };
    let (count, data) = declare(600);
    let first = Fragment::new(1, 0, count, 600, &data).unwrap();
    assert_eq!(reassembler.insert(Instant::ZERO, 1u8, &first), Ok(None));
    assert_eq!(
        reassembler.insert(Instant::ZERO, 2u8, &first),
        Err(ReassemblyError::MemoryFull)
    );
    let (count, data) = declare(400);
    let smaller = Fragment::new(1, 0, count, 400, &data).unwrap();
    assert_eq!(reassembler.insert(Instant::ZERO, 2u8, &smaller), Ok(None));
    assert_eq!(reassembler.memory_in_use(), 1000);
    let (count, data) = declare(601);
    let too_large = Fragment::new(1, 0, count, 601, &data).unwrap();
    assert_eq!(
        reassembler.insert(Instant::ZERO, 3u8, &too_large),
        Err(ReassemblyError::TooLarge)
    );
    let stats = reassembler.stats();
    assert_eq!((stats.refused_memory, stats.refused_too_large), (1, 1));
    // The room comes back when the messages time out.
    reassembler.expire(seconds(30));
    assert_eq!(reassembler.memory_in_use(), 0);
    assert_eq!(reassembler.insert(seconds(30), 2u8, &first), Ok(None));
}

#[test]
fn late_duplicates_of_a_delivered_message_are_ignored() {
    let mut reassembler = Reassembler::new(ReassemblyLimits::default());
    let message = [5u8; 30];
    let plaintexts: Vec<_> = split(&message, 1, HEADER_LEN + 10).unwrap().collect();
    let fragments = decode_all(&plaintexts);
    for fragment in &fragments[..2] {
        assert_eq!(reassembler.insert(Instant::ZERO, 1u8, fragment), Ok(None));
    }
    assert!(
        reassembler
            .insert(Instant::ZERO, 1u8, &fragments[2])
            .unwrap()
            .is_some()
    );
    for fragment in &fragments {
        assert_eq!(reassembler.insert(seconds(1), 1u8, fragment), Ok(None));
    }
    assert_eq!(reassembler.in_flight(), 0);
    assert_eq!(reassembler.stats().duplicates, 3);
    // After the timeout the key is forgotten: the id may start a new message.
    for fragment in &fragments[..2] {
        assert_eq!(reassembler.insert(seconds(30), 1u8, fragment), Ok(None));
    }
    assert!(
        reassembler
            .insert(seconds(30), 1u8, &fragments[2])
            .unwrap()
            .is_some()
    );
    assert_eq!(reassembler.stats().completed, 2);
}

#[test]
fn remembered_keys_are_bounded() {
    let limits = ReassemblyLimits::default().with_max_remembered(2);
    let mut reassembler = Reassembler::new(limits);
    let single: Vec<_> = split(b"x", 0, 100).unwrap().collect();
    let single = Fragment::decode(&single[0]).unwrap();
    for key in 0..3u8 {
        assert!(
            reassembler
                .insert(Instant::ZERO, key, &single)
                .unwrap()
                .is_some()
        );
    }
    // Keys 1 and 2 are remembered; 0 was forgotten to make room.
    assert_eq!(reassembler.insert(Instant::ZERO, 2u8, &single), Ok(None));
    assert!(
        reassembler
            .insert(Instant::ZERO, 0u8, &single)
            .unwrap()
            .is_some()
    );
}

#[test]
fn an_empty_message_round_trips() {
    let plaintexts: Vec<_> = split(b"", 4, 100).unwrap().collect();
    let fragments = decode_all(&plaintexts);
    deliver(b"", &fragments, &[0, 0]);
}

/// Bytes of message `total` under `key` at position `p`: never zero, so a piece never given
/// (left zero in the buffer) would show.
fn byte_at(key: u8, total: u32, p: u32) -> u8 {
    1 + ((u32::from(key) * 31 + total * 7 + p) % 255) as u8
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn any_message_in_any_order_with_duplicates_comes_back_once(
        message in proptest::collection::vec(any::<u8>(), 0..=65_536),
        max in HEADER_LEN + 1..2000,
        seed in any::<u64>(),
        duplicates in proptest::collection::vec(any::<proptest::sample::Index>(), 0..16),
    ) {
        let splitter = match split(&message, 77, max) {
            Ok(splitter) => splitter,
            Err(error) => {
                prop_assert_eq!(error, SplitError::TooManyFragments);
                prop_assert!(message.len() > usize::from(MAX_FRAGMENTS) * (max - HEADER_LEN));
                return Ok(());
            }
        };
        let plaintexts: Vec<Vec<u8>> = splitter.collect();
        prop_assert!(plaintexts.iter().all(|plaintext| plaintext.len() <= max));
        let fragments = decode_all(&plaintexts);
        let mut order: Vec<usize> = (0..fragments.len()).collect();
        order.extend(duplicates.iter().map(|index| index.index(fragments.len())));
        shuffle(&mut order, seed);
        deliver(&message, &fragments, &order);
    }

    #[test]
    fn arbitrary_plaintexts_keep_the_bounds(
        plaintexts in proptest::collection::vec(
            (0u8..3, 0u64..4000, proptest::collection::vec(any::<u8>(), 0..40)),
            0..64,
        ),
    ) {
        let limits = ReassemblyLimits::default()
            .with_max_memory(64)
            .with_max_message_len(48)
            .with_max_in_flight(2)
            .with_timeout(Duration::from_secs(2));
        let mut reassembler = Reassembler::new(limits);
        let mut now = Instant::ZERO;
        for (key, advance, mut bytes) in plaintexts {
            now = now + Duration::from_millis(advance);
            bytes.insert(0, FRAGMENT_TAG);
            if let Ok(fragment) = Fragment::decode(&bytes) {
                let out = reassembler.insert(now, key, &fragment);
                if let Ok(Some(whole)) = out {
                    prop_assert_eq!(whole.len() as u64, u64::from(fragment.total_len()));
                }
            }
            prop_assert!(reassembler.memory_in_use() <= 64);
            prop_assert!(reassembler.in_flight() <= 2);
            prop_assert!(reassembler.next_timeout().is_none_or(|deadline| deadline > now));
        }
    }

    #[test]
    fn arbitrary_fragment_sequences_never_return_a_message_not_fully_given(
        steps in proptest::collection::vec(
            (0u8..3, 0u16..6, 1u16..6, 0u32..40, 0u64..1500),
            0..200,
        ),
    ) {
        let max_memory = 80;
        let limits = ReassemblyLimits::default()
            .with_max_memory(max_memory)
            .with_max_message_len(36)
            .with_max_in_flight(2)
            .with_max_remembered(4)
            .with_timeout(Duration::from_secs(3));
        let mut reassembler = Reassembler::new(limits);
        // What was given of each (key, count, total) since it was last returned.
        let mut given: BTreeMap<(u8, u16, u32), BTreeSet<u16>> = BTreeMap::new();
        let mut now = Instant::ZERO;
        for (key, index, count, total, advance) in steps {
            now = now + Duration::from_millis(advance);
            let Some((start, len)) = piece_range(total, count, index) else {
                continue;
            };
            let data: Vec<u8> = (start..start + len).map(|p| byte_at(key, total, p)).collect();
            let fragment = Fragment::new(0, index, count, total, &data).unwrap();
            given.entry((key, count, total)).or_default().insert(index);
            if let Ok(Some(whole)) = reassembler.insert(now, key, &fragment) {
                let pieces = given.remove(&(key, count, total)).unwrap_or_default();
                prop_assert_eq!(pieces.len(), usize::from(count));
                let expected: Vec<u8> = (0..total).map(|p| byte_at(key, total, p)).collect();
                prop_assert_eq!(whole, expected);
            }
            prop_assert!(reassembler.memory_in_use() <= max_memory);
            prop_assert!(reassembler.in_flight() <= 2);
        }
        reassembler.expire(now + Duration::from_secs(3));
        prop_assert_eq!(reassembler.memory_in_use(), 0);
        prop_assert_eq!(reassembler.in_flight(), 0);
    }
}
