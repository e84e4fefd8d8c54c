//! A live node's recording replays byte for byte, on every adapter.

mod common;

use common::{ipv4, next_message, options, sender_of};
use ejtp_adapter_core::Error;
use ejtp_adapter_core::Recording;
use ejtp_adapter_tests::{TestNode, for_each_adapter};
use ejtp_proto::{Event, Input, Output};
use serde_json::json;

fn a_recorded_session_replays<N: TestNode>() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alice.json");
    let mut alice = N::bind(options(1).udp(ipv4()).client("alice").record_to(&path));
    let mut bob = N::bind(options(2).udp(ipv4()).client("bob"));

    for n in 0..3 {
        alice.send("alice", &bob.identity("bob"), json!({"n": n}));
        let message = next_message(&mut bob);
        bob.send("bob", &sender_of(&message), json!({"ack": n}));
        assert_eq!(next_message(&mut alice).value, json!({"ack": n}));
    }
    assert!(!path.exists(), "written when the node stops");
    alice.shutdown();
    bob.shutdown();

    let scenario = Recording::load(&path).unwrap();
    scenario.replay().unwrap();
    let inputs =
        |matches: fn(&Input) -> bool| scenario.steps.iter().filter(|s| matches(&s.input)).count();
    assert_eq!(
        inputs(|input| matches!(input, Input::Command { .. })),
        6,
        "download settings, address, client, three sends"
    );
    assert!(
        inputs(|input| matches!(input, Input::Datagram { .. })) >= 3,
        "the acknowledgements"
    );
    let delivered = scenario
        .steps
        .iter()
        .flat_map(|step| &step.outputs)
        .filter(|output| matches!(output, Output::Event(Event::Message(_))))
        .count();
    assert_eq!(delivered, 3, "the three acknowledgements");
}

fn shutdown_reports_a_recording_that_cannot_be_saved<N: TestNode>() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing-directory").join("alice.json");
    let alice = N::bind(options(3).udp(ipv4()).client("alice").record_to(&path));
    let result = alice.shutdown_result();
    assert!(matches!(result, Err(Error::Io(_))), "{result:?}");
}

for_each_adapter! {
    a_recorded_session_replays,
    shutdown_reports_a_recording_that_cannot_be_saved,
}
