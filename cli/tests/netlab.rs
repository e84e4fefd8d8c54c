//! The real `ejtp` binary across NATs: each test brings up its own lab of network namespaces
//! (`netlab/netlab.sh`: a public host, two routers, a host behind each), runs `ejtp run` on the
//! public host and `ejtp send` from behind a router, and checks the reply comes back.
//!
//! They need root, iproute2 and nftables: elsewhere they print `skipped: ...` and pass, except
//! under CI (`CI` set), where they fail. Every lab is taken down, also when a test panics.

mod common;

use std::path::Path;
use std::thread;
use std::time::Duration;

use common::netlab::{Lab, LabNode};
use common::{Finished, finish, keygen};

/// Where the public node listens, on the lab's public host: a fixed port is fine, every test
/// has its own lab.
const PUBLIC: &str = "198.51.100.1:7000";

/// The public node's callsign.
const CALLSIGN: &str = "pub";

/// `ejtp run` on the public host, for a new identity in `dir`. It logs at debug level, so
/// that a failing test shows where the node sent its reply and whether the send failed.
fn public_node(lab: &Lab, dir: &Path) -> LabNode {
    let (identity, _) = keygen(dir, "pub.json", CALLSIGN);
    LabNode::start(lab, "pub", &identity, PUBLIC, &["-vv"])
}

/// `ejtp send VALUE` from `host` of the lab, as `identity`, to the public node.
fn query(lab: &Lab, host: &str, identity: &Path, node: &LabNode, value: &str) -> Finished {
    finish(
        lab.ejtp(host)
            .args(["send", "--timeout", "5", "--identity"])
            .arg(identity)
            .args(["--to", PUBLIC, "--key", &node.key().to_string()])
            .args(["--callsign", CALLSIGN, value]),
    )
}

/// Asserts `done` printed the public node's acknowledgement; otherwise fails with both sides'
/// output and the routers' mappings, which is what a CI log needs to explain it.
fn assert_replied(done: &Finished, node: &LabNode, lab: &Lab) {
    let expected = format!("acknowledged by {} in ", node.key().node_id());
    assert!(
        done.code() == Some(0) && done.stdout.starts_with(&expected),
        "no reply from the public node\n--- ejtp send: {done:#?}\n--- public node log:\n{}\
         --- lab:\n{}",
        node.log(),
        lab.report()
    );
}

/// A lab with the public node running and a client identity: what every test starts from.
struct Setup {
    lab: Lab,
    dir: tempfile::TempDir,
    public: LabNode,
    client: std::path::PathBuf,
}

impl Setup {
    /// Brings up lab `name` with `options`; `None` when the lab cannot run here (skipped).
    fn up(name: &str, options: &[&str]) -> Option<Self> {
        let lab = Lab::up(name, options)?;
        let dir = tempfile::tempdir().unwrap();
        let public = public_node(&lab, dir.path());
        let (client, _) = keygen(dir.path(), "client.json", "client");
        Some(Self {
            lab,
            dir,
            public,
            client,
        })
    }

    /// `ejtp send VALUE` from behind router A as the client; asserts the reply came.
    fn query_from_a(&self, value: &str) {
        let done = query(&self.lab, "a", &self.client, &self.public, value);
        assert_replied(&done, &self.public, &self.lab);
    }

    /// `ejtp run --udp UDP --peer <public node>` behind router A, for a new identity.
    fn node_behind_a(&self, udp: &str) -> LabNode {
        let (identity, _) = keygen(self.dir.path(), "inside.json", "inside");
        let peer = format!("{}@{PUBLIC}", self.public.key());
        LabNode::start(&self.lab, "a", &identity, udp, &["--peer", &peer])
    }
}

