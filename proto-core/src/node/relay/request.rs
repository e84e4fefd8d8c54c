//! A mailbox request as read from an `r` body, and the check of its signature.

use super::Dropped;
use crate::address::Address;
use crate::crypto::mailbox;
use crate::identity::PublicKey;
use crate::time::UnixMillis;

/// A mailbox request as read from an `r` body, before any check.
pub(in crate::node) struct MailboxRequest<'a> {
    pub(in crate::node) header: &'a [u8],
    pub(in crate::node) recipient: &'a Address,
    pub(in crate::node) op: u8,
    pub(in crate::node) timestamp: UnixMillis,
    pub(in crate::node) key: &'a [u8; 32],
    pub(in crate::node) signature: &'a [u8; 64],
    pub(in crate::node) address: &'a [u8],
}

impl MailboxRequest<'_> {
    /// The requesting key, if it is a key and signed the request.
    pub(super) fn verify(&self) -> Result<PublicKey, Dropped> {
        let key = PublicKey::from_bytes(self.key).map_err(|_| Dropped::Crypto)?;
        mailbox::verify(
            &key,
            self.header,
            self.op,
            self.timestamp,
            self.address,
            self.signature,
        )
        .map_err(|_| Dropped::Crypto)?;
        Ok(key)
    }
}
