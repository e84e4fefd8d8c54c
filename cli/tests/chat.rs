//! `ejtp chat` as real processes on loopback, with standard input piped: a group of three
//! forms, a broadcast reaches the others, a direct message only its addressee, `/peers` lists
//! the roster, a wrong password is refused and banned, the ban survives a restart of the
//! admitting peer, and leaving is seen by the others.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

use common::{LIMIT, ejtp, keygen};
use ejtp_proto::{PublicIdentity, PublicKey};

/// An `ejtp chat` process with piped standard input; killed when dropped.
struct Chat {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    stderr: Receiver<String>,
    /// Every stdout line read so far.
    seen: Vec<String>,
    identity: PublicIdentity,
}

fn reader(pipe: impl std::io::Read + Send + 'static) -> Receiver<String> {
    let (lines, receiver) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    receiver
}

impl Chat {
    fn start(identity: &Path, extra: &[&str]) -> Self {
        let mut child = ejtp()
            .args(["chat", "--udp", "127.0.0.1:0", "--identity"])
            .arg(identity)
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ejtp chat starts");
        let stdin = child.stdin.take();
        let lines = reader(child.stdout.take().expect("piped"));
        let stderr = reader(child.stderr.take().expect("piped"));
        let first = lines.recv_timeout(LIMIT).expect("a listening line");
        let json = first.strip_prefix("listening: ").expect("listening first");
        let identity = PublicIdentity::from_json_bytes(json.as_bytes()).expect("identity JSON");
        Self {
            child,
            stdin,
            lines,
            stderr,
            seen: Vec::new(),
            identity,
        }
    }

    fn addr(&self) -> String {
        self.identity.location.transport().unwrap().addr.to_string()
    }

    fn key(&self) -> PublicKey {
        self.identity.key
    }

    fn join(identity: &Path, host: &Self, password: &str) -> Self {
        Self::start(
            identity,
            &[
                "--join",
                &host.addr(),
                "--key",
                &host.key().to_string(),
                "--password",
                password,
            ],
        )
    }

    fn type_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
    }

    /// Waits for a stdout line for which `wanted` holds; returns it.
    fn expect(&mut self, wanted: impl Fn(&str) -> bool, what: &str) -> String {
        if let Some(line) = self.seen.iter().find(|line| wanted(line)) {
            return line.clone();
        }
        let deadline = Instant::now() + LIMIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = self.lines.recv_timeout(left) else {
                let _ = self.child.kill();
                let stderr: Vec<String> = self.stderr.try_iter().collect();
                panic!("no line {what}; stdout {:?}; stderr {stderr:?}", self.seen);
            };
            self.seen.push(line.clone());
            if wanted(&line) {
                return line;
            }
        }
    }

    /// The stdout lines that arrive within `wait`.
    fn lines_within(&mut self, wait: Duration) -> Vec<String> {
        thread::sleep(wait);
        let fresh: Vec<String> = self.lines.try_iter().collect();
        self.seen.extend(fresh.iter().cloned());
        self.seen.clone()
    }

    /// Closes standard input (which leaves the group) and waits for the end.
    fn close(mut self) -> (Option<i32>, String) {
        self.stdin.take();
        self.finish()
    }

    /// Waits for the process to end by itself; returns its exit code and stderr.
    fn finish(mut self) -> (Option<i32>, String) {
        let deadline = Instant::now() + LIMIT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                thread::sleep(Duration::from_millis(50));
                let stderr: Vec<String> = self.stderr.try_iter().collect();
                return (status.code(), stderr.join("\n"));
            }
            assert!(Instant::now() < deadline, "ejtp chat did not end");
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Chat {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn three_members_chat_over_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let (alice_id, _) = keygen(dir.path(), "alice.json", "alice");
    let (bob_id, _) = keygen(dir.path(), "bob.json", "bob");
    let (carol_id, _) = keygen(dir.path(), "carol.json", "carol");

    let mut alice = Chat::start(&alice_id, &["--create", "open sesame"]);
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
    let (code, stderr) = bob.finish();
    assert_eq!(code, Some(0), "{stderr}");
    alice.expect(|l| l == "- bob left", "alice sees bob leave");
    carol.expect(|l| l == "- bob left", "carol sees bob leave");

    // The end of alice's input closes the group; carol is told and stops.
    let (code, stderr) = alice.close();
    assert_eq!(code, Some(0), "{stderr}");
    carol.expect(
        |l| l == "the admitting peer closed the group",
        "carol is told",
    );
    let (code, stderr) = carol.finish();
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

    let mut alice = Chat::start(&alice_id, &host_args);
    alice.expect(|l| l.starts_with("created the group"), "created");
    let (code, stderr) = Chat::join(&mallory_id, &alice, "guess").finish();
    assert_eq!(code, Some(1));
    assert_eq!(stderr, "ejtp: join refused: wrong password");
    // The second failure is the limit: banned.
    let (code, stderr) = Chat::join(&mallory_id, &alice, "guess again").finish();
    assert_eq!(code, Some(1));
    assert_eq!(stderr, "ejtp: join refused: banned");
    alice.expect(|l| l.starts_with("banned peer "), "alice reports the ban");
    assert!(bans.exists(), "the bans were stored");
    drop(alice);

    // A restarted admitting peer (a new process, a new port) still refuses mallory.
    let mut alice = Chat::start(&alice_id, &host_args);
    alice.expect(|l| l.starts_with("created the group"), "created again");
    let (code, stderr) = Chat::join(&mallory_id, &alice, "open sesame").finish();
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
    let mut alice = Chat::start(&alice_id, &["--create", "pw"]);
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
