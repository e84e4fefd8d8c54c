//! Helpers shared by the simulation tests.

#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use ejtp_proto::sim::{LinkConfig, Loss};
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

/// A 5 ms link with random `loss`, `duplicate`d copies, up to `jitter_ms` of jitter and a
/// `reorder` chance: what the proptests over NATs draw.
pub fn faulty_link(loss: f64, duplicate: f64, jitter_ms: u64, reorder: f64) -> LinkConfig {
    LinkConfig {
        loss: Loss::Random(loss),
        duplicate,
        delay: Duration::from_millis(5),
        jitter: Duration::from_millis(jitter_ms),
        reorder,
        ..LinkConfig::PERFECT
    }
}
