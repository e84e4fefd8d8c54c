//! Answers cross NATs: a node answers where a request came from (the querier's NAT mapping),
//! not the private address the querier signed, and never sends an address that has not proved
//! it receives more than three times what came from there.

mod support;

use std::time::Duration;

use ejtp_proto::QueryEvent;
use ejtp_proto::sim::{Filtering, Nat};
use ejtp_proto::{Command, Config, Event, Message, MessageId, PublicIdentity, QueryOptions};
use ejtp_testvectors::sim::{LinkConditions, SimNetwork};
use proptest::prelude::*;
use serde_json::{Value, json};

const ALICE: usize = 0;
const BOB: usize = 1;
const CAROL: usize = 2;

/// Alice, bob and carol on one network; alice behind a NAT with `filtering` if given.
fn network(seed: u64, filtering: Option<Filtering>) -> SimNetwork {
    let mut net = SimNetwork::new(seed, LinkConditions::PERFECT);
    for (name, key) in [("alice", 1), ("bob", 2), ("carol", 3)] {
        net.add_node(name, key, Config::default(), &[name]);
    }
    if let Some(filtering) = filtering {
        let mut nat = Nat::new("203.0.113.1".parse().unwrap(), filtering);
        nat.add_inside(net.udp_addr(ALICE));
        net.add_nat(nat);
    }
    net
}

fn query(
    net: &mut SimNetwork,
    node: usize,
    from: &str,
    to: &PublicIdentity,
    tag: u64,
) -> MessageId {
    net.command_with_id(
        node,
        Command::Query {
            from: from.into(),
            to: to.clone(),
            via: vec![],
            value: json!({ "q": tag }),
            options: QueryOptions {
                hard_timeout: Duration::from_secs(10),
                ..QueryOptions::default()
            },
        },
    )
    .expect("the query is sent")
    .expect("a query has an id")
}

/// Every message bob's application got is answered with `answer`.
fn bob_answers(net: &mut SimNetwork, events: &[(usize, Event)], answer: &Value) {
    for (node, event) in events {
        if let (BOB, Event::Message(message)) = (*node, event) {
            reply(net, message, answer.clone());
        }
    }
}

fn reply(net: &mut SimNetwork, to: &Message, value: Value) {
    net.command(
        BOB,
        Command::Reply {
            from: "bob".into(),
            to: Box::new(to.clone()),
            via: vec![],
            value,
        },
    )
    .expect("the reply is accepted");
}

/// The ids of the queries answered at `node`.
fn replies_at(events: &[(usize, Event)], node: usize) -> Vec<MessageId> {
    events
        .iter()
        .filter_map(|(at, event)| match event {
            Event::Query(QueryEvent::Reply { query, .. }) if *at == node => Some(*query),
            _ => None,
        })
        .collect()
}

/// Runs alice's queries to bob with bob answering each: the ids alice got replies for.
fn ask_bob(net: &mut SimNetwork, queries: u64, run: Duration) -> (Vec<MessageId>, Vec<MessageId>) {
    let bob_id = net.identity(BOB, "bob");
    let asked: Vec<_> = (0..queries)
        .map(|tag| query(net, ALICE, "alice", &bob_id, tag))
        .collect();
    let mut answered = Vec::new();
    let step = Duration::from_millis(50);
    let mut waited = Duration::ZERO;
    while waited < run {
        net.run_for(step);
        waited += step;
        let events = net.take_events();
        bob_answers(net, &events, &json!({ "answer": true }));
        answered.extend(replies_at(&events, ALICE));
    }
    (asked, answered)
}

#[test]
fn a_query_from_behind_a_nat_is_answered_at_its_mapping_for_every_filtering() {
    for filtering in [
        Filtering::EndpointIndependent,
        Filtering::AddressDependent,
        Filtering::AddressAndPortDependent,
    ] {
        let mut net = network(7, Some(filtering));
        let (asked, answered) = ask_bob(&mut net, 3, Duration::from_secs(2));
        assert_eq!(answered, asked, "{filtering:?}: every query answered, once");
        // Nothing bob sent went to alice's private address: the NAT refused nothing.
        assert_eq!(net.net_stats().nat_refused, 0, "{filtering:?}");
        assert_eq!(net.node(BOB).stats().transport.dropped_amplification, 0);
        assert!(
            net.node(ALICE).stats().transport.paths_validated >= 1,
            "{filtering:?}: bob's handshake response came through the NAT from bob"
        );
    }
}

