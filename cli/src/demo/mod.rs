//! `ejtp demo`: three nodes in one process, each step of the protocol narrated and checked.

mod group;
mod mallory;
mod member;
mod steps;
mod swarm;

use proto_core::{Config, PublicIdentity};

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
                Config {
                    max_mailboxes: 8,
                    ..Config::default()
                },
                ([127, 0, 0, 1], 0).into(),
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

/// Runs every step, printing ✓ or ✗ for each; fails unless every step worked.
pub(crate) fn demo() -> Result<(), CliError> {
    console::line("ejtp demo: three nodes in this process, alice, relay and bob, on 127.0.0.1.")?;
    let mut cast = Cast::start()?;
    for member in [&cast.alice, &cast.relay, &cast.bob] {
        console::line(introduce(member))?;
    }
    let mut failed = 0usize;
    for (number, (title, step)) in steps::STEPS.iter().enumerate() {
        console::line("")?;
        console::line(format_args!("{}. {title}", number + 1))?;
        match step(&mut cast) {
            Ok(checked) => console::line(format_args!("   ✓ {checked}"))?,
            Err(problem) => {
                failed += 1;
                console::line(format_args!("   ✗ {problem}"))?;
            }
        }
    }
    let stopped = cast.stop();
    console::line("")?;
    let total = steps::STEPS.len();
    if failed > 0 {
        return Err(CliError::failure(format!(
            "{failed} of {total} demo steps failed"
        )));
    }
    stopped.map_err(CliError::failure)?;
    console::line(format_args!("All {total} steps worked."))
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
