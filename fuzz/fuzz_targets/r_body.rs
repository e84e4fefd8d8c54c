//! The bodies of `r` frames (sealed, session, handshake, reset, mailbox) from arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ejtp_proto::crypto::body::RBody;

fuzz_target!(|data: &[u8]| {
    let _ = RBody::decode(data);
});