#[test]
fn without_a_nat_the_signed_address_is_used_as_before() {
    let mut net = network(7, None);
    let (asked, answered) = ask_bob(&mut net, 2, Duration::from_secs(1));
    assert_eq!(answered, asked);
    let alice = net.udp_addr(ALICE);
    assert!(
        net.captured()
            .iter()
            .filter(|packet| packet.to == ALICE)
            .all(|packet| packet.from == net.udp_addr(BOB)),
        "only bob talks to alice"
    );
    assert!(net.captured().iter().any(|packet| packet.from == alice));
}

/// A query alice sends bob, as bytes: recorded on a separate network with the same nodes, so
/// that bob on the test's network has never seen it.
fn captured_query_bytes(seed: u64) -> Vec<Vec<u8>> {
    let mut elsewhere = network(seed, None);
    let bob_id = elsewhere.identity(BOB, "bob");
    query(&mut elsewhere, ALICE, "alice", &bob_id, 1);
    elsewhere.run_for(Duration::from_millis(1));
    elsewhere
        .captured()
        .iter()
        .filter(|packet| packet.to == BOB && packet.from == elsewhere.udp_addr(ALICE))
        .map(|packet| packet.payload.clone())
        .collect()
}

#[test]
fn a_forged_source_is_sent_at_most_three_times_what_came_from_it() {
    let mut net = network(7, None);
    let victim = net.udp_addr(CAROL);
    let forged = captured_query_bytes(7);
    assert!(!forged.is_empty());
    let received: usize = forged.iter().map(Vec::len).sum();
    for datagram in forged {
        net.inject(BOB, victim, datagram);
    }
    net.run_for(Duration::from_millis(10));
    // Bob's application answers several times: alice's query looked genuine. Each answer
    // fits in a datagram; together they are more than three times what came in.
    let events = net.take_events();
    let answer = json!({ "padding": "x".repeat(600) });
    for _ in 0..5 {
        bob_answers(&mut net, &events, &answer);
    }
    net.run_for(Duration::from_secs(5));
    let sent_to_victim: usize = net
        .captured()
        .iter()
        .filter(|packet| packet.to == CAROL && packet.from == net.udp_addr(BOB))
        .map(|packet| packet.payload.len())
        .sum();
    assert!(
        sent_to_victim <= 3 * received,
        "bob sent the forged source {sent_to_victim} bytes for {received}"
    );
    assert!(sent_to_victim > 0, "the small answers still go out");
    assert!(net.node(BOB).stats().transport.dropped_amplification >= 1);
    assert!(messages_at(&net.take_events(), CAROL).is_empty());
}

fn messages_at(events: &[(usize, Event)], node: usize) -> Vec<Message> {
    support::messages(events)
        .into_iter()
        .filter(|(at, _)| *at == node)
        .map(|(_, message)| message)
        .collect()
}

fn filtering() -> impl Strategy<Value = Filtering> {
    prop_oneof![
        Just(Filtering::EndpointIndependent),
        Just(Filtering::AddressDependent),
        Just(Filtering::AddressAndPortDependent),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Jitter, reordering and duplication do not stop answers reaching a querier behind any
    /// NAT; with loss, no query is answered twice. Only when a query can overtake or outlive
    /// its sender's handshake (jitter, reordering, loss) does a copy of the answer go to the
    /// private address as well as to where the query came from.
    #[test]
    fn answers_reach_a_natted_querier_through_reordering_and_loss(
        seed in any::<u64>(),
        filtering in filtering(),
        jitter_ms in 0u64..40,
        reorder in 0.0f64..0.3,
        duplicate in 0.0f64..0.2,
        loss in prop_oneof![Just(0.0f64), 0.0f64..0.2],
    ) {
        let mut net = network(seed, Some(filtering));
        net.set_link_config(support::faulty_link(loss, duplicate, jitter_ms, reorder));
        let (asked, answered) = ask_bob(&mut net, 4, Duration::from_secs(3));
        let mut unique = answered.clone();
        unique.sort();
        unique.dedup();
        prop_assert_eq!(unique.len(), answered.len(), "no query answered twice");
        prop_assert!(answered.iter().all(|id| asked.contains(id)));
        if loss == 0.0 {
            prop_assert_eq!(answered.len(), asked.len());
        }
        if loss == 0.0 && jitter_ms == 0 && reorder == 0.0 {
            prop_assert_eq!(net.net_stats().nat_refused, 0);
        }
    }
}
