//! Real datagrams to replay: what a throwaway identity's `ejtp_proto::Node` sends a peer when
//! it first sends it a message (its Noise handshake init, then the message sealed to the peer).
//!
//! Sent once, the message is delivered; every copy after that must be refused as a replay (or,
//! past the clock-skew window, as stale), from whatever address it comes.

use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use ejtp_proto::{Address, Config, Identity, Instant, Node, PublicIdentity, UnixMillis};
use serde_json::Value;

/// The callsign the throwaway identity sends from.
pub const FROM: &str = "mallory";

/// The datagrams a new node with the identity `secret` (and node seed `seed`), bound at `from`,
/// sends to `to` for one message `value`, in the order it sends them; `Err` with the node's
/// words if it refuses.
pub fn capture(
    secret: &[u8; 32],
    seed: [u8; 32],
    from: SocketAddr,
    to: &PublicIdentity,
    value: Value,
) -> Result<Vec<Vec<u8>>, String> {
    let wall = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as u64);
    let now = Instant::from_micros(1);
    let mut node = Node::new(
        Config::default(),
        Identity::from_secret_bytes(secret),
        seed,
        now,
        UnixMillis(wall),
    );
    node.add_local_address(Address::udp(from, None))
        .map_err(|err| format!("{err:?}"))?;
    node.add_client(FROM).map_err(|err| format!("{err:?}"))?;
    node.send(now, FROM, to, value)
        .map_err(|err| format!("{err:?}"))?;
    let destination = to.location.transport();
    let mut datagrams = Vec::new();
    while let Some(transmit) = node.poll_transmit() {
        if Some(transmit.to) == destination {
            datagrams.push(transmit.payload);
        }
    }
    Ok(datagrams)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ejtp_proto::TransportAddr;

    #[test]
    fn a_first_message_is_a_handshake_init_then_the_sealed_message() {
        let bob_addr = SocketAddr::from(([127, 0, 0, 1], 9_002));
        let mut bob = Node::new(
            Config::default(),
            Identity::from_secret_bytes(&[2; 32]),
            [2; 32],
            Instant::from_micros(1),
            UnixMillis(1),
        );
        bob.add_local_address(Address::udp(bob_addr, None)).unwrap();
        bob.add_client("bob").unwrap();
        let to = bob.public_identity("bob", "bob");
        let from = SocketAddr::from(([127, 0, 0, 1], 9_001));
        let datagrams = capture(&[1; 32], [1; 32], from, &to, serde_json::json!("hi")).unwrap();
        // Each an `r` frame: `r`, the address, NUL, then the body's kind byte.
        let kinds: Vec<u8> = datagrams
            .iter()
            .map(|datagram| {
                assert_eq!(datagram.first(), Some(&b'r'));
                let nul = datagram.iter().position(|byte| *byte == 0).unwrap();
                datagram[nul + 1]
            })
            .collect();
        assert_eq!(
            kinds,
            [0x03, 0x01],
            "a handshake init, then the sealed message"
        );
        assert_eq!(to.location.transport(), Some(TransportAddr::udp(bob_addr)));
    }
}
