//! EJTP frames (`j`, `s`, `r`, `c`) from arbitrary bytes: an error or a frame, never a panic;
//! a JSON frame's value is read too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ejtp_proto::frame::{self, Frame};

fuzz_target!(|data: &[u8]| {
    if let Ok(frame @ Frame::Json { .. }) = frame::decode(data) {
        let _ = frame.json_value();
    }
});
