//! The group scenario vector: a group forming, a wrong password and a ban, a broadcast, a
//! direct message and a member timing out, recorded at the node level (every group message is
//! an ordinary node message) so that it replays byte for byte like any scenario.
//!
//! To re-record after an intended change of behaviour:
//! `EJTP_UPDATE_VECTORS=1 cargo test -p ejtp-testvectors --test group_vector`.

use std::path::Path;
use std::time::Duration;

use ejtp_proto::group::{GroupConfig, GroupEvent, Refusal};
use ejtp_testvectors::group_sim::{GROUP_PASSWORD, GroupSim};
use ejtp_testvectors::scenario::Scenario;
use ejtp_testvectors::sim::LinkConditions;
use serde_json::json;

fn record() -> (Scenario, Vec<(usize, GroupEvent)>) {
    let config = GroupConfig {
        max_failed_attempts: 2,
        ..GroupConfig::for_tests()
    };
    let mut sim = GroupSim::new(11, LinkConditions::PERFECT, 4, config.clone());
    sim.create(0);
    sim.join(1, 0, GROUP_PASSWORD);
    sim.join(2, 0, GROUP_PASSWORD);
    sim.run_for(Duration::from_millis(500));
    for _ in 0..2 {
        sim.join(3, 0, "guess");
        sim.run_for(Duration::from_millis(200));
    }
    sim.with_group(1, |group, now| group.broadcast(now, json!("hello group")))
        .unwrap()
        .unwrap();
    sim.with_group(2, |group, now| group.direct(now, "m1", json!("just you")))
        .unwrap()
        .unwrap();
    sim.run_for(Duration::from_millis(500));
    sim.frozen[2] = true;
    sim.run_for(config.heartbeat_timeout + Duration::from_secs(1));
    let events = sim
        .events
        .iter()
        .map(|(node, _, event)| (*node, event.clone()))
        .collect();
    let scenario = sim.net.scenario(
        "A group over UDP: m0 creates it, m1 and m2 join with the password, m3 guesses wrong \
         twice and is banned, m1 broadcasts, m2 sends m1 a direct message, then m2 goes silent \
         and m0 removes it and pushes the new roster to m1. Every group message is a node \
         message; docs/PROTOCOL.md section 17 gives their JSON.",
    );
    (scenario, events)
}

#[test]
fn the_group_run_records_the_stored_vector() {
    let (recorded, events) = record();
    let has = |node: usize, check: &dyn Fn(&GroupEvent) -> bool| {
        events.iter().any(|(at, event)| *at == node && check(event))
    };
    assert!(has(1, &|e| matches!(e, GroupEvent::Joined { .. })));
    assert!(has(3, &|e| *e
        == GroupEvent::JoinRefused {
            reason: Refusal::Password
        }));
    assert!(has(3, &|e| *e
        == GroupEvent::JoinRefused {
            reason: Refusal::Banned
        }));
    assert!(has(2, &|e| matches!(
        e,
        GroupEvent::Message { direct: false, .. }
    )));
    assert!(has(1, &|e| matches!(
        e,
        GroupEvent::Message { direct: true, .. }
    )));
    assert!(has(
        0,
        &|e| matches!(e, GroupEvent::MemberTimedOut { member } if member.name == "m2")
    ));
    assert!(has(
        1,
        &|e| matches!(e, GroupEvent::MemberLeft { member } if member.name == "m2")
    ));

    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors/scenarios/group.json");
    if std::env::var_os("EJTP_UPDATE_VECTORS").is_some() {
        std::fs::write(&path, recorded.to_json_pretty()).unwrap();
    }
    let stored = ejtp_testvectors::scenario::load(&path)
        .unwrap_or_else(|err| panic!("{err} (record with EJTP_UPDATE_VECTORS=1)"));
    assert_eq!(
        stored, recorded,
        "the group run changed; re-record if intended"
    );
    stored.replay().unwrap();
}
