//! Path messages inside sessions (reflexive address, echo, keepalive): an error or a message,
//! and a message encodes to exactly the bytes it came from.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ejtp_proto::path_message::{PathMessage, is_path_message};

fuzz_target!(|data: &[u8]| {
    let _ = is_path_message(data);
    if let Ok(message) = PathMessage::decode(data) {
        assert_eq!(message.encode(), data);
    }
});
