//! What `ejtp chat` prints: one line per group event on stdout, warnings on stderr.

use std::fmt::Display;

use ejtp_proto::group::{GroupEvent, Roster};
use serde_json::Value;

use crate::console;
use crate::error::CliError;

/// Prints a warning line on stderr (the chat goes on).
pub(crate) fn warning(text: impl Display) {
    eprintln!("ejtp: {text}");
}

/// The members, the admitting peer marked: `members: alice (admitting), bob, carol`.
pub(crate) fn peers(roster: Option<&Roster>) -> Result<(), CliError> {
    let Some(roster) = roster else {
        warning("not in the group yet");
        return Ok(());
    };
    console::line(format_args!("members: {}", names(roster)))
}

fn names(roster: &Roster) -> String {
    roster
        .members
        .iter()
        .map(|member| {
            if member.key == roster.host {
                format!("{} (admitting)", member.name)
            } else {
                member.name.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A message body: a string as it is, anything else as JSON.
fn body(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// The line for a group event, if it has one.
pub(crate) fn event(event: &GroupEvent, is_host: bool) -> Result<(), CliError> {
    let line = match event {
        GroupEvent::Joined { roster } if is_host => {
            format!("created the group; members: {}", names(roster))
        }
        GroupEvent::Joined { roster } => format!("joined; members: {}", names(roster)),
        GroupEvent::MemberJoined { member } => format!("+ {} joined", member.name),
        GroupEvent::MemberLeft { member } => format!("- {} left", member.name),
        GroupEvent::MemberTimedOut { member } => format!("- {} timed out", member.name),
        GroupEvent::Message {
            from,
            direct,
            body: value,
            ..
        } => {
            let direct = if *direct { " (direct)" } else { "" };
            format!("<{}>{direct} {}", from.name, body(value))
        }
        GroupEvent::HostSilent => "the admitting peer is silent; joining again".to_string(),
        GroupEvent::Removed => "removed from the group; joining again".to_string(),
        GroupEvent::HostLeft => "the admitting peer closed the group".to_string(),
        GroupEvent::JoinRejected {
            peer,
            address,
            reason,
        } => format!(
            "refused a join from {peer} at {}: {reason}",
            address.to_strict_json()
        ),
        GroupEvent::Banned { bans } => {
            let until = bans.first().map_or(0, |ban| ban.until.0);
            let targets: Vec<String> = bans
                .iter()
                .map(|ban| match &ban.target {
                    ejtp_proto::group::BanTarget::Peer(id) => format!("peer {id}"),
                    ejtp_proto::group::BanTarget::Address(address) => {
                        format!("address {}", address.to_strict_json())
                    }
                    _ => "another target".to_string(),
                })
                .collect();
            format!("banned {} until {until} (Unix ms)", targets.join(" and "))
        }
        // Roster versions, refusals and failures are told by other lines or by the exit.
        _ => return Ok(()),
    };
    console::line(line)
}
