//! What two of our nodes tell each other about the path between them: the address each is
//! seen at (reflexive addresses), a session that follows its peer through a NAT rebinding, the
//! echo that proves the new address, and keepalives only while the session is in use.

mod support;

use std::time::Duration;

use ejtp_proto::TransportEvent;
use ejtp_proto::sim::{Filtering, Mapping, Nat};
use ejtp_proto::{Config, Event};
use ejtp_testvectors::sim::{LinkConditions, SimNetwork};
use serde_json::json;
use support::{messages, send};

const ALICE: usize = 0;
const BOB: usize = 1;
const CAROL: usize = 2;

/// Alice behind a NAT with `mapping`, bob and carol outside it; returns the NAT's index.
fn network(mapping: Mapping) -> (SimNetwork, usize) {
    let mut net = SimNetwork::new(9, LinkConditions::PERFECT);
    for (name, key) in [("alice", 1), ("bob", 2), ("carol", 3)] {
        net.add_node(name, key, Config::default(), &[name]);
    }
    let mut nat = Nat::new(
        "203.0.113.1".parse().unwrap(),
        Filtering::AddressAndPortDependent,
    )
    .with_mapping(mapping);
    nat.add_inside(net.udp_addr(ALICE));
    let nat = net.add_nat(nat);
    (net, nat)
}

/// Alice and `peer` exchange a message each way, so that both have a session.
fn talk(net: &mut SimNetwork, peer: usize, name: &str, tag: u32) {
    let (alice, other) = (net.identity(ALICE, "alice"), net.identity(peer, name));
    send(net, ALICE, "alice", &other, json!({ "hello": tag }));
    net.run_for(Duration::from_millis(100));
    send(net, peer, name, &alice, json!({ "back": tag }));
    net.run_for(Duration::from_millis(100));
}

fn observed(events: &[(usize, Event)], node: usize) -> Vec<(std::net::SocketAddr, usize)> {
    events
        .iter()
        .filter_map(|(at, event)| match event {
            Event::Transport(TransportEvent::AddressObserved {
                address, agreeing, ..
            }) if *at == node => Some((*address, *agreeing)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_node_learns_its_mapping_from_several_peers() {
    let (mut net, nat) = network(Mapping::EndpointIndependent);
    talk(&mut net, BOB, "bob", 1);
    talk(&mut net, CAROL, "carol", 2);
    let public = net.nat(nat).unwrap().mapping(&net.udp_addr(ALICE)).unwrap();
    let events = net.take_events();
    assert_eq!(observed(&events, ALICE), vec![(public.addr, 1)]);
    assert_eq!(
        net.node(ALICE).reflexive_addresses(),
        vec![(public.addr, 2)],
        "bob and carol see alice at the same mapping"
    );
}

#[test]
fn behind_a_symmetric_nat_each_peer_sees_another_mapping() {
    let (mut net, _) = network(Mapping::AddressAndPortDependent);
    talk(&mut net, BOB, "bob", 1);
    talk(&mut net, CAROL, "carol", 2);
    let seen = net.node(ALICE).reflexive_addresses();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(seen.iter().all(|(_, count)| *count == 1));
}

#[test]
fn a_session_follows_its_peer_through_a_nat_rebinding() {
    let (mut net, nat) = network(Mapping::EndpointIndependent);
    talk(&mut net, BOB, "bob", 1);
    let before = net.nat(nat).unwrap().mapping(&net.udp_addr(ALICE)).unwrap();
    let validated = net.node(BOB).stats().transport.paths_validated;
    net.take_events();

    net.nat_mut(nat).unwrap().forget_mappings();
    talk(&mut net, BOB, "bob", 2);
    let after = net.nat(nat).unwrap().mapping(&net.udp_addr(ALICE)).unwrap();
    assert_ne!(before, after, "the NAT gave alice a new port");
    let events = net.take_events();
    let delivered: Vec<_> = messages(&events)
        .into_iter()
        .map(|(node, message)| (node, message.value))
        .collect();
    assert_eq!(
        delivered,
        vec![(BOB, json!({"hello": 2})), (ALICE, json!({"back": 2}))],
        "bob's answer followed alice to her new mapping, on the same session"
    );
    assert!(
        !events.iter().any(|(_, event)| matches!(
            event,
            Event::Transport(TransportEvent::SessionEstablished { .. })
        )),
        "no new handshake"
    );
    assert!(
        events.iter().any(|(at, event)| *at == ALICE
            && matches!(event, Event::Transport(TransportEvent::AddressObserved { address, changed_from: Some(old), .. })
                if *address == after.addr && *old == before.addr)),
        "alice heard that her mapping changed"
    );
    assert!(
        net.node(BOB).stats().transport.paths_validated > validated,
        "the new mapping echoed bob's observation"
    );
}

#[test]
fn keepalives_flow_only_while_the_session_is_in_use() {
    let (mut net, _) = network(Mapping::EndpointIndependent);
    talk(&mut net, BOB, "bob", 1);
    let config = Config::default();
    let already = net.captured().len();
    net.run_for(config.keepalive_interval * 3);
    let sent = net.node(ALICE).stats().transport.keepalives_sent;
    assert!(sent >= 2, "alice kept her mapping open: {sent}");
    // What went to bob meanwhile was keepalives: about 64 bytes of UDP payload each.
    let to_bob: Vec<usize> = net.captured()[already..]
        .iter()
        .filter(|packet| packet.to == BOB)
        .map(|packet| packet.payload.len())
        .collect();
    assert_eq!(to_bob.len() as u64, sent);
    assert!(
        to_bob.iter().all(|len| (50..=70).contains(len)),
        "{to_bob:?}"
    );
    net.run_for(config.keepalive_while_used + config.keepalive_interval);
    let idle = net.node(ALICE).stats().transport.keepalives_sent;
    net.run_for(config.keepalive_interval * 4);
    assert_eq!(
        net.node(ALICE).stats().transport.keepalives_sent,
        idle,
        "a session no longer in use costs nothing"
    );
}
