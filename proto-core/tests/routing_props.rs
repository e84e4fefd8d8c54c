//! The routing wire formats take arbitrary bytes: lookup bodies and address records decode or
//! fail, never panic, and whatever decodes re-encodes to the same bytes.

use ejtp_proto::routing::AddressRecord;
use ejtp_proto::routing::wire::{LookupBody, write_lookup_answer, write_lookup_request};
use ejtp_proto::{Address, Identity, UnixMillis};
use proptest::prelude::*;

proptest! {
    #[test]
    fn lookup_bodies_decode_or_fail_on_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..1_200)) {
        if let Ok(body) = LookupBody::decode(&bytes) {
            let mut again = Vec::new();
            match body {
                LookupBody::Request { request_id, target } => {
                    write_lookup_request(&mut again, &request_id, &target);
                    prop_assert_eq!(&again[..49], &bytes[..49]);
                }
                LookupBody::Answer { request_id, record } => {
                    write_lookup_answer(&mut again, &request_id, record);
                    prop_assert_eq!(again, bytes);
                }
                _ => {}
            }
        }
    }

    #[test]
    fn address_records_decode_or_fail_on_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        if let Ok(record) = AddressRecord::decode(&bytes) {
            prop_assert_eq!(record.bytes, bytes);
        }
    }

    #[test]
    fn any_flipped_byte_of_a_signed_record_is_refused(
        index in 0usize..200,
        flip in 1u8..=255,
        seq in any::<u64>(),
        port in 1u16..,
    ) {
        let identity = Identity::from_secret_bytes(&[3; 32]);
        let address = Address::udp(std::net::SocketAddr::from(([10, 0, 0, 1], port)), None);
        let record = AddressRecord::sign(&identity, seq, UnixMillis(5), &[address]).unwrap();
        let mut bytes = record.bytes;
        let index = index % bytes.len();
        bytes[index] ^= flip;
        prop_assert!(AddressRecord::decode(&bytes).is_err(), "changed record accepted");
    }
}
