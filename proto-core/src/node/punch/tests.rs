use alloc::vec;
use core::time::Duration;

use super::{
    Due, INTRODUCTION_INTERVAL, MAX_ATTEMPTS, MAX_INTRODUCTIONS, MAX_INTRODUCTIONS_PER_SECOND,
    MAX_REQUESTS, PROBE_INTERVAL, PROBES, Punching, REQUEST_INTERVAL,
};
use crate::identity::{Identity, NodeId, PublicKey};
use crate::time::Instant;
use crate::transport::TransportAddr;

fn key(n: u8) -> PublicKey {
    Identity::from_secret_bytes(&[n; 32]).public_key()
}

fn id(n: u8) -> NodeId {
    NodeId::from_bytes([n; 32])
}

fn candidate(port: u16) -> TransportAddr {
    TransportAddr::udp(core::net::SocketAddr::from(([203, 0, 113, 2], port)))
}

fn at(millis: u64) -> Instant {
    Instant::ZERO + Duration::from_millis(millis)
}

#[test]
fn a_pair_is_introduced_once_per_interval_whichever_end_asks() {
    let mut punching = Punching::default();
    assert!(punching.admit_introduction(id(1), id(2), at(0)));
    assert!(!punching.admit_introduction(id(2), id(1), at(10)));
    assert!(punching.admit_introduction(id(1), id(3), at(10)));
    let later = INTRODUCTION_INTERVAL.as_millis() as u64;
    assert!(punching.admit_introduction(id(2), id(1), at(later)));
    assert_eq!(punching.counters.introductions, 3);
    assert_eq!(punching.counters.introductions_refused, 1);
}

#[test]
fn introductions_are_capped_per_second_and_the_pair_table_is_bounded() {
    let mut punching = Punching::default();
    let mut made = 0;
    for n in 0..=u8::MAX {
        if punching.admit_introduction(id(0), id(n), at(500)) {
            made += 1;
        }
    }
    assert_eq!(made, MAX_INTRODUCTIONS_PER_SECOND);
    // Second after second, the table of pairs stays within its bound.
    for second in 1..=u64::from(u8::MAX) {
        for n in 0..8u8 {
            let requester = id(u8::try_from(second % 200).unwrap());
            punching.admit_introduction(requester, id(n.wrapping_add(100)), at(second * 1_000));
        }
    }
    assert!(punching.introduced.len() <= MAX_INTRODUCTIONS);
}

#[test]
fn requests_are_spaced_and_not_made_during_an_attempt() {
    let mut punching = Punching::default();
    let peer = key(1);
    assert!(punching.should_request(peer.node_id(), at(0)));
    assert!(!punching.should_request(peer.node_id(), at(1_000)));
    let spaced = REQUEST_INTERVAL.as_millis() as u64;
    assert!(punching.start(peer, vec![candidate(1)], at(spaced)));
    assert!(!punching.should_request(peer.node_id(), at(spaced)));
    assert!(punching.succeeded(&peer.node_id()));
    assert!(punching.should_request(peer.node_id(), at(spaced)));
    for n in 0..=u8::MAX {
        punching.should_request(NodeId::from_bytes([n; 32]), at(spaced * 2));
    }
    assert!(punching.requested.len() <= MAX_REQUESTS);
}

#[test]
fn an_attempt_probes_on_schedule_then_gives_up() {
    let mut punching = Punching::default();
    let peer = key(2);
    let candidates = vec![candidate(1), candidate(2)];
    assert!(punching.start(peer, candidates.clone(), at(0)));
    assert!(punching.is_candidate(&peer.node_id(), candidate(2)));
    assert!(!punching.is_candidate(&peer.node_id(), candidate(3)));
    let step = PROBE_INTERVAL.as_millis() as u64;
    let mut probes = 0;
    let mut now = 0;
    loop {
        assert_eq!(punching.next_timeout(), Some(at(now)));
        let due = punching.due(at(now));
        match due.as_slice() {
            [Due::Probe(to, sent)] => {
                assert_eq!((*to, sent), (peer, &candidates));
                probes += 1;
            }
            [Due::GaveUp(to)] => {
                assert_eq!(*to, peer);
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
        // Nothing is due before the interval has passed.
        assert!(punching.due(at(now + step - 1)).is_empty());
        now += step;
    }
    assert_eq!(probes, PROBES);
    assert_eq!(punching.counters.failed, 1);
    assert_eq!(punching.next_timeout(), None);
    assert!(!punching.in_progress(&peer.node_id()));
}

#[test]
fn attempts_are_bounded() {
    let mut punching = Punching::default();
    for n in 0..MAX_ATTEMPTS {
        assert!(punching.start(key(u8::try_from(n).unwrap()), vec![candidate(1)], at(0)));
    }
    assert!(!punching.start(key(200), vec![candidate(1)], at(0)));
    // Restarting one in progress is always allowed.
    assert!(punching.start(key(0), vec![candidate(2)], at(0)));
    assert_eq!(punching.len(), MAX_ATTEMPTS);
}
