//! Content frames inside sessions (the binary plaintext of session content messages): an
//! error or a frame, and a frame encodes to exactly the bytes it came from.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ejtp_proto::content::{SessionContent, is_session_content};

fuzz_target!(|data: &[u8]| {
    let _ = is_session_content(data);
    if let Ok(frame) = SessionContent::decode(data) {
        let encoded = frame.encode();
        assert_eq!(encoded.len(), frame.encoded_len());
        assert_eq!(SessionContent::decode(&encoded), Ok(frame));
    }
});
