//! Partial-download manifests read from disk: arbitrary bytes give an error or a manifest,
//! and a manifest written again reads back equal.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ejtp_proto::content::Manifest;

fuzz_target!(|data: &[u8]| {
    if let Ok(manifest) = Manifest::parse(data) {
        let again = Manifest::parse(manifest.encode().as_bytes()).expect("our own manifest parses");
        assert_eq!(again, manifest);
    }
});
