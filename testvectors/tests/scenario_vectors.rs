//! Scenario vectors: every file under `vectors/scenarios/` replays byte for byte, and the
//! two-node run recorded there is what the simulator records today.
//!
//! To re-record after an intended change of behaviour:
//! `EJTP_UPDATE_VECTORS=1 cargo test -p ejtp-testvectors --test scenario_vectors`.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use ejtp_proto::{Address, Command, Event, Input, MailboxOp, Output, PublicIdentity, QueryOptions};
use ejtp_proto::{QueryEvent, RoutingEvent, TransportEvent};
use ejtp_testvectors::scenario::{ReplayError, Scenario};
use ejtp_testvectors::sim::{LinkConditions, SimNetwork};
use serde_json::json;
use support::{messages, send};

fn scenario_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors/scenarios")
}

/// Alice sends to bob (sealed, starting a handshake), then again on the session; bob answers.
fn record_two_nodes() -> Scenario {
    let mut net = SimNetwork::new(7, LinkConditions::PERFECT);
    let alice = net.add_node("alice", 0xa1, ejtp_testvectors::vector_config(), &["alice"]);
    let bob = net.add_node("bob", 0xb0, ejtp_testvectors::vector_config(), &["bob"]);
    let alice_id = net.identity(alice, "alice");
    let bob_id = net.identity(bob, "bob");
    send(
        &mut net,
        alice,
        "alice",
        &bob_id,
        json!({"text": "hello bob", "n": 1}),
    );
    net.run_for(Duration::from_millis(500));
    send(
        &mut net,
        alice,
        "alice",
        &bob_id,
        json!({"text": "on the session now", "n": 2}),
    );
    net.run_for(Duration::from_millis(500));
    send(
        &mut net,
        bob,
        "bob",
        &alice_id,
        json!({"text": "hello alice"}),
    );
    // Long enough for the replay memories to age out and the sessions to go idle.
    net.run_for(Duration::from_secs(200));
    net.scenario(
        "Two nodes on UDP: alice's first message is sealed with HPKE and starts a Noise IK \
         handshake; her second and bob's reply travel on the session; then the nonce memories \
         are pruned and the idle sessions closed by timers.",
    )
}

/// Alice queries bob three times: answered at once; answered after the soft timeout (a late
/// reply); never answered in time (a hard timeout, and bob's answer after it is dropped).
fn record_query() -> Scenario {
    let mut net = SimNetwork::new(8, LinkConditions::PERFECT);
    let alice = net.add_node("alice", 0xa1, ejtp_testvectors::vector_config(), &["alice"]);
    let bob = net.add_node("bob", 0xb0, ejtp_testvectors::vector_config(), &["bob"]);
    let bob_id = net.identity(bob, "bob");
    let ask = |net: &mut SimNetwork, text: &str, options: QueryOptions| {
        net.command(
            alice,
            Command::Query {
                from: "alice".into(),
                to: bob_id.clone(),
                via: vec![],
                value: json!({"question": text}),
                options,
            },
        )
        .unwrap();
        net.run_for(Duration::from_millis(100));
        messages(&net.take_events()).remove(0).1
    };
    let answer = |net: &mut SimNetwork, to: &ejtp_proto::Message, text: &str| {
        net.command(
            bob,
            Command::Reply {
                from: "bob".into(),
                to: Box::new(to.clone()),
                via: vec![],
                value: json!({"answer": text}),
            },
        )
        .unwrap();
    };
    let options = QueryOptions {
        hard_timeout: Duration::from_secs(2),
        soft_timeout: Some(Duration::from_millis(500)),
        adaptive: false,
    };
    let asked = ask(&mut net, "quick?", options);
    answer(&mut net, &asked, "yes");
    net.run_for(Duration::from_millis(500));
    let asked = ask(&mut net, "slow?", options);
    net.run_for(Duration::from_millis(600));
    answer(&mut net, &asked, "late, but yes");
    net.run_for(Duration::from_millis(500));
    let asked = ask(&mut net, "anyone?", options);
    net.run_for(Duration::from_secs(3));
    answer(&mut net, &asked, "too late");
    net.run_for(Duration::from_millis(500));
    net.scenario(
        "Queries on UDP: alice's first query is answered at once; the second is answered after \
         its soft timeout (a late reply, still delivered); the third passes its hard timeout, \
         and bob's answer after that is dropped.",
    )
}

