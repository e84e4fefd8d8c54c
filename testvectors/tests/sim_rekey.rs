//! Long-lived busy sessions rotate their keys (by age, and by frames) while messages flow both
//! ways over a path that duplicates, delays and reorders: every message is delivered exactly
//! once, and the sessions stay up.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use ejtp_proto::{Config, Protection};
use ejtp_testvectors::sim::{LinkConditions, SimNetwork};
use proptest::prelude::*;
use serde_json::json;
use support::{faulty_link, messages, send};

/// Alice and bob exchange a message each way every `every` for `duration`, over `net`'s link;
/// returns the messages delivered at each, by their `n`.
fn exchange(
    net: &mut SimNetwork,
    (alice, bob): (usize, usize),
    every: Duration,
    duration: Duration,
) -> (Vec<u64>, Vec<u64>, usize) {
    let alice_id = net.identity(alice, "alice");
    let bob_id = net.identity(bob, "bob");
    let rounds = (duration.as_millis() / every.as_millis()) as u64;
    let (mut at_alice, mut at_bob) = (Vec::new(), Vec::new());
    let mut on_session = 0;
    for n in 0..rounds {
        send(net, alice, "alice", &bob_id, json!({"n": n}));
        send(net, bob, "bob", &alice_id, json!({"n": n}));
        net.run_for(every);
        for (node, message) in messages(&net.take_events()) {
            let n = message.value["n"].as_u64().expect("a numbered message");
            on_session += usize::from(message.protection == Protection::Session);
            if node == alice {
                at_alice.push(n);
            } else {
                at_bob.push(n);
            }
        }
    }
    net.run_for(Duration::from_secs(2));
    for (node, message) in messages(&net.take_events()) {
        let n = message.value["n"].as_u64().expect("a numbered message");
        on_session += usize::from(message.protection == Protection::Session);
        if node == alice {
            at_alice.push(n);
        } else {
            at_bob.push(n);
        }
    }
    (at_alice, at_bob, on_session)
}

fn assert_each_once(delivered: &[u64], rounds: u64, who: &str) {
    let unique: BTreeSet<u64> = delivered.iter().copied().collect();
    assert_eq!(
        unique.len(),
        delivered.len(),
        "{who}: a message delivered twice"
    );
    assert_eq!(unique, (0..rounds).collect(), "{who}: a message lost");
}

#[test]
fn sessions_rotate_by_age_every_two_minutes_and_lose_nothing() {
    let mut net = SimNetwork::new(80, LinkConditions::PERFECT);
    net.set_link_config(faulty_link(0.0, 0.05, 30, 0.2));
    let alice = net.add_node("alice", 1, Config::default(), &["alice"]);
    let bob = net.add_node("bob", 2, Config::default(), &["bob"]);
    let every = Duration::from_millis(500);
    let duration = Duration::from_secs(7 * 60);
    let (at_alice, at_bob, on_session) = exchange(&mut net, (alice, bob), every, duration);
    let rounds = (duration.as_millis() / every.as_millis()) as u64;
    assert_each_once(&at_alice, rounds, "alice");
    assert_each_once(&at_bob, rounds, "bob");
    // All but the first few (sealed while the handshake ran) went on the session.
    assert!(
        on_session as u64 >= 2 * rounds - 4,
        "{on_session} on the session"
    );
    for node in [alice, bob] {
        let stats = net.node(node).stats();
        // 7 minutes at one rotation per 2 minutes: 3 each way.
        assert!(
            (3..=4).contains(&stats.transport.session_rekeys),
            "node {node}: {} rotations",
            stats.transport.session_rekeys
        );
        assert_eq!(stats.transport.dropped_crypto, 0);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    /// Rotation every few frames, under duplication, jitter and reordering: nothing is lost
    /// or delivered twice, whatever the seed. (A receiver keeps one previous epoch's key, so
    /// an epoch must outlast the path's reordering depth: here a few frames, where the
    /// defaults' epochs last two minutes.)
    #[test]
    fn frequent_rotation_under_reordering_loses_nothing(
        seed in any::<u64>(),
        per_epoch in 8u64..32,
        duplicate in 0.0f64..0.3,
        jitter_ms in 0u64..40,
        reorder in 0.0f64..0.3,
    ) {
        let mut net = SimNetwork::new(seed, LinkConditions::PERFECT);
        net.set_link_config(faulty_link(0.0, duplicate, jitter_ms, reorder));
        let config = Config::default().with_rekey_after_frames(per_epoch);
        let alice = net.add_node("alice", 1, config.clone(), &["alice"]);
        let bob = net.add_node("bob", 2, config, &["bob"]);
        let every = Duration::from_millis(20);
        let duration = Duration::from_secs(2);
        let (at_alice, at_bob, _) = exchange(&mut net, (alice, bob), every, duration);
        let rounds = (duration.as_millis() / every.as_millis()) as u64;
        assert_each_once(&at_alice, rounds, "alice");
        assert_each_once(&at_bob, rounds, "bob");
        prop_assert!(net.node(alice).stats().transport.session_rekeys >= 100 / per_epoch / 2);
    }
}
