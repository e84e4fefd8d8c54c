//! This node's own signed address record: signed again when its addresses or seq changed or
//! half its lifetime has passed.

use alloc::vec::Vec;

use super::Routing;
use crate::address::Address;
use crate::node::context::Context;
use crate::routing::AddressRecord;
use crate::routing::record::MAX_RECORD_ADDRESSES;

impl Routing {
    /// The record's bytes for `candidates` (in order of preference; the first
    /// `MAX_RECORD_ADDRESSES` distinct ones are kept), signed again if they changed, the seq
    /// changed, or half its lifetime passed. `None` without an address to publish.
    pub(in crate::node) fn own_record(
        &mut self,
        ctx: &Context,
        candidates: impl Iterator<Item = Address>,
    ) -> Option<Vec<u8>> {
        let mut addresses: Vec<Address> = Vec::new();
        for address in candidates {
            if addresses.len() < MAX_RECORD_ADDRESSES && !addresses.contains(&address) {
                addresses.push(address);
            }
        }
        if addresses.is_empty() {
            return None;
        }
        let wall = ctx.wall_now();
        let half_life = ctx.config.record_lifetime / 2;
        if let Some(record) = &self.own_record {
            if record.seq == self.record_seq
                && record.addresses == addresses
                && record.expires > wall.saturating_add(half_life)
            {
                return Some(record.bytes.clone());
            }
            // New candidates (a mapping learnt or changed): the record must be newer than any
            // handed out, or holders would keep the old one.
            if record.addresses != addresses && record.seq >= self.record_seq {
                self.record_seq = record.seq.saturating_add(1);
            }
        }
        let expires = wall.saturating_add(ctx.config.record_lifetime);
        let record =
            AddressRecord::sign(&ctx.identity, self.record_seq, expires, &addresses).ok()?;
        let bytes = record.bytes.clone();
        self.own_record = Some(record);
        Some(bytes)
    }
}
