//! CJP2P datagrams: the fast path and the general parser agree on every input, and what
//! parses encodes and parses back to the same messages.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ejtp_proto::cjp2p::parse::parse_general;
use ejtp_proto::cjp2p::{encode_datagram, parse_datagram};

const MAX_ELEMENTS: usize = 128;

fuzz_target!(|data: &[u8]| {
    let parsed = parse_datagram(data, MAX_ELEMENTS);
    assert_eq!(
        parsed,
        parse_general(data, MAX_ELEMENTS),
        "fast and general paths differ"
    );
    let Ok(parsed) = parsed else {
        return;
    };
    let encoded = encode_datagram(&parsed.messages);
    let again = parse_datagram(&encoded, MAX_ELEMENTS).expect("our own encoding parses");
    assert_eq!(again.skipped, 0);
    assert_eq!(
        again.messages, parsed.messages,
        "encode then parse changed the messages"
    );
});
