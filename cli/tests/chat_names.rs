//! Member names in `ejtp chat`: two identities made by a plain `ejtp keygen` (both called
//! `ejtp`) can be in one group, a name given with `--name` that is taken is refused with a
//! hint, and `keygen` refuses the names `chat` would refuse.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::chat::{Chat, Input};
use common::{ejtp, finish};
use ejtp_proto::IdentityFile;

/// `ejtp keygen --out DIR/FILE` with no other option: name and callsign `ejtp`.
fn plain_keygen(dir: &Path, file: &str) -> PathBuf {
    let path = dir.join(file);
    let done = finish(ejtp().args(["keygen", "--out"]).arg(&path));
    assert_eq!(done.code(), Some(0), "{done:#?}");
    path
}

#[test]
fn two_default_identities_can_be_in_one_group() {
    let dir = tempfile::tempdir().unwrap();
    let first = plain_keygen(dir.path(), "one.json");
    let second = plain_keygen(dir.path(), "two.json");
    let second_key = IdentityFile::from_json_bytes(&std::fs::read(&second).unwrap())
        .unwrap()
        .identity
        .public_key();

    let mut host = Chat::start(&first, &["--create", "pw"], Input::Piped);
    host.expect(|l| l.starts_with("created the group"), "created");
    let args = host.join_args("pw");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut joiner = Chat::start(&second, &args, Input::Piped);
    let joined = joiner.expect(|l| l.starts_with("joined; members: "), "joined");
    // The name `ejtp` is the admitting peer's: the joiner's default carries a short form of
    // its key.
    let short = &second_key.to_string()[..8];
    let expected = format!("ejtp-{short}");
    assert!(joined.contains("ejtp (admitting)"), "{joined}");
    assert!(joined.contains(&expected), "{joined}");
    host.expect(|l| *l == format!("+ {expected} joined"), "the host sees it");
    joiner.type_line("hello");
    host.expect(
        |l| *l == format!("<{expected}> hello"),
        "the host gets the line",
    );
}

#[test]
fn a_taken_name_given_with_name_is_refused_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let (alice, _) = common::keygen(dir.path(), "alice.json", "alice");
    let (bob, _) = common::keygen(dir.path(), "bob.json", "bob");
    let mut host = Chat::start(&alice, &["--create", "pw"], Input::Piped);
    host.expect(|l| l.starts_with("created the group"), "created");
    let mut args = host.join_args("pw");
    args.extend(["--name".to_string(), "alice".to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, _, stderr) =
        Chat::start(&bob, &args, Input::Piped).finish_within(Duration::from_secs(20));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.starts_with("ejtp: join refused: the name is taken"),
        "{stderr}"
    );
    assert!(stderr.contains("--name"), "{stderr}");
}

#[test]
fn keygen_refuses_the_names_chat_refuses() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["Alice A.", "", &"n".repeat(33), "tab\there"] {
        let path = dir.path().join("id.json");
        let done = finish(ejtp().args(["keygen", "--name", name, "--out"]).arg(&path));
        let line = done.assert_one_line_error(2);
        assert!(line.contains("--name"), "{name:?}: {line}");
        assert!(line.contains("no spaces"), "{name:?}: {line}");
        assert!(!path.exists(), "{name:?}: no file is written");
    }
    // A callsign that is no usable name needs a --name.
    let path = dir.path().join("id.json");
    let done = finish(
        ejtp()
            .args(["keygen", "--callsign", "my node", "--out"])
            .arg(&path),
    );
    let line = done.assert_one_line_error(2);
    assert!(line.contains("--name"), "{line}");
    // What keygen accepts, chat accepts.
    let done = finish(
        ejtp()
            .args(["keygen", "--name", "Alice_A.", "--out"])
            .arg(&path),
    );
    assert_eq!(done.code(), Some(0), "{done:#?}");
    let mut host = Chat::start(&path, &["--create", "pw"], Input::Piped);
    host.expect(
        |l| l == "created the group; members: Alice_A. (admitting)",
        "created",
    );
}
