//! Running the real `ejtp` binary: bounded waits, and child processes that are always killed.

#![allow(dead_code, unreachable_pub)] // each test file uses a different part

pub mod chat;
pub mod netlab;

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use ejtp_proto::{PublicIdentity, PublicKey};

/// The longest any one command or wait in these tests may take.
pub const LIMIT: Duration = Duration::from_secs(30);

/// The `ejtp` binary, with logging left at its defaults whatever the environment says.
pub fn ejtp() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ejtp"));
    command
        .env_remove("RUST_LOG")
        .env("RUST_BACKTRACE", "1")
        .stdin(Stdio::null());
    command
}

/// What a finished command printed, and how it ended.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// Asserts the command failed with `code` and said so in one `ejtp:` line, without a panic
    /// message or a backtrace; returns that line.
    pub fn assert_one_line_error(&self, code: i32) -> &str {
        assert_eq!(self.code(), Some(code), "{self:#?}");
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one line on stderr: {self:#?}");
        assert!(lines[0].starts_with("ejtp: "), "{self:#?}");
        for word in ["panicked", "backtrace", "RUST_BACKTRACE"] {
            assert!(!self.stderr.contains(word), "{word} in {self:#?}");
        }
        lines[0]
    }
}

/// Runs `command` to the end (killing it past [`LIMIT`]).
pub fn finish(command: &mut Command) -> Finished {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ejtp starts");
    let stdout = drain(child.stdout.take().expect("piped"));
    let stderr = drain(child.stderr.take().expect("piped"));
    let status = wait_bounded(&mut child, LIMIT);
    Finished {
        status,
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    }
}

/// Reads a pipe to its end on a thread.
fn drain(mut pipe: impl Read + Send + 'static) -> JoinHandle<String> {
    thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    })
}

/// Waits for `child` to exit; kills it and fails the test past `limit`.
fn wait_bounded(child: &mut Child, limit: Duration) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("ejtp did not finish within {limit:?}");
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// A new identity file in `dir` (via `ejtp keygen`); returns its path and key.
pub fn keygen(dir: &Path, file: &str, callsign: &str) -> (PathBuf, PublicKey) {
    let path = dir.join(file);
    let done = finish(
        ejtp()
            .args(["keygen", "--callsign", callsign, "--out"])
            .arg(&path),
    );
    assert_eq!(done.code(), Some(0), "{done:#?}");
    let public = done.stdout.lines().next().expect("identity line");
    let identity = PublicIdentity::from_json_bytes(public.as_bytes()).expect("identity JSON");
    (path, identity.key)
}

/// An `ejtp run` process, killed when dropped.
pub struct RunningNode {
    child: Child,
    /// The `listening:` identities, UDP first.
    pub listening: Vec<PublicIdentity>,
    stderr: Option<JoinHandle<String>>,
}

impl RunningNode {
    /// `ejtp run --identity IDENTITY --udp UDP --share SHARED`: a node serving a folder, on
    /// one UDP socket.
    pub fn seeder(identity: &Path, udp: &str, shared: &Path) -> Self {
        Self::start(
            &[
                "--identity".as_ref(),
                identity.as_os_str(),
                "--udp".as_ref(),
                udp.as_ref(),
                "--share".as_ref(),
                shared.as_os_str(),
            ],
            1,
        )
    }

    /// Starts `ejtp run` with `args` and waits for its `listening:` lines (`expected` of them).
    pub fn start(args: &[&std::ffi::OsStr], expected: usize) -> Self {
        let mut child = ejtp()
            .arg("run")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ejtp run starts");
        let stderr = drain(child.stderr.take().expect("piped"));
        let lines = line_reader(child.stdout.take().expect("piped"));
        let mut node = Self {
            child,
            listening: Vec::new(),
            stderr: Some(stderr),
        };
        let deadline = Instant::now() + LIMIT;
        while node.listening.len() < expected {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = lines.recv_timeout(left) else {
                let stderr = node.stop_now();
                panic!("no listening line from ejtp run; stderr: {stderr}");
            };
            let json = line
                .strip_prefix("listening: ")
                .unwrap_or_else(|| panic!("unexpected line {line:?}"));
            node.listening
                .push(PublicIdentity::from_json_bytes(json.as_bytes()).expect("identity JSON"));
        }
        node
    }

    /// The node's key.
    pub fn key(&self) -> PublicKey {
        self.listening[0].key
    }

    /// The address of the `index`th listening line (0: UDP, 1: TCP).
    pub fn addr(&self, index: usize) -> SocketAddr {
        self.listening[index]
            .location
            .transport()
            .expect("an IP location")
            .addr
    }

    /// Stops the node with SIGTERM, as Ctrl-C would, and returns its exit status and stderr.
    #[cfg(unix)]
    pub fn terminate(mut self) -> (ExitStatus, String) {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success());
        let status = wait_bounded(&mut self.child, LIMIT);
        let stderr = self
            .stderr
            .take()
            .map(|t| t.join().expect("stderr"))
            .unwrap_or_default();
        (status, stderr)
    }

    /// Sends the node a signal by name (`STOP` freezes it, `CONT` lets it go on).
    #[cfg(unix)]
    pub fn signal(&self, name: &str) {
        let sent = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success());
    }

    /// Kills the node (SIGKILL: a crash, nothing flushed) and returns what it logged.
    pub fn kill(mut self) -> String {
        self.stop_now()
    }

    /// Kills the node and returns what it logged.
    fn stop_now(&mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.stderr
            .take()
            .map(|t| t.join().expect("stderr"))
            .unwrap_or_default()
    }
}

impl Drop for RunningNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The lines of a pipe, as they come, through a channel.
fn line_reader(pipe: impl Read + Send + 'static) -> Receiver<String> {
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

/// Waits until an `ejtp fetch` of `id` into `out` has begun writing: its first progress line
/// on `stderr` (one a second: not a terminal), then its manifest recording a block. A test
/// that then freezes the seeder knows some of the content is on disk and some is not.
pub fn wait_for_first_block(
    stderr: impl Read + Send + 'static,
    out: &Path,
    id: &str,
) -> Receiver<String> {
    let seen = line_reader(stderr);
    let first = seen
        .recv_timeout(Duration::from_secs(60))
        .expect("progress lines from ejtp fetch");
    assert!(first.contains(" of "), "{first}");
    let manifest = out.join(".ejtp-partial").join(format!("{id}.manifest"));
    let header = std::fs::metadata(&manifest).map_or(0, |m| m.len());
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::metadata(&manifest).map_or(0, |m| m.len()) <= header {
        assert!(Instant::now() < deadline, "no block written");
        thread::sleep(Duration::from_millis(1));
    }
    seen
}
