//! Helpers shared by the simulation tests.

#![allow(dead_code, unreachable_pub)]

use ejtp_proto::{Command, Event, Message, PublicIdentity};
use ejtp_testvectors::sim::SimNetwork;
use serde_json::Value;

/// Sends `value` from client `from` of node `node` to `to`.
pub fn send(net: &mut SimNetwork, node: usize, from: &str, to: &PublicIdentity, value: Value) {
    send_via(net, node, from, to, &[], value);
}

/// Sends through relays.
pub fn send_via(
    net: &mut SimNetwork,
    node: usize,
    from: &str,
    to: &PublicIdentity,
    via: &[PublicIdentity],
    value: Value,
) {
    net.command(
        node,
        Command::Send {
            from: from.into(),
            to: to.clone(),
            via: via.to_vec(),
            value,
        },
    )
    .expect("send is accepted");
}

/// The messages among `events`, with the node each arrived at.
pub fn messages(events: &[(usize, Event)]) -> Vec<(usize, Message)> {
    events
        .iter()
        .filter_map(|(node, event)| match event {
            Event::Message(message) => Some((*node, message.clone())),
            _ => None,
        })
        .collect()
}
