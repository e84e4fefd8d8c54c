//! The trace format round-trips through JSON and replays; a changed step is found.

use alloc::string::ToString;
use alloc::vec;
use alloc::vec::Vec;
use core::time::Duration;

use super::*;
use crate::content::{ContentId, DownloadConfig};
use crate::{Command, CommandOutcome};

fn spec() -> NodeSpec {
    NodeSpec {
        name: "alice".to_string(),
        secret: [1; 32],
        seed: [2; 32],
        start: Instant::from_micros(0),
        wall: UnixMillis(1_700_000_000_000),
        config: Config::default(),
    }
}

fn record(commands: Vec<Command>) -> Scenario {
    let spec = spec();
    let mut node = spec.build();
    let steps = commands
        .into_iter()
        .enumerate()
        .map(|(index, command)| {
            let now = Instant::from_micros(1_000 * (index as u64 + 1));
            let input = Input::Command { now, command };
            let (error, outputs) = run_input(&mut node, input.clone());
            Step {
                node: spec.name.clone(),
                input,
                error,
                outputs,
            }
        })
        .collect();
    Scenario {
        format: FORMAT.to_string(),
        description: "download commands".to_string(),
        nodes: vec![spec],
        steps,
    }
}

#[test]
fn download_commands_are_data_and_replay() {
    let mut config = DownloadConfig {
        deadline: Some(Duration::from_micros(1_234_567)),
        ..DownloadConfig::default()
    };
    config.rto.min = Duration::from_micros(1_500);
    let id = ContentId::of(b"x");
    let scenario = record(vec![
        Command::SetDownloadConfig { config },
        Command::Fetch {
            id,
            sources: Vec::new(),
        },
        Command::CancelFetch { id },
    ]);
    assert!(
        scenario.steps[1].error.is_some(),
        "no storage: the error is kept"
    );
    let parsed = Scenario::from_json(&scenario.to_json_pretty()).unwrap();
    assert_eq!(parsed, scenario, "exact to the microsecond");
    parsed.replay().unwrap();
}

#[test]
fn a_changed_outcome_does_not_replay() {
    let mut scenario = record(vec![Command::AddClient {
        callsign: "alice".to_string(),
    }]);
    scenario.steps[0].error = Some("invented".to_string());
    assert!(matches!(
        scenario.replay(),
        Err(ReplayError::Mismatch { step: 0, .. })
    ));
}

#[test]
fn other_formats_and_garbage_are_refused() {
    let mut scenario = record(Vec::new());
    scenario.format = "something else".to_string();
    assert!(matches!(
        Scenario::from_json(&scenario.to_json_pretty()),
        Err(ReplayError::Load(_))
    ));
    assert!(matches!(
        Scenario::from_json("{"),
        Err(ReplayError::Load(_))
    ));
}

#[test]
fn every_command_has_an_outcome() {
    let mut node = spec().build();
    let now = Instant::from_micros(5);
    let added = node.handle_command(
        now,
        Command::AddClient {
            callsign: "a".to_string(),
        },
    );
    assert_eq!(added, Ok(CommandOutcome::Done));
    let removed = node.handle_command(
        now,
        Command::RemoveClient {
            callsign: "a".to_string(),
        },
    );
    assert_eq!(removed, Ok(CommandOutcome::Changed(true)));
    let again = node.handle_command(
        now,
        Command::RemoveClient {
            callsign: "a".to_string(),
        },
    );
    assert_eq!(again, Ok(CommandOutcome::Changed(false)));
}