/// Bob asks a relay to hold his frames and goes down; alice sends him two messages through
/// the relay, which holds them; bob comes back, releases his mailbox and gets both, once.
fn record_store_and_forward() -> Scenario {
    let mut net = SimNetwork::new(9, LinkConditions::PERFECT);
    let alice = net.add_node("alice", 0xa1, ejtp_testvectors::vector_config(), &["alice"]);
    let relay_config = ejtp_testvectors::vector_config().with_max_mailboxes(4);
    let relay = net.add_node("relay", 0xe1, relay_config, &[]);
    let bob = net.add_node("bob", 0xb0, ejtp_testvectors::vector_config(), &["bob"]);
    let relay_id = net.identity(relay, "relay");
    let bob_id = net.identity(bob, "bob");
    let request = |net: &mut SimNetwork, op: MailboxOp| {
        net.command(
            bob,
            Command::RequestMailbox {
                relay: relay_id.clone(),
                op,
            },
        )
        .unwrap();
    };
    request(&mut net, MailboxOp::Hold);
    net.run_for(Duration::from_millis(100));
    net.take_down(bob);
    for n in 1..=2 {
        support::send_via(
            &mut net,
            alice,
            "alice",
            &bob_id,
            std::slice::from_ref(&relay_id),
            json!({"held": n}),
        );
        net.run_for(Duration::from_millis(100));
    }
    net.run_for(Duration::from_secs(5));
    net.restart(bob, "bob again", &["bob"]);
    request(&mut net, MailboxOp::Release);
    net.run_for(Duration::from_secs(1));
    net.scenario(
        "Store-and-forward: bob asks the relay to hold his frames (a signed mailbox request) \
         and goes down; alice sends him two messages through the relay, which holds them; bob \
         restarts, releases his mailbox, and the relay hands both over.",
    )
}

/// Alice may send bob two frames a second with a burst of two: her third send at once is
/// handed back, and after the timer she is told bob is writable again.
fn record_throttle() -> Scenario {
    let mut net = SimNetwork::new(10, LinkConditions::PERFECT);
    let config = ejtp_testvectors::vector_config()
        .with_peer_rate(2)
        .with_peer_burst(2)
        .with_sessions(false);
    let alice = net.add_node("alice", 0xa1, config, &["alice"]);
    let bob = net.add_node("bob", 0xb0, ejtp_testvectors::vector_config(), &["bob"]);
    let bob_id = net.identity(bob, "bob");
    for n in 1..=3 {
        let sent = net.command(
            alice,
            Command::Send {
                from: "alice".into(),
                to: bob_id.clone(),
                via: vec![],
                value: json!({"n": n}),
            },
        );
        assert_eq!(sent.is_err(), n == 3, "{sent:?}");
    }
    net.run_for(Duration::from_millis(600));
    send(&mut net, alice, "alice", &bob_id, json!({"n": 3}));
    net.run_for(Duration::from_millis(100));
    net.scenario(
        "Throttling: alice may send bob 2 frames a second, burst 2. Her third send at once is \
         refused (the value handed back); 500 ms later a timer tells her bob is writable, and \
         the third message goes.",
    )
}

