//! Serving content from a [`ContentStore`]: `PleaseSendContent` and `PleaseListContent`.

use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use super::message::Cjp2pMessage;
use crate::content::{ContentId, ContentStore};

/// What a content request turned into.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Served {
    /// A `Content` answer.
    Content(Cjp2pMessage),
    /// The store does not hold it (or the id is not a SHA-256 id, or there is no store).
    Missing,
    /// The store failed reading it.
    Failed,
}

/// Answers `PleaseSendContent{id, offset, length}` exactly as asked: bytes from `offset`, as
/// many as asked but at most `max_bytes`, fewer only at the end of the content, none at or past
/// it; `eof` is the content's length. The id is echoed as it was asked.
pub fn serve_content<S: ContentStore + ?Sized>(
    store: Option<&mut S>,
    id: &str,
    offset: u64,
    length: u64,
    max_bytes: usize,
) -> Served {
    let (Some(store), Ok(content)) = (store, id.parse::<ContentId>()) else {
        return Served::Missing;
    };
    let Some(eof) = store.len_of(&content) else {
        return Served::Missing;
    };
    let available = eof.saturating_sub(offset);
    let wanted = length.min(available);
    let count = usize::try_from(wanted).unwrap_or(usize::MAX).min(max_bytes);
    let mut data = vec![0u8; count];
    if count > 0 {
        match store.read_at(&content, offset, &mut data) {
            Ok(read) => data.truncate(read),
            Err(crate::content::StoreError::NotFound) => return Served::Missing,
            Err(_) => return Served::Failed,
        }
    }
    Served::Content(Cjp2pMessage::Content {
        id: id.to_string(),
        offset,
        data,
        eof,
    })
}

/// Answers `PleaseListContent`: the store's content, at most `max_entries`.
pub fn list_content<S: ContentStore + ?Sized>(
    store: Option<&S>,
    max_entries: usize,
) -> Cjp2pMessage {
    let results: Vec<(String, u64)> = store
        .map(|store| store.list())
        .unwrap_or_default()
        .into_iter()
        .take(max_entries)
        .map(|(id, len)| (id.to_string(), len))
        .collect();
    Cjp2pMessage::ContentList { results }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::MemoryStore;
    use alloc::boxed::Box;

    fn store() -> (Box<dyn ContentStore + Send + Sync>, String) {
        let mut store = MemoryStore::new();
        let id = store.insert((0..=255u8).cycle().take(10_000).collect());
        (Box::new(store), id.to_string())
    }

    fn content(served: Served) -> (u64, Vec<u8>, u64) {
        match served {
            Served::Content(Cjp2pMessage::Content {
                offset, data, eof, ..
            }) => (offset, data, eof),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn serves_exactly_what_is_asked_within_the_cap() {
        let (mut store, id) = store();
        let (offset, data, eof) = content(serve_content(Some(&mut *store), &id, 100, 10, 40_960));
        assert_eq!((offset, eof), (100, 10_000));
        assert_eq!(data, (100..110).map(|b| b as u8).collect::<Vec<_>>());
        let (_, data, _) = content(serve_content(Some(&mut *store), &id, 0, 100_000, 4_096));
        assert_eq!(data.len(), 4_096);
        let (_, data, _) = content(serve_content(Some(&mut *store), &id, 8_192, 4_096, 40_960));
        assert_eq!(data.len(), 10_000 - 8_192);
        let (offset, data, _) = content(serve_content(
            Some(&mut *store),
            &id,
            1 << 40,
            4_096,
            40_960,
        ));
        assert_eq!((offset, data.len()), (1 << 40, 0));
        let (_, data, _) = content(serve_content(Some(&mut *store), &id, 0, 0, 40_960));
        assert!(data.is_empty());
    }

    #[test]
    fn unknown_or_unsafe_ids_are_missing() {
        let (mut store, _) = store();
        let zero = "0".repeat(64);
        assert_eq!(
            serve_content(Some(&mut *store), &zero, 0, 1, 10),
            Served::Missing
        );
        assert_eq!(
            serve_content(Some(&mut *store), "../x", 0, 1, 10),
            Served::Missing
        );
        assert_eq!(
            serve_content::<MemoryStore>(None, &zero, 0, 1, 10),
            Served::Missing
        );
    }
}
