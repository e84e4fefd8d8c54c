//! Throttling over a simulated network of five nodes: a sender that offers more than its rate
//! to four peers, and a relay that throttles what it forwards.
//!
//! Tolerance: over `T` seconds a destination receives at most `rate x T + burst` frames from a
//! throttled node (exact: the buckets count whole frames), and, when the offered load exceeds
//! the rate on a lossless link, at least `rate x (T - 1 s)` of them (the application retries
//! only on `PeerWritable`, so a little time is lost waiting for events).

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use ejtp_proto::TransportEvent;
use ejtp_proto::{Command, Config, Event, PublicIdentity, TransportAddr};
use ejtp_testvectors::sim::{LinkConditions, SimNetwork};
use proptest::prelude::*;
use serde_json::json;
use support::{messages, send_via};

const TICK: Duration = Duration::from_millis(10);

/// Runs `seconds` of a sender that always has more to send to each of `peers` than its rate
/// allows, retrying a peer only after its `PeerWritable`. Returns deliveries per peer node.
fn offer_more_than_the_rate(
    net: &mut SimNetwork,
    sender: usize,
    peers: &[(usize, PublicIdentity)],
    seconds: u64,
) -> (BTreeMap<usize, u64>, u64) {
    let mut writable: BTreeMap<TransportAddr, bool> = peers
        .iter()
        .map(|(_, id)| (id.location.transport().unwrap(), true))
        .collect();
    let mut delivered = BTreeMap::new();
    let mut refused = 0u64;
    let ticks = seconds * 1000 / u64::try_from(TICK.as_millis()).unwrap();
    for tick in 0..ticks {
        for (_, id) in peers {
            let peer = id.location.transport().unwrap();
            // Several frames a tick: the offered load is far above any rate tested.
            for n in 0..3 {
                if !writable[&peer] {
                    break;
                }
                let sent = net.command(
                    sender,
                    Command::Send {
                        from: "sender".into(),
                        to: id.clone(),
                        via: vec![],
                        value: json!({"tick": tick, "n": n}),
                    },
                );
                if let Err(error) = sent {
                    assert!(error.contains("throttled"), "{error}");
                    refused += 1;
                    writable.insert(peer, false);
                }
            }
        }
        net.run_for(TICK);
        for (node, event) in net.take_events() {
            match event {
                Event::Transport(TransportEvent::PeerWritable { peer }) if node == sender => {
                    writable.insert(peer, true);
                }
                Event::Message(_) => *delivered.entry(node).or_insert(0) += 1,
                _ => {}
            }
        }
    }
    (delivered, refused)
}

fn five_nodes(
    seed: u64,
    conditions: LinkConditions,
    sender_config: Config,
) -> (SimNetwork, usize, Vec<(usize, PublicIdentity)>) {
    let mut net = SimNetwork::new(seed, conditions);
    let sender = net.add_node("sender", 1, sender_config, &["sender"]);
    let peers = (2u8..6)
        .map(|key| {
            let name = format!("peer{key}");
            let node = net.add_node(&name, key, Config::default(), &["peer"]);
            (node, net.identity(node, "peer"))
        })
        .collect();
    (net, sender, peers)
}

#[test]
fn each_peer_gets_its_rate_and_burst_and_no_more() {
    let config = Config::default()
        .with_peer_rate(20)
        .with_peer_burst(5)
        .with_sessions(false);
    let (mut net, sender, peers) = five_nodes(50, LinkConditions::PERFECT, config);
    let (delivered, refused) = offer_more_than_the_rate(&mut net, sender, &peers, 5);
    assert!(refused > 0);
    for (node, _) in &peers {
        let got = delivered.get(node).copied().unwrap_or(0);
        assert!(got <= 20 * 5 + 5, "peer {node} got {got}");
        assert!(got >= 20 * 4, "peer {node} got only {got}");
    }
}

#[test]
fn a_relay_forwards_no_more_than_its_rate_to_one_destination() {
    let mut net = SimNetwork::new(51, LinkConditions::PERFECT);
    let senders: Vec<usize> = (1u8..4)
        .map(|key| net.add_node(&format!("s{key}"), key, Config::default(), &["s"]))
        .collect();
    let relay = net.add_node(
        "relay",
        10,
        Config::default().with_peer_rate(10).with_peer_burst(4),
        &[],
    );
    let bob = net.add_node("bob", 11, Config::default(), &["bob"]);
    let (relay_id, bob_id) = (net.identity(relay, "relay"), net.identity(bob, "bob"));
    for _ in 0..200 {
        for sender in &senders {
            send_via(
                &mut net,
                *sender,
                "s",
                &bob_id,
                std::slice::from_ref(&relay_id),
                json!(1),
            );
        }
        net.run_for(TICK);
    }
    net.run_for(Duration::from_secs(1));
    let received = messages(&net.take_events()).len() as u64;
    // 2 s of sending, 3 s of run in all.
    assert!(received <= 10 * 3 + 4, "{received}");
    assert!(received >= 10 * 2, "{received}");
    assert!(net.node(relay).stats().transport.dropped_throttled > 0);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    /// Over seeded loss, duplication and reordering, no peer ever receives more than
    /// `rate x T + burst` messages, and the overall bucket bounds the sum.
    #[test]
    fn throttles_hold_over_bad_links(
        seed in any::<u64>(),
        lossy in any::<bool>(),
        duplicate in 0.0f64..0.3,
        peer_rate in 5u32..40,
        peer_burst in 1u32..10,
        total_rate in 20u32..80,
    ) {
        let config = Config::default().with_peer_rate(peer_rate).with_peer_burst(peer_burst).with_total_rate(total_rate).with_total_burst(10);
        let conditions = LinkConditions {
            loss: if lossy { 0.1 } else { 0.0 },
            duplicate,
            min_delay: Duration::from_millis(2),
            max_delay: Duration::from_millis(40),
        };
        let (mut net, sender, peers) = five_nodes(seed, conditions, config);
        let seconds = 3;
        let (delivered, _) = offer_more_than_the_rate(&mut net, sender, &peers, seconds);
        // Everything counted was sent within the `seconds` the loop ran.
        let window = seconds;
        for (node, _) in &peers {
            let got = delivered.get(node).copied().unwrap_or(0);
            prop_assert!(got <= u64::from(peer_rate) * window + u64::from(peer_burst), "peer {} got {}", node, got);
        }
        let total: u64 = delivered.values().sum();
        prop_assert!(total <= u64::from(total_rate) * window + 10, "{}", total);
        if !lossy {
            let expected = u64::from((4 * peer_rate).min(total_rate)) * (seconds - 1);
            prop_assert!(total >= expected, "{} < {}", total, expected);
        }
    }
}
