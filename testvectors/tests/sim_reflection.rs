//! No reflection: mallory signs carol's address as her own and sends bob messages, queries, a
//! handshake, lookups and mailbox requests from her own address. Carol has never sent bob
//! anything, so she has not proved she receives: bob must send her at most as many bytes as
//! mallory sent him (ratio 1.0), and nothing anywhere beyond three times what came from an
//! address that has not proved it receives.

mod support;

use std::time::Duration;

use ejtp_proto::{Command, Config, Event, MailboxOp, Message};
use ejtp_testvectors::sim::{LinkConditions, SimNetwork};
use serde_json::{Value, json};
use support::{messages, send, send_via};

const BOB: usize = 0;
const CAROL: usize = 1;
const MALLORY: usize = 2;
const ALICE: usize = 3;

/// Bob (a node with a client, a default route for lookups and a mailbox relay), carol (the
/// victim), mallory (signing carol's address) and alice (an honest peer of bob's).
///
/// Unless `mallory_sessions`, mallory runs no Noise sessions, so her own address never proves
/// it receives: everything bob sends her stays under the amplification limit, which is what
/// "overall" weighs. (With sessions, her address proves itself at once and bob may send her
/// what she asks for.)
fn network(seed: u64, mallory_sessions: bool) -> SimNetwork {
    let mut net = SimNetwork::new(seed, LinkConditions::PERFECT);
    // Neither bob nor mallory probes the path MTU. Probes are large and go only to addresses
    // that proved they receive (mallory's own, once her session is up), so they are no
    // reflection; but they would swamp the bytes this test weighs.
    let quiet = Config::default().with_path_mtu_probing(false);
    net.add_node("bob", 0xb0, quiet.clone().with_max_mailboxes(8), &["bob"]);
    net.add_node("carol", 0xca, Config::default(), &["carol"]);
    let carol = net.udp_addr(CAROL).addr;
    let mallory = quiet.with_sessions(mallory_sessions);
    net.add_node_signing_as("mallory", 0x3a, mallory, &["mallory"], Some(carol));
    net.add_node("alice", 0xa1, Config::default(), &["alice"]);
    net
}

/// Bytes `from` sent to `to` so far.
fn bytes(net: &SimNetwork, from: usize, to: usize) -> usize {
    let from = net.udp_addr(from);
    net.captured()
        .iter()
        .filter(|packet| packet.to == to && packet.from == from)
        .map(|packet| packet.payload.len())
        .sum()
}

/// Bob's application answers every message it has, `times` times each, with `value`.
fn bob_answers(net: &mut SimNetwork, events: &[(usize, Event)], value: &Value, times: usize) {
    let received: Vec<Message> = messages(events)
        .into_iter()
        .filter(|(node, _)| *node == BOB)
        .map(|(_, message)| message)
        .collect();
    for message in &received {
        for _ in 0..times {
            net.command(
                BOB,
                Command::Reply {
                    from: "bob".into(),
                    to: Box::new(message.clone()),
                    via: vec![],
                    value: value.clone(),
                },
            )
            .expect("the reply is accepted");
        }
    }
}

/// The ratios the issue bounds, after whatever the test did: bytes bob sent carol over bytes
/// mallory sent bob, and bytes bob sent mallory and carol together over the same.
fn assert_no_reflection(net: &SimNetwork, what: &str) {
    let attacker = bytes(net, MALLORY, BOB);
    assert!(attacker > 0, "{what}: mallory sent nothing");
    let to_victim = bytes(net, BOB, CAROL);
    let to_both = to_victim + bytes(net, BOB, MALLORY);
    let victim_ratio = to_victim as f64 / attacker as f64;
    let overall_ratio = to_both as f64 / attacker as f64;
    println!(
        "{what}: mallory sent {attacker} B; bob sent carol {to_victim} B ({victim_ratio:.2}x), both {to_both} B ({overall_ratio:.2}x)"
    );
    assert!(victim_ratio <= 1.0, "{what}: {victim_ratio:.2}x to carol");
    assert!(overall_ratio <= 3.0, "{what}: {overall_ratio:.2}x overall");
    assert_eq!(
        net.node(CAROL).stats().queries.delivered,
        0,
        "{what}: carol got a message"
    );
}

#[test]
fn messages_and_replies_go_back_to_where_they_came_from() {
    let mut net = network(1, false);
    let bob_id = net.identity(BOB, "bob");
    for n in 0..3 {
        send(&mut net, MALLORY, "mallory", &bob_id, json!({"n": n}));
        net.run_for(Duration::from_millis(50));
    }
    let events = net.take_events();
    assert_eq!(messages(&events).len(), 3, "bob heard mallory");
    // Bob's application answers each message three times with a large value.
    let answer = json!({"padding": "x".repeat(800)});
    bob_answers(&mut net, &events, &answer, 3);
    net.run_for(Duration::from_secs(5));
    assert_no_reflection(&net, "messages, replies, handshakes");
}

