//! Messages larger than a datagram: they wait for the session, go in fragments that each fit
//! in `max_datagram_size`, and arrive whole and once, or not at all, through reordering,
//! duplication, loss and a NAT.

mod support;

use std::time::Duration;

use ejtp_proto::TransportEvent;
use ejtp_proto::sim::{Filtering, LinkConfig, Nat};
use ejtp_proto::{Command, Config, Event};
use ejtp_testvectors::sim::{LinkConditions, SimNetwork};
use proptest::prelude::*;
use serde_json::{Value, json};
use support::{messages, send};

const ALICE: usize = 0;
const BOB: usize = 1;

/// Alice and bob on links that deliver at most 1 200 bytes (a path that drops IP fragments),
/// alice behind a NAT if `behind_nat`.
fn network(seed: u64, behind_nat: bool) -> SimNetwork {
    let mut net = SimNetwork::new(seed, LinkConditions::PERFECT);
    net.set_link_config(LinkConfig::PERFECT.with_mtu(1_200));
    net.add_node("alice", 1, Config::default(), &["alice"]);
    net.add_node("bob", 2, Config::default(), &["bob"]);
    if behind_nat {
        let mut nat = Nat::new(
            "203.0.113.1".parse().unwrap(),
            Filtering::AddressAndPortDependent,
        );
        nat.add_inside(net.udp_addr(ALICE));
        net.add_nat(nat);
    }
    net
}

fn padded(len: usize) -> Value {
    json!({ "padding": "y".repeat(len) })
}

/// The values delivered to bob, in order.
fn delivered_to_bob(events: &[(usize, Event)]) -> Vec<Value> {
    messages(events)
        .into_iter()
        .filter(|(node, _)| *node == BOB)
        .map(|(_, message)| message.value)
        .collect()
}

fn largest_datagram(net: &SimNetwork) -> usize {
    net.captured()
        .iter()
        .map(|packet| packet.payload.len())
        .max()
        .unwrap_or(0)
}

#[test]
fn a_3000_byte_message_goes_in_datagrams_of_at_most_1200_bytes() {
    let mut net = network(1, false);
    let bob = net.identity(BOB, "bob");
    send(&mut net, ALICE, "alice", &bob, padded(3_000));
    net.run_for(Duration::from_secs(1));
    assert_eq!(delivered_to_bob(&net.take_events()), vec![padded(3_000)]);
    assert!(
        largest_datagram(&net) <= 1_200,
        "{}",
        largest_datagram(&net)
    );
    let stats = net.node(ALICE).stats();
    assert_eq!(
        stats.transport.held_for_session, 1,
        "it waited for the handshake"
    );
    assert!(stats.transport.fragments_sent >= 3);
    assert_eq!(net.node(BOB).stats().transport.fragmented_received, 1);
}

#[test]
fn four_mebibytes_arrive_whole_from_behind_a_nat() {
    let mut net = network(2, true);
    let bob = net.identity(BOB, "bob");
    let value = padded(4 << 20);
    send(&mut net, ALICE, "alice", &bob, value.clone());
    net.run_for(Duration::from_secs(2));
    let delivered = delivered_to_bob(&net.take_events());
    assert_eq!(delivered.len(), 1);
    assert!(delivered[0] == value);
    assert!(largest_datagram(&net) <= 1_200);
    assert_eq!(net.net_stats().nat_refused, 0);
}

/// One fragment in twenty lost, and still the whole 4 MiB arrives, once: the receiver
/// acknowledges what it holds, and the sender sends the missing pieces again.
#[test]
fn four_mebibytes_arrive_whole_over_a_lossy_path() {
    let mut net = network(7, true);
    net.set_link_config(support::faulty_link(0.05, 0.0, 2, 0.05).with_mtu(1_200));
    let bob = net.identity(BOB, "bob");
    let value = padded(4 << 20);
    send(&mut net, ALICE, "alice", &bob, value.clone());
    net.run_for(Duration::from_secs(20));
    let delivered = delivered_to_bob(&net.take_events());
    assert_eq!(
        delivered.len(),
        1,
        "alice {:?}\nbob {:?}",
        net.node(ALICE).stats(),
        net.node(BOB).stats()
    );
    assert!(delivered[0] == value);
    let alice = net.node(ALICE).stats();
    let pieces = (4u64 << 20) / 1_100;
    assert!(
        alice.transport.fragments_sent > pieces,
        "lost pieces were sent again: {alice:?}"
    );
    assert!(
        alice.transport.fragments_sent < pieces * 3 / 2,
        "but not the whole message again: {alice:?}"
    );
    assert!(largest_datagram(&net) <= 1_200);
}

