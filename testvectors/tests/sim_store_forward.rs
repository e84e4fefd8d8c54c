//! Store-and-forward over a simulated network of five nodes: three senders, a relay holding a
//! mailbox, and a recipient that goes down and comes back.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use ejtp_proto::{Command, Config, MailboxOp, PublicIdentity};
use ejtp_testvectors::sim::{LinkConditions, SimNetwork};
use proptest::prelude::*;
use serde_json::json;
use support::{messages, send_via};

const SENDERS: [&str; 3] = ["alice", "carol", "dave"];

fn relay_config(per_mailbox: usize) -> Config {
    Config::default()
        .with_max_mailboxes(8)
        .with_max_held_per_mailbox(per_mailbox)
}

struct World {
    net: SimNetwork,
    senders: Vec<usize>,
    relay_id: PublicIdentity,
    bob: usize,
    bob_id: PublicIdentity,
}

fn world(seed: u64, conditions: LinkConditions, per_mailbox: usize) -> World {
    let mut net = SimNetwork::new(seed, conditions);
    let senders: Vec<usize> = SENDERS
        .iter()
        .zip(1u8..)
        .map(|(name, key)| net.add_node(name, key, Config::default(), &[name]))
        .collect();
    let relay = net.add_node("relay", 10, relay_config(per_mailbox), &[]);
    let bob = net.add_node("bob", 11, Config::default(), &["bob"]);
    let relay_id = net.identity(relay, "relay");
    let bob_id = net.identity(bob, "bob");
    World {
        net,
        senders,
        relay_id,
        bob,
        bob_id,
    }
}

fn request(world: &mut World, op: MailboxOp) {
    let relay = world.relay_id.clone();
    world
        .net
        .command(world.bob, Command::RequestMailbox { relay, op })
        .expect("the request is sent");
}

/// Bob asks the relay to hold, goes down, the senders send `count` messages each through the
/// relay, bob comes back and releases his mailbox. Returns the values bob received.
fn away_and_back(world: &mut World, count: usize) -> Vec<serde_json::Value> {
    request(world, MailboxOp::Hold);
    world.net.run_for(Duration::from_millis(200));
    world.net.take_down(world.bob);
    for n in 0..count {
        for (sender, name) in world.senders.clone().into_iter().zip(SENDERS) {
            let (bob_id, relay_id) = (world.bob_id.clone(), world.relay_id.clone());
            send_via(
                &mut world.net,
                sender,
                name,
                &bob_id,
                &[relay_id],
                json!({"from": name, "n": n}),
            );
        }
        world.net.run_for(Duration::from_millis(50));
    }
    world.net.run_for(Duration::from_secs(5));
    assert!(
        messages(&world.net.take_events()).is_empty(),
        "bob was down"
    );
    world.net.restart(world.bob, "bob again", &["bob"]);
    request(world, MailboxOp::Release);
    world.net.run_for(Duration::from_secs(2));
    messages(&world.net.take_events())
        .into_iter()
        .map(|(node, message)| {
            assert_eq!(node, world.bob);
            message.value
        })
        .collect()
}

#[test]
fn a_recipient_that_comes_back_gets_every_held_message_once() {
    let mut world = world(40, LinkConditions::PERFECT, 64);
    let received = away_and_back(&mut world, 4);
    assert_eq!(received.len(), 12, "{received:?}");
    let relay = world.net.node(3);
    assert_eq!(relay.stats().relay.held, 12);
    assert_eq!(relay.stats().relay.handed_over, 12);
    assert_eq!(relay.held_frames(), 0);
}

#[test]
fn a_relay_holds_no_more_than_its_bound_and_keeps_the_newest() {
    let mut world = world(41, LinkConditions::PERFECT, 5);
    let received = away_and_back(&mut world, 4);
    assert_eq!(received.len(), 5, "{received:?}");
    // The oldest went first: what is left is the last round and the end of the one before.
    assert!(
        received.iter().all(|value| value["n"].as_u64() >= Some(2)),
        "{received:?}"
    );
    assert_eq!(world.net.node(3).stats().relay.dropped_held_overflow, 7);
}

#[test]
fn frames_held_past_the_hold_time_are_dropped_not_delivered() {
    let mut world = world(42, LinkConditions::PERFECT, 64);
    request(&mut world, MailboxOp::Hold);
    world.net.run_for(Duration::from_millis(200));
    world.net.take_down(world.bob);
    let (bob_id, relay_id) = (world.bob_id.clone(), world.relay_id.clone());
    send_via(
        &mut world.net,
        world.senders[0],
        "alice",
        &bob_id,
        &[relay_id],
        json!("stale"),
    );
    world.net.run_for(Duration::from_secs(61));
    world.net.restart(world.bob, "bob again", &["bob"]);
    request(&mut world, MailboxOp::Release);
    world.net.run_for(Duration::from_secs(1));
    assert!(messages(&world.net.take_events()).is_empty());
    assert_eq!(world.net.node(3).stats().relay.dropped_held_expired, 1);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// With duplication, reordering and delay, every message held for bob reaches him exactly
    /// once when he comes back; with loss as well, at most once, and never more than the
    /// mailbox's bound.
    #[test]
    fn held_messages_arrive_once_when_the_recipient_comes_back(
        seed in any::<u64>(),
        lossy in any::<bool>(),
        duplicate in 0.0f64..0.3,
        count in 1usize..6,
        per_mailbox in 4usize..24,
    ) {
        let conditions = LinkConditions {
            loss: if lossy { 0.1 } else { 0.0 },
            duplicate,
            min_delay: Duration::from_millis(2),
            max_delay: Duration::from_millis(60),
        };
        let mut world = world(seed, conditions, per_mailbox);
        let received = away_and_back(&mut world, count);
        let mut seen = BTreeMap::new();
        for value in &received {
            *seen.entry(value.to_string()).or_insert(0) += 1;
        }
        prop_assert!(seen.values().all(|times| *times == 1), "{seen:?}");
        prop_assert!(received.len() <= per_mailbox);
        let relay = world.net.node(3);
        prop_assert!(relay.held_frames() <= per_mailbox);
        if !lossy {
            prop_assert_eq!(received.len(), (SENDERS.len() * count).min(per_mailbox));
        }
    }
}
