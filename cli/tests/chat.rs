//! `ejtp chat` as real processes on loopback, with standard input piped: a group of three
//! forms, a broadcast reaches the others, a direct message only its addressee, `/peers` lists
//! the roster, a wrong password is refused and banned, the ban survives a restart of the
//! admitting peer, and leaving is seen by the others.

mod common;

use std::time::{Duration, Instant};

use common::chat::{Chat, Input};
use common::{LIMIT, ejtp, keygen};

#[test]
fn three_members_chat_over_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let (alice_id, _) = keygen(dir.path(), "alice.json", "alice");
    let (bob_id, _) = keygen(dir.path(), "bob.json", "bob");
    let (carol_id, _) = keygen(dir.path(), "carol.json", "carol");

    let mut alice = Chat::start(&alice_id, &["--create", "open sesame"], Input::Piped);
    alice.expect(|l| l.starts_with("created the group"), "created");
    let mut bob = Chat::join(&bob_id, &alice, "open sesame");
    bob.expect(
        |l| l == "joined; members: alice (admitting), bob" || l.starts_with("joined; members:"),
        "bob joined",
    );
    let mut carol = Chat::join(&carol_id, &alice, "open sesame");
    carol.expect(|l| l.starts_with("joined; members:"), "carol joined");
    bob.expect(|l| l == "+ carol joined", "bob sees carol");
    alice.expect(|l| l == "+ carol joined", "alice sees carol");

    bob.type_line("/peers");
    let members = bob.expect(|l| l.starts_with("members: "), "the roster");
    for name in ["alice (admitting)", "bob", "carol"] {
        assert!(members.contains(name), "{members}");
    }

    bob.type_line("hello from bob");
    alice.expect(|l| l == "<bob> hello from bob", "alice gets the broadcast");
    carol.expect(|l| l == "<bob> hello from bob", "carol gets the broadcast");

    carol.type_line("/msg alice just for you");
    alice.expect(
        |l| l == "<carol> (direct) just for you",
        "alice gets the direct message",
    );
    let bob_saw = bob.lines_within(Duration::from_millis(500));
    assert!(
        !bob_saw.iter().any(|l| l.contains("just for you")),
        "bob saw a direct message for alice: {bob_saw:?}"
    );
    // The broadcast was delivered once, not once per copy.
    let alice_saw = alice.lines_within(Duration::from_millis(200));
    assert_eq!(
        alice_saw
            .iter()
            .filter(|l| *l == "<bob> hello from bob")
            .count(),
        1
    );

    bob.type_line("/exit");
    let (code, _, stderr) = bob.finish_within(LIMIT);
    assert_eq!(code, Some(0), "{stderr}");
    alice.expect(|l| l == "- bob left", "alice sees bob leave");
    carol.expect(|l| l == "- bob left", "carol sees bob leave");

    // The end of alice's input closes the group; carol is told and stops.
    alice.close_input();
    let (code, _, stderr) = alice.finish_within(LIMIT);
    assert_eq!(code, Some(0), "{stderr}");
    carol.expect(
        |l| l == "the admitting peer closed the group",
        "carol is told",
    );
    let (code, _, stderr) = carol.finish_within(LIMIT);
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn a_wrong_password_is_refused_and_the_ban_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (alice_id, _) = keygen(dir.path(), "alice.json", "alice");
    let (mallory_id, _) = keygen(dir.path(), "mallory.json", "mallory");
    let bans = dir.path().join("bans.json");
    let host_args = [
        "--create",
        "open sesame",
        "--max-attempts",
        "2",
        "--bans",
        bans.to_str().unwrap(),
    ];

    let mut alice = Chat::start(&alice_id, &host_args, Input::Piped);
    alice.expect(|l| l.starts_with("created the group"), "created");
    let (code, _, stderr) = Chat::join(&mallory_id, &alice, "guess").finish_within(LIMIT);
    assert_eq!(code, Some(1));
    assert_eq!(stderr, "ejtp: join refused: wrong password");
    // The second failure is the limit: banned.
    let (code, _, stderr) = Chat::join(&mallory_id, &alice, "guess again").finish_within(LIMIT);
    assert_eq!(code, Some(1));
    assert_eq!(stderr, "ejtp: join refused: banned");
    alice.expect(|l| l.starts_with("banned peer "), "alice reports the ban");
    assert!(bans.exists(), "the bans were stored");
    drop(alice);

    // A restarted admitting peer (a new process, a new port) still refuses mallory.
    let mut alice = Chat::start(&alice_id, &host_args, Input::Piped);
    alice.expect(|l| l.starts_with("created the group"), "created again");
    let (code, _, stderr) = Chat::join(&mallory_id, &alice, "open sesame").finish_within(LIMIT);
    assert_eq!(code, Some(1));
    assert_eq!(stderr, "ejtp: join refused: banned");
}

#[test]
fn chat_needs_create_or_join() {
    let dir = tempfile::tempdir().unwrap();
    let (alice_id, _) = keygen(dir.path(), "alice.json", "alice");
    let done = common::finish(
        ejtp()
            .args(["chat", "--udp", "127.0.0.1:0", "--identity"])
            .arg(&alice_id),
    );
    let line = done.assert_one_line_error(2);
    assert!(
        line.contains("--create") || line.contains("--join"),
        "{line}"
    );
}

#[test]
fn a_member_that_dies_times_out_and_everyone_is_told() {
    let dir = tempfile::tempdir().unwrap();
    let (alice_id, _) = keygen(dir.path(), "alice.json", "alice");
    let (bob_id, _) = keygen(dir.path(), "bob.json", "bob");
    let (carol_id, _) = keygen(dir.path(), "carol.json", "carol");
    let mut alice = Chat::start(&alice_id, &["--create", "pw"], Input::Piped);
    alice.expect(|l| l.starts_with("created the group"), "created");
    let mut bob = Chat::join(&bob_id, &alice, "pw");
    bob.expect(|l| l.starts_with("joined; members:"), "bob joined");
    let mut carol = Chat::join(&carol_id, &alice, "pw");
    carol.expect(|l| l.starts_with("joined; members:"), "carol joined");
    bob.expect(|l| l == "+ carol joined", "bob sees carol");

    // Killed: no leave is sent, only the heartbeats stop.
    let died = Instant::now();
    carol.child.kill().unwrap();
    alice.expect(|l| l == "- carol timed out", "alice removes carol");
    bob.expect(|l| l == "- carol left", "bob is told");
    // The default heartbeat timeout is 7 s, with heartbeats every 2 s.
    assert!(
        died.elapsed() < Duration::from_secs(10),
        "{:?}",
        died.elapsed()
    );
    bob.type_line("/peers");
    let members = bob.expect(|l| l.starts_with("members: "), "the roster");
    // Members are listed in roster order (by key).
    let mut names: Vec<&str> = members["members: ".len()..].split(", ").collect();
    names.sort_unstable();
    assert_eq!(names, ["alice (admitting)", "bob"]);
}
