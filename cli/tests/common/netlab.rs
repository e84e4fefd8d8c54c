//! The NAT lab of `netlab/netlab.sh` for tests: one lab per test under a prefix of its own,
//! always taken down (also when the test panics), and `ejtp` run inside the lab's hosts.
//!
//! The prefix holds the test process's id, so two test runs at once (or a lab a killed run
//! left behind) never share a namespace; labs of test processes that no longer exist are
//! removed when a new lab comes up.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use ejtp_proto::{PublicIdentity, PublicKey};

use super::{LIMIT, ejtp};

/// Where every lab namespace of these tests starts: `ejt<pid>-<name>-<host>`.
const PREFIX: &str = "ejt";

/// A lab that is up; taken down when dropped.
pub struct Lab {
    prefix: String,
}

impl Lab {
    /// Brings up a lab named `name` (a few letters, unique among the tests of one binary) with
    /// `netlab.sh up OPTIONS`. Without root, `ip` or `nft` it returns `None` after printing
    /// `skipped: <why>`, except under CI (`CI` set), where the test must really run: there it
    /// panics with what is missing.
    pub fn up(name: &str, options: &[&str]) -> Option<Self> {
        if let Some(missing) = missing_requirements() {
            assert!(
                std::env::var_os("CI").is_none(),
                "the netlab tests need {missing} (CI is set, so they may not be skipped)"
            );
            eprintln!("skipped: the netlab tests need {missing}");
            return None;
        }
        remove_stale_labs();
        let lab = Self {
            prefix: format!("{PREFIX}{}-{name}", std::process::id()),
        };
        let up = lab.script(&[&["up"], options].concat());
        assert!(up.0, "netlab.sh up {options:?} failed:\n{}", up.1);
        Some(lab)
    }

    /// The namespace of `host` (`pub`, `a`, `b`, `nat-a`, `nat-b`).
    pub fn namespace(&self, host: &str) -> String {
        format!("{}-{host}", self.prefix)
    }

    /// Makes router `a` or `b` forget its NAT mappings (`netlab.sh flush-nat`).
    pub fn flush_nat(&self, router: &str) {
        let flushed = self.script(&["flush-nat", router]);
        assert!(
            flushed.0,
            "netlab.sh flush-nat {router} failed:\n{}",
            flushed.1
        );
    }

    /// The UDP mappings router `a` or `b` holds now, one line each (`conntrack -L`), or
    /// `None` where conntrack-tools is not installed.
    pub fn mappings(&self, router: &str) -> Option<Vec<String>> {
        let listed = Command::new("ip")
            .args(["netns", "exec", &self.namespace(&format!("nat-{router}"))])
            .args(["conntrack", "-L", "-p", "udp"])
            .stdin(Stdio::null())
            .output()
            .ok()
            .filter(|out| out.status.success())?;
        let text = String::from_utf8_lossy(&listed.stdout);
        Some(text.lines().map(str::to_string).collect())
    }

    /// Starts counting the IP fragments that reach `host` (a router sees both directions of
    /// what it forwards), before conntrack puts any together: for
    /// [`fragments_seen`](Self::fragments_seen).
    pub fn count_fragments(&self, host: &str) {
        let rules = "table ip ejtp_fragments {
  counter seen { }
  chain prerouting {
    type filter hook prerouting priority -450; policy accept;
    ip frag-off & 0x3fff != 0 counter name seen
  }
}
";
        let mut nft = Command::new("ip")
            .args(["netns", "exec", &self.namespace(host), "nft", "-f", "-"])
            .stdin(Stdio::piped())
            .spawn()
            .expect("nft runs");
        nft.stdin
            .take()
            .expect("piped")
            .write_all(rules.as_bytes())
            .expect("nft reads its rules");
        assert!(nft.wait().unwrap().success(), "nft took the counter rules");
    }

    /// How many IP fragments have reached `host` since
    /// [`count_fragments`](Self::count_fragments).
    pub fn fragments_seen(&self, host: &str) -> u64 {
        let listed = Command::new("ip")
            .args(["netns", "exec", &self.namespace(host)])
            .args(["nft", "list", "counter", "ip", "ejtp_fragments", "seen"])
            .stdin(Stdio::null())
            .output()
            .expect("nft runs");
        let text = String::from_utf8_lossy(&listed.stdout);
        let packets = text
            .split_whitespace()
            .skip_while(|word| *word != "packets")
            .nth(1)
            .and_then(|count| count.parse().ok());
        packets.unwrap_or_else(|| panic!("no packet count in nft's answer: {text}"))
    }

    /// What a failing test should show of the lab: both routers' mappings.
    pub fn report(&self) -> String {
        ["a", "b"]
            .iter()
            .map(|router| match self.mappings(router) {
                Some(lines) if lines.is_empty() => format!("nat-{router} mappings: none\n"),
                Some(lines) => format!("nat-{router} mappings:\n  {}\n", lines.join("\n  ")),
                None => format!("nat-{router} mappings: (no conntrack command)\n"),
            })
            .collect()
    }

    /// `ejtp` (as [`ejtp`] sets it up) to be run inside `host`, through `ip netns exec`,
    /// which enters the namespace and then executes the binary itself: the child is the
    /// `ejtp` process, so killing it kills the node.
    pub fn ejtp(&self, host: &str) -> Command {
        let plain = ejtp();
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", &self.namespace(host)])
            .arg(plain.get_program())
            .stdin(Stdio::null());
        for (key, value) in plain.get_envs() {
            match value {
                Some(value) => command.env(key, value),
                None => command.env_remove(key),
            };
        }
        command
    }

    /// Runs `netlab.sh ARGS` for this lab; returns whether it succeeded and what it printed.
    fn script(&self, args: &[&str]) -> (bool, String) {
        let out = Command::new("bash")
            .arg(script_path())
            .args(args)
            .env("NETLAB_PREFIX", &self.prefix)
            .stdin(Stdio::null())
            .output()
            .expect("bash runs netlab.sh");
        let text = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
        (out.status.success(), text.into_owned())
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let down = self.script(&["down"]);
        if !down.0 {
            eprintln!("netlab.sh down for {} failed:\n{}", self.prefix, down.1);
        }
    }
}

