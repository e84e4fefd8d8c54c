//! Routing over simulated networks: lookups converge to the newest signed address record
//! (stale records held by some peers and forged records are refused), a failed transmit falls
//! back to the peer's next address, and a peer with no address left fails fast.

mod support;

use std::time::Duration;

use ejtp_proto::frame::sealed_prefix;
use ejtp_proto::routing::AddressRecord;
use ejtp_proto::routing::wire::write_lookup_answer;
use ejtp_proto::{
    Address, Command, Config, Event, Identity, NodeId, PublicKey, QueryOptions, TransportAddr,
    UnixMillis,
};
use ejtp_proto::{QueryEvent, RoutingEvent};
use ejtp_testvectors::sim::{LinkConditions, SIM_WALL_START, SimNetwork};
use proptest::prelude::*;
use serde_json::json;
use support::messages;

const NODES: usize = 5;
const ASKER: usize = 0;
const TARGET: usize = 4;
/// Hold the target's first record; node 3 holds its newer one.
const STALE_HOLDERS: [usize; 2] = [1, 2];
const FRESH_HOLDER: usize = 3;

fn callsign(node: usize) -> String {
    format!("c{node}")
}

fn key(net: &SimNetwork, node: usize) -> PublicKey {
    net.identity(node, &callsign(node)).key
}

fn node_address(net: &SimNetwork, node: usize) -> Address {
    net.identity(node, &callsign(node))
        .location
        .without_callsign()
}

fn tcp_address(net: &SimNetwork, node: usize) -> Address {
    net.tcp_identity(node, &callsign(node))
        .location
        .without_callsign()
}

fn add_route(net: &mut SimNetwork, node: usize, to: usize) {
    let command = Command::AddRoute {
        key: key(net, to),
        address: node_address(net, to),
        preference: None,
    };
    net.command(node, command).unwrap();
}

/// Five nodes on perfect links: two hold the target's first record, one holds the record it
/// published after gaining a TCP address, and the asker knows only the three holders.
fn network(seed: u64) -> SimNetwork {
    let mut net = SimNetwork::new(seed, LinkConditions::PERFECT);
    for node in 0..NODES {
        let name = callsign(node);
        net.add_node(&name, 0x40 + node as u8, Config::default(), &[&name]);
    }
    for holder in STALE_HOLDERS {
        add_route(&mut net, holder, TARGET);
    }
    net.run_for(Duration::from_secs(1));
    let tcp = tcp_address(&net, TARGET);
    net.command(TARGET, Command::AddLocalAddress { address: tcp })
        .unwrap();
    add_route(&mut net, FRESH_HOLDER, TARGET);
    net.run_for(Duration::from_secs(1));
    for holder in [1, 2, 3] {
        add_route(&mut net, ASKER, holder);
    }
    net.run_for(Duration::from_secs(1));
    net.take_events();
    let target = key(&net, TARGET).node_id();
    let newest = net.node_mut(TARGET).routes().record_seq();
    for holder in STALE_HOLDERS {
        assert_eq!(
            net.node_mut(holder).routes().peer_record_seq(&target),
            Some(newest - 1)
        );
    }
    assert_eq!(
        net.node_mut(FRESH_HOLDER).routes().peer_record_seq(&target),
        Some(newest)
    );
    assert_eq!(net.node_mut(ASKER).routes().peer_record_seq(&target), None);
    net
}

