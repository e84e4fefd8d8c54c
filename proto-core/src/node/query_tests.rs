//! Unit tests of queries between two nodes wired back to back (no loss, no delay unless a test
//! holds a frame back).

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::time::Duration;

use serde_json::{Value, json};

use super::test_support::*;
use super::*;
use crate::QueryEvent;
use crate::crypto::proof::SenderProof;
use crate::error::SendError;
use crate::event::{Message, Protection};
use crate::io::{Command, CommandOutcome, TimerReason};
use crate::query::QueryOptions;

fn node(key: u8, config: Config) -> Node {
    udp_node_with_client(key, config, if key == 1 { "alice" } else { "bob" })
}

fn pair(config: Config) -> (Node, Node) {
    (node(1, config.clone()), node(2, config))
}

/// Moves every transmit between the two nodes at `now` until both are quiet; returns the
/// events, tagged with the node (1 or 2) that produced them.
fn pump(a: &mut Node, b: &mut Node, now: Instant) -> Vec<(u8, Event)> {
    let mut events = Vec::new();
    loop {
        let mut moved = false;
        while let Some(transmit) = a.poll_transmit() {
            let from = TransportAddr::udp(([127, 0, 0, 1], 9001).into());
            b.handle_datagram(now, from, &transmit.payload);
            moved = true;
        }
        while let Some(transmit) = b.poll_transmit() {
            let from = TransportAddr::udp(([127, 0, 0, 1], 9002).into());
            a.handle_datagram(now, from, &transmit.payload);
            moved = true;
        }
        events.extend(core::iter::from_fn(|| a.poll_event()).map(|event| (1, event)));
        events.extend(core::iter::from_fn(|| b.poll_event()).map(|event| (2, event)));
        if !moved {
            return events;
        }
    }
}

fn delivered(events: &[(u8, Event)]) -> Message {
    events
        .iter()
        .find_map(|(_, event)| match event {
            Event::Message(message) => Some(message.clone()),
            _ => None,
        })
        .expect("a message was delivered")
}

fn at(millis: u64) -> Instant {
    Instant::from_millis(millis)
}

/// The first query goes sealed, with alice's handshake; its reply already goes on the
/// session, which alice's first frame on it (where she sees bob) confirmed for bob.
#[test]
fn a_query_is_asked_first_sealed_then_on_the_session() {
    let (mut alice, mut bob) = pair(Config::default());
    let bob_id = bob.public_identity("bob", "bob");
    for (round, asked_with, answered_with) in [
        (0, Protection::Sealed, Protection::Session),
        (1, Protection::Session, Protection::Session),
    ] {
        let now = at(round * 100);
        let query = alice
            .query(
                now,
                "alice",
                &bob_id,
                json!({"q": round}),
                QueryOptions::default(),
            )
            .unwrap();
        let events = pump(&mut alice, &mut bob, now);
        let asked = delivered(&events);
        assert_eq!(asked.id, query, "the receiver sees the query's id");
        assert_eq!(asked.protection, asked_with);
        let answer = bob.reply(now, "bob", &asked, json!({"a": round})).unwrap();
        let events = pump(&mut alice, &mut bob, now);
        let [
            (
                1,
                Event::Query(QueryEvent::Reply {
                    query: answered,
                    message,
                    late,
                }),
            ),
        ] = events.as_slice()
        else {
            panic!("expected one reply, got {events:?}");
        };
        assert_eq!(*answered, query);
        assert!(!late);
        assert_eq!(message.id, answer);
        assert_eq!(message.value, json!({"a": round}));
        assert_eq!(message.from.key, bob.public_key());
        assert_eq!(message.protection, answered_with);
    }
    assert_eq!(alice.stats().queries.dropped_unmatched_reply, 0);
    assert!(
        alice
            .poll_timeout()
            .is_none_or(|t| t.reason != TimerReason::QueryHardTimeout)
    );
}

