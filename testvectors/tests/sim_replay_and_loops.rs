//! Five-node networks under attack and misconfiguration: an attacker on the path replays the
//! first frames it captured (sealed single frames and session handshakes) to their receiver
//! later, and a ring of default routes tries to carry a frame forever.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use ejtp_proto::{Address, Command, Config, PublicIdentity};
use ejtp_testvectors::sim::{LinkConditions, SimNetwork};
use proptest::prelude::*;
use serde_json::json;
use support::{messages, send};

/// Four senders each send `count` messages to one receiver, over `conditions`.
fn four_to_one(
    seed: u64,
    conditions: LinkConditions,
    receiver_config: Config,
    count: usize,
) -> (SimNetwork, usize) {
    let mut net = SimNetwork::new(seed, conditions);
    let receiver = net.add_node("receiver", 1, receiver_config, &["rx"]);
    let senders: Vec<usize> = (2u8..6)
        .map(|key| net.add_node(&format!("sender{key}"), key, Config::default(), &["tx"]))
        .collect();
    let receiver_id = net.identity(receiver, "rx");
    for n in 0..count {
        for sender in &senders {
            send(
                &mut net,
                *sender,
                "tx",
                &receiver_id,
                json!({"n": n, "from": sender}),
            );
        }
        net.run_for(Duration::from_millis(30));
    }
    net.run_for(Duration::from_secs(1));
    (net, receiver)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// An attacker replays every captured frame to the receiver (first messages sealed with
    /// HPKE, handshake inits, session frames), once soon and once after the replay window:
    /// no message is delivered twice, and the replay memory stays within its bound even when
    /// that bound is tiny.
    #[test]
    fn replayed_first_frames_deliver_nothing_twice_in_bounded_memory(
        seed in any::<u64>(),
        loss in 0.0f64..0.2,
        duplicate in 0.0f64..0.3,
        count in 1usize..5,
        capacity in 2usize..32,
        soon_ms in 0u64..5_000,
    ) {
        let conditions = LinkConditions {
            loss,
            duplicate,
            min_delay: Duration::from_millis(2),
            max_delay: Duration::from_millis(40),
        };
        let config = Config::default().with_nonce_memory_capacity(capacity);
        let (mut net, receiver) = four_to_one(seed, conditions, config, count);
        let captured: Vec<_> = net
            .captured()
            .iter()
            .filter(|c| c.to == receiver)
            .cloned()
            .collect();
        let mut ids = BTreeSet::new();
        let mut check = |net: &mut SimNetwork| -> Result<(), TestCaseError> {
            for (node, message) in messages(&net.take_events()) {
                prop_assert_eq!(node, receiver);
                prop_assert!(ids.insert(message.id), "delivered twice: {:?}", message.value);
            }
            prop_assert!(net.node(receiver).nonces_remembered() <= 2 * capacity);
            Ok(())
        };
        check(&mut net)?;
        net.run_for(Duration::from_millis(soon_ms));
        for frame in &captured {
            net.inject(receiver, frame.from, frame.payload.clone());
        }
        net.run_for(Duration::from_secs(1));
        check(&mut net)?;
        net.run_for(Config::default().max_clock_skew + Duration::from_secs(200));
        for frame in &captured {
            net.inject(receiver, frame.from, frame.payload.clone());
        }
        net.run_for(Duration::from_secs(1));
        check(&mut net)?;
    }

    /// Five nodes whose default routes form a ring, and a frame for an address none of them
    /// can reach: it goes round until the hop limit drops it, whatever the links do.
    #[test]
    fn a_default_route_ring_of_five_drops_the_frame_at_the_hop_limit(
        seed in any::<u64>(),
        lossy in any::<bool>(),
        duplicate in 0.0f64..0.5,
        max_hops in 2u8..12,
    ) {
        let conditions = LinkConditions {
            loss: if lossy { 0.1 } else { 0.0 },
            duplicate,
            min_delay: Duration::from_millis(2),
            max_delay: Duration::from_millis(40),
        };
        let config = Config::default().with_max_hops(max_hops);
        let mut net = SimNetwork::new(seed, conditions);
        let nodes: Vec<usize> = (1u8..6)
            .map(|key| net.add_node(&format!("n{key}"), key, config.clone(), &["c"]))
            .collect();
        let ids: Vec<PublicIdentity> = nodes.iter().map(|node| net.identity(*node, "c")).collect();
        for (index, node) in nodes.iter().enumerate() {
            let next = ids[(index + 1) % ids.len()].clone();
            net.command(*node, Command::SetDefaultRoute { route: Some(next) }).unwrap();
        }
        let pigeon = PublicIdentity {
            name: "p".into(),
            location: Address::other("pigeon", None, Some("c")).unwrap(),
            key: ids[0].key,
        };
        send(&mut net, nodes[0], "c", &pigeon, json!("round and round"));
        net.run_for(Duration::from_secs(10));
        let stats: Vec<_> = nodes.iter().map(|node| net.node(*node).stats()).collect();
        let dropped: u64 = stats.iter().map(|s| s.transport.dropped_hop_limit).sum();
        let forwarded: u64 = stats.iter().map(|s| s.transport.forwarded).sum();
        // Duplicated datagrams are refused as replays, so one chain at most: the sender's
        // wrap, then at most max_hops - 1 forwards, then one drop.
        prop_assert!(forwarded < u64::from(max_hops), "{}", forwarded);
        prop_assert!(dropped <= 1);
        if !lossy {
            prop_assert_eq!(dropped, 1);
            prop_assert_eq!(forwarded, u64::from(max_hops) - 1);
        }
        prop_assert!(messages(&net.take_events()).is_empty());
    }
}