/// Alice queries bob through a relay; bob answers through the same relay.
fn record_query_via_relay() -> Scenario {
    let mut net = SimNetwork::new(11, LinkConditions::PERFECT);
    let alice = net.add_node("alice", 0xa1, ejtp_testvectors::vector_config(), &["alice"]);
    let relay = net.add_node("relay", 0xe1, ejtp_testvectors::vector_config(), &[]);
    let bob = net.add_node("bob", 0xb0, ejtp_testvectors::vector_config(), &["bob"]);
    let relay_id = net.identity(relay, "relay");
    let bob_id = net.identity(bob, "bob");
    net.command(
        alice,
        Command::Query {
            from: "alice".into(),
            to: bob_id,
            via: vec![relay_id.clone()],
            value: json!({"question": "through the relay?"}),
            options: QueryOptions::default(),
        },
    )
    .unwrap();
    net.run_for(Duration::from_millis(100));
    let asked = messages(&net.take_events()).remove(0).1;
    net.command(
        bob,
        Command::Reply {
            from: "bob".into(),
            to: Box::new(asked),
            via: vec![relay_id],
            value: json!({"answer": "both ways"}),
        },
    )
    .unwrap();
    net.run_for(Duration::from_millis(100));
    net.scenario(
        "A query through a relay: alice's query to bob is an onion through the relay, and \
         bob's reply comes back through it too; the reply closes alice's query.",
    )
}

/// Alice knows only bob; bob knows carol. Alice sends to carol by key: a lookup through bob
/// finds carol's signed record and the message goes. Carol's UDP address then fails: the next
/// message falls back to her TCP address. With TCP down too, a message fails fast.
fn record_lookup() -> Scenario {
    let mut net = SimNetwork::new(9, LinkConditions::PERFECT);
    let alice = net.add_node("alice", 0xa1, ejtp_testvectors::vector_config(), &["alice"]);
    let bob = net.add_node("bob", 0xb0, ejtp_testvectors::vector_config(), &["bob"]);
    let carol = net.add_node("carol", 0xc0, ejtp_testvectors::vector_config(), &["carol"]);
    let carol_tcp = net.tcp_identity(carol, "carol").location.without_callsign();
    net.command(
        carol,
        Command::AddLocalAddress {
            address: carol_tcp.clone(),
        },
    )
    .unwrap();
    let route = |net: &mut SimNetwork, node: usize, to: usize, callsign: &str| {
        let identity = net.identity(to, callsign);
        net.command(
            node,
            Command::AddRoute {
                key: identity.key,
                address: identity.location.without_callsign(),
                preference: None,
            },
        )
        .unwrap();
    };
    route(&mut net, bob, carol, "carol");
    net.run_for(Duration::from_millis(500));
    route(&mut net, alice, bob, "bob");
    net.run_for(Duration::from_millis(500));
    let carol_key = net.identity(carol, "carol").key;
    let send_to_carol = |net: &mut SimNetwork, n: u64| {
        net.command(
            alice,
            Command::SendToPeer {
                from: "alice".into(),
                peer: carol_key,
                callsign: "carol".into(),
                value: json!({"to carol": n}),
            },
        )
        .unwrap();
        net.run_for(Duration::from_millis(500));
    };
    send_to_carol(&mut net, 1);
    let carol_udp = net.identity(carol, "carol").location.transport().unwrap();
    net.set_down(carol_udp, true);
    send_to_carol(&mut net, 2);
    net.set_down(carol_tcp.transport().unwrap(), true);
    send_to_carol(&mut net, 3);
    net.run_for(Duration::from_secs(4));
    net.scenario(
        "Lookup and fallback on UDP: alice knows only bob, bob knows carol. Alice sends to carol \
         by key; her lookup through bob returns carol's signed address record (UDP and TCP) \
         and the message goes out. Carol's UDP address then fails (the adapter reports it): the \
         second message is sent again on TCP. With TCP down too, the third fails fast \
         (unreachable), and a lookup finds nothing newer.",
    )
}

