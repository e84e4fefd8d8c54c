//! The code behind decryption: a peer runs a real Noise handshake with the node, then seals
//! the fuzz input as the plaintext of session frames (split where the first byte says, so a
//! valid first frame can be followed by a hostile second). Every output is drained and the
//! timers run.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ejtp_proto::{Address, Identity};

use ejtp_fuzz::{HandPeer, Pair};

fuzz_target!(|data: &[u8]| {
    let Some((&split, rest)) = data.split_first() else {
        return;
    };
    let mut pair = Pair::with_session();
    // A third identity, so the node's session with alice stays as it is.
    let carol = Identity::from_secret_bytes(&[3; 32]);
    let from = "udp:127.0.0.1:9003".parse().expect("an address");
    let node_address = Address::udp("127.0.0.1:9002".parse().expect("an address"), None);
    let Some(mut peer) = HandPeer::handshake(&mut pair.bob, pair.now, &carol, from, node_address)
    else {
        panic!("the node did not complete a handshake with a well-behaved peer");
    };
    let (first, second) = rest.split_at(usize::from(split).min(rest.len()));
    // (No check through `dropped_crypto` that the frames opened: that counter also counts a
    // bad signature on an inner frame, which a fuzzed plaintext may well carry. The handshake
    // above proves the session is live, and the seed corpus holds well-formed inner frames.)
    for plaintext in [first, second] {
        if let Some(frame) = peer.seal(plaintext) {
            pair.bob.handle_datagram(pair.now, from, &frame);
            while pair.bob.poll_transmit().is_some() {}
        }
    }
    pair.settle_bob();
});
