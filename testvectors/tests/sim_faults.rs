//! Nodes over the simulator's harsher faults: burst loss, reordering, a rate limit and a small
//! queue. Whatever gets through is delivered at most once, to its recipient, from its true
//! sender; and with no loss and room in the queue, everything gets through.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use ejtp_proto::Config;
use ejtp_proto::sim::{GilbertElliott, LinkConfig, Loss};
use ejtp_testvectors::sim::{LinkConditions, SimNetwork};
use proptest::prelude::*;
use serde_json::json;
use support::{messages, send};

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn bursty_reordering_rate_limited_links_deliver_each_message_at_most_once(
        seed in any::<u64>(),
        loss in prop_oneof![Just(0.0f64), 0.01f64..0.3],
        burst in 1.0f64..8.0,
        reorder in 0.0f64..0.5,
        rate_kb in 5u64..2000,
        queue in prop_oneof![Just(None), (2usize..32).prop_map(Some)],
        count in 1usize..12,
    ) {
        let mut net = SimNetwork::new(seed, LinkConditions::PERFECT);
        net.set_link_config(LinkConfig {
            loss: Loss::GilbertElliott(GilbertElliott::bursts(loss, burst)),
            reorder,
            jitter: Duration::from_millis(20),
            rate: Some(rate_kb * 1000),
            queue_limit: queue,
            ..LinkConfig::with_delay(Duration::from_millis(10))
        });
        let alice = net.add_node("alice", 1, Config::default(), &["alice"]);
        let bob = net.add_node("bob", 2, Config::default(), &["bob"]);
        let alice_key = net.identity(alice, "alice").key;
        let bob_id = net.identity(bob, "bob");
        for n in 0..count {
            send(&mut net, alice, "alice", &bob_id, json!({"n": n}));
            net.run_for(Duration::from_millis(30));
        }
        net.run_for(Duration::from_secs(20));
        let received = messages(&net.take_events());
        let (mut ids, mut values) = (BTreeSet::new(), BTreeSet::new());
        for (node, message) in &received {
            prop_assert_eq!(*node, bob);
            prop_assert_eq!(message.from.key, alice_key);
            prop_assert!(ids.insert(message.id), "message {} delivered twice", message.id);
            let n = message.value["n"].as_u64().unwrap();
            prop_assert!(n < count as u64);
            prop_assert!(values.insert(n));
        }
        let stats = net.net_stats();
        if loss == 0.0 && queue.is_none() {
            prop_assert_eq!(stats.lost + stats.queue_full, 0);
            prop_assert_eq!(received.len(), count, "{:?}", stats);
        }
    }
}
