use core::net::SocketAddr;
use core::time::Duration;

use super::{MAX_OBSERVERS, Observation, Reflexive};
use crate::identity::NodeId;
use crate::time::Instant;

fn peer(n: u8) -> NodeId {
    NodeId::from_bytes([n; 32])
}

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([203, 0, 113, 1], port))
}

fn at(secs: u64) -> Instant {
    Instant::ZERO + Duration::from_secs(secs)
}

#[test]
fn several_observers_agree_and_a_change_is_noticed() {
    let mut table = Reflexive::default();
    assert_eq!(
        table.observe(peer(1), addr(40_000), at(0)),
        Observation::New
    );
    assert_eq!(
        table.observe(peer(2), addr(40_000), at(1)),
        Observation::Same
    );
    assert_eq!(
        table.observe(peer(1), addr(40_000), at(2)),
        Observation::Same
    );
    assert_eq!(table.agreeing(addr(40_000)), 2);
    assert_eq!(
        table.observe(peer(1), addr(40_001), at(3)),
        Observation::Changed {
            before: addr(40_000)
        }
    );
    assert_eq!(
        table.addresses(),
        alloc::vec![(addr(40_000), 1), (addr(40_001), 1)]
    );
}

#[test]
fn the_table_keeps_the_most_recent_observers_only() {
    let mut table = Reflexive::default();
    for n in 0..=u8::try_from(MAX_OBSERVERS).unwrap() * 2 {
        table.observe(peer(n), addr(u16::from(n)), at(u64::from(n)));
    }
    let total: usize = table.addresses().iter().map(|(_, count)| count).sum();
    assert_eq!(total, MAX_OBSERVERS);
    assert_eq!(table.agreeing(addr(0)), 0, "the oldest observer went first");
}
