//! A CJP2P discovery run as a scenario vector (`vectors/scenarios/cjp2p_discovery.json`),
//! replayed byte for byte like every scenario (see `scenario_vectors.rs`).
//!
//! To re-record after an intended change of behaviour:
//! `EJTP_UPDATE_VECTORS=1 cargo test -p ejtp-testvectors --test cjp2p_scenario`.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use ejtp_proto::cjp2p::{Cjp2pConfig, Cjp2pMessage};
use ejtp_proto::{Command, Event, Output, TransportAddr};
use ejtp_testvectors::scenario::Scenario;
use ejtp_testvectors::sim::{LinkConditions, SimNetwork};

/// The simulator puts node `index` at 127.0.0.1:(9000 + index).
fn udp(index: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 9000 + index))
}

/// Bob bootstraps from alice by configuration; carol is told about alice later. Maintenance
/// rounds make them verify each other's cookies, exchange keys and learn each other through
/// alice; then bob asks alice what she shares and supports.
fn record_discovery() -> Scenario {
    let mut net = SimNetwork::new(9, LinkConditions::PERFECT);
    let alice = net.add_node("alice", 0xa1, ejtp_testvectors::vector_config(), &[]);
    let bootstrapped = ejtp_testvectors::vector_config().with_cjp2p(Cjp2pConfig {
        bootstrap: vec![udp(0)],
        ..Cjp2pConfig::default()
    });
    let bob = net.add_node("bob", 0xb0, bootstrapped, &[]);
    let carol = net.add_node("carol", 0xc0, ejtp_testvectors::vector_config(), &[]);
    net.run_for(Duration::from_secs(12));
    net.command(carol, Command::AddCjp2pPeer { addr: udp(0) })
        .unwrap();
    net.run_for(Duration::from_secs(12));
    net.command(
        bob,
        Command::SendCjp2p {
            to: TransportAddr::udp(udp(0)),
            messages: vec![
                Cjp2pMessage::PleaseListContent,
                Cjp2pMessage::PleaseListSupportedMessages,
            ],
        },
    )
    .unwrap();
    net.run_for(Duration::from_secs(1));
    for (node, other) in [(bob, udp(2)), (carol, udp(1))] {
        let peers = net.node_mut(node).cjp2p().peers();
        assert!(
            peers.iter().any(|p| p.addr == other),
            "{node} never learned {other}"
        );
        let alice_seen = peers.iter().find(|p| p.addr == udp(0)).unwrap();
        assert_eq!(alice_seen.key, Some(net.node(alice).public_key()));
        assert!(alice_seen.key_signed && alice_seen.rtt.is_some());
    }
    net.scenario(
        "CJP2P discovery on UDP: bob bootstraps from alice by configuration, carol by command; \
         cookies are verified, keys announced in signed messages, round trips measured, and \
         bob and carol learn each other through alice's Peers; then bob asks alice for her \
         content list and supported messages.",
    )
}

#[test]
fn the_cjp2p_discovery_run_records_the_stored_vector() {
    let recorded = record_discovery();
    let bob_heard: Vec<&str> = recorded
        .steps
        .iter()
        .filter(|step| step.node == "bob")
        .flat_map(|step| &step.outputs)
        .filter_map(|output| match output {
            Output::Event(Event::Cjp2p {
                message,
                verified: true,
                ..
            }) => Some(message.name()),
            _ => None,
        })
        .collect();
    for name in ["Peers", "MyPublicKey", "ContentList", "SupportedMessages"] {
        assert!(
            bob_heard.contains(&name),
            "bob never got {name}: {bob_heard:?}"
        );
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors/scenarios");
    let path = dir.join("cjp2p_discovery.json");
    if std::env::var_os("EJTP_UPDATE_VECTORS").is_some() {
        std::fs::write(&path, recorded.to_json_pretty()).unwrap();
    }
    let stored = ejtp_testvectors::scenario::load(&path)
        .unwrap_or_else(|err| panic!("{err} (record with EJTP_UPDATE_VECTORS=1)"));
    assert_eq!(stored, recorded, "re-record if the change is intended");
    stored.replay().unwrap();
}
