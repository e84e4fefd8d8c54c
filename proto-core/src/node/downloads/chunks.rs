//! How a download's CJP2P requests to one source are packed into datagrams.

use alloc::vec::Vec;

use crate::cjp2p::Cjp2pMessage;
use crate::content::CJP2P_MAX_REPLY;

/// Requests to the same source sent in one datagram at most: the source answers them all in
/// one datagram, so this bounds a reply (4 blocks of 4096 bytes are about 22 KB of JSON).
pub(super) const MAX_REQUESTS_PER_DATAGRAM: usize = 4;

/// Requests grouped into datagrams: at most [`MAX_REQUESTS_PER_DATAGRAM`], asking together no
/// more than one reply carries ([`CJP2P_MAX_REPLY`]), since a source answers a whole datagram
/// in one datagram and leaves out what does not fit.
pub(in crate::node) fn reply_sized_chunks(requests: Vec<Cjp2pMessage>) -> Vec<Vec<Cjp2pMessage>> {
    let mut chunks: Vec<Vec<Cjp2pMessage>> = Vec::new();
    let mut asked = 0u64;
    for request in requests {
        let length = match &request {
            Cjp2pMessage::PleaseSendContent { length, .. } => *length,
            _ => 0,
        };
        let fits = chunks.last().is_some_and(|chunk| {
            chunk.len() < MAX_REQUESTS_PER_DATAGRAM
                && asked.saturating_add(length) <= u64::from(CJP2P_MAX_REPLY)
        });
        match chunks.last_mut() {
            Some(chunk) if fits => {
                chunk.push(request);
                asked = asked.saturating_add(length);
            }
            _ => {
                chunks.push(alloc::vec![request]);
                asked = length;
            }
        }
    }
    chunks
}
