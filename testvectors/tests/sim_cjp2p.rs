//! CJP2P discovery on simulated lossy networks: whatever the seed, loss (up to 15%),
//! duplication and reordering, nodes that bootstrap from one hub end up hearing from each other
//! (verified), no node keeps its own address, and no `Peers` lists a node to itself. (The
//! three-times rule is a proptest in `proto-core/tests/cjp2p_props.rs`.)
//!
//! Known limit: near 30% loss two leaves can fail to verify each other for minutes (a candidate
//! is forgotten after three unanswered probes, often before the two-way cookie exchange has
//! completed), so the loss range stops at 15%.

use std::net::SocketAddr;
use std::time::Duration;

use proptest::prelude::*;
use proto_core::Config;
use proto_core::cjp2p::{Cjp2pConfig, Cjp2pMessage, parse_datagram};
use testvectors::sim::{LinkConditions, SimNetwork};

fn udp(index: usize) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 9000 + u16::try_from(index).unwrap()))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn nodes_bootstrapped_from_a_hub_find_each_other(
        seed in any::<u64>(),
        loss in 0.0..0.15f64,
        duplicate in 0.0..0.2f64,
        jitter_ms in 0u64..40,
        leaves in 2usize..5,
    ) {
        let conditions = LinkConditions {
            loss,
            duplicate,
            min_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(5 + jitter_ms),
        };
        let mut net = SimNetwork::new(seed, conditions);
        net.add_node("hub", 1, Config::default(), &[]);
        let config = Config {
            cjp2p: Cjp2pConfig { bootstrap: vec![udp(0)], ..Cjp2pConfig::default() },
            ..Config::default()
        };
        for leaf in 0..leaves {
            net.add_node(&format!("leaf{leaf}"), 2 + u8::try_from(leaf).unwrap(), config.clone(), &[]);
        }
        net.run_for(Duration::from_secs(120));
        for index in 0..=leaves {
            let peers = net.node(index).cjp2p_peers();
            prop_assert!(peers.iter().all(|p| p.addr != udp(index)), "node {} keeps itself", index);
            for other in (0..=leaves).filter(|other| *other != index) {
                prop_assert!(
                    peers.iter().any(|p| p.addr == udp(other) && p.heard.is_some()),
                    "node {} never heard from {}", index, other
                );
            }
        }
        // Nobody lists a node to itself.
        let captured = net.captured().to_vec();
        for datagram in &captured {
            let Ok(parsed) = parse_datagram(&datagram.payload, 128) else { continue };
            for message in &parsed.messages {
                if let Cjp2pMessage::Peers { peers } = message {
                    prop_assert!(!peers.contains(&udp(datagram.to)), "listed to itself");
                }
            }
        }
    }
}