#[test]
fn once_the_session_is_up_a_large_message_goes_at_once() {
    let mut net = network(3, false);
    let bob = net.identity(BOB, "bob");
    send(&mut net, ALICE, "alice", &bob, json!("small first"));
    net.run_for(Duration::from_secs(1));
    net.take_events();
    send(&mut net, ALICE, "alice", &bob, padded(10_000));
    net.run_for(Duration::from_millis(10));
    assert_eq!(delivered_to_bob(&net.take_events()), vec![padded(10_000)]);
    assert_eq!(net.node(ALICE).stats().transport.held_for_session, 0);
}

/// On a path that carries any size (like loopback), the probe after the handshake proves the
/// largest UDP payload: the next large message goes whole, in one datagram.
#[test]
fn a_probed_path_carries_large_datagrams_whole() {
    let mut net = SimNetwork::new(5, LinkConditions::PERFECT);
    net.add_node("alice", 1, Config::default(), &["alice"]);
    net.add_node("bob", 2, Config::default(), &["bob"]);
    let bob = net.identity(BOB, "bob");
    send(&mut net, ALICE, "alice", &bob, json!("hello"));
    net.run_for(Duration::from_secs(1));
    assert!(net.node(ALICE).stats().transport.path_probes_sent >= 1);
    net.take_events();
    send(&mut net, ALICE, "alice", &bob, padded(40_000));
    net.run_for(Duration::from_millis(10));
    assert_eq!(delivered_to_bob(&net.take_events()), vec![padded(40_000)]);
    assert_eq!(net.node(ALICE).stats().transport.fragments_sent, 0);
    assert!(largest_datagram(&net) > 40_000);
}

/// On a 1 200-byte path the probes are lost, and each size is given up in turn.
#[test]
fn on_a_small_path_the_probes_fail_and_fragments_stay() {
    let mut net = network(6, false);
    let bob = net.identity(BOB, "bob");
    send(&mut net, ALICE, "alice", &bob, json!("hello"));
    net.run_for(Duration::from_secs(5));
    assert_eq!(
        net.node(ALICE).stats().transport.path_probes_sent,
        3,
        "65 507, 9 000, 1 452"
    );
    net.take_events();
    send(&mut net, ALICE, "alice", &bob, padded(10_000));
    net.run_for(Duration::from_millis(100));
    assert_eq!(delivered_to_bob(&net.take_events()), vec![padded(10_000)]);
    assert!(net.node(ALICE).stats().transport.fragments_sent >= 9);
}

/// On a 1 200-byte path whose routers pass IP fragments, the probes still fail: they carry the
/// don't-fragment bit, so the path cannot prove a size by fragmenting them. No datagram larger
/// than the path's MTU crosses, though the path would have fragmented one.
#[test]
fn on_a_path_that_fragments_the_probes_still_fail_whole() {
    let mut net = network(7, false);
    net.set_link_config(LinkConfig::PERFECT.with_mtu(1_200).with_fragmentation());
    let bob = net.identity(BOB, "bob");
    send(&mut net, ALICE, "alice", &bob, json!("hello"));
    net.run_for(Duration::from_secs(5));
    assert_eq!(net.node(ALICE).stats().transport.path_probes_sent, 3);
    net.take_events();
    send(&mut net, ALICE, "alice", &bob, padded(10_000));
    net.run_for(Duration::from_millis(100));
    assert_eq!(delivered_to_bob(&net.take_events()), vec![padded(10_000)]);
    assert!(net.node(ALICE).stats().transport.fragments_sent >= 9);
    assert!(
        largest_datagram(&net) <= 1_200,
        "{}",
        largest_datagram(&net)
    );
}