#[test]
fn replies_name_their_query_in_the_proof() {
    let (mut alice, mut bob) = pair(Config {
        sessions: false,
        ..Config::default()
    });
    let bob_id = bob.public_identity("bob", "bob");
    alice
        .query(at(0), "alice", &bob_id, json!(1), QueryOptions::default())
        .unwrap();
    let asked = delivered(&pump(&mut alice, &mut bob, at(0)));
    bob.reply(at(0), "bob", &asked, json!(2)).unwrap();
    let transmit = bob.poll_transmit().unwrap();
    // Open it as alice would, to look at the proof kind.
    let frame = crate::frame::decode(&transmit.payload).unwrap();
    let crate::frame::Frame::Sealed { body, .. } = frame else {
        panic!("sealed");
    };
    let crate::crypto::body::RBody::Sealed {
        enc, ciphertext, ..
    } = crate::crypto::body::RBody::decode(body).unwrap()
    else {
        panic!("sealed body");
    };
    let aad_len = transmit.payload.len() - ciphertext.len() - enc.len();
    let plaintext = crate::crypto::sealed::open(
        &Identity::from_secret_bytes(&[1; 32]),
        enc,
        &transmit.payload[..aad_len],
        ciphertext,
    )
    .unwrap();
    let crate::frame::Frame::Signed { signature, .. } = crate::frame::decode(&plaintext).unwrap()
    else {
        panic!("signed");
    };
    let Ok(SenderProof::SignedReply { reference, .. }) = SenderProof::from_bytes(signature) else {
        panic!("a signed reply proof");
    };
    let json = crate::frame::encode_json(&json!(1)).unwrap();
    assert_eq!(
        reference,
        crate::crypto::proof::reply_reference(&asked.id.0, &json)
    );
}

#[test]
fn replies_to_no_open_query_are_dropped_and_counted() {
    let (mut alice, mut bob) = pair(Config::default());
    let bob_id = bob.public_identity("bob", "bob");
    // A plain message answered: alice asked nothing.
    alice.send(at(0), "alice", &bob_id, json!("hi")).unwrap();
    let plain = delivered(&pump(&mut alice, &mut bob, at(0)));
    bob.reply(at(0), "bob", &plain, json!("hi back")).unwrap();
    assert!(pump(&mut alice, &mut bob, at(0)).is_empty());
    assert_eq!(alice.stats().queries.dropped_unmatched_reply, 1);
    // A query answered twice: the second answer is dropped.
    alice
        .query(
            at(10),
            "alice",
            &bob_id,
            json!("q"),
            QueryOptions::default(),
        )
        .unwrap();
    let asked = delivered(&pump(&mut alice, &mut bob, at(10)));
    bob.reply(at(10), "bob", &asked, json!(1)).unwrap();
    bob.reply(at(10), "bob", &asked, json!(2)).unwrap();
    let events = pump(&mut alice, &mut bob, at(10));
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(matches!(
        events[0].1,
        Event::Query(QueryEvent::Reply { .. })
    ));
    assert_eq!(alice.stats().queries.dropped_unmatched_reply, 2);
}

#[test]
fn soft_then_late_reply_hard_timeout_and_cancellation() {
    let (mut alice, mut bob) = pair(Config::default());
    let bob_id = bob.public_identity("bob", "bob");
    let options = QueryOptions {
        hard_timeout: Duration::from_secs(5),
        soft_timeout: Some(Duration::from_secs(1)),
        adaptive: false,
    };
    let late_query = alice
        .query(at(0), "alice", &bob_id, json!("slow"), options)
        .unwrap();
    let timeout = alice.poll_timeout().unwrap();
    assert_eq!(timeout.at, at(1_000));
    assert_eq!(timeout.reason, TimerReason::QuerySoftTimeout);
    let asked = delivered(&pump(&mut alice, &mut bob, at(0)));
    alice.handle_timeout(at(1_000));
    assert_eq!(
        alice.poll_event(),
        Some(Event::Query(QueryEvent::SoftTimeout { query: late_query }))
    );
    assert_eq!(
        alice.poll_timeout().unwrap().reason,
        TimerReason::QueryHardTimeout
    );
    bob.reply(at(2_000), "bob", &asked, json!("late")).unwrap();
    let events = pump(&mut alice, &mut bob, at(2_000));
    assert!(
        matches!(&events[..], [(1, Event::Query(QueryEvent::Reply { query, late: true, .. }))] if *query == late_query),
        "{events:?}"
    );

    // Hard timeout: the query ends, and its reply (here delivered late) is dropped.
    let timed_out = alice
        .query(at(3_000), "alice", &bob_id, json!("lost"), options)
        .unwrap();
    let asked = delivered(&pump(&mut alice, &mut bob, at(3_000)));
    bob.reply(at(9_000), "bob", &asked, json!("too late"))
        .unwrap();
    // The driver delivers the reply before calling handle_timeout: the deadlines still count.
    let events = pump(&mut alice, &mut bob, at(9_000));
    let expected: Vec<(u8, Event)> = Vec::from([
        (
            1,
            Event::Query(QueryEvent::SoftTimeout { query: timed_out }),
        ),
        (1, Event::Query(QueryEvent::TimedOut { query: timed_out })),
    ]);
    assert_eq!(events, expected);
    assert_eq!(alice.stats().queries.dropped_unmatched_reply, 1);

    // Cancellation wins over a later reply.
    let cancelled = alice
        .query(
            at(10_000),
            "alice",
            &bob_id,
            json!("never mind"),
            QueryOptions::default(),
        )
        .unwrap();
    let asked = delivered(&pump(&mut alice, &mut bob, at(10_000)));
    assert!(alice.cancel_query(at(10_001), cancelled));
    assert!(!alice.cancel_query(at(10_001), cancelled), "once");
    assert_eq!(
        alice.poll_event(),
        Some(Event::Query(QueryEvent::Cancelled { query: cancelled }))
    );
    bob.reply(at(10_002), "bob", &asked, json!("answer"))
        .unwrap();
    assert!(pump(&mut alice, &mut bob, at(10_002)).is_empty());
    assert_eq!(alice.stats().queries.dropped_unmatched_reply, 2);
    assert!(alice.poll_timeout().is_none_or(|t| !matches!(
        t.reason,
        TimerReason::QuerySoftTimeout | TimerReason::QueryHardTimeout
    )));
}

