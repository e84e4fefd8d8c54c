//! An `ejtp chat` process for tests: its standard input piped, given, or `/dev/null`; its
//! stdout read line by line with bounded waits; killed when dropped.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

use ejtp_proto::{PublicIdentity, PublicKey};

use super::{LIMIT, ejtp};

/// What the chat's standard input is.
pub enum Input<'a> {
    /// A pipe the test writes to (and closes with [`Chat::close_input`]).
    Piped,
    /// These bytes, then the end of input, as `echo hi | ejtp chat` gives.
    Given(&'a [u8]),
    /// `/dev/null`: the end of input at once.
    Null,
}

/// A running `ejtp chat`.
pub struct Chat {
    pub child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    stderr: Receiver<String>,
    /// Every stdout line read so far.
    pub seen: Vec<String>,
    /// The `listening:` identity.
    pub identity: PublicIdentity,
}

fn reader(pipe: impl Read + Send + 'static) -> Receiver<String> {
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
    /// Starts `ejtp chat --udp 127.0.0.1:0 --identity IDENTITY EXTRA...` and waits for its
    /// `listening:` line.
    pub fn start(identity: &Path, extra: &[&str], input: Input<'_>) -> Self {
        let stdin = match input {
            Input::Null => Stdio::null(),
            Input::Piped | Input::Given(_) => Stdio::piped(),
        };
        let mut child = ejtp()
            .args(["chat", "--udp", "127.0.0.1:0", "--identity"])
            .arg(identity)
            .args(extra)
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ejtp chat starts");
        let mut stdin = child.stdin.take();
        if let Input::Given(bytes) = input {
            // Written and closed at once: the chat reads it all before any join can finish.
            let mut pipe = stdin.take().expect("piped");
            pipe.write_all(bytes).expect("write stdin");
        }
        let lines = reader(child.stdout.take().expect("piped"));
        let stderr = reader(child.stderr.take().expect("piped"));
        let Ok(first) = lines.recv_timeout(LIMIT) else {
            let _ = child.kill();
            let errors: Vec<String> = stderr.try_iter().collect();
            panic!("no listening line from ejtp chat; stderr {errors:?}");
        };
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

    /// The UDP address it listens on.
    pub fn addr(&self) -> String {
        self.identity
            .location
            .transport()
            .expect("an IP location")
            .addr
            .to_string()
    }

    /// Its key.
    pub fn key(&self) -> PublicKey {
        self.identity.key
    }

    /// The arguments that join the group `host` admits to, with `password`.
    pub fn join_args(&self, password: &str) -> Vec<String> {
        vec![
            "--join".to_string(),
            self.addr(),
            "--key".to_string(),
            self.key().to_string(),
            "--password".to_string(),
            password.to_string(),
        ]
    }

    /// Starts a chat that joins the group `host` admits to, with `password`; input piped.
    pub fn join(identity: &Path, host: &Self, password: &str) -> Self {
        let args = host.join_args(password);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        Self::start(identity, &args, Input::Piped)
    }

    /// Closes standard input (piped input only): the chat reads the end of input.
    pub fn close_input(&mut self) {
        self.stdin.take();
    }

    /// Every stdout line so far, after waiting `wait` for more.
    pub fn lines_within(&mut self, wait: Duration) -> Vec<String> {
        thread::sleep(wait);
        self.seen.extend(self.lines.try_iter());
        self.seen.clone()
    }

    /// Types a line (piped input only).
    pub fn type_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{line}").expect("write stdin");
        stdin.flush().expect("flush stdin");
    }

    /// Waits for a stdout line for which `wanted` holds; returns it.
    pub fn expect(&mut self, wanted: impl Fn(&str) -> bool, what: &str) -> String {
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

    /// Waits (at most `limit`) for the process to end by itself; returns its exit code, the
    /// rest of its stdout and its stderr.
    pub fn finish_within(mut self, limit: Duration) -> (Option<i32>, Vec<String>, String) {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                thread::sleep(Duration::from_millis(50));
                self.seen.extend(self.lines.try_iter());
                let stderr: Vec<String> = self.stderr.try_iter().collect();
                return (status.code(), self.seen.clone(), stderr.join("\n"));
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let stderr: Vec<String> = self.stderr.try_iter().collect();
                panic!(
                    "ejtp chat did not end within {limit:?}; stdout {:?}; stderr {stderr:?}",
                    self.seen
                );
            }
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