/// Alice sends bob a sealed first message and a session message; an attacker on the path
/// sends bob both datagrams again, a moment later: bob delivers each message once.
fn record_replay() -> Scenario {
    let mut net = SimNetwork::new(12, LinkConditions::PERFECT);
    let alice = net.add_node("alice", 0xa1, ejtp_testvectors::vector_config(), &["alice"]);
    let bob = net.add_node("bob", 0xb0, ejtp_testvectors::vector_config(), &["bob"]);
    let bob_id = net.identity(bob, "bob");
    for n in 1..=2 {
        send(&mut net, alice, "alice", &bob_id, json!({"n": n}));
        net.run_for(Duration::from_millis(100));
    }
    let to_bob: Vec<_> = net
        .captured()
        .iter()
        .filter(|captured| captured.to == bob)
        .cloned()
        .collect();
    for captured in to_bob {
        net.inject(bob, captured.from, captured.payload);
    }
    net.run_for(Duration::from_millis(100));
    net.scenario(
        "Replays: alice sends bob a sealed first message (with a handshake) and a message on \
         the session; every datagram bob received is sent to him again. He delivers each \
         message once: the sealed frame's nonce and the session counter are remembered.",
    )
}

/// Alice sends bob seven messages on a session whose send keys rotate every three frames:
/// alice's counters jump to each next key epoch, bob follows, and nothing is lost.
fn record_rekey() -> Scenario {
    let mut net = SimNetwork::new(14, LinkConditions::PERFECT);
    let config = ejtp_testvectors::vector_config().with_rekey_after_frames(3);
    let alice = net.add_node("alice", 0xa1, config.clone(), &["alice"]);
    let bob = net.add_node("bob", 0xb0, config, &["bob"]);
    let bob_id = net.identity(bob, "bob");
    for n in 1..=7 {
        send(&mut net, alice, "alice", &bob_id, json!({"n": n}));
        net.run_for(Duration::from_millis(100));
    }
    let rekeys = net.node(alice).stats().transport.session_rekeys;
    assert!(rekeys >= 2, "alice's send key rotated {rekeys} times");
    net.scenario(
        "Rekeying: alice's first message is sealed and starts a handshake; the next six go on \
         the session, whose send key rotates every three frames (keepalives and path messages \
         count). Bob delivers all seven.",
    )
}

/// A replayed handshake message 1: alice and bob talk on a session; the message 1 that began
/// it is sent to bob again, from alice's address and from another. Bob answers neither and
/// keeps the session.
fn record_handshake_replay() -> Scenario {
    let mut net = SimNetwork::new(15, LinkConditions::PERFECT);
    let alice = net.add_node("alice", 0xa1, ejtp_testvectors::vector_config(), &["alice"]);
    let bob = net.add_node("bob", 0xb0, ejtp_testvectors::vector_config(), &["bob"]);
    let alice_id = net.identity(alice, "alice");
    let bob_id = net.identity(bob, "bob");
    send(&mut net, alice, "alice", &bob_id, json!({"n": 1}));
    net.run_for(Duration::from_millis(100));
    let init = net
        .captured()
        .iter()
        .find(|captured| captured.to == bob && is_handshake_init(&captured.payload))
        .cloned()
        .expect("alice's message 1 was captured");
    let elsewhere = ejtp_proto::TransportAddr::udp("127.0.0.1:6666".parse().unwrap());
    net.inject(bob, init.from, init.payload.clone());
    net.inject(bob, elsewhere, init.payload);
    net.run_for(Duration::from_millis(100));
    assert_eq!(
        net.node(bob).stats().transport.dropped_replay,
        1,
        "the one from elsewhere"
    );
    send(&mut net, bob, "bob", &alice_id, json!({"n": 2}));
    net.run_for(Duration::from_millis(100));
    net.scenario(
        "A replayed handshake: alice's sealed first message starts a session; her message 1 is \
         sent to bob twice more, from her address and from another. Bob refuses both as \
         replays (the duplicate from her address gets the stored answer), and answers her on \
         the session.",
    )
}

