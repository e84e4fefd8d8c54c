//! Nodes behind a NAT on the simulated network: what works without NAT traversal (a node inside
//! reaching out, and answers to the mapping it opened) and what does not (strangers reaching
//! the mapping, anyone reaching the private address), the ground the traversal work starts from.

mod support;

use std::time::Duration;

use ejtp_proto::sim::{Filtering, Nat};
use ejtp_proto::{Address, Config, PublicIdentity};
use ejtp_testvectors::sim::{LinkConditions, SimNetwork};
use serde_json::json;
use support::{messages, send};

#[test]
fn a_node_behind_a_nat_reaches_out_and_only_those_it_contacted_reach_back() {
    let mut net = SimNetwork::new(5, LinkConditions::PERFECT);
    let alice = net.add_node("alice", 1, Config::default(), &["alice"]);
    let bob = net.add_node("bob", 2, Config::default(), &["bob"]);
    let carol = net.add_node("carol", 3, Config::default(), &["carol"]);
    let mut nat = Nat::new(
        "203.0.113.1".parse().unwrap(),
        Filtering::AddressAndPortDependent,
    );
    nat.add_inside(net.udp_addr(alice));
    let nat = net.add_nat(nat);
    let (alice_id, bob_id) = (net.identity(alice, "alice"), net.identity(bob, "bob"));

    send(
        &mut net,
        alice,
        "alice",
        &bob_id,
        json!("hello from inside"),
    );
    net.run_for(Duration::from_secs(1));
    let public = net.nat(nat).unwrap().mapping(&net.udp_addr(alice)).unwrap();
    let received = messages(&net.take_events());
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].0, bob);
    assert_eq!(received[0].1.from.key, alice_id.key);
    // Bob's node saw every datagram come from the mapping, never from alice's own address.
    let to_bob: Vec<_> = net.captured().iter().filter(|c| c.to == bob).collect();
    assert!(!to_bob.is_empty());
    assert!(to_bob.iter().all(|c| c.from == public));

    // Alice at her mapping, as bob saw her: bob, whom she contacted, gets through.
    let at_mapping = |callsign: &str| PublicIdentity {
        location: Address::udp(public.addr, Some(callsign)),
        ..alice_id.clone()
    };
    send(&mut net, bob, "bob", &at_mapping("alice"), json!("answer"));
    net.run_for(Duration::from_secs(1));
    let received = messages(&net.take_events());
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(
        (received[0].0, &received[0].1.value),
        (alice, &json!("answer"))
    );

    // Carol, whom alice never contacted, is filtered at the mapping and at the private address.
    let refused = net.net_stats().nat_refused;
    send(
        &mut net,
        carol,
        "carol",
        &at_mapping("alice"),
        json!("unsolicited"),
    );
    send(
        &mut net,
        carol,
        "carol",
        &alice_id,
        json!("to the private address"),
    );
    net.run_for(Duration::from_secs(5));
    assert!(messages(&net.take_events()).is_empty());
    assert!(net.net_stats().nat_refused >= refused + 2);
}
