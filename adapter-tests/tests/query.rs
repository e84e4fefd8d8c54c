//! Queries on every adapter: answered, timed out, answered late after a soft timeout,
//! cancelled. Loopback only; every wait is bounded.

mod common;

use std::thread;
use std::time::{Duration, Instant};

use common::{WAIT, ipv4, next_matching, options};
use ejtp_adapter_core::QueryOutcome;
use ejtp_adapter_tests::{TestEvents, TestHandle, TestNode, for_each_adapter};
use ejtp_proto::QueryEvent;
use ejtp_proto::{Event, Message, QueryOptions};
use serde_json::{Value, json};

/// A short hard timeout, for the queries nobody answers.
const SHORT: Duration = Duration::from_millis(300);

fn pair<N: TestNode>() -> (N, N) {
    let alice = N::bind(options(1).udp(ipv4()).client("alice"));
    let bob = N::bind(options(2).udp(ipv4()).client("bob"));
    (alice, bob)
}

fn hard(timeout: Duration) -> QueryOptions {
    QueryOptions {
        hard_timeout: timeout,
        ..QueryOptions::default()
    }
}

/// Bob's side on a thread of its own: waits for the message with `value`, waits `delay`, and
/// (if `answer` is set) replies with it. Returns the message it saw.
fn bob_answers<N: TestNode>(
    bob: N,
    value: Value,
    delay: Duration,
    answer: Option<Value>,
) -> thread::JoinHandle<(Message, N::Handle)> {
    let (handle, mut events) = bob.split();
    thread::spawn(move || {
        let deadline = Instant::now() + WAIT;
        let message = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match events.next_event(left) {
                Some(Event::Message(message)) if message.value == value => break message,
                Some(_) => {}
                None => panic!("{}: bob got no query within {WAIT:?}", N::ADAPTER),
            }
        };
        thread::sleep(delay);
        if let Some(answer) = answer {
            handle
                .reply("bob", &message, answer)
                .unwrap_or_else(|err| panic!("{}: bob's reply: {err}", N::ADAPTER));
        }
        (message, handle)
    })
}

fn an_answered_query_resolves_to_its_reply<N: TestNode>() {
    let (alice, bob) = pair::<N>();
    let (to, bob_key) = (bob.identity("bob"), bob.public_key());
    let asked = json!({"question": 42});
    let bob = bob_answers(
        bob,
        asked.clone(),
        Duration::ZERO,
        Some(json!({"answer": 42})),
    );
    let outcome = alice
        .handle()
        .query("alice", &to, asked, hard(WAIT))
        .unwrap();
    let (query, bob) = bob.join().unwrap();
    match outcome {
        QueryOutcome::Reply { message, late } => {
            assert!(!late, "{}", N::ADAPTER);
            assert_eq!(message.value, json!({"answer": 42}));
            assert_eq!(message.from.key, bob_key);
            assert_eq!(message.to, "alice");
            assert_ne!(message.id, query.id);
        }
        other => panic!("{}: {other:?}", N::ADAPTER),
    }
    bob.shutdown().unwrap();
    alice.shutdown();
}

fn a_query_through_a_relay_resolves_to_its_reply<N: TestNode>() {
    let (alice, bob) = pair::<N>();
    let relay = N::bind(options(3).udp(ipv4()).client("relay"));
    let (to, via) = (bob.identity("bob"), [relay.identity("relay")]);
    let asked = json!({"question": "via"});
    let bob = bob_answers(bob, asked.clone(), Duration::ZERO, Some(json!("relayed")));
    let outcome = alice
        .handle()
        .query_via("alice", &to, &via, asked, hard(WAIT))
        .unwrap();
    let (_, bob) = bob.join().unwrap();
    match outcome {
        QueryOutcome::Reply { message, late } => {
            assert!(!late, "{}", N::ADAPTER);
            assert_eq!(message.value, json!("relayed"));
        }
        other => panic!("{}: {other:?}", N::ADAPTER),
    }
    assert_eq!(
        relay.stats().transport.forwarded,
        1,
        "{}: the query went through the relay",
        N::ADAPTER
    );
    bob.shutdown().unwrap();
    relay.shutdown();
    alice.shutdown();
}