/// Three nodes whose default routes form a ring, and a frame for an address none of them can
/// reach: it goes round until the hop limit drops it.
fn record_relay_loop() -> Scenario {
    let mut net = SimNetwork::new(13, LinkConditions::PERFECT);
    let config = ejtp_testvectors::vector_config().with_max_hops(4);
    let nodes: Vec<usize> = (1u8..4)
        .map(|key| net.add_node(&format!("n{key}"), key, config.clone(), &["c"]))
        .collect();
    let ids: Vec<PublicIdentity> = nodes.iter().map(|node| net.identity(*node, "c")).collect();
    for (index, node) in nodes.iter().enumerate() {
        let next = ids[(index + 1) % ids.len()].clone();
        net.command(*node, Command::SetDefaultRoute { route: Some(next) })
            .unwrap();
    }
    let pigeon = PublicIdentity {
        name: "p".into(),
        location: Address::other("pigeon", None, Some("c")).unwrap(),
        key: ids[0].key,
    };
    send(&mut net, nodes[0], "c", &pigeon, json!("round and round"));
    net.run_for(Duration::from_secs(2));
    net.scenario(
        "A routing loop: n1, n2 and n3 route what they cannot deliver to the next of them, in a \
         ring; n1 sends to an address none can reach. The frame is wrapped once and forwarded \
         until it has made max_hops (4) hops, then dropped.",
    )
}

fn check_recorded(name: &str, recorded: &Scenario) {
    let path = scenario_dir().join(name);
    if std::env::var_os("EJTP_UPDATE_VECTORS").is_some() {
        std::fs::create_dir_all(scenario_dir()).unwrap();
        std::fs::write(&path, recorded.to_json_pretty()).unwrap();
    }
    let stored = ejtp_testvectors::scenario::load(&path)
        .unwrap_or_else(|err| panic!("{err} (record with EJTP_UPDATE_VECTORS=1)"));
    assert_eq!(
        &stored, recorded,
        "the simulator no longer records {name}; re-record if intended"
    );
}

#[test]
fn the_two_node_run_records_the_stored_vector() {
    let recorded = record_two_nodes();
    let delivered = recorded
        .steps
        .iter()
        .flat_map(|step| &step.outputs)
        .filter(|output| matches!(output, Output::Event(Event::Message(_))))
        .count();
    assert_eq!(delivered, 3, "the scenario shows three deliveries");
    let timeouts = recorded
        .steps
        .iter()
        .filter(|step| matches!(step.input, Input::Timeout { .. }))
        .count();
    assert!(timeouts >= 2, "the scenario shows timers firing");
    check_recorded("two_nodes.json", &recorded);
}

#[test]
fn the_query_run_records_the_stored_vector() {
    let recorded = record_query();
    let events: Vec<&Event> = recorded
        .steps
        .iter()
        .filter(|step| step.node == "alice")
        .flat_map(|step| &step.outputs)
        .filter_map(|output| match output {
            Output::Event(event) => Some(event),
            _ => None,
        })
        .filter(|event| {
            !matches!(
                event,
                Event::Transport(TransportEvent::SessionEstablished { .. })
                    | Event::Transport(TransportEvent::SessionClosed { .. })
                    | Event::Transport(TransportEvent::AddressObserved { .. })
            )
        })
        .collect();
    let summary: Vec<&str> = events
        .iter()
        .map(|event| match event {
            Event::Query(QueryEvent::Reply { late: false, .. }) => "reply",
            Event::Query(QueryEvent::Reply { late: true, .. }) => "late reply",
            Event::Query(QueryEvent::SoftTimeout { .. }) => "soft timeout",
            Event::Query(QueryEvent::TimedOut { .. }) => "hard timeout",
            _ => "other",
        })
        .collect();
    assert_eq!(
        summary,
        [
            "reply",
            "soft timeout",
            "late reply",
            "soft timeout",
            "hard timeout"
        ]
    );
    check_recorded("query.json", &recorded);
}

fn outputs_of<'a>(scenario: &'a Scenario, node: &'a str) -> impl Iterator<Item = &'a Output> {
    scenario
        .steps
        .iter()
        .filter(move |step| step.node == node)
        .flat_map(|step| &step.outputs)
}

