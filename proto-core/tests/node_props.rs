//! A node fed arbitrary bytes from the network never panics and never delivers anything.

use ejtp_proto::{
    Address, Config, Event, Identity, Instant, Node, Output, TransportAddr, UnixMillis,
};
use proptest::prelude::*;

fn bob() -> Node {
    let wall = UnixMillis(1_700_000_000_000);
    let mut node = Node::new(
        Config::default(),
        Identity::from_secret_bytes(&[2; 32]),
        [2; 32],
        Instant::ZERO,
        wall,
    );
    node.add_local_address(Address::udp("127.0.0.1:9002".parse().unwrap(), None))
        .unwrap();
    node.add_client("bob").unwrap();
    node
}

/// Bytes that often look like the start of a frame, so that decoding gets past the first byte.
fn frame_like() -> impl Strategy<Value = Vec<u8>> {
    let prefix = prop_oneof![
        Just(b"".to_vec()),
        Just(br#"r["udp4",["127.0.0.1",9002],"bob"]"#.to_vec()),
        Just(b"r[\"local\",null,\"bob\"]\0\x01\x00".to_vec()),
        Just(b"r[\"local\",null,\"bob\"]\0\x02\x00".to_vec()),
        Just(b"r[\"local\",null,\"bob\"]\0\x03".to_vec()),
        Just(b"s[\"udp4\"]\0".to_vec()),
        Just(b"cz\0x\x9c".to_vec()),
    ];
    (prefix, proptest::collection::vec(any::<u8>(), 0..300)).prop_map(|(mut prefix, tail)| {
        prefix.extend(tail);
        prefix
    })
}

fn delivered(node: &mut Node) -> usize {
    std::iter::from_fn(|| node.poll_output())
        .filter(|output| matches!(output, Output::Event(Event::Message(_))))
        .count()
}

proptest! {
    #[test]
    fn arbitrary_datagrams_deliver_nothing(datagrams in proptest::collection::vec(frame_like(), 1..8)) {
        let mut node = bob();
        let from = TransportAddr::udp("192.0.2.7:1234".parse().unwrap());
        for (n, datagram) in datagrams.iter().enumerate() {
            node.handle_datagram(Instant::from_millis(n as u64), from, datagram);
        }
        node.handle_timeout(Instant::from_millis(1_000_000));
        prop_assert_eq!(delivered(&mut node), 0);
    }

    #[test]
    fn arbitrary_stream_bytes_deliver_nothing(chunks in proptest::collection::vec(frame_like(), 1..8), hex_prefix in any::<bool>()) {
        let mut node = bob();
        let from = TransportAddr::tcp("192.0.2.7:1234".parse().unwrap());
        for chunk in &chunks {
            let mut data = Vec::new();
            if hex_prefix {
                data.extend(format!("{:x}.", chunk.len().max(1)).as_bytes());
            }
            data.extend(chunk);
            node.handle_stream_data(Instant::ZERO, from, &data);
        }
        prop_assert_eq!(delivered(&mut node), 0);
    }
}
