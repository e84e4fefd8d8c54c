//! What the node's unit tests share: nodes with fixed keys, seeds and clock, on 127.0.0.1.

use super::*;
use crate::address::Address;

/// The wall clock every test node starts at.
pub(in crate::node) const WALL: UnixMillis = UnixMillis(1_700_000_000_000);

/// The context of a sub-machine tested alone: test key 5, seed 9, started at zero, at
/// [`WALL`].
pub(in crate::node) fn test_context(config: Config) -> context::Context {
    context::Context::new(
        config,
        Identity::from_secret_bytes(&[5; 32]),
        [9; 32],
        Instant::ZERO,
        WALL,
    )
}

/// The UDP address of test node `key`: 127.0.0.1, port 9000 + `key`, with `callsign`.
pub(super) fn udp_address(key: u8, callsign: Option<&str>) -> Address {
    let port = 9000 + u16::from(key);
    Address::udp(
        core::net::SocketAddr::from(([127, 0, 0, 1], port)),
        callsign,
    )
}

/// A node whose secret key and seed are `[key; 32]`, started at zero and reached at
/// [`udp_address`].
pub(super) fn udp_node(key: u8, config: Config) -> Node {
    let mut node = Node::new(
        config,
        Identity::from_secret_bytes(&[key; 32]),
        [key; 32],
        Instant::ZERO,
        WALL,
    );
    node.add_local_address(udp_address(key, None)).unwrap();
    node
}

/// [`udp_node`] with one client.
pub(super) fn udp_node_with_client(key: u8, config: Config, callsign: &str) -> Node {
    let mut node = udp_node(key, config);
    node.add_client(callsign).unwrap();
    node
}