#[test]
fn the_store_and_forward_run_records_the_stored_vector() {
    let recorded = record_store_and_forward();
    let delivered: Vec<&Event> = outputs_of(&recorded, "bob again")
        .filter_map(|output| match output {
            Output::Event(event @ Event::Message(_)) => Some(event),
            _ => None,
        })
        .collect();
    assert_eq!(delivered.len(), 2, "both held messages, once each");
    assert!(
        outputs_of(&recorded, "bob")
            .all(|output| !matches!(output, Output::Event(Event::Message(_)))),
        "nothing reached bob before he went down"
    );
    check_recorded("store_and_forward.json", &recorded);
}

#[test]
fn the_throttle_run_records_the_stored_vector() {
    let recorded = record_throttle();
    let writable = outputs_of(&recorded, "alice")
        .filter(|output| {
            matches!(
                output,
                Output::Event(Event::Transport(TransportEvent::PeerWritable { .. }))
            )
        })
        .count();
    assert_eq!(writable, 1);
    let delivered = outputs_of(&recorded, "bob")
        .filter(|output| matches!(output, Output::Event(Event::Message(_))))
        .count();
    assert_eq!(delivered, 3);
    check_recorded("throttle.json", &recorded);
}

#[test]
fn the_query_via_relay_run_records_the_stored_vector() {
    let recorded = record_query_via_relay();
    let replies = outputs_of(&recorded, "alice")
        .filter(|output| {
            matches!(
                output,
                Output::Event(Event::Query(QueryEvent::Reply { late: false, .. }))
            )
        })
        .count();
    assert_eq!(replies, 1);
    check_recorded("query_via_relay.json", &recorded);
}

#[test]
fn the_lookup_run_records_the_stored_vector() {
    let recorded = record_lookup();
    let events: Vec<(&str, &Event)> = recorded
        .steps
        .iter()
        .flat_map(|step| {
            step.outputs.iter().filter_map(move |output| match output {
                Output::Event(event) => Some((step.node.as_str(), event)),
                _ => None,
            })
        })
        .collect();
    let delivered: Vec<&serde_json::Value> = events
        .iter()
        .filter_map(|(node, event)| match event {
            Event::Message(message) if *node == "carol" => Some(&message.value),
            _ => None,
        })
        .collect();
    assert_eq!(
        delivered,
        [&json!({"to carol": 1}), &json!({"to carol": 2})]
    );
    let alice_saw = |wanted: fn(&Event) -> bool| {
        events
            .iter()
            .any(|(node, event)| *node == "alice" && wanted(event))
    };
    assert!(alice_saw(|event| matches!(
        event,
        Event::Routing(RoutingEvent::PeerFound { .. })
    )));
    assert!(alice_saw(|event| matches!(
        event,
        Event::Routing(RoutingEvent::Unreachable {
            message: Some(_),
            ..
        })
    )));
    assert!(alice_saw(|event| matches!(
        event,
        Event::Routing(RoutingEvent::LookupFailed { .. })
    )));
    assert!(
        recorded
            .steps
            .iter()
            .any(|step| matches!(step.input, Input::TransmitFailed { .. }))
    );
    check_recorded("lookup.json", &recorded);
}

#[test]
fn every_stored_scenario_replays_byte_for_byte() {
    let mut count = 0;
    for entry in std::fs::read_dir(scenario_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|ext| ext == "json") {
            let scenario = ejtp_testvectors::scenario::load(&path).unwrap();
            scenario
                .replay()
                .unwrap_or_else(|err| panic!("{}: {err}", path.display()));
            count += 1;
        }
    }
    assert!(count >= 1, "no scenario vectors found");
}

#[test]
fn a_changed_output_byte_fails_the_replay() {
    let mut scenario =
        ejtp_testvectors::scenario::load(&scenario_dir().join("two_nodes.json")).unwrap();
    let transmit = scenario
        .steps
        .iter_mut()
        .flat_map(|step| step.outputs.iter_mut())
        .find_map(|output| match output {
            Output::Transmit(transmit) => Some(transmit),
            _ => None,
        })
        .unwrap();
    let last = transmit.payload.len() - 1;
    transmit.payload[last] ^= 1;
    assert!(matches!(
        scenario.replay(),
        Err(ReplayError::Mismatch { .. })
    ));
}