/// `netlab/netlab.sh` at the root of the repository.
fn script_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../netlab/netlab.sh")
}

/// What the lab needs and this machine lacks, said for a person: root, `ip`, `nft`.
fn missing_requirements() -> Option<String> {
    let mut missing = Vec::new();
    if !is_root() {
        missing.push("root (network namespaces)");
    }
    for (tool, what) in [("ip", "ip (iproute2)"), ("nft", "nft (nftables)")] {
        let found = Command::new(tool)
            .arg("-V")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok();
        if !found {
            missing.push(what);
        }
    }
    (!missing.is_empty()).then(|| missing.join(", "))
}

/// Whether this process runs with effective user id 0 (read from `/proc`: no libc needed).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .find_map(|line| line.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().nth(1))
            == Some("0")
    })
}

/// Deletes the namespaces of labs whose test process is gone (a run killed before its drop
/// guards ran), so that they do not pile up.
fn remove_stale_labs() {
    let Ok(listed) = Command::new("ip").args(["netns", "list"]).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&listed.stdout).lines() {
        let Some(name) = line.split_whitespace().next() else {
            continue;
        };
        let pid = name
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split_once('-'))
            .and_then(|(pid, _)| pid.parse::<u32>().ok());
        if pid.is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists()) {
            let _ = Command::new("ip").args(["netns", "del", name]).status();
        }
    }
}

/// An `ejtp run` inside a lab host, killed when dropped; keeps everything it prints so that a
/// failing test can show the node's side.
pub struct LabNode {
    /// The node's UDP `listening:` identity.
    pub identity: PublicIdentity,
    output: Arc<Mutex<String>>,
    _child: KilledOnDrop,
}

impl LabNode {
    /// Starts `ejtp run --identity IDENTITY --udp UDP EXTRA...` in `host` and waits for its
    /// `listening:` line.
    pub fn start(lab: &Lab, host: &str, identity: &Path, udp: &str, extra: &[&str]) -> Self {
        let mut child = KilledOnDrop(
            lab.ejtp(host)
                .arg("run")
                .arg("--identity")
                .arg(identity)
                .args(["--udp", udp])
                .args(extra)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("ip netns exec ejtp run starts"),
        );
        let output = Arc::new(Mutex::new(String::new()));
        let lines = keep_lines(child.0.stdout.take().expect("piped"), &output);
        keep_lines(child.0.stderr.take().expect("piped"), &output);
        let log = || output.lock().map(|text| text.clone()).unwrap_or_default();
        let deadline = Instant::now() + LIMIT;
        let json = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = lines.recv_timeout(left) else {
                panic!("no listening line from ejtp run in {host}:\n{}", log());
            };
            if let Some(json) = line.strip_prefix("listening: ") {
                break json.to_string();
            }
        };
        let identity = PublicIdentity::from_json_bytes(json.as_bytes())
            .unwrap_or_else(|err| panic!("identity JSON {json:?} ({err:?}):\n{}", log()));
        Self {
            identity,
            output,
            _child: child,
        }
    }

    /// The node's key.
    pub fn key(&self) -> PublicKey {
        self.identity.key
    }

    /// Waits up to `limit` for a line of the node's output containing `needle`, and returns
    /// that line; panics with the whole output if none comes.
    pub fn wait_for_log(&self, needle: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(line) = self.log().lines().find(|line| line.contains(needle)) {
                return line.to_string();
            }
            if Instant::now() >= deadline {
                panic!("no line with {needle:?} within {limit:?}:\n{}", self.log());
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Everything the node has printed so far, stdout and stderr interleaved as they came.
    pub fn log(&self) -> String {
        self.output
            .lock()
            .map(|text| text.clone())
            .unwrap_or_default()
    }
}

/// A child process that is killed and reaped when dropped, whatever happens after it started
/// (a node left running would keep its namespace alive after the lab is taken down).
struct KilledOnDrop(Child);

impl Drop for KilledOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Appends every line of `pipe` to `output` as it comes, and also sends it on the returned
/// channel (for waiting on one line).
fn keep_lines(pipe: impl Read + Send + 'static, output: &Arc<Mutex<String>>) -> Receiver<String> {
    let (lines, receiver) = mpsc::channel();
    let output = Arc::clone(output);
    thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if let Ok(mut text) = output.lock() {
                text.push_str(&line);
                text.push('\n');
            }
            let _ = lines.send(line);
        }
    });
    receiver
}