fn a_query_nobody_answers_times_out_after_its_hard_timeout<N: TestNode>() {
    let (mut alice, bob) = pair::<N>();
    let started = Instant::now();
    let outcome = alice
        .handle()
        .query("alice", &bob.identity("bob"), json!("anyone?"), hard(SHORT))
        .unwrap();
    let took = started.elapsed();
    assert_eq!(outcome, QueryOutcome::TimedOut, "{}", N::ADAPTER);
    assert!(took >= SHORT && took < WAIT, "{}: {took:?}", N::ADAPTER);
    // The application's events say so too.
    next_matching(&mut alice, "timeout event", |event| match event {
        Event::Query(QueryEvent::TimedOut { .. }) => Some(()),
        _ => None,
    });
    bob.shutdown();
    alice.shutdown();
}

fn a_reply_after_the_soft_timeout_is_late<N: TestNode>() {
    let (mut alice, bob) = pair::<N>();
    let to = bob.identity("bob");
    let asked = json!({"slow": true});
    let soft = Duration::from_millis(150);
    let bob = bob_answers(
        bob,
        asked.clone(),
        Duration::from_millis(600),
        Some(json!("late")),
    );
    let options = QueryOptions {
        hard_timeout: WAIT,
        soft_timeout: Some(soft),
        adaptive: false,
    };
    let outcome = alice.handle().query("alice", &to, asked, options).unwrap();
    let (_, bob) = bob.join().unwrap();
    let QueryOutcome::Reply { message, late } = outcome else {
        panic!("{}: {outcome:?}", N::ADAPTER);
    };
    assert!(late, "{}", N::ADAPTER);
    assert_eq!(message.value, json!("late"));
    let soft_query = next_matching(&mut alice, "soft timeout", |event| match event {
        Event::Query(QueryEvent::SoftTimeout { query }) => Some(query),
        _ => None,
    });
    let (query, evented) = next_matching(&mut alice, "reply event", |event| match event {
        Event::Query(QueryEvent::Reply { query, message, .. }) => Some((query, message)),
        _ => None,
    });
    assert_eq!(query, soft_query, "{}", N::ADAPTER);
    assert_eq!(evented, message);
    bob.shutdown().unwrap();
    alice.shutdown();
}

fn a_cancelled_query_resolves_to_cancelled<N: TestNode>() {
    let (mut alice, bob) = pair::<N>();
    let to = bob.identity("bob");
    let asked = json!({"cancel": "me"});
    let bob = bob_answers(bob, asked.clone(), Duration::ZERO, None);
    let asking = alice.handle();
    let bob_id = to.clone();
    let waiting = thread::spawn(move || asking.query("alice", &to, asked, hard(WAIT)));
    // The id bob sees is the query's.
    let (query, bob) = bob.join().unwrap();
    let started = Instant::now();
    assert!(
        alice.handle().cancel_query(query.id).unwrap(),
        "{}",
        N::ADAPTER
    );
    let outcome = waiting.join().unwrap().unwrap();
    assert_eq!(outcome, QueryOutcome::Cancelled, "{}", N::ADAPTER);
    assert!(started.elapsed() < WAIT);
    assert!(
        !alice.handle().cancel_query(query.id).unwrap(),
        "already over"
    );
    next_matching(&mut alice, "cancel event", |event| match event {
        Event::Query(QueryEvent::Cancelled { query: id }) if id == query.id => Some(()),
        _ => None,
    });

    // A query started without waiting ends as events only.
    let id = alice
        .handle()
        .start_query("alice", &bob_id, json!(1), hard(WAIT))
        .unwrap();
    assert!(alice.handle().cancel_query(id).unwrap());
    next_matching(&mut alice, "cancel event", |event| match event {
        Event::Query(QueryEvent::Cancelled { query }) if query == id => Some(()),
        _ => None,
    });
    bob.shutdown().unwrap();
    alice.shutdown();
}

for_each_adapter!(
    an_answered_query_resolves_to_its_reply,
    a_query_through_a_relay_resolves_to_its_reply,
    a_query_nobody_answers_times_out_after_its_hard_timeout,
    a_reply_after_the_soft_timeout_is_late,
    a_cancelled_query_resolves_to_cancelled,
);
