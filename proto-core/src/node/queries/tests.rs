//! Queries alone, without a node: every query ends once, replies match only their peer, and
//! round trips make timeouts adaptive. (`node/query_tests.rs` tests them inside nodes.)

use alloc::string::String;
use core::net::SocketAddr;

use serde_json::Value;

use super::*;
use crate::address::Address;
use crate::event::Sender;
use crate::identity::Identity;

fn key(byte: u8) -> PublicKey {
    Identity::from_secret_bytes(&[byte; 32]).public_key()
}

fn at(millis: u64) -> Instant {
    Instant::from_millis(millis)
}

fn reply_from(from: PublicKey, protection: Protection) -> Message {
    Message {
        to: String::from("alice"),
        from: Sender {
            key: from,
            node_id: from.node_id(),
            address: Address::udp(SocketAddr::from(([127, 0, 0, 1], 4000)), None),
        },
        id: MessageId([7; 16]),
        value: Value::Null,
        sent_at: None,
        protection,
        relayed_by: None,
    }
}

fn options(soft: Option<u64>, hard: u64, adaptive: bool) -> QueryOptions {
    QueryOptions {
        hard_timeout: Duration::from_millis(hard),
        soft_timeout: soft.map(Duration::from_millis),
        adaptive,
    }
}

#[test]
fn a_reply_ends_its_query_once_and_only_from_the_peer_it_went_to() {
    let mut queries = Queries::new(&Config::default());
    let mut events = Outbox::new(&Config::default());
    let id = MessageId([1; 16]);
    queries.opened(
        at(0),
        id,
        key(2),
        [9; 32],
        &options(None, 1_000, false),
        &mut events,
    );
    assert_eq!(events.pop_event(), None);
    let stranger = reply_from(key(3), Protection::Session);
    assert_eq!(queries.answered(at(5), stranger, &[9; 32]), None);
    let wrong_reference = reply_from(key(2), Protection::Session);
    assert_eq!(queries.answered(at(5), wrong_reference, &[8; 32]), None);
    let reply = queries.answered(at(5), reply_from(key(2), Protection::Session), &[9; 32]);
    assert!(
        matches!(reply, Some(Event::Query(QueryEvent::Reply { query, late: false, .. })) if query == id)
    );
    let again = queries.answered(at(6), reply_from(key(2), Protection::Session), &[9; 32]);
    assert_eq!(again, None, "answered once");
    queries.expire(at(10_000), &mut events);
    assert_eq!(
        events.pop_event(),
        None,
        "an answered query has no timeout left"
    );
}

#[test]
fn deadlines_fire_soft_then_hard_and_cancellation_ends_a_query() {
    let mut queries = Queries::new(&Config::default());
    let mut events = Outbox::new(&Config::default());
    let (first, second) = (MessageId([1; 16]), MessageId([2; 16]));
    queries.opened(
        at(0),
        first,
        key(2),
        [1; 32],
        &options(Some(100), 300, false),
        &mut events,
    );
    queries.opened(
        at(0),
        second,
        key(2),
        [2; 32],
        &options(None, 300, false),
        &mut events,
    );
    assert_eq!(queries.next_timeout(), Some((at(100), true)));
    queries.expire(at(100), &mut events);
    assert_eq!(
        events.pop_event(),
        Some(Event::Query(QueryEvent::SoftTimeout { query: first }))
    );
    assert!(queries.cancel(second, &mut events));
    assert_eq!(
        events.pop_event(),
        Some(Event::Query(QueryEvent::Cancelled { query: second }))
    );
    assert!(!queries.cancel(second, &mut events), "over already");
    queries.expire(at(300), &mut events);
    assert_eq!(
        events.pop_event(),
        Some(Event::Query(QueryEvent::TimedOut { query: first }))
    );
    assert_eq!(queries.next_timeout(), None);
}

#[test]
fn the_table_is_bounded_and_an_unreachable_peer_ends_its_queries() {
    let config = Config::default().with_max_open_queries(2);
    let mut queries = Queries::new(&config);
    let mut events = Outbox::new(&Config::default());
    let long = options(None, 60_000, false);
    queries.opened(
        at(0),
        MessageId([1; 16]),
        key(2),
        [1; 32],
        &long,
        &mut events,
    );
    assert!(!queries.is_full());
    queries.opened(
        at(0),
        MessageId([2; 16]),
        key(3),
        [2; 32],
        &long,
        &mut events,
    );
    assert!(queries.is_full());
    queries.peer_unreachable(&key(2).node_id(), &mut events);
    assert_eq!(
        events.pop_event(),
        Some(Event::Query(QueryEvent::Unreachable {
            query: MessageId([1; 16])
        }))
    );
    assert!(!queries.is_full());
    assert!(queries.unreachable(MessageId([2; 16]), &mut events));
    assert!(!queries.unreachable(MessageId([2; 16]), &mut events));
}

#[test]
fn measured_round_trips_stretch_adaptive_timeouts_only() {
    let mut queries = Queries::new(&Config::default());
    let mut events = Outbox::new(&Config::default());
    // Three slow answers of 2 s each from peer 2.
    for n in 0..3u8 {
        let sent = at(u64::from(n) * 10_000);
        queries.opened(
            sent,
            MessageId([n; 16]),
            key(2),
            [n; 32],
            &options(None, 5_000, false),
            &mut events,
        );
        let reply = reply_from(key(2), Protection::Session);
        let answered = sent + Duration::from_secs(2);
        assert!(queries.answered(answered, reply, &[n; 32]).is_some());
    }
    let now = at(100_000);
    queries.opened(
        now,
        MessageId([10; 16]),
        key(2),
        [10; 32],
        &options(None, 100, true),
        &mut events,
    );
    queries.opened(
        now,
        MessageId([11; 16]),
        key(2),
        [11; 32],
        &options(None, 100, false),
        &mut events,
    );
    let (first, _) = queries.next_timeout().unwrap();
    assert_eq!(
        first,
        now + Duration::from_millis(100),
        "the fixed one keeps its 100 ms"
    );
    queries.expire(first, &mut events);
    assert_eq!(
        events.pop_event(),
        Some(Event::Query(QueryEvent::TimedOut {
            query: MessageId([11; 16])
        }))
    );
    let (adaptive, _) = queries.next_timeout().unwrap();
    assert!(
        adaptive >= now + Duration::from_secs(2),
        "the adaptive one waits at least the measured round trip"
    );
}
