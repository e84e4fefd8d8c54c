//! Tables bounded by forgetting their oldest entry: the one rule several sub-machines use for
//! what they remember per address or per peer.

use alloc::collections::BTreeMap;

use crate::time::Instant;

/// Inserts `key` with `value`, first forgetting the entry whose `set_at` is oldest if `key`
/// is new and the map already holds `bound` entries. Ties go to the smallest key, so the
/// choice is deterministic.
pub(super) fn insert_evicting_oldest<K: Ord + Copy, V>(
    map: &mut BTreeMap<K, V>,
    key: K,
    value: V,
    bound: usize,
    set_at: impl Fn(&V) -> Instant,
) {
    if !map.contains_key(&key) && map.len() >= bound {
        let oldest = map
            .iter()
            .min_by_key(|(_, value)| set_at(value))
            .map(|(key, _)| *key);
        if let Some(oldest) = oldest {
            map.remove(&oldest);
        }
    }
    map.insert(key, value);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_map_forgets_its_oldest_entry_for_a_new_key_only() {
        let mut map = BTreeMap::new();
        for (key, at) in [(1u8, 30), (2, 10), (3, 20)] {
            insert_evicting_oldest(&mut map, key, Instant::from_millis(at), 3, |at| *at);
        }
        insert_evicting_oldest(&mut map, 1, Instant::from_millis(40), 3, |at| *at);
        assert_eq!(
            map.len(),
            3,
            "an existing key is replaced, nothing forgotten"
        );
        insert_evicting_oldest(&mut map, 4, Instant::from_millis(50), 3, |at| *at);
        assert_eq!(
            map.keys().copied().collect::<alloc::vec::Vec<_>>(),
            [1, 3, 4]
        );
    }
}
