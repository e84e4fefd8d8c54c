//! Small things the command line says: the commands listed when none is given, an integer too
//! large for the protocol, and a missing scenario file.

mod common;

use common::{ejtp, finish};

#[test]
fn no_command_lists_every_command() {
    let done = finish(&mut ejtp());
    let line = done.assert_one_line_error(2);
    for command in [
        "keygen", "run", "send", "chat", "demo", "replay", "share", "fetch",
    ] {
        assert!(line.contains(command), "{command} missing: {line}");
    }
}

#[test]
fn an_integer_out_of_range_is_not_called_a_float() {
    let dir = tempfile::tempdir().unwrap();
    let (identity, _) = common::keygen(dir.path(), "id.json", "me");
    let key = ejtp_proto::Identity::from_secret_bytes(&[9; 32]).public_key();
    for value in [
        r#"{"n": 123456789012345678901234567890}"#,
        "18446744073709551616",
        "[-9223372036854775809]",
    ] {
        let done = finish(ejtp().args(["send", "--identity"]).arg(&identity).args([
            "--to",
            "127.0.0.1:9",
            "--key",
            &key.to_string(),
            value,
        ]));
        let line = done.assert_one_line_error(2);
        assert!(line.contains("out of range"), "{value}: {line}");
        assert!(!line.contains("float"), "{value}: {line}");
    }
    // Floats are still called floats.
    let done = finish(ejtp().args(["send", "--identity"]).arg(&identity).args([
        "--to",
        "127.0.0.1:9",
        "--key",
        &key.to_string(),
        "[1, 2.5]",
    ]));
    assert!(
        done.assert_one_line_error(2)
            .contains("floats are not allowed")
    );
}

#[test]
fn replaying_a_missing_file_says_it_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nothing.json");
    let done = finish(ejtp().arg("replay").arg(&missing));
    let line = done.assert_one_line_error(1);
    assert!(line.contains(&missing.display().to_string()), "{line}");
    assert!(line.contains("no such file"), "{line}");
    assert!(!line.contains("not a scenario"), "{line}");
    // A file that is there but is no scenario is still called that.
    let garbage = dir.path().join("garbage.json");
    std::fs::write(&garbage, "[]").unwrap();
    let line = finish(ejtp().arg("replay").arg(&garbage))
        .assert_one_line_error(1)
        .to_string();
    assert!(line.contains("not a scenario"), "{line}");
}
