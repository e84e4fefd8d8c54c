//! One node of the demo, with a backlog so that waiting for one event never loses another.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use ejtp_std::{Node, NodeOptions};
use std::net::SocketAddr;
use std::path::Path;

use ejtp_proto::RoutingEvent;
use ejtp_proto::{Config, Event, Identity, Message, PublicIdentity, Stats};

use crate::error::{CliError, node_reason};

/// How long any one wait of the demo lasts at most.
pub(super) const WAIT: Duration = Duration::from_secs(5);

/// A demo node: its name (also its client's callsign), the node, and events not yet claimed.
pub(super) struct Member {
    pub(super) name: &'static str,
    pub(super) node: Node,
    backlog: VecDeque<Event>,
}

impl Member {
    /// Starts a node for `name` on ephemeral loopback ports (TCP too if `tcp`).
    pub(super) fn start(name: &'static str, tcp: bool) -> Result<Self, CliError> {
        let loopback = ([127, 0, 0, 1], 0).into();
        Self::start_with(
            name,
            tcp,
            new_identity()?,
            Config::default(),
            loopback,
            None,
        )
    }

    /// Starts a node for `name` with this identity and configuration, on `udp` (TCP too, on
    /// an ephemeral loopback port, if `tcp`), keeping its replay journal in `journal` if given.
    pub(super) fn start_with(
        name: &'static str,
        tcp: bool,
        identity: Identity,
        config: Config,
        udp: SocketAddr,
        journal: Option<&Path>,
    ) -> Result<Self, CliError> {
        let mut options = NodeOptions::new(identity)
            .udp(udp)
            .client(name)
            .config(config);
        if let Some(journal) = journal {
            options = options.replay_journal(journal);
        }
        if tcp {
            options = options.tcp(([127, 0, 0, 1], 0).into());
        }
        let node = Node::bind(options).map_err(|err| {
            CliError::failure(format!("cannot start {name}'s node: {}", node_reason(&err)))
        })?;
        Ok(Self {
            name,
            node,
            backlog: VecDeque::new(),
        })
    }

    /// This member's UDP address.
    pub(super) fn udp_addr(&self) -> Result<SocketAddr, String> {
        self.node
            .udp_addrs()
            .first()
            .copied()
            .ok_or_else(|| format!("{} has no UDP address", self.name))
    }

    /// How peers reach this member's client over UDP.
    pub(super) fn udp_identity(&self) -> PublicIdentity {
        self.node.public_identity(self.name)
    }

    /// Sends `value` from this member's client.
    pub(super) fn send(
        &self,
        to: &PublicIdentity,
        via: &[PublicIdentity],
        value: serde_json::Value,
    ) -> Result<(), String> {
        self.node
            .handle()
            .send_via(self.name, to, via, value)
            .map(drop)
            .map_err(|err| format!("{} could not send: {}", self.name, node_reason(&err)))
    }

    /// Tells this member's node that `other` is reached at its UDP address.
    pub(super) fn add_route_to(&self, other: &Self) -> Result<(), String> {
        let address = other.udp_identity().location.without_callsign();
        match self
            .node
            .handle()
            .add_route(&other.node.public_key(), &address, None)
        {
            Ok(true) => Ok(()),
            Ok(false) => Err(format!("{} refused the route to {}", self.name, other.name)),
            Err(err) => Err(format!("{}: {}", self.name, node_reason(&err))),
        }
    }

    /// Sends `value` from this member's client to the client `callsign` of the node with `key`,
    /// by key alone.
    pub(super) fn send_to_peer(
        &self,
        key: &ejtp_proto::PublicKey,
        callsign: &str,
        value: serde_json::Value,
    ) -> Result<(), String> {
        self.node
            .handle()
            .send_to_peer(self.name, key, callsign, value)
            .map(drop)
            .map_err(|err| format!("{} could not send: {}", self.name, node_reason(&err)))
    }

    /// Waits until a lookup of `peer` accepted a record; the record's sequence number.
    pub(super) fn peer_found(&mut self, peer: ejtp_proto::NodeId) -> Option<u64> {
        self.wait_for(WAIT, |event| match event {
            Event::Routing(RoutingEvent::PeerFound {
                peer: found,
                record_seq,
            }) if *found == peer => Some(*record_seq),
            _ => None,
        })
    }

    /// The node's counters.
    pub(super) fn stats(&self) -> Result<Stats, String> {
        self.node.handle().stats().map_err(|err| {
            format!(
                "cannot read {}'s counters: {}",
                self.name,
                node_reason(&err)
            )
        })
    }

    /// The first event (from the backlog, then as they come, for at most `timeout`) for which
    /// `pick` returns something; the events passed over stay in the backlog.
    pub(super) fn wait_for<T>(
        &mut self,
        timeout: Duration,
        mut pick: impl FnMut(&Event) -> Option<T>,
    ) -> Option<T> {
        if let Some(position) = self.backlog.iter().position(|event| pick(event).is_some()) {
            return self.backlog.remove(position).as_ref().and_then(pick);
        }
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            let event = self.node.events().recv_timeout(left)?;
            if let Some(found) = pick(&event) {
                return Some(found);
            }
            self.backlog.push_back(event);
        }
    }

    /// The next message with this value, waiting at most `timeout`.
    pub(super) fn message(
        &mut self,
        value: &serde_json::Value,
        timeout: Duration,
    ) -> Option<Message> {
        self.wait_for(timeout, |event| match event {
            Event::Message(message) if message.value == *value => Some(message.clone()),
            _ => None,
        })
    }

    /// Whether any message has arrived (looking at what is already queued, without waiting).
    pub(super) fn has_messages(&mut self) -> bool {
        while let Some(event) = self.node.events().try_recv() {
            self.backlog.push_back(event);
        }
        self.backlog
            .iter()
            .any(|event| matches!(event, Event::Message(_)))
    }

    /// Stops the node.
    pub(super) fn stop(self) -> Result<(), String> {
        self.node
            .shutdown()
            .map_err(|err| format!("{} did not stop cleanly: {}", self.name, node_reason(&err)))
    }
}

/// A fresh identity from the operating system's randomness.
pub(super) fn new_identity() -> Result<Identity, CliError> {
    let seed = ejtp_adapter_core::os_seed()
        .map_err(|err| CliError::failure(format!("cannot draw randomness: {err}")))?;
    Ok(Identity::generate(&mut ejtp_proto::CoreRng::from_seed(
        seed,
    )))
}
