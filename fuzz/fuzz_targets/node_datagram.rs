//! `Node::handle_datagram` on a node holding a live session: fuzzed datagrams from the
//! session peer's address, from a stranger, and mutations of a real session frame (so that
//! the bytes reach the session's checks), then every output drained and the timers run.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ejtp_proto::TransportAddr;
use serde_json::json;

use ejtp_fuzz::Pair;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut pair = Pair::with_session();
    let stranger: TransportAddr = "udp:127.0.0.1:9999".parse().expect("an address");
    match mode % 3 {
        0 => pair.bob.handle_datagram(pair.now, pair.alice_udp, rest),
        1 => pair.bob.handle_datagram(pair.now, stranger, rest),
        _ => {
            // A real session frame from alice with the fuzz bytes laid over it: headers and
            // counters that are nearly right get further than random ones.
            let bob = pair.bob.public_identity("bob", "bob");
            pair.alice
                .send(pair.now, "alice", &bob, json!({"n": 3}))
                .expect("sent");
            let Some(transmit) = pair.alice.poll_transmit() else {
                return;
            };
            let mut frame = transmit.payload.clone();
            for (at, byte) in rest.chunks(2).filter_map(|pair| match pair {
                [at, byte] => Some((usize::from(*at), *byte)),
                _ => None,
            }) {
                if let Some(slot) = frame.get_mut(at) {
                    *slot ^= byte;
                }
            }
            pair.bob.handle_datagram(pair.now, pair.alice_udp, &frame);
        }
    }
    pair.settle_bob();
});
