//! Bad input ends in one `ejtp:` line and a non-zero exit: never a panic or a backtrace.

mod common;

use std::ffi::OsString;
use std::path::Path;

use common::{ejtp, finish};

/// `ejtp send` to a loopback port with `identity`, `to` and `value`.
fn send(identity: &Path, to: &str, key: &str, value: &str) -> common::Finished {
    finish(
        ejtp()
            .args(["send", "--timeout", "1", "--identity"])
            .arg(identity)
            .args(["--to", to, "--key", key, value]),
    )
}

fn key_text() -> String {
    ejtp_proto::Identity::from_secret_bytes(&[9; 32])
        .public_key()
        .to_string()
}

#[test]
fn a_malformed_address_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let (identity, _) = common::keygen(dir.path(), "id.json", "me");
    for to in [
        "nowhere",
        "127.0.0.1",
        "127.0.0.1:70000",
        "quic:127.0.0.1:9",
    ] {
        let done = send(&identity, to, &key_text(), "1");
        let line = done.assert_one_line_error(2);
        assert!(line.contains("--to"), "{line}");
        assert!(line.contains("host:port"), "{line}");
    }
    let done = finish(
        ejtp()
            .args(["run", "--identity"])
            .arg(&identity)
            .args(["--udp", "here"]),
    );
    done.assert_one_line_error(2);
    let done = finish(ejtp().args(["run", "--identity"]).arg(&identity).args([
        "--udp",
        "127.0.0.1:0",
        "--peer",
        "127.0.0.1:9",
    ]));
    assert!(done.assert_one_line_error(2).contains("KEY@ADDR"));
}

#[test]
fn malformed_json_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let (identity, _) = common::keygen(dir.path(), "id.json", "me");
    for value in ["hello", "{\"a\":", "[1,]", "{} {}"] {
        let done = send(&identity, "127.0.0.1:9", &key_text(), value);
        let line = done.assert_one_line_error(2);
        assert!(line.contains("not valid JSON"), "{value}: {line}");
    }
}

#[test]
fn floats_are_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let (identity, _) = common::keygen(dir.path(), "id.json", "me");
    for value in ["1.5", "{\"price\": 2.50}", "[1e3]"] {
        let done = send(&identity, "127.0.0.1:9", &key_text(), value);
        let line = done.assert_one_line_error(2);
        assert!(line.contains("floats are not allowed"), "{value}: {line}");
    }
}

#[test]
fn a_malformed_key_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let (identity, _) = common::keygen(dir.path(), "id.json", "me");
    for key in ["", "00", &"zz".repeat(32), &"AB".repeat(32)] {
        let done = send(&identity, "127.0.0.1:9", key, "1");
        let line = done.assert_one_line_error(2);
        assert!(line.contains("--key"), "{line}");
    }
}

#[test]
fn an_unreadable_or_malformed_identity_file_is_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.json");
    let done = send(&missing, "127.0.0.1:9", &key_text(), "1");
    let line = done.assert_one_line_error(1);
    assert!(line.contains("cannot read identity file"), "{line}");
    assert!(line.contains("missing.json"), "{line}");

    let garbage = dir.path().join("garbage.json");
    std::fs::write(&garbage, "not json at all\n{").unwrap();
    let done = send(&garbage, "127.0.0.1:9", &key_text(), "1");
    let line = done.assert_one_line_error(1);
    assert!(line.contains("is not an identity file"), "{line}");

    // A public identity (no secret) is not an identity file either.
    let (identity, _) = common::keygen(dir.path(), "id.json", "me");
    let text = std::fs::read_to_string(&identity).unwrap();
    let public = dir.path().join("public.json");
    let without_secret = text.split(",\"secret\"").next().unwrap().to_string() + "}";
    std::fs::write(&public, without_secret).unwrap();
    let done = finish(
        ejtp()
            .args(["run", "--udp", "127.0.0.1:0", "--identity"])
            .arg(&public),
    );
    let line = done.assert_one_line_error(1);
    assert!(line.contains("secret"), "{line}");

    let directory: OsString = dir.path().as_os_str().to_owned();
    let done = finish(
        ejtp()
            .args(["run", "--udp", "127.0.0.1:0", "--identity"])
            .arg(directory),
    );
    done.assert_one_line_error(1);
}

#[test]
fn missing_arguments_and_commands_are_usage_errors() {
    finish(&mut ejtp()).assert_one_line_error(2);
    finish(ejtp().arg("fly")).assert_one_line_error(2);
    let line = finish(ejtp().arg("keygen"))
        .assert_one_line_error(2)
        .to_string();
    assert!(line.contains("--out"), "{line}");
    finish(ejtp().args(["send", "--to", "127.0.0.1:9"])).assert_one_line_error(2);
    finish(ejtp().args(["replay"])).assert_one_line_error(2);
}

#[test]
fn help_and_version_succeed_and_explain_the_acknowledgement() {
    let help = finish(ejtp().args(["run", "--help"]));
    assert_eq!(help.code(), Some(0), "{help:#?}");
    assert!(
        help.stdout.contains("{\"ack\": \"<message id>\"}"),
        "{}",
        help.stdout
    );
    let help = finish(ejtp().args(["send", "--help"]));
    assert!(help.stdout.contains("acknowledgement"), "{}", help.stdout);
    let version = finish(ejtp().arg("--version"));
    assert_eq!(version.code(), Some(0));
    assert!(version.stdout.starts_with("ejtp "), "{version:#?}");
}
