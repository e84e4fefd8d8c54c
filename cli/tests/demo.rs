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
        "removed grace",
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

    // The header counts the nodes the demo starts and names each; no name is reused.
    let header = done.stdout.lines().next().unwrap_or_default();
    assert!(header.contains("12 nodes"), "{header}");
    for name in [
        "alice", "relay", "bob", "carol", "dave", "erin", "frank", "grace", "trudy", "peggy",
        "victor", "walter",
    ] {
        assert!(header.contains(name), "{name} not in {header}");
    }
    assert!(
        done.stdout.contains("dave found bob's address"),
        "{}",
        done.stdout
    );
    // Each step says how long it took; the end gives the total and what to try next.
    for line in done
        .stdout
        .lines()
        .filter(|l| l.trim_start().starts_with('✓'))
    {
        assert!(line.ends_with(" ms)"), "{line}");
    }
    assert!(done.stdout.contains("steps worked in "), "{}", done.stdout);
    for next in ["ejtp keygen", "ejtp run", "ejtp send", "ejtp chat"] {
        assert!(done.stdout.contains(next), "{next}: {}", done.stdout);
    }
}