/// On a 9 000-byte (jumbo) path that fragments larger packets, the 65 507-byte probe is lost
/// and the 9 000-byte one is acknowledged: messages then move in datagrams of the path's size,
/// never larger.
#[test]
fn on_a_jumbo_path_the_probe_finds_its_size() {
    let mut net = network(8, false);
    net.set_link_config(LinkConfig::PERFECT.with_mtu(9_000).with_fragmentation());
    let bob = net.identity(BOB, "bob");
    send(&mut net, ALICE, "alice", &bob, json!("hello"));
    net.run_for(Duration::from_secs(5));
    assert_eq!(
        net.node(ALICE).stats().transport.path_probes_sent,
        2,
        "65 507, 9 000"
    );
    net.take_events();
    send(&mut net, ALICE, "alice", &bob, padded(40_000));
    net.run_for(Duration::from_millis(100));
    assert_eq!(delivered_to_bob(&net.take_events()), vec![padded(40_000)]);
    let largest = largest_datagram(&net);
    assert!(largest > 1_200 && largest <= 9_000, "{largest}");
}

/// A fragmented send keeps its message until every piece is acknowledged, within
/// `max_fragment_send_memory`: a send past it is refused as blocked, with nothing sent, and
/// `TransportEvent::Writable` says when the sends under way have drained enough to try again.
#[test]
fn fragmented_sends_past_their_memory_are_blocked_until_writable() {
    let mut net = SimNetwork::new(9, LinkConditions::PERFECT);
    net.set_link_config(LinkConfig::PERFECT.with_mtu(1_200));
    let config = Config::default().with_max_fragment_send_memory(30_000);
    net.add_node("alice", 1, config, &["alice"]);
    net.add_node("bob", 2, Config::default(), &["bob"]);
    let bob = net.identity(BOB, "bob");
    send(&mut net, ALICE, "alice", &bob, json!("session first"));
    net.run_for(Duration::from_secs(5));
    net.take_events();
    let command = |value: Value| Command::Send {
        from: "alice".into(),
        to: bob.clone(),
        via: Vec::new(),
        value,
    };
    // Nothing is acknowledged before the network runs: the first 20 000 bytes are under way.
    net.command(ALICE, command(padded(20_000))).unwrap();
    let sent_before = net.node(ALICE).stats().transport.transmits;
    let refused = net.command(ALICE, command(padded(20_001))).unwrap_err();
    assert!(refused.contains("Writable"), "{refused}");
    assert_eq!(
        net.node(ALICE).stats().transport.transmits,
        sent_before,
        "nothing sent"
    );
    assert_eq!(net.node(ALICE).stats().transport.refused_fragment_memory, 1);
    net.run_for(Duration::from_secs(1));
    let events = net.take_events();
    let writable = events
        .iter()
        .filter(|(node, event)| {
            *node == ALICE && *event == Event::Transport(TransportEvent::Writable)
        })
        .count();
    assert_eq!(writable, 1, "one Writable for the refused send");
    assert_eq!(delivered_to_bob(&events), vec![padded(20_000)]);
    net.command(ALICE, command(padded(20_001))).unwrap();
    net.run_for(Duration::from_secs(1));
    assert_eq!(delivered_to_bob(&net.take_events()), vec![padded(20_001)]);
}

#[test]
fn a_message_past_max_message_len_is_refused_at_send() {
    let mut net = network(4, false);
    let bob = net.identity(BOB, "bob");
    let result = net.command(
        ALICE,
        Command::Send {
            from: "alice".into(),
            to: bob,
            via: vec![],
            value: padded(Config::default().max_message_len),
        },
    );
    let error = result.unwrap_err();
    assert!(error.contains("exceeds"), "{error}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    /// Whatever the links do (up to 5 % loss), a large message arrives whole and once: lost
    /// fragments are sent again.
    #[test]
    fn large_messages_arrive_whole_and_once_or_not_at_all(
        seed in any::<u64>(),
        len in 1_200usize..40_000,
        jitter_ms in 0u64..30,
        reorder in 0.0f64..0.3,
        duplicate in 0.0f64..0.2,
        loss in prop_oneof![Just(0.0f64), 0.0f64..0.05],
        behind_nat in any::<bool>(),
    ) {
        let mut net = network(seed, behind_nat);
        net.set_link_config(support::faulty_link(loss, duplicate, jitter_ms, reorder).with_mtu(1_200));
        let bob = net.identity(BOB, "bob");
        send(&mut net, ALICE, "alice", &bob, padded(len));
        net.run_for(Duration::from_secs(10));
        let delivered = delivered_to_bob(&net.take_events());
        prop_assert!(delivered.iter().all(|value| *value == padded(len)));
        prop_assert_eq!(
            delivered.len(),
            1,
            "alice {:?}\nbob {:?}",
            net.node(ALICE).stats(),
            net.node(BOB).stats()
        );
        prop_assert!(largest_datagram(&net) <= 1_200);
    }
}