#[test]
fn the_query_table_is_bounded_and_refuses_before_sending() {
    let (mut alice, bob) = pair(Config {
        max_open_queries: 2,
        ..Config::default()
    });
    let bob_id = bob.public_identity("bob", "bob");
    for n in 0..2 {
        alice
            .query(at(0), "alice", &bob_id, json!(n), QueryOptions::default())
            .unwrap();
    }
    let before = alice.stats().transport.transmits;
    assert_eq!(
        alice.query(at(0), "alice", &bob_id, json!(2), QueryOptions::default()),
        Err(SendError::TooManyQueries)
    );
    assert_eq!(
        alice.stats().transport.transmits,
        before,
        "nothing was sent"
    );
    // Queries that end make room.
    alice.handle_timeout(at(30_000));
    let ends = core::iter::from_fn(|| alice.poll_event())
        .filter(|event| matches!(event, Event::Query(QueryEvent::TimedOut { .. })))
        .count();
    assert_eq!(ends, 2);
    assert!(
        alice
            .query(
                at(30_000),
                "alice",
                &bob_id,
                json!(3),
                QueryOptions::default()
            )
            .is_ok()
    );
}

#[test]
fn a_query_between_clients_of_one_node_is_answered_locally() {
    let mut alice = node(1, Config::default());
    alice.add_client("carol").unwrap();
    let carol = alice.public_identity("carol", "carol");
    let query = alice
        .query(
            at(0),
            "alice",
            &carol,
            json!("local?"),
            QueryOptions::default(),
        )
        .unwrap();
    let Some(Event::Message(asked)) = alice.poll_event() else {
        panic!("delivered locally");
    };
    assert_eq!(asked.protection, Protection::Local);
    alice.reply(at(0), "carol", &asked, json!("yes")).unwrap();
    let Some(Event::Query(QueryEvent::Reply {
        query: answered,
        message,
        late: false,
    })) = alice.poll_event()
    else {
        panic!("the reply");
    };
    assert_eq!(answered, query);
    assert_eq!(message.value, Value::from("yes"));
    assert_eq!(message.to, "alice");
}

#[test]
fn queries_are_commands_too() {
    let (mut alice, mut bob) = pair(Config::default());
    let bob_id = bob.public_identity("bob", "bob");
    let id = alice
        .handle_command(
            at(0),
            Command::Query {
                from: "alice".into(),
                to: bob_id,
                via: Vec::new(),
                value: json!("cmd"),
                options: QueryOptions::default(),
            },
        )
        .unwrap()
        .message_id()
        .unwrap();
    let asked = delivered(&pump(&mut alice, &mut bob, at(0)));
    let command = Command::Reply {
        from: "bob".into(),
        to: Box::new(asked),
        via: Vec::new(),
        value: json!("ok"),
    };
    let text = serde_json::to_string(&command).unwrap();
    let command: Command = serde_json::from_str(&text).unwrap();
    assert!(matches!(
        bob.handle_command(at(0), command),
        Ok(CommandOutcome::Sent(_))
    ));
    let events = pump(&mut alice, &mut bob, at(0));
    assert!(
        matches!(&events[..], [(1, Event::Query(QueryEvent::Reply { query, .. }))] if *query == id)
    );
    let cancel = Command::CancelQuery { id };
    assert_eq!(
        alice.handle_command(at(1), cancel),
        Ok(CommandOutcome::Changed(false))
    );
    assert!(alice.poll_event().is_none(), "nothing to cancel any more");
}
