//! Serving content to our own nodes in sessions: the `Data` answer to a request, read straight
//! into the plaintext, from the store CJP2P requests are served from.

use alloc::vec::Vec;

use super::Downloads;
use crate::content::{ContentId, ContentStore, SessionContent, StoreError};
use crate::node::cjp2p::Cjp2pState;
use crate::node::context::Context;

/// Room kept in a session frame for everything but the content bytes: the `r` prefix with the
/// recipient's address, the session header, the content header and the tag (about 130 bytes
/// for the longest IPv6 address, rounded up generously).
const SESSION_FRAME_OVERHEAD: usize = 512;

/// The store CJP2P and session requests are served from: the content storage if set, else the
/// store given to `set_content_store`.
pub(in crate::node) fn serving_store<'a>(
    downloads: &'a mut Downloads,
    cjp2p: &'a mut Cjp2pState,
) -> Option<&'a mut dyn ContentStore> {
    match downloads.storage_mut() {
        Some(storage) => Some(storage as &mut dyn ContentStore),
        None => cjp2p
            .store_mut()
            .map(|store| store as &mut dyn ContentStore),
    }
}

/// The plaintext answering a session request for `length` bytes of `id` at `offset`: the
/// bytes (at most `max_content_reply`, and what fits in one frame), or `Missing` when the
/// store does not hold the content. `None`, counted, when the store failed to read.
pub(in crate::node) fn session_answer(
    ctx: &mut Context,
    store: Option<&mut dyn ContentStore>,
    id: ContentId,
    offset: u64,
    length: u32,
) -> Option<Vec<u8>> {
    let most = ctx.config.cjp2p.max_content_reply.min(
        ctx.config
            .max_frame_len
            .saturating_sub(SESSION_FRAME_OVERHEAD),
    );
    let plaintext = match store {
        Some(store) => read_for_session(store, id, offset, length, most),
        None => Ok(None),
    };
    match plaintext {
        Ok(Some(plaintext)) => Some(plaintext),
        Ok(None) => Some(SessionContent::Missing { id }.encode()),
        Err(_) => {
            ctx.stats.cjp2p.cjp2p_store_failures += 1;
            None
        }
    }
}

/// The `Data` plaintext answering a request, with the bytes read in place; `None` when the
/// store does not hold the content.
fn read_for_session(
    store: &mut dyn ContentStore,
    id: ContentId,
    offset: u64,
    length: u32,
    most: usize,
) -> Result<Option<Vec<u8>>, StoreError> {
    let Some(eof) = store.len_of(&id) else {
        return Ok(None);
    };
    let available = eof.saturating_sub(offset);
    let count = usize::try_from(u64::from(length).min(available))
        .unwrap_or(usize::MAX)
        .min(most);
    let header = SessionContent::Data {
        id,
        offset,
        eof,
        bytes: &[],
    };
    let mut plaintext = Vec::with_capacity(header.encoded_len() + count);
    header.encode_into(&mut plaintext);
    let header_len = plaintext.len();
    plaintext.resize(header_len + count, 0);
    if count > 0 {
        let body = plaintext.get_mut(header_len..).unwrap_or_default();
        match store.read_at(&id, offset, body) {
            Ok(read) => plaintext.truncate(header_len + read),
            Err(StoreError::NotFound) => return Ok(None),
            Err(error) => return Err(error),
        }
    }
    Ok(Some(plaintext))
}
