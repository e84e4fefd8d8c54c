//! `Node::handle_stream_data`: fuzzed TCP bytes from the session peer's address, in chunks
//! whose size the first byte chooses; then every output drained and the timers run.
#![no_main]

use libfuzzer_sys::fuzz_target;

use ejtp_fuzz::Pair;

fuzz_target!(|data: &[u8]| {
    let Some((&chunk, rest)) = data.split_first() else {
        return;
    };
    let mut pair = Pair::with_session();
    for piece in rest.chunks(usize::from(chunk).max(1)) {
        pair.bob.handle_stream_data(pair.now, pair.alice_tcp, piece);
        while pair.bob.poll_transmit().is_some() {}
    }
    pair.settle_bob();
});