#[test]
fn a_changed_input_time_fails_the_replay() {
    let mut scenario =
        ejtp_testvectors::scenario::load(&scenario_dir().join("two_nodes.json")).unwrap();
    // Moving the first send a minute later changes the timestamps it signs.
    let sends = scenario
        .steps
        .iter()
        .position(|step| {
            matches!(
                &step.input,
                Input::Command {
                    command: Command::Send { .. },
                    ..
                }
            )
        })
        .unwrap();
    if let Input::Command { now, .. } = &mut scenario.steps[sends].input {
        *now = *now + Duration::from_secs(60);
    }
    assert!(scenario.replay().is_err());
}

#[test]
fn the_replay_run_records_the_stored_vector() {
    let recorded = record_replay();
    let injected = recorded
        .steps
        .iter()
        .filter(|step| step.node == "bob" && matches!(step.input, Input::Datagram { .. }))
        .count();
    assert!(
        injected >= 4,
        "each datagram to bob is there twice: {injected}"
    );
    let delivered = outputs_of(&recorded, "bob")
        .filter(|output| matches!(output, Output::Event(Event::Message(_))))
        .count();
    assert_eq!(delivered, 2, "each message once");
    check_recorded("replay.json", &recorded);
}

#[test]
fn the_rekey_run_records_the_stored_vector() {
    let recorded = record_rekey();
    let delivered = outputs_of(&recorded, "bob")
        .filter(|output| matches!(output, Output::Event(Event::Message(_))))
        .count();
    assert_eq!(delivered, 7, "nothing lost across the rotations");
    check_recorded("rekey.json", &recorded);
}

#[test]
fn the_handshake_replay_run_records_the_stored_vector() {
    let recorded = record_handshake_replay();
    let delivered: Vec<_> = recorded
        .steps
        .iter()
        .flat_map(|step| step.outputs.iter().map(move |output| (&step.node, output)))
        .filter(|(_, output)| matches!(output, Output::Event(Event::Message(_))))
        .collect();
    assert_eq!(delivered.len(), 2);
    check_recorded("handshake_replay.json", &recorded);
}

#[test]
fn the_relay_loop_run_records_the_stored_vector() {
    let recorded = record_relay_loop();
    // Sealed frames only: each node also opens and keeps a session with its default route.
    let transmits = recorded
        .steps
        .iter()
        .flat_map(|step| &step.outputs)
        .filter(|output| match output {
            Output::Transmit(transmit) => is_sealed_frame(&transmit.payload),
            _ => false,
        })
        .count();
    // n1 sends the wrapped frame, then n2, n3 and n1 forward it (max_hops - 1 = 3 forwards);
    // n2 then drops it instead of sending it round again.
    assert_eq!(transmits, 4, "the frame went round until the hop limit");
    let delivered = recorded
        .steps
        .iter()
        .flat_map(|step| &step.outputs)
        .filter(|output| matches!(output, Output::Event(Event::Message(_))))
        .count();
    assert_eq!(delivered, 0);
    check_recorded("relay_loop.json", &recorded);
}

/// Whether `frame` is an `r` frame with a sealed (HPKE) body: the body's kind byte, after the
/// header's NUL, is 1 (`docs/PROTOCOL.md` section 7).
fn is_sealed_frame(frame: &[u8]) -> bool {
    frame.first() == Some(&b'r')
        && frame
            .iter()
            .position(|byte| *byte == 0)
            .and_then(|nul| frame.get(nul + 1))
            == Some(&1)
}

/// Whether `frame` is an `r` frame holding a handshake's message 1.
fn is_handshake_init(frame: &[u8]) -> bool {
    use ejtp_proto::crypto::body::RBody;
    matches!(
        ejtp_proto::frame::decode(frame),
        Ok(ejtp_proto::frame::Frame::Sealed { body, .. })
            if matches!(RBody::decode(body), Ok(RBody::HandshakeInit { .. }))
    )
}
