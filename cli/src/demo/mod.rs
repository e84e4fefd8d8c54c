//! `ejtp demo`: a small network of nodes in one process (alice, a relay and bob, then the
//! nodes each later step starts), every step of the protocol narrated, checked and timed.

mod group;
mod mallory;
mod member;
mod scratch;
mod steps;
mod swarm;

use std::time::Instant;

use ejtp_proto::{Config, PublicIdentity};

use crate::console;
use crate::error::CliError;
use mallory::Mallory;
use member::Member;

/// Everyone in the demo.
pub(super) struct Cast {
    alice: Member,
    relay: Member,
    bob: Member,
    mallory: Mallory,
    /// Alice as bob saw her in the first message: the address to answer to.
    alice_as_bob_saw_her: Option<PublicIdentity>,
    /// The group steps' own nodes, once the group is formed.
    group: Option<group::GroupCast>,
}

impl Cast {
    fn start() -> Result<Self, CliError> {
        Ok(Self {
            alice: Member::start("alice", false)?,
            relay: Member::start_with(
                "relay",
                false,
                member::new_identity()?,
                // The relay keeps mailboxes for store-and-forward.
                Config::default().with_max_mailboxes(8),
                ([127, 0, 0, 1], 0).into(),
                None,
            )?,
            bob: Member::start("bob", true)?,
            mallory: Mallory::bind()
                .map_err(|err| CliError::failure(format!("cannot open Mallory's socket: {err}")))?,
            alice_as_bob_saw_her: None,
            group: None,
        })
    }

    fn stop(self) -> Result<(), String> {
        let group = self.group.map_or(Ok(()), group::GroupCast::stop);
        let results = [self.alice.stop(), self.relay.stop(), self.bob.stop(), group];
        results.into_iter().collect()
    }
}

/// The nodes there from the start.
const FIRST: [&str; 3] = ["alice", "relay", "bob"];

/// What to try after the demo: the same things between processes.
const NEXT: &[&str] = &[
    "Next, try it between terminals:",
    "  ejtp keygen --out bob.json --callsign bob",
    "  ejtp run --identity bob.json --udp 127.0.0.1:7000      # prints bob's key",
    "  ejtp keygen --out alice.json --callsign alice",
    "  ejtp send --identity alice.json --to 127.0.0.1:7000 --key <bob's key> --callsign bob '{\"hi\":1}'",
    "  ejtp chat --help, ejtp share --help and ejtp fetch --help for groups and files",
];

/// The first line: how many nodes the demo starts, and their names (each its own).
fn header() -> String {
    let later: Vec<&str> = steps::LATER
        .iter()
        .chain(&group::NAMES)
        .chain(&swarm::NAMES)
        .copied()
        .collect();
    let (last, rest) = later.split_last().map_or(("", &[][..]), |(l, r)| (*l, r));
    format!(
        "ejtp demo: {} nodes in this process on 127.0.0.1, each with a name of its own: {}, {} \
         and {} from the start; {} and {last} when their steps come. mallory is no node: a \
         socket on the path between alice and bob.",
        FIRST.len() + later.len(),
        FIRST[0],
        FIRST[1],
        FIRST[2],
        rest.join(", "),
    )
}

/// Runs every step, printing ✓ or ✗ and the time taken for each; fails unless every step
/// worked.
pub(crate) fn demo() -> Result<(), CliError> {
    let started = Instant::now();
    console::line(header())?;
    let mut cast = Cast::start()?;
    for member in [&cast.alice, &cast.relay, &cast.bob] {
        console::line(introduce(member))?;
    }
    let mut failed = 0usize;
    for (number, (title, step)) in steps::STEPS.iter().enumerate() {
        console::line("")?;
        console::line(format_args!("{}. {title}", number + 1))?;
        let began = Instant::now();
        let outcome = step(&mut cast);
        let took = began.elapsed().as_millis();
        match outcome {
            Ok(checked) => {
                let checked = checked.trim_end_matches('.');
                console::line(format_args!("   ✓ {checked} ({took} ms)"))?;
            }
            Err(problem) => {
                failed += 1;
                console::line(format_args!("   ✗ {problem} ({took} ms)"))?;
            }
        }
    }
    let stopped = cast.stop();
    console::line("")?;
    let total = steps::STEPS.len();
    let seconds = started.elapsed().as_secs_f64();
    if failed > 0 {
        return Err(CliError::failure(format!(
            "{failed} of {total} demo steps failed (in {seconds:.1} s)"
        )));
    }
    stopped.map_err(CliError::failure)?;
    console::line(format_args!("All {total} steps worked in {seconds:.1} s."))?;
    console::line("")?;
    for line in NEXT {
        console::line(line)?;
    }
    Ok(())
}

/// "  bob    udp 127.0.0.1:40001, tcp 127.0.0.1:40002   node id 3f2a9c01…"
fn introduce(member: &Member) -> String {
    let mut addresses: Vec<String> = member
        .node
        .udp_addrs()
        .iter()
        .map(|addr| format!("udp {addr}"))
        .collect();
    addresses.extend(
        member
            .node
            .tcp_addrs()
            .iter()
            .map(|addr| format!("tcp {addr}")),
    );
    let id = member.node.node_id().to_string();
    format!(
        "  {:<5}  {:<40}  node id {}…",
        member.name,
        addresses.join(", "),
        id.get(..16).unwrap_or(&id)
    )
}
