//! Signed address records and lookup bodies from arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ejtp_proto::routing::record::AddressRecord;
use ejtp_proto::routing::wire::{LookupBody, is_lookup_body};
use ejtp_proto::{Identity, UnixMillis};

fuzz_target!(|data: &[u8]| {
    if let Ok(record) = AddressRecord::decode(data) {
        let node = Identity::from_secret_bytes(&[7; 32]).node_id();
        let _ = record.check_for(&node, UnixMillis(1_700_000_000_000));
    }
    let _ = is_lookup_body(data);
    let _ = LookupBody::decode(data);
});
