//! `ejtp demo`: every step works, and says so.

mod common;

use common::{ejtp, finish};

#[test]
fn the_demo_runs_every_step_successfully() {
    let done = finish(ejtp().arg("demo"));
    assert_eq!(done.code(), Some(0), "{done:#?}");
    let ticks = done
        .stdout
        .lines()
        .filter(|line| line.trim_start().starts_with('✓'))
        .count();
    assert!(ticks >= 16, "{}", done.stdout);
    assert!(!done.stdout.contains('✗'), "{}", done.stdout);
    for checked in [
        "sealed with HPKE",
        "Noise session",
        "bound to the query",
        "TCP",
        "relay",
        "replay",
        "dropped_crypto",
        "signed roster of three members",
        "then banned",
        "broadcast once each",
        "removed carol",
        "signed record",
        "delivered marked late",
        "soft timeout after",
        "Store-and-forward",
        "handed it over when she came back",
        "fetched from both seeders",
    ] {
        assert!(done.stdout.contains(checked), "{checked}: {}", done.stdout);
    }
    assert!(done.stderr.is_empty(), "{done:#?}");
}
