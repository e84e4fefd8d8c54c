//! Every command a driver is given is recorded, download settings and cancellations included,
//! and the recording replays byte for byte.

use std::net::SocketAddr;
use std::time::Duration;

use ejtp_adapter_core::{Driver, NodeOptions, Recording};
use ejtp_proto::content::{ContentId, DownloadConfig};
use ejtp_proto::{Command, Identity, Input};

#[test]
fn download_settings_fetches_and_cancellations_are_recorded_and_replay() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("node.json");
    let download = DownloadConfig {
        deadline: Some(Duration::from_micros(2_500_001)),
        max_sources: 7,
        ..DownloadConfig::default()
    };
    let options = NodeOptions::new(Identity::from_secret_bytes(&[3; 32]))
        .client("alice")
        .download_config(download)
        .record_to(&path);
    let udp = SocketAddr::from(([127, 0, 0, 1], 9));
    let mut driver = Driver::new(&options, &[udp], &[]).unwrap();

    let id = ContentId::of(b"recorded");
    // Without a shared folder the node has no storage: the fetch fails, and that failure is
    // recorded too.
    let (fetched, _) = driver.fetch(id, &[SocketAddr::from(([127, 0, 0, 1], 10))]);
    assert!(fetched.is_err());
    let (cancelled, _) = driver.cancel_fetch(id);
    assert!(!cancelled, "nothing was downloading");
    let mut later = download;
    later.max_sources = 3;
    driver.set_download_config(later);
    driver.save_recording().unwrap();

    let scenario = Recording::load(&path).unwrap();
    let commands: Vec<&Command> = scenario
        .steps
        .iter()
        .filter_map(|step| match &step.input {
            Input::Command { command, .. } => Some(command),
            _ => None,
        })
        .collect();
    assert!(
        matches!(commands.first(), Some(Command::SetDownloadConfig { config }) if *config == download),
        "the options' download settings are the first command: {commands:?}"
    );
    assert!(
        commands
            .iter()
            .any(|c| matches!(c, Command::Fetch { id: f, .. } if *f == id))
    );
    assert!(
        commands
            .iter()
            .any(|c| matches!(c, Command::CancelFetch { id: f } if *f == id))
    );
    assert!(
        commands
            .iter()
            .any(|c| matches!(c, Command::SetDownloadConfig { config } if config.max_sources == 3))
    );
    let fetch_step = scenario
        .steps
        .iter()
        .find(|step| {
            matches!(
                &step.input,
                Input::Command {
                    command: Command::Fetch { .. },
                    ..
                }
            )
        })
        .unwrap();
    assert!(
        fetch_step.error.is_some(),
        "the fetch's error is in the file"
    );
    scenario.replay().unwrap();

    // The settings round-trip exactly (microseconds), so a changed one is a different file.
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains("2500001"),
        "the deadline is kept to the microsecond"
    );
}
