//! What the node and group targets share: two nodes with fixed identities and seeds that
//! already hold a Noise session with each other, so that fuzzed bytes from the peer's address
//! meet live session state.

use core::time::Duration;

use ejtp_proto::{Address, Config, Identity, Instant, Node, TransportAddr, UnixMillis};
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

/// A peer that runs the Noise handshake by hand with the public crypto API, so that it can
/// seal any plaintext in a session frame to a node: fuzzed bytes then reach the code behind
/// decryption, which a peer built from a `Node` would only ever send well-formed frames to.
pub struct HandPeer {
    session: ejtp_proto::crypto::session::Session,
    /// The node's index for the session (the receiver index of frames to it).
    node_index: u32,
    /// The node's address, as frames to it name it.
    node_address: Address,
    /// The next AEAD counter.
    counter: u64,
}

impl HandPeer {
    /// Runs a handshake from `from` (signing as `identity`) with `node`, whose address is
    /// `node_address`; `None` if the node does not answer as expected.
    pub fn handshake(
        node: &mut Node,
        now: Instant,
        identity: &Identity,
        from: TransportAddr,
        node_address: Address,
    ) -> Option<Self> {
        use ejtp_proto::crypto::body::{self, RBody};
        use ejtp_proto::crypto::handshake::{HandshakeTime, InitiatorHandshake};
        use ejtp_proto::frame::{self, Frame};

        let mut rng = ejtp_proto::CoreRng::from_seed([33; 32]);
        let (handshake, message1) =
            InitiatorHandshake::start(
                &mut rng,
                identity,
                &node.public_key(),
                HandshakeTime::after(HandshakeTime::default(), WALL),
            )
            .ok()?;
        let my_index = 0x5eed_0001;
        let mut init = frame::sealed_prefix(&node_address);
        body::write_handshake_init(&mut init, my_index, &message1);
        node.handle_datagram(now, from, &init);
        while let Some(transmit) = node.poll_transmit() {
            let Ok(Frame::Sealed { body, .. }) = frame::decode(&transmit.payload) else {
                continue;
            };
            if let Ok(RBody::HandshakeResponse {
                sender_index,
                receiver_index,
                message,
            }) = RBody::decode(body)
            {
                if receiver_index != my_index {
                    continue;
                }
                let keys = handshake.finish(message).ok()?;
                while node.poll_transmit().is_some() {}
                return Some(Self {
                    session: ejtp_proto::crypto::session::Session::new(keys),
                    node_index: sender_index,
                    node_address,
                    counter: 0,
                });
            }
        }
        None
    }

    /// A session frame to the node carrying `plaintext`, as the node itself seals them.
    pub fn seal(&mut self, plaintext: &[u8]) -> Option<Vec<u8>> {
        let mut frame = ejtp_proto::frame::sealed_prefix(&self.node_address);
        ejtp_proto::crypto::body::write_session_header(
            &mut frame,
            0,
            self.node_index,
            self.counter,
        );
        let aad = frame.clone();
        self.session
            .seal(self.counter, &aad, plaintext, &mut frame)
            .ok()?;
        self.counter += 1;
        Some(frame)
    }
}
