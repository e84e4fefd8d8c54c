//! `ejtp keygen`: a new identity file, owner-only, printed, never overwritten by accident.

mod common;

use common::{ejtp, finish};
use ejtp_proto::{IdentityFile, PublicIdentity};

#[test]
fn keygen_writes_an_owner_only_identity_file_and_prints_the_public_identity() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alice.json");
    let done = finish(
        ejtp()
            .args([
                "keygen",
                "--name",
                "alice@example.org",
                "--callsign",
                "alice",
                "--out",
            ])
            .arg(&path),
    );
    assert_eq!(done.code(), Some(0), "{done:#?}");

    let file = IdentityFile::from_json_bytes(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(file.name, "alice@example.org");
    assert_eq!(file.location.to_strict_json(), r#"["local",null,"alice"]"#);

    let lines: Vec<&str> = done.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{done:#?}");
    let public = PublicIdentity::from_json_bytes(lines[0].as_bytes()).unwrap();
    assert_eq!(public, file.public());
    assert_eq!(lines[0], public.to_strict_json(), "one line of strict JSON");
    assert_eq!(lines[1], format!("key: {}", file.identity.public_key()));
    assert_eq!(lines[2], format!("node id: {}", file.identity.node_id()));

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
    }
}

#[test]
fn keygen_defaults_the_callsign_and_name_to_ejtp() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("id.json");
    let done = finish(ejtp().args(["keygen", "--out"]).arg(&path));
    assert_eq!(done.code(), Some(0), "{done:#?}");
    let file = IdentityFile::from_json_bytes(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(file.location.callsign(), Some("ejtp"));
    assert_eq!(file.name, "ejtp");
}

#[test]
fn keygen_refuses_to_overwrite_an_existing_file_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("id.json");
    std::fs::write(&path, "precious").unwrap();

    let refused = finish(ejtp().args(["keygen", "--out"]).arg(&path));
    let line = refused.assert_one_line_error(1);
    assert!(line.contains("already exists"), "{line}");
    assert!(refused.stdout.is_empty(), "{refused:#?}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "precious");

    let forced = finish(ejtp().args(["keygen", "--force", "--out"]).arg(&path));
    assert_eq!(forced.code(), Some(0), "{forced:#?}");
    assert!(IdentityFile::from_json_bytes(&std::fs::read(&path).unwrap()).is_ok());
}

#[test]
fn keygen_makes_a_different_key_each_time() {
    let dir = tempfile::tempdir().unwrap();
    let (_, first) = common::keygen(dir.path(), "one.json", "one");
    let (_, second) = common::keygen(dir.path(), "two.json", "two");
    assert_ne!(first, second);
}