#[test]
fn with_sessions_the_victim_still_gets_no_more_than_the_attacker_sent() {
    let mut net = network(5, true);
    let bob_id = net.identity(BOB, "bob");
    for n in 0..3 {
        send(&mut net, MALLORY, "mallory", &bob_id, json!({"n": n}));
        net.run_for(Duration::from_millis(50));
    }
    let events = net.take_events();
    bob_answers(&mut net, &events, &json!({"padding": "x".repeat(800)}), 3);
    net.run_for(Duration::from_secs(5));
    let attacker = bytes(&net, MALLORY, BOB);
    let to_victim = bytes(&net, BOB, CAROL);
    println!("with sessions: mallory sent {attacker} B; bob sent carol {to_victim} B");
    // Mallory's own address proved it receives (her session), so what she asked for may go
    // there; carol's never did.
    assert!(
        to_victim <= attacker,
        "{to_victim} B to carol for {attacker} B"
    );
    assert_eq!(net.node(CAROL).stats().queries.delivered, 0);
}

#[test]
fn queries_are_answered_where_they_came_from() {
    let mut net = network(2, false);
    let bob_id = net.identity(BOB, "bob");
    for n in 0..3 {
        net.command(
            MALLORY,
            Command::Query {
                from: "mallory".into(),
                to: bob_id.clone(),
                via: vec![],
                value: json!({"q": n}),
                options: ejtp_proto::QueryOptions::default(),
            },
        )
        .unwrap();
        net.run_for(Duration::from_millis(50));
    }
    let events = net.take_events();
    bob_answers(&mut net, &events, &json!({"padding": "y".repeat(1000)}), 2);
    net.run_for(Duration::from_secs(5));
    assert_no_reflection(&net, "queries");
}

#[test]
fn lookups_are_answered_where_they_came_from() {
    let mut net = network(3, true);
    let bob_id = net.identity(BOB, "bob");
    let alice_id = net.identity(ALICE, "alice");
    // Bob knows alice (her record is worth looking up); mallory routes through bob.
    send(&mut net, ALICE, "alice", &bob_id, json!("hello bob"));
    net.run_for(Duration::from_millis(100));
    net.command(
        MALLORY,
        Command::SetDefaultRoute {
            route: Some(bob_id.clone()),
        },
    )
    .unwrap();
    for _ in 0..4 {
        let _ = net.command(
            MALLORY,
            Command::Lookup {
                peer: alice_id.key.node_id(),
            },
        );
        net.run_for(Duration::from_millis(300));
    }
    net.run_for(Duration::from_secs(5));
    assert_no_reflection(&net, "lookups");
}

/// Mallory asks bob to hold what comes for "her" (carol's address); alice sends her large
/// messages through bob, which holds them; mallory asks for them to be handed over. Returns
/// how many frames bob held.
fn hold_and_release(net: &mut SimNetwork) -> usize {
    let bob_id = net.identity(BOB, "bob");
    // Mallory's identity as she publishes it: at carol's address.
    let mallory_id = net.node(MALLORY).public_identity("mallory", "mallory");
    assert_eq!(
        mallory_id.location.transport().map(|t| t.addr),
        Some(net.udp_addr(CAROL).addr)
    );
    let request = |net: &mut SimNetwork, op| {
        net.command(
            MALLORY,
            Command::RequestMailbox {
                relay: bob_id.clone(),
                op,
            },
        )
        .unwrap();
        net.run_for(Duration::from_millis(100));
    };
    request(net, MailboxOp::Hold);
    for n in 0..6 {
        send_via(
            net,
            ALICE,
            "alice",
            &mallory_id,
            std::slice::from_ref(&bob_id),
            json!({"n": n, "padding": "z".repeat(1000)}),
        );
        net.run_for(Duration::from_millis(50));
    }
    let held = net.node(BOB).held_frames();
    assert_eq!(held, 6, "bob holds alice's messages");
    request(net, MailboxOp::Release);
    net.run_for(Duration::from_secs(5));
    held
}

#[test]
fn a_mailbox_is_never_handed_over_to_an_address_only_signed() {
    // Mallory's address never proves itself: bob hands over only what the limit allows there,
    // keeps the rest, and sends carol nothing.
    let mut net = network(4, false);
    let held = hold_and_release(&mut net);
    assert_no_reflection(&net, "mailbox hand-over");
    let stats = net.node(BOB).stats();
    assert_eq!(
        stats.relay.handed_over as usize + net.node(BOB).held_frames(),
        held,
        "what was not handed over is still held"
    );
}

#[test]
fn a_mailbox_goes_to_where_its_owner_proves_it_receives() {
    // Mallory runs sessions: the handshake bob starts with her proves her own address, and
    // everything held goes there. Nothing is lost, and nothing goes to carol.
    let mut net = network(6, true);
    let held = hold_and_release(&mut net);
    assert_eq!(bytes(&net, BOB, CAROL), 0, "nothing went to carol");
    assert_eq!(net.node(BOB).stats().relay.handed_over as usize, held);
    assert_eq!(net.node(BOB).held_frames(), 0);
    let got: Vec<Value> = messages(&net.take_events())
        .into_iter()
        .filter(|(node, _)| *node == MALLORY)
        .map(|(_, message)| message.value)
        .collect();
    assert_eq!(got.len(), held, "mallory got alice's messages: {got:?}");
}
