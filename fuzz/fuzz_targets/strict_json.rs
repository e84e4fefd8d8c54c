//! Strict JSON (the EJTP message format: no floats, bounded depth): what parses is written
//! in strict form and parses back to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ejtp_proto::json::{parse_json, to_strict_json};

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = parse_json(data) {
        let text = to_strict_json(&value).expect("a parsed value is strict JSON");
        assert_eq!(
            parse_json(text.as_bytes()).expect("our own JSON parses"),
            value
        );
    }
});
