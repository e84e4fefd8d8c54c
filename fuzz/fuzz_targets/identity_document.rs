//! Identity documents: public identities and identity files from arbitrary bytes. What parses
//! is written again in strict JSON and parses back equal.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ejtp_proto::{IdentityFile, PublicIdentity};

fuzz_target!(|data: &[u8]| {
    if let Ok(identity) = PublicIdentity::from_json_bytes(data) {
        let again = PublicIdentity::from_json_bytes(identity.to_strict_json().as_bytes())
            .expect("our own public identity parses");
        assert_eq!(again, identity);
    }
    if let Ok(file) = IdentityFile::from_json_bytes(data) {
        let again = IdentityFile::from_json_bytes(file.to_strict_json().as_bytes())
            .expect("our own identity file parses");
        assert_eq!(again.public(), file.public());
    }
});
