//! What the node and group targets share: two nodes with fixed identities and seeds that
//! already hold a Noise session with each other, so that fuzzed bytes from the peer's address
//! meet live session state.

use core::time::Duration;

use proto_core::{Address, Config, Identity, Instant, Node, TransportAddr, UnixMillis};
use serde_json::json;

/// The wall clock both nodes start at.
pub const WALL: UnixMillis = UnixMillis(1_700_000_000_000);

/// Alice (the peer the fuzzed bytes claim to come from) and bob (the node under test).
pub struct Pair {
    /// The peer.
    pub alice: Node,
    /// The node under test.
    pub bob: Node,
    /// Alice's UDP address.
    pub alice_udp: TransportAddr,
    /// Alice's TCP address.
    pub alice_tcp: TransportAddr,
    /// The time after the setup.
    pub now: Instant,
}

impl Pair {
    /// Two nodes that exchanged a message each way over UDP: bob holds a confirmed session
    /// with alice.
    pub fn with_session() -> Self {
        let now = Instant::ZERO;
        let node = |secret: u8, seed: u8, port: u16, client: &str| {
            let mut node = Node::new(
                Config::default(),
                Identity::from_secret_bytes(&[secret; 32]),
                [seed; 32],
                now,
                WALL,
            );
            let udp = format!("127.0.0.1:{port}").parse().expect("an address");
            node.add_local_address(Address::udp(udp, None))
                .expect("room for an address");
            node.add_local_address(Address::tcp(udp, None))
                .expect("room for an address");
            node.add_client(client).expect("a valid callsign");
            node
        };
        let mut pair = Self {
            alice: node(1, 11, 9001, "alice"),
            bob: node(2, 22, 9002, "bob"),
            alice_udp: "udp:127.0.0.1:9001".parse().expect("an address"),
            alice_tcp: "tcp:127.0.0.1:9001".parse().expect("an address"),
            now,
        };
        let bob = pair.bob.public_identity("bob", "bob");
        let alice = pair.alice.public_identity("alice", "alice");
        pair.alice
            .send(now, "alice", &bob, json!({"n": 1}))
            .expect("sent");
        pair.pump();
        pair.bob
            .send(pair.now, "bob", &alice, json!({"n": 2}))
            .expect("sent");
        pair.pump();
        pair
    }

    /// Delivers datagrams both ways (1 ms a hop) until neither node sends; drains events.
    pub fn pump(&mut self) {
        let bob_udp: TransportAddr = "udp:127.0.0.1:9002".parse().expect("an address");
        for _ in 0..32 {
            let mut moved = false;
            self.now = self.now + Duration::from_millis(1);
            while let Some(transmit) = self.alice.poll_transmit() {
                moved = true;
                self.bob
                    .handle_datagram(self.now, self.alice_udp, &transmit.payload);
            }
            while let Some(transmit) = self.bob.poll_transmit() {
                moved = true;
                self.alice
                    .handle_datagram(self.now, bob_udp, &transmit.payload);
            }
            while self.alice.poll_event().is_some() {}
            while self.bob.poll_event().is_some() {}
            if !moved {
                return;
            }
        }
    }

    /// Drains everything bob has to say, then runs his timers once, a while later.
    pub fn settle_bob(&mut self) {
        while self.bob.poll_transmit().is_some() {}
        while self.bob.poll_event().is_some() {}
        let later = self.now + Duration::from_secs(200);
        if let Some(timeout) = self.bob.poll_timeout() {
            assert!(timeout.at >= self.now, "a timeout in the past");
        }
        self.bob.handle_timeout(later);
        while self.bob.poll_transmit().is_some() {}
        while self.bob.poll_event().is_some() {}
    }
}
