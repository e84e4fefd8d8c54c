//! The file that keeps a node's replay memory across restarts
//! ([`NodeOptions::replay_journal`](crate::NodeOptions::replay_journal)).
//!
//! JSON lines: a header with the memories' floors, then one
//! [`ReplayRecord`] per accepted first message:
//!
//! ```text
//! {"format":"ejtp-replay-journal/1","sealed_floor":1700000000000,"signed_floor":null}
//! {"kind":"sealed","nonce":"…32 hex digits…","timestamp":1700000000123}
//! ```
//!
//! Records are appended and synced to disk before the application sees the message they
//! remember, so a process that crashes, or a machine that loses power, never delivers a first
//! message twice. At each start the file is read and rewritten (to a temporary file, synced,
//! then renamed over it) with what the node still remembers, and again whenever more than
//! [`COMPACT_AFTER_RECORDS`] records have been appended since: it stays within a few MB.
//!
//! A file that cannot be read as a journal is not trusted: the node then starts from its start
//! floor ([`Config::refuse_before_start`](ejtp_proto::Config::refuse_before_start)), which is
//! safe, and the file is rewritten.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use ejtp_proto::UnixMillis;
use ejtp_proto::replay_journal::{ReplayMemory, ReplayRecord};
use serde::{Deserialize, Serialize};

/// The header's format name.
pub const JOURNAL_FORMAT: &str = "ejtp-replay-journal/1";

/// Records appended between two compactions (each about 90 bytes): the node remembers at most
/// `2 × nonce_memory_capacity` nonces, so a compacted file is at most that many lines.
pub const COMPACT_AFTER_RECORDS: usize = 65_536;

#[derive(Serialize, Deserialize)]
struct Header {
    format: String,
    sealed_floor: Option<UnixMillis>,
    signed_floor: Option<UnixMillis>,
}

/// An open journal, appending.
#[derive(Debug)]
pub(crate) struct ReplayJournal {
    path: PathBuf,
    file: File,
    appended: usize,
}

impl ReplayJournal {
    /// Reads the journal at `path` if there is one: the memory it holds, or `None` if there is
    /// no file or it is not a journal this version can trust.
    ///
    /// # Errors
    /// An I/O error other than the file not existing.
    pub(crate) fn read(path: &Path) -> io::Result<Option<ReplayMemory>> {
        let file = match File::open(path) {
            Ok(file) => file,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(err),
        };
        parse(BufReader::new(file))
    }

    /// Writes `memory` as the whole journal at `path` (atomically: a synced temporary file
    /// renamed over it) and opens it for appending.
    ///
    /// # Errors
    /// An I/O error writing, syncing or renaming.
    pub(crate) fn create(path: &Path, memory: &ReplayMemory) -> io::Result<Self> {
        write_whole(path, memory)?;
        let file = OpenOptions::new().append(true).open(path)?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
            appended: 0,
        })
    }

    /// Appends `records` and syncs them to disk.
    ///
    /// # Errors
    /// An I/O error writing or syncing: the records may not be stored.
    pub(crate) fn append(&mut self, records: &[ReplayRecord]) -> io::Result<()> {
        let mut text = Vec::with_capacity(records.len() * 96);
        for record in records {
            serde_json::to_writer(&mut text, record)?;
            text.push(b'\n');
        }
        self.file.write_all(&text)?;
        self.file.sync_data()?;
        self.appended += records.len();
        Ok(())
    }

    /// Whether enough has been appended that the file should be rewritten from the memory.
    pub(crate) fn wants_compaction(&self) -> bool {
        self.appended > COMPACT_AFTER_RECORDS
    }

    /// Rewrites the file as `memory` (what the node remembers now).
    ///
    /// # Errors
    /// As [`Self::create`]; the old file is then still whole.
    pub(crate) fn compact(&mut self, memory: &ReplayMemory) -> io::Result<()> {
        *self = Self::create(&self.path, memory)?;
        Ok(())
    }
}

