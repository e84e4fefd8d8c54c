//! Helpers shared by the integration tests: nodes on loopback, bounded waits.

// Each test file uses a different part of this module.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ejtp_std::TransportEvent;
use ejtp_std::{Event, Events, Identity, Message, Node, NodeOptions, PublicIdentity};

pub(crate) mod probe;

/// How long any test waits for anything: generous, as loopback answers in microseconds.
pub(crate) const WAIT: Duration = Duration::from_secs(5);

/// 127.0.0.1 with a port the system picks.
pub(crate) fn v4() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// ::1 with a port the system picks.
pub(crate) fn v6() -> SocketAddr {
    SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, 0))
}

/// Options for a node with a test identity and seed drawn from `n`, hosting `callsign`.
pub(crate) fn options(n: u8, callsign: &str) -> NodeOptions {
    NodeOptions::new(Identity::from_secret_bytes(&[n; 32]))
        .seed([n.wrapping_add(100); 32])
        .client(callsign)
}

/// A node on UDP at `addr`, hosting `callsign`.
pub(crate) fn udp_node(n: u8, callsign: &str, addr: SocketAddr) -> Node {
    Node::bind(options(n, callsign).udp(addr)).expect("the node binds")
}

/// The next event that `pick` accepts, skipping the others; panics after [`WAIT`].
pub(crate) fn wait_for<T>(
    events: &Events,
    what: &str,
    mut pick: impl FnMut(Event) -> Option<T>,
) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline
            .checked_duration_since(Instant::now())
            .unwrap_or_else(|| panic!("no {what} within {WAIT:?}"));
        let event = events
            .recv_timeout(left)
            .unwrap_or_else(|| panic!("no {what} within {WAIT:?}"));
        if let Some(found) = pick(event) {
            return found;
        }
    }
}

/// The next message delivered, skipping other events; panics after [`WAIT`].
pub(crate) fn next_message(events: &Events) -> Message {
    wait_for(events, "message", |event| match event {
        Event::Message(message) => Some(message),
        _ => None,
    })
}

/// Waits until a session with `peer` is up; panics after [`WAIT`].
pub(crate) fn session_with(events: &Events, peer: ejtp_proto::NodeId) {
    wait_for(events, "session", |event| match event {
        Event::Transport(TransportEvent::SessionEstablished { peer: up }) if up == peer => Some(()),
        _ => None,
    });
}

/// Where to answer the sender of `message`: its signed address and its verified key.
pub(crate) fn reply_to(message: &Message) -> PublicIdentity {
    PublicIdentity {
        name: "sender".to_string(),
        location: message.from.address.clone(),
        key: message.from.key,
    }
}