/// A client behind a cone NAT gets the reply to its query. The public node sees the query
/// come from the router's mapping (198.51.100.10), but the client signed its private address
/// (100.64.1.2): the reply must go where the query came from, or it never arrives.
#[test]
fn nat_client_query_gets_reply() {
    let Some(setup) = Setup::up("cone", &["--nat-a", "cone"]) else {
        return;
    };
    setup.query_from_a(r#"{"from":"behind a cone NAT"}"#);
}

/// The control: a host with a public address (router A's own WAN side, no NAT on its path)
/// queries the public node across the lab's internet and gets the reply. This passing shows
/// the lab, the binary and the harness work, so a NAT test failing points at the NAT.
#[test]
fn public_to_public_query_works_in_lab() {
    let Some(setup) = Setup::up("open", &[]) else {
        return;
    };
    let done = query(
        &setup.lab,
        "nat-a",
        &setup.client,
        &setup.public,
        r#"{"from":"the public side"}"#,
    );
    assert_replied(&done, &setup.public, &setup.lab);
}

/// As [`nat_client_query_gets_reply`], behind a symmetric NAT: the router picks a new random
/// public port for the query, so only the address the query came from (never one the client
/// could know or sign) reaches it.
#[test]
fn symmetric_nat_client_query_gets_reply() {
    let Some(setup) = Setup::up("sym", &["--nat-a", "symmetric"]) else {
        return;
    };
    setup.query_from_a(r#"{"from":"behind a symmetric NAT"}"#);
}

/// The client behind a cone NAT exchanges with the public node; the router then forgets every
/// mapping (checked: its table is empty), and the same identity's next exchange with the same,
/// still running, public node gets its reply too: the node answers where the client is now
/// and keeps no stale address for it. (A session of one running node that outlives the flush
/// is `session_follows_the_node_after_its_nat_forgets_the_mapping`.)
#[test]
fn session_survives_nat_flush() {
    let Some(setup) = Setup::up("flush", &["--nat-a", "cone"]) else {
        return;
    };
    setup.query_from_a("1");
    setup.lab.flush_nat("a");
    if let Some(left) = setup.lab.mappings("a") {
        assert!(left.is_empty(), "flush-nat a left mappings: {left:#?}");
    }
    setup.query_from_a("2");
}

/// A 3000-byte JSON value from behind NAT A gets its reply over 1280-byte links whose routers
/// drop IP fragments: the datagram must be split by the protocol itself, since the IP
/// fragments the kernel would make never arrive.
#[test]
fn large_message_over_small_mtu() {
    let Some(setup) = Setup::up("mtu", &["--mtu", "1280", "--drop-fragments"]) else {
        return;
    };
    let value = format!(
        r#"{{"pad":"{}"}}"#,
        "x".repeat(3000 - r#"{"pad":""}"#.len())
    );
    assert_eq!(value.len(), 3000);
    setup.query_from_a(&value);
}

/// Path MTU probes carry the don't-fragment bit. On 1280-byte links whose routers pass IP
/// fragments, a node behind NAT A keeps a session with the public node; each probes the path
/// with 65 507, 9 000 and 1 452-byte datagrams. Without the bit the kernel would send them in
/// fragments, they would arrive whole, and both nodes would take sizes that only cross in
/// fragments. With it none is sent (larger than the interface), router A forwards not one IP
/// fragment either way, and a 3000-byte query still gets its reply, in datagrams that fit.
#[test]
fn probes_never_cross_in_fragments() {
    let Some(setup) = Setup::up("df", &["--mtu", "1280"]) else {
        return;
    };
    setup.lab.count_fragments("nat-a");
    let _inside = setup.node_behind_a("100.64.1.2:7100");
    // The public node logs at debug level: its probes toward the node behind A are refused
    // by its own kernel, one per size, 1 s apart.
    setup
        .public
        .wait_for_log("path MTU probe not sent", Duration::from_secs(10));
    thread::sleep(Duration::from_secs(4));
    let value = format!(
        r#"{{"pad":"{}"}}"#,
        "x".repeat(3000 - r#"{"pad":""}"#.len())
    );
    setup.query_from_a(&value);
    assert_eq!(
        setup.lab.fragments_seen("nat-a"),
        0,
        "IP fragments crossed router A\n--- public node:\n{}",
        setup.public.log()
    );
}

/// A 4 MiB value (read from a file: too large for a command line) from behind NAT A gets its
/// reply over 1280-byte links that drop IP fragments: about 3 600 fragments, each in a
/// datagram of at most 1 200 bytes, put back together by the public node.
#[test]
fn four_mebibyte_message_over_small_mtu() {
    let Some(setup) = Setup::up("mtu4m", &["--mtu", "1280", "--drop-fragments"]) else {
        return;
    };
    let file = setup.dir.path().join("value.json");
    std::fs::write(&file, format!(r#"{{"pad":"{}"}}"#, "x".repeat(4 << 20))).unwrap();
    setup.query_from_a(&format!("@{}", file.display()));
}

/// A node behind NAT A bound to the wildcard (`0.0.0.0`) with the public node as its `--peer`:
/// it advertises its interface address (never the wildcard), opens a session with its peer at
/// once, and learns from it the NAT's public mapping, which it logs.
#[test]
fn wildcard_node_behind_nat_learns_its_mapping() {
    let Some(setup) = Setup::up("wild", &["--nat-a", "cone"]) else {
        return;
    };
    let inside = setup.node_behind_a("0.0.0.0:7100");
    let advertised = inside.identity.location.transport().map(|t| t.addr);
    assert_eq!(
        advertised,
        Some("100.64.1.2:7100".parse().unwrap()),
        "the interface toward the peer, not the wildcard:\n{}",
        inside.log()
    );
    let learned = inside.wait_for_log("learned address:", Duration::from_secs(10));
    assert!(
        learned.contains("198.51.100.10:"),
        "the node learned router A's public address:\n{learned}\n--- lab:\n{}",
        setup.lab.report()
    );
}

/// Behind a symmetric NAT, the router forgets its mappings under a running node: the node's
/// next keepalive leaves from a new random port, its peer follows it there on the same session,
/// and tells it where it sees it now.
#[test]
fn session_follows_the_node_after_its_nat_forgets_the_mapping() {
    let Some(setup) = Setup::up("rebind", &["--nat-a", "symmetric"]) else {
        return;
    };
    let inside = setup.node_behind_a("100.64.1.2:7100");
    let first = inside.wait_for_log("learned address:", Duration::from_secs(10));
    setup.lab.flush_nat("a");
    // The default route's session is kept alive every 15 s: the keepalive after the flush
    // takes a new mapping.
    let changed = inside.wait_for_log("now sees this node at", Duration::from_secs(40));
    assert!(
        changed.contains("(was "),
        "the peer followed the node to its new mapping:\n{first}\n{changed}\n--- public \
         node:\n{}",
        setup.public.log()
    );
}

/// Node B runs behind router B, bound to the wildcard, with the public node as its `--peer`
/// (it publishes its record there). The client behind router A knows only the public node:
/// `ejtp send --peer PUB --key B --count 8` finds B through it and queries B eight times,
/// 500 ms apart. Returns the client's output, B's id and how many frames the public node
/// relayed in all.
fn exchange_between_nats(setup: &Setup) -> (Finished, String, u64) {
    let (identity, _) = keygen(setup.dir.path(), "b.json", "bnode");
    let peer = format!("{}@{PUBLIC}", setup.public.key());
    let b = LabNode::start(
        &setup.lab,
        "b",
        &identity,
        "0.0.0.0:7200",
        &["--peer", &peer],
    );
    b.wait_for_log("learned address:", Duration::from_secs(10));
    let done = finish(
        setup
            .lab
            .ejtp("a")
            .args(["send", "--timeout", "5", "--identity"])
            .arg(&setup.client)
            .args(["--peer", &peer, "--key", &b.key().to_string()])
            .args([
                "--callsign",
                "bnode",
                "--count",
                "8",
                "--interval-ms",
                "500",
            ])
            .arg(r#"{"across":"two NATs"}"#),
    );
    // The public node logs its relayed count within 100 ms of a change.
    thread::sleep(Duration::from_millis(500));
    let relayed = setup
        .public
        .log()
        .lines()
        .filter_map(|line| {
            let (_, after) = line.split_once("relayed ")?;
            after.split_once(" frames for other nodes")?.0.parse().ok()
        })
        .max()
        .unwrap_or(0);
    assert!(
        done.code() == Some(0) && done.stdout.lines().count() == 8,
        "eight replies from B\n--- ejtp send: {done:#?}\n--- B:\n{}\n--- public node:\n{}\
         --- lab:\n{}",
        b.log(),
        setup.public.log(),
        setup.lab.report()
    );
    (done, b.key().node_id().to_string(), relayed)
}

/// Two nodes behind cone NATs that know only the public node exchange messages: the first
/// query goes through the public node as a relay, which introduces the two; their handshakes
/// punch through both NATs, and from the first reply that comes directly on, nothing crosses
/// the public node: its relayed-frame count stops growing (a relayed exchange is at most two
/// frames, the query and its reply).
#[test]
fn cone_nat_nodes_end_up_on_a_direct_path() {
    let Some(setup) = Setup::up("punch", &["--nat-a", "cone", "--nat-b", "cone"]) else {
        return;
    };
    let (done, b, relayed) = exchange_between_nats(&setup);
    let lines: Vec<&str> = done.stdout.lines().collect();
    eprintln!("{}the public node relayed {relayed} frames", done.stdout);
    assert!(
        lines
            .iter()
            .all(|line| line.starts_with(&format!("acknowledged by {b} in "))),
        "{lines:#?}"
    );
    let first_direct = lines
        .iter()
        .position(|line| line.ends_with("(direct)"))
        .unwrap_or_else(|| panic!("no reply came directly: {lines:#?}\n{}", setup.public.log()));
    assert!(
        lines[first_direct..]
            .iter()
            .all(|line| line.ends_with("(direct)")),
        "once direct, the replies stay direct: {lines:#?}"
    );
    assert!(
        first_direct < 4,
        "the path turned direct within a few exchanges: {lines:#?}"
    );
    assert!(
        relayed >= 1,
        "the first query went through the public node:\n{}",
        setup.public.log()
    );
    assert!(
        relayed <= 2 * first_direct as u64 + 1,
        "the public node relayed {relayed} frames though the path was direct from exchange \
         {first_direct} on: {lines:#?}\n{}",
        setup.public.log()
    );
}

/// The same behind symmetric NATs: the ports the public node sees are useless to the other
/// node, punching fails, and every exchange goes through the public node as a relay.
#[test]
fn symmetric_nat_nodes_talk_through_the_relay() {
    let Some(setup) = Setup::up("relay", &["--nat-a", "symmetric", "--nat-b", "symmetric"]) else {
        return;
    };
    let (done, _, relayed) = exchange_between_nats(&setup);
    let public = setup.public.key().node_id().to_string();
    assert!(
        done.stdout
            .lines()
            .all(|line| line.ends_with(&format!("(relayed via {public})"))),
        "{done:#?}"
    );
    assert!(relayed >= 16, "two relayed frames per exchange: {relayed}");
}

/// A 64 MiB file fetched from the public node by a node behind NAT A, over 1280-byte links
/// whose routers drop IP fragments: the fetcher's session with the sharing node carries the
/// content in fragments that each fit in a 1 200-byte datagram (a 40 KB content answer sent
/// whole would be lost as IP fragments), and the file arrives whole and verified against its
/// SHA-256 id.
#[test]
fn sixty_four_mebibyte_fetch_over_small_mtu() {
    let Some(lab) = Lab::up("fetch64", &["--mtu", "1280", "--drop-fragments"]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let share = dir.path().join("share");
    let out = dir.path().join("out");
    std::fs::create_dir_all(&share).unwrap();
    // Pseudo-random bytes (xorshift), so that nothing compresses or repeats block to block.
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let content: Vec<u8> = (0..(64 << 20) / 8)
        .flat_map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()
        })
        .collect();
    let file = dir.path().join("big.bin");
    std::fs::write(&file, &content).unwrap();
    let shared = finish(
        common::ejtp()
            .arg("share")
            .arg("--dir")
            .arg(&share)
            .arg(&file),
    );
    let id = shared
        .stdout
        .split_whitespace()
        .next()
        .unwrap_or_else(|| panic!("ejtp share printed no id: {shared:#?}"))
        .to_string();
    let (identity, _) = keygen(dir.path(), "pub.json", CALLSIGN);
    let public = LabNode::start(
        &lab,
        "pub",
        &identity,
        PUBLIC,
        &["--share", share.to_str().unwrap()],
    );
    let done = finish(
        lab.ejtp("a")
            .args(["fetch", &id, "--peer", PUBLIC, "--timeout", "120", "--out"])
            .arg(&out),
    );
    assert!(
        done.code() == Some(0),
        "the fetch failed\n--- ejtp fetch: {done:#?}\n--- public node:\n{}\n--- lab:\n{}",
        public.log(),
        lab.report()
    );
    eprintln!("{}", done.stdout);
    let fetched = std::fs::read(out.join(&id)).unwrap();
    assert!(
        fetched == content,
        "the fetched file differs from the shared one"
    );
}