/// The memory `reader` holds: `None` for a bad header, a bad record line, or an unknown format.
/// A last line that does not parse is a write cut short (the process died mid-append, before
/// the record was synced and so before its message was delivered): it is left out.
fn parse(reader: impl BufRead) -> io::Result<Option<ReplayMemory>> {
    let mut lines = Vec::new();
    for line in reader.split(b'\n') {
        lines.push(line?);
    }
    let mut pieces = lines.iter();
    let Some(header) = pieces.next() else {
        return Ok(None);
    };
    let Ok(header) = serde_json::from_slice::<Header>(header) else {
        return Ok(None);
    };
    if header.format != JOURNAL_FORMAT {
        return Ok(None);
    }
    let mut memory = ReplayMemory {
        sealed_floor: header.sealed_floor,
        signed_floor: header.signed_floor,
        records: Vec::new(),
    };
    let count = lines.len();
    for (index, line) in lines.iter().enumerate().skip(1) {
        match serde_json::from_slice::<ReplayRecord>(line) {
            Ok(record) => memory.records.push(record),
            // The last line may be cut short; any other bad line means the file is not ours.
            Err(_) if index + 1 == count => {}
            Err(_) => return Ok(None),
        }
    }
    Ok(Some(memory))
}

fn write_whole(path: &Path, memory: &ReplayMemory) -> io::Result<()> {
    let mut text = Vec::with_capacity(128 + memory.records.len() * 96);
    serde_json::to_writer(
        &mut text,
        &Header {
            format: JOURNAL_FORMAT.to_string(),
            sealed_floor: memory.sealed_floor,
            signed_floor: memory.signed_floor,
        },
    )?;
    text.push(b'\n');
    for record in &memory.records {
        serde_json::to_writer(&mut text, record)?;
        text.push(b'\n');
    }
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);
    {
        let mut file = File::create(&temporary)?;
        file.write_all(&text)?;
        file.sync_all()?;
    }
    std::fs::rename(&temporary, path)?;
    // The rename itself is durable once the folder is synced (not possible on every OS).
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        if let Ok(dir) = File::open(dir) {
            let _ = dir.sync_all();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ejtp_proto::replay_journal::FirstMessageKind;

    fn record(n: u8) -> ReplayRecord {
        ReplayRecord {
            kind: if n.is_multiple_of(2) {
                FirstMessageKind::Sealed
            } else {
                FirstMessageKind::Signed
            },
            nonce: [n; 16],
            timestamp: UnixMillis(1_700_000_000_000 + u64::from(n)),
        }
    }

    fn memory() -> ReplayMemory {
        ReplayMemory {
            sealed_floor: Some(UnixMillis(1_699_999_999_999)),
            signed_floor: None,
            records: vec![record(1), record(2)],
        }
    }

    #[test]
    fn a_journal_reads_back_what_was_written_and_appended() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("replay.journal");
        assert_eq!(ReplayJournal::read(&path).unwrap(), None);
        let mut journal = ReplayJournal::create(&path, &memory()).unwrap();
        journal.append(&[record(3), record(4)]).unwrap();
        let mut expected = memory();
        expected.records.extend([record(3), record(4)]);
        assert_eq!(ReplayJournal::read(&path).unwrap(), Some(expected));

        journal.compact(&memory()).unwrap();
        assert_eq!(ReplayJournal::read(&path).unwrap(), Some(memory()));
        journal.append(&[record(5)]).unwrap();
        assert_eq!(
            ReplayJournal::read(&path).unwrap().unwrap().records.len(),
            3
        );
    }

    #[test]
    fn a_torn_last_line_is_left_out_and_other_damage_is_not_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("replay.journal");
        ReplayJournal::create(&path, &memory()).unwrap();
        let whole = std::fs::read(&path).unwrap();

        let mut torn = whole.clone();
        torn.extend_from_slice(br#"{"kind":"sealed","nonce":"0303"#);
        std::fs::write(&path, &torn).unwrap();
        assert_eq!(ReplayJournal::read(&path).unwrap(), Some(memory()));

        let mut damaged = whole;
        damaged.extend_from_slice(b"not a record\n");
        damaged.extend_from_slice(&serde_json::to_vec(&record(3)).unwrap());
        damaged.push(b'\n');
        std::fs::write(&path, &damaged).unwrap();
        assert_eq!(ReplayJournal::read(&path).unwrap(), None);

        for bad in [
            &b""[..],
            b"{}\n",
            br#"{"format":"other","sealed_floor":null,"signed_floor":null}"#,
        ] {
            std::fs::write(&path, bad).unwrap();
            assert_eq!(ReplayJournal::read(&path).unwrap(), None);
        }
    }
}
