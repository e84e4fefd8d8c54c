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
    assert_eq!(stats.transport.dropped_amplification, 1);
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

fn peer(byte: u8) -> crate::identity::NodeId {
    crate::identity::NodeId::from_bytes([byte; 32])
}

#[test]
fn a_claimed_address_gets_at_most_what_the_claim_was_worth_charged_to_its_source() {
    let mut paths = Paths::new(8);
    let (victim, attacker) = (udp(1), udp(2));
    paths.on_received(attacker, 400, at(0));
    paths.on_claimed(peer(7), victim, attacker, 300, at(0));
    assert!(paths.admit_to_peer(&peer(7), victim, 300));
    assert!(
        !paths.admit_to_peer(&peer(7), victim, 1),
        "the victim gets at most the claim's bytes"
    );
    // The 300 bytes were charged to the attacker's address: 1200 − 300 left there.
    assert!(paths.admit(attacker, 900));
    assert!(!paths.admit(attacker, 1));
    // Another peer at the same address is not limited by a claim it did not make.
    assert!(paths.admit_to_peer(&peer(8), victim, 60_000));
    let mut stats = crate::Stats::default();
    paths.add_stats(&mut stats);
    assert_eq!(stats.transport.dropped_amplification, 2);
}

#[test]
fn a_claim_is_charged_to_its_source_whose_limit_also_binds() {
    let mut paths = Paths::new(8);
    let (victim, attacker) = (udp(1), udp(2));
    paths.on_received(attacker, 100, at(0));
    paths.on_claimed(peer(7), victim, attacker, 1000, at(0));
    assert!(paths.admit_to_peer(&peer(7), victim, 300));
    assert!(
        !paths.admit_to_peer(&peer(7), victim, 1),
        "the attacker's address had 300 bytes of credit in all"
    );
}

#[test]
fn a_proved_address_is_not_limited_by_claims_and_a_claim_from_itself_is_none() {
    let mut paths = Paths::new(8);
    let (victim, attacker) = (udp(1), udp(2));
    paths.on_received(attacker, 100, at(0));
    paths.on_claimed(peer(7), victim, attacker, 10, at(0));
    paths.on_claimed(peer(7), attacker, attacker, 10, at(0));
    assert_eq!(
        paths.claims_len(),
        1,
        "an address signed where it sends from is no claim"
    );
    paths.validate(victim, at(1));
    assert!(paths.admit_to_peer(&peer(7), victim, 60_000));
}

#[test]
fn claims_are_bounded_and_the_least_recently_heard_goes_first() {
    let mut paths = Paths::new(4);
    for n in 0..10u8 {
        paths.on_claimed(
            peer(n),
            udp(100 + u16::from(n)),
            udp(2),
            10,
            at(u64::from(n)),
        );
    }
    assert_eq!(paths.claims_len(), 4);
    // The newest claims remain and limit; the evicted ones no longer do.
    assert!(!paths.admit_to_peer(&peer(9), udp(109), 11));
    assert!(paths.admit_to_peer(&peer(0), udp(100), 11));
}

#[test]
fn a_tcp_address_is_never_claimed() {
    let mut paths = Paths::new(8);
    let listener = TransportAddr::tcp(SocketAddr::from(([127, 0, 0, 1], 9)));
    paths.on_claimed(peer(7), listener, udp(2), 10, at(0));
    assert_eq!(paths.claims_len(), 0);
    assert!(paths.admit_to_peer(&peer(7), listener, 60_000));
}
