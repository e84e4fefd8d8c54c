//! Signed address records and lookup bodies from arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use proto_core::routing::record::AddressRecord;
use proto_core::routing::wire::{LookupBody, is_lookup_body};
use proto_core::{Identity, UnixMillis};

fuzz_target!(|data: &[u8]| {
    if let Ok(record) = AddressRecord::decode(data) {
        let node = Identity::from_secret_bytes(&[7; 32]).node_id();
        let _ = record.check_for(&node, UnixMillis(1_700_000_000_000));
    }
    let _ = is_lookup_body(data);
    let _ = LookupBody::decode(data);
});