/// Answers every lookup request the asker has sent for `target` with two forgeries: a record
/// claiming the target's key but signed by another key, and a valid record of another node.
/// Returns how many forgeries were injected.
fn inject_forgeries(net: &mut SimNetwork, target: NodeId) -> usize {
    let forger = Identity::from_secret_bytes(&[0xee; 32]);
    let evil = Address::udp("127.0.0.1:6666".parse().unwrap(), None);
    let expires = UnixMillis(SIM_WALL_START.0 + 86_400_000);
    let own = AddressRecord::sign(&forger, u64::MAX, expires, &[evil]).unwrap();
    let mut claimed = own.bytes.clone();
    claimed[1..33].copy_from_slice(key(net, TARGET).as_bytes());
    let asker_udp: TransportAddr = node_address(net, ASKER).transport().unwrap();
    let requests: Vec<[u8; 16]> = net
        .captured()
        .iter()
        .filter(|captured| captured.from == asker_udp)
        .filter_map(|captured| {
            let body_at = captured.payload.iter().position(|byte| *byte == 0)? + 1;
            let body = captured.payload.get(body_at..)?;
            (body.first() == Some(&0x06) && body.get(17..49) == Some(target.as_bytes()))
                .then(|| body[1..17].try_into().unwrap())
        })
        .collect();
    let from = node_address(net, 2).transport().unwrap();
    let mut injected = 0;
    for request_id in requests {
        for record in [&claimed, &own.bytes] {
            let mut frame = sealed_prefix(&Address::from_transport(asker_udp));
            write_lookup_answer(&mut frame, &request_id, record);
            net.inject(ASKER, from, frame);
            injected += 1;
        }
    }
    injected
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn lookups_converge_to_the_newest_signed_record_over_bad_links(
        seed in any::<u64>(),
        loss in 0.0f64..0.2,
        duplicate in 0.0f64..0.4,
        jitter_ms in 0u64..150,
    ) {
        let mut net = network(seed);
        net.set_conditions(LinkConditions {
            loss,
            duplicate,
            min_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(5 + jitter_ms),
        });
        let target = key(&net, TARGET).node_id();
        let newest = net.node_mut(TARGET).routes().record_seq();
        let mut held = Vec::new();
        let mut forged = 0;
        for round in 0..12 {
            net.command(ASKER, Command::Lookup { peer: target }).unwrap();
            net.run_for(Duration::from_millis(20));
            if round == 0 {
                // Every request sent in this round is still open: each forgery meets one.
                forged = inject_forgeries(&mut net, target);
            }
            net.run_for(Duration::from_millis(1_500));
            held.push(net.node_mut(ASKER).routes().peer_record_seq(&target));
            if held.last() == Some(&Some(newest)) {
                break;
            }
        }
        prop_assert_eq!(held.last(), Some(&Some(newest)), "held over rounds: {:?}", held);
        // The held record only ever moved forward.
        let seqs: Vec<u64> = held.iter().flatten().copied().collect();
        prop_assert!(seqs.windows(2).all(|pair| pair[0] <= pair[1]));
        let stats = net.node(ASKER).stats();
        prop_assert_eq!(stats.routing.dropped_bad_record, forged as u64, "forgeries refused: {:?}", stats);
        let routes = net.node_mut(ASKER).routes().addresses_of(&target);
        prop_assert!(routes.contains(&tcp_address(&net, TARGET)));
        prop_assert!(routes.iter().all(|address| address.to_string().contains("127.0.0.1\",90")
            || address.to_string().contains("127.0.0.1\",100")));
        let found = net.take_events().into_iter().filter(|(node, event)| {
            *node == ASKER && matches!(event, Event::Routing(RoutingEvent::PeerFound { peer, .. }) if *peer == target)
        }).count();
        prop_assert!(found >= 1);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn with_udp_down_every_message_falls_back_to_tcp_once(
        seed in any::<u64>(),
        duplicate in 0.0f64..0.5,
        jitter_ms in 0u64..150,
        count in 1u64..6,
    ) {
        let mut net = network(seed);
        net.set_conditions(LinkConditions {
            loss: 0.0,
            duplicate,
            min_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(5 + jitter_ms),
        });
        let udp = node_address(&net, TARGET).transport().unwrap();
        net.set_down(udp, true);
        let peer = key(&net, TARGET);
        for n in 0..count {
            net.command(ASKER, Command::SendToPeer {
                from: callsign(ASKER),
                peer,
                callsign: callsign(TARGET),
                value: json!({"n": n}),
            }).unwrap();
            net.run_for(Duration::from_millis(200));
        }
        net.run_for(Duration::from_secs(2));
        let events = net.take_events();
        let mut delivered: Vec<u64> = messages(&events)
            .into_iter()
            .filter(|(node, _)| *node == TARGET)
            .map(|(_, message)| message.value["n"].as_u64().unwrap())
            .collect();
        delivered.sort_unstable();
        prop_assert_eq!(delivered, (0..count).collect::<Vec<_>>(), "each message exactly once");
        let unreachable = events
            .iter()
            .any(|(_, event)| matches!(event, Event::Routing(RoutingEvent::Unreachable { .. })));
        prop_assert!(!unreachable, "no message was given up on");
        prop_assert!(net.node(ASKER).stats().routing.transmits_failed >= 1);
    }
}

/// The whole story on perfect links: a message to a peer known by key only waits for a lookup
/// and is delivered; a failed UDP transmit falls back to TCP; with both down a query ends at
/// once, and a later message is reported unreachable when the lookup finds nothing newer.
#[test]
fn lookup_then_fallback_then_fast_fail() {
    let mut net = network(7);
    let target = key(&net, TARGET).node_id();
    let target_key = key(&net, TARGET);
    let send = |net: &mut SimNetwork, n: u64| {
        net.command_with_id(
            ASKER,
            Command::SendToPeer {
                from: callsign(ASKER),
                peer: target_key,
                callsign: callsign(TARGET),
                value: json!({"n": n}),
            },
        )
        .unwrap()
        .unwrap()
    };

    send(&mut net, 1);
    net.run_for(Duration::from_millis(5));
    assert!(inject_forgeries(&mut net, target) >= 2);
    net.run_for(Duration::from_millis(500));
    assert!(net.node(ASKER).stats().routing.dropped_bad_record >= 2);
    let events = net.take_events();
    assert!(events.iter().any(|(node, event)| *node == ASKER
        && matches!(event, Event::Routing(RoutingEvent::PeerFound { peer, .. }) if *peer == target)));
    let delivered: Vec<_> = messages(&events)
        .into_iter()
        .filter(|(node, _)| *node == TARGET)
        .collect();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].1.value, json!({"n": 1}));
    net.run_for(Duration::from_secs(2));
    let newest = net.node_mut(TARGET).routes().record_seq();
    assert_eq!(
        net.node_mut(ASKER).routes().peer_record_seq(&target),
        Some(newest)
    );
    let asker = net.node(ASKER);
    assert!(
        asker.stats().routing.dropped_stale_record >= 1,
        "a stale answer was refused"
    );
    net.take_events();

    // UDP to the target fails: the message goes again over TCP.
    let udp = node_address(&net, TARGET).transport().unwrap();
    net.set_down(udp, true);
    send(&mut net, 2);
    net.run_for(Duration::from_millis(500));
    let events = net.take_events();
    let delivered: Vec<_> = messages(&events)
        .into_iter()
        .filter(|(node, _)| *node == TARGET)
        .map(|(_, message)| message.value)
        .collect();
    assert_eq!(delivered, [json!({"n": 2})]);
    assert!(net.node(ASKER).stats().routing.transmits_failed >= 1);
    assert!(
        !events
            .iter()
            .any(|(_, event)| matches!(event, Event::Routing(RoutingEvent::Unreachable { .. })))
    );

    // TCP fails too: a query ends at once rather than at its 30 s timeout.
    let tcp = tcp_address(&net, TARGET).transport().unwrap();
    net.set_down(tcp, true);
    let asked_at = net.now();
    let query = net
        .command_with_id(
            ASKER,
            Command::Query {
                from: callsign(ASKER),
                to: net.tcp_identity(TARGET, &callsign(TARGET)),
                via: Vec::new(),
                value: json!({"q": 3}),
                options: QueryOptions::default(),
            },
        )
        .unwrap()
        .unwrap();
    net.run_for(Duration::from_millis(50));
    let events = net.take_events();
    assert!(
        events.iter().any(|(node, event)| *node == ASKER
            && *event == Event::Query(QueryEvent::Unreachable { query })),
        "{events:?}"
    );
    assert!(net.now() - asked_at <= Duration::from_millis(50));

    // Nothing newer than the held record exists: the lookup fails and the message is reported.
    let id = send(&mut net, 4);
    net.run_for(Duration::from_secs(5));
    let events = net.take_events();
    assert!(events.iter().any(|(node, event)| *node == ASKER
        && *event == Event::Routing(RoutingEvent::LookupFailed { peer: target })));
    assert!(events.iter().any(|(node, event)| *node == ASKER
        && *event
            == Event::Routing(RoutingEvent::Unreachable {
                peer: target,
                message: Some(id)
            })));
}
