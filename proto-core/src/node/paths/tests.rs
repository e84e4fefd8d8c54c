use core::net::SocketAddr;
use core::time::Duration;

use super::{AMPLIFICATION_FACTOR, Paths};
use crate::time::Instant;
use crate::transport::TransportAddr;

fn udp(port: u16) -> TransportAddr {
    TransportAddr::udp(SocketAddr::from(([127, 0, 0, 1], port)))
}

fn at(secs: u64) -> Instant {
    Instant::ZERO + Duration::from_secs(secs)
}

#[test]
fn an_address_never_heard_from_is_not_limited() {
    let mut paths = Paths::new(8);
    assert!(paths.admit(udp(1), 60_000));
    assert_eq!(paths.len(), 0);
}

#[test]
fn an_unvalidated_source_gets_at_most_three_times_what_it_sent() {
    let mut paths = Paths::new(8);
    paths.on_received(udp(1), 100, at(0));
    assert!(paths.admit(udp(1), 200));
    assert!(paths.admit(udp(1), 100));
    assert!(
        !paths.admit(udp(1), 1),
        "300 bytes is the limit for 100 received"
    );
    let mut stats = crate::Stats::default();
    paths.add_stats(&mut stats);
    assert_eq!(stats.dropped_amplification, 1);
    // More received, more credit.
    paths.on_received(udp(1), 10, at(1));
    assert!(paths.admit(udp(1), 30));
    assert!(!paths.admit(udp(1), 1));
    assert_eq!(AMPLIFICATION_FACTOR, 3);
}

#[test]
fn a_validated_address_is_not_limited() {
    let mut paths = Paths::new(8);
    paths.on_received(udp(1), 10, at(0));
    assert!(!paths.admit(udp(1), 31));
    paths.validate(udp(1), at(0));
    assert!(paths.is_validated(&udp(1)));
    assert!(paths.admit(udp(1), 1_000_000));
}

#[test]
fn a_tcp_source_is_validated_by_its_connection() {
    let mut paths = Paths::new(8);
    let tcp = TransportAddr::tcp(SocketAddr::from(([127, 0, 0, 1], 9)));
    paths.on_received(tcp, 1, at(0));
    assert!(paths.is_validated(&tcp));
    assert!(paths.admit(tcp, 100_000));
}

#[test]
fn the_table_is_bounded_and_evicts_unvalidated_addresses_first() {
    let mut paths = Paths::new(3);
    paths.on_received(udp(1), 10, at(0));
    paths.validate(udp(1), at(0));
    paths.on_received(udp(2), 10, at(1));
    paths.on_received(udp(3), 10, at(2));
    paths.on_received(udp(4), 10, at(3));
    assert_eq!(paths.len(), 3);
    assert!(paths.is_validated(&udp(1)), "the validated address stays");
    // udp(2) was the least recently heard unvalidated address: it starts again with no
    // credit, so it is not limited until heard from again.
    paths.on_received(udp(2), 1, at(4));
    assert!(!paths.admit(udp(2), 4));
    for port in 10..100 {
        paths.on_received(udp(port), 1, at(5));
        assert!(paths.len() <= 3);
    }
}

#[test]
fn a_table_of_no_entries_holds_nothing_and_limits_nothing() {
    let mut paths = Paths::new(0);
    paths.on_received(udp(1), 10, at(0));
    assert_eq!(paths.len(), 0);
    assert!(paths.admit(udp(1), 1_000));
}
