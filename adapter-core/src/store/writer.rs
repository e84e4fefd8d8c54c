//! Writing a partial download's blocks and manifest lines to disk, off the driver's thread.
//!
//! Writing a block into the page cache costs the kernel about as much as hashing it, and the
//! node's driver thread is the one that receives, decrypts and hashes. So a download's blocks
//! are gathered into batches ([`BLOCKS_PER_BATCH`] blocks, adjacent ones joined into one run)
//! and each batch is handed to the thread that writes for the download, which writes the runs,
//! then appends the batch's manifest lines in one write. Data always goes first, so a line
//! never vouches for unwritten data; a crash loses at most the blocks of the batches not yet
//! written (they are fetched again).
//!
//! A batch is handed over when it is full, when its first block has waited
//! [`BATCH_MAX_WAIT`] (checked at the next block, so a slow download keeps its manifest
//! current), and whenever the file is read, flushed or closed. The queue of batches is bounded
//! ([`QUEUED_BATCHES`]): a disk slower than the network holds the driver back rather than
//! filling memory. A failed write is kept and reported by every later call, so a download
//! never completes over a block that did not reach the file.
//!
//! In a node, the writer is the node's one disk thread ([`Disk`](crate::disk::Disk)), shared by
//! every download and the folder's rescans; a store used on its own gives each download in
//! progress a writer thread of its own, so at most
//! [`Config::max_downloads`](ejtp_proto::Config::max_downloads) of them.

use std::fs::File;
use std::io::{self, Write};
use std::mem;
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::disk::Disk;

/// Blocks gathered before a batch is handed to the writer thread.
pub(super) const BLOCKS_PER_BATCH: usize = 16;

/// Batches that may wait for the writer thread: with [`BLOCKS_PER_BATCH`] blocks of CJP2P's
/// 4 KiB, 1 MiB of memory at most (plus the batch being gathered).
pub(super) const QUEUED_BATCHES: usize = 16;

/// The most a new run reserves ahead (256 KiB: a batch of CJP2P's 4 KiB blocks is 64 KiB).
const RUN_ROOM: usize = 256 << 10;

/// How long a gathered block may wait for its batch to fill.
pub(super) const BATCH_MAX_WAIT: Duration = Duration::from_millis(200);

/// Blocks and lines to write: runs of adjacent bytes, then the manifest lines for them.
#[derive(Default)]
struct Batch {
    /// `(offset, bytes)`, each run contiguous in the file.
    runs: Vec<(u64, Vec<u8>)>,
    lines: String,
    blocks: usize,
    /// When the batch's first item was gathered.
    since: Option<Instant>,
}

impl Batch {
    fn add_block(&mut self, offset: u64, bytes: &[u8], line: &str) {
        match self.runs.last_mut() {
            Some((start, run)) if start.saturating_add(run.len() as u64) == offset => {
                run.extend_from_slice(bytes);
            }
            _ => {
                // Room for a whole batch of such blocks (within reason): a run grows
                // without moving.
                let room = bytes
                    .len()
                    .saturating_mul(BLOCKS_PER_BATCH)
                    .min(RUN_ROOM)
                    .max(bytes.len());
                let mut run = Vec::with_capacity(room);
                run.extend_from_slice(bytes);
                self.runs.push((offset, run));
            }
        }
        self.blocks += 1;
        self.add_line(line);
    }

    fn add_line(&mut self, line: &str) {
        self.lines.push_str(line);
        self.since.get_or_insert_with(Instant::now);
    }

    fn is_empty(&self) -> bool {
        self.runs.is_empty() && self.lines.is_empty()
    }

    fn is_due(&self) -> bool {
        self.blocks >= BLOCKS_PER_BATCH
            || self
                .since
                .is_some_and(|since| since.elapsed() >= BATCH_MAX_WAIT)
    }
}

enum Job {
    Write(Batch),
    /// Everything handed over before is on disk (or failed): say so.
    Flush(SyncSender<()>),
}

/// Where a writer's jobs are carried out.
enum Sink {
    /// A thread of the writer's own, until it is stopped.
    Own {
        jobs: Option<SyncSender<Job>>,
        thread: Option<JoinHandle<()>>,
    },
    /// The node's disk thread, writing to these files.
    Shared {
        disk: Disk,
        target: Arc<Mutex<Target>>,
    },
}

/// The files a writer writes to, and whether a write to them failed already.
struct Target {
    part: File,
    manifest: File,
    failed: bool,
}

/// The writer of one partial download, and the batch being gathered for it.
pub(super) struct BlockWriter {
    gathering: Batch,
    /// Whether anything was given since the last flush (reading many blocks back in a row
    /// then costs one round trip to the thread, not one each).
    unflushed: bool,
    sink: Sink,
    /// The first write that failed.
    failure: Arc<Mutex<Option<io::Error>>>,
}

/// Writes `bytes` at `offset` without moving the file's cursor where the platform allows.
fn write_all_at(file: &mut File, bytes: &[u8], offset: u64) -> io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::write_all_at(file, bytes, offset)
    }
    #[cfg(not(unix))]
    {
        use std::io::{Seek, SeekFrom};
        file.seek(SeekFrom::Start(offset))?;
        file.write_all(bytes)
    }
}

/// Fills `buf` from `offset`, as the writer writes.
pub(super) fn read_exact_at(file: &mut File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
    }
    #[cfg(not(unix))]
    {
        use std::io::{Read, Seek, SeekFrom};
        file.seek(SeekFrom::Start(offset))?;
        file.read_exact(buf)
    }
}

fn stopped() -> io::Error {
    io::Error::other("the partial download's writer thread stopped")
}

impl BlockWriter {
    /// Starts the writer of the partial file `part` (a handle of its own) and the manifest
    /// `manifest` (opened for appending), on the node's disk thread if there is one (`disk`),
    /// on a thread of its own otherwise.
    pub(super) fn start(part: File, manifest: File, disk: Option<&Disk>) -> io::Result<Self> {
        let failure = Arc::new(Mutex::new(None));
        let sink = match disk {
            Some(disk) => Sink::Shared {
                disk: disk.clone(),
                target: Arc::new(Mutex::new(Target {
                    part,
                    manifest,
                    failed: false,
                })),
            },
            None => {
                let (jobs, queue) = mpsc::sync_channel(QUEUED_BATCHES);
                let kept = Arc::clone(&failure);
                let thread = thread::Builder::new()
                    .name("ejtp-store-writer".into())
                    .spawn(move || write_loop(&queue, part, manifest, &kept))?;
                Sink::Own {
                    jobs: Some(jobs),
                    thread: Some(thread),
                }
            }
        };
        Ok(Self {
            gathering: Batch::default(),
            unflushed: false,
            sink,
            failure,
        })
    }

    /// Reports the first failed write, if there was one: once a write failed, every call
    /// reports it (the partial download cannot be trusted to be complete any more).
    pub(super) fn check(&self) -> io::Result<()> {
        match &*self.failure.lock().unwrap_or_else(PoisonError::into_inner) {
            Some(err) => Err(io::Error::new(
                err.kind(),
                format!("writing the partial download failed: {err}"),
            )),
            None => Ok(()),
        }
    }

    fn send(&mut self, job: Job) -> io::Result<()> {
        match &self.sink {
            Sink::Own { jobs, .. } => jobs
                .as_ref()
                .and_then(|jobs| jobs.send(job).ok())
                .ok_or_else(stopped),
            Sink::Shared { disk, target } => {
                let (target, failure) = (Arc::clone(target), Arc::clone(&self.failure));
                disk.run(Box::new(move || {
                    let mut target = target.lock().unwrap_or_else(PoisonError::into_inner);
                    let Target {
                        part,
                        manifest,
                        failed,
                    } = &mut *target;
                    carry_out(job, part, manifest, failed, &failure);
                }))
                .map_err(|()| stopped())
            }
        }
    }

    /// Hands the batch gathered so far to the writer thread.
    fn hand_over(&mut self) -> io::Result<()> {
        if self.gathering.is_empty() {
            return Ok(());
        }
        let mut batch = mem::take(&mut self.gathering);
        // A run that ended early gives back the room it reserved, so the queue holds about
        // the bytes it will write.
        for (_, run) in &mut batch.runs {
            run.shrink_to_fit();
        }
        self.send(Job::Write(batch))
    }

    fn hand_over_if_due(&mut self) -> io::Result<()> {
        if self.gathering.is_due() {
            self.hand_over()?;
        }
        Ok(())
    }

    /// Gathers `bytes` for `offset`, and `line` to be appended once they are written.
    pub(super) fn write_block(&mut self, offset: u64, bytes: &[u8], line: &str) -> io::Result<()> {
        self.check()?;
        self.unflushed = true;
        self.gathering.add_block(offset, bytes, line);
        self.hand_over_if_due()
    }

    /// Gathers `line` to be appended to the manifest.
    pub(super) fn append_line(&mut self, line: &str) -> io::Result<()> {
        self.check()?;
        self.unflushed = true;
        self.gathering.add_line(line);
        self.hand_over_if_due()
    }

    /// Waits until everything given so far is on disk, and reports any failed write.
    pub(super) fn flush(&mut self) -> io::Result<()> {
        if self.unflushed {
            self.hand_over()?;
            let (done, wait) = mpsc::sync_channel(1);
            self.send(Job::Flush(done))?;
            wait.recv().map_err(|_| stopped())?;
            self.unflushed = false;
        }
        self.check()
    }

    /// Writes everything given so far, stops the thread and reports any failed write.
    pub(super) fn finish(mut self) -> io::Result<()> {
        self.stop();
        self.check()
    }

    fn stop(&mut self) {
        if self.hand_over().is_err() {
            tracing::debug!("a partial download's last blocks could not be handed over");
        }
        match &mut self.sink {
            Sink::Own { jobs, thread } => {
                // Closing the queue ends the loop once it has written what was queued.
                drop(jobs.take());
                if let Some(thread) = thread.take() {
                    let _ = thread.join();
                }
            }
            Sink::Shared { .. } => {
                // The disk thread writes in order: once this is done, so is everything before.
                let (done, wait) = mpsc::sync_channel(1);
                if self.send(Job::Flush(done)).is_ok() {
                    let _ = wait.recv();
                }
            }
        }
    }
}

impl Drop for BlockWriter {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Writes `batch`: its runs first, then its lines.
fn write_batch(part: &mut File, manifest: &mut File, batch: &Batch) -> io::Result<()> {
    for (offset, bytes) in &batch.runs {
        write_all_at(part, bytes, *offset)?;
    }
    manifest.write_all(batch.lines.as_bytes())
}

fn write_loop(
    queue: &Receiver<Job>,
    mut part: File,
    mut manifest: File,
    failure: &Mutex<Option<io::Error>>,
) {
    let mut failed = false;
    while let Ok(job) = queue.recv() {
        carry_out(job, &mut part, &mut manifest, &mut failed, failure);
    }
}

/// Does one job of a writer, on whichever thread writes for it.
fn carry_out(
    job: Job,
    part: &mut File,
    manifest: &mut File,
    failed: &mut bool,
    failure: &Mutex<Option<io::Error>>,
) {
    match job {
        // After a failure nothing more is written: the manifest must not vouch for blocks
        // whose data may be missing.
        Job::Write(_) if *failed => {}
        Job::Write(batch) => {
            if let Err(err) = write_batch(part, manifest, &batch) {
                *failed = true;
                *failure.lock().unwrap_or_else(PoisonError::into_inner) = Some(err);
            }
        }
        Job::Flush(done) => {
            let _ = done.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::{self, OpenOptions};
    use std::path::Path;

    fn files(dir: &Path, len: u64) -> (File, File) {
        let part = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(dir.join("x.part"))
            .unwrap();
        part.set_len(len).unwrap();
        let manifest = OpenOptions::new()
            .append(true)
            .create(true)
            .open(dir.join("x.manifest"))
            .unwrap();
        (part, manifest)
    }

    fn manifest_text(dir: &Path) -> String {
        fs::read_to_string(dir.join("x.manifest")).unwrap()
    }

    #[test]
    fn blocks_reach_the_file_and_lines_follow_them_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let (part, manifest) = files(dir.path(), 64);
        let mut reader = part.try_clone().unwrap();
        let mut writer = BlockWriter::start(part, manifest, None).unwrap();
        // Out of order, with a gap: two runs.
        writer.write_block(8, &[2; 8], "1 b\n").unwrap();
        writer.write_block(0, &[1; 8], "0 a\n").unwrap();
        writer.write_block(16, &[3; 8], "2 c\n").unwrap();
        writer.append_line("0 -\n").unwrap();
        writer.flush().unwrap();
        assert_eq!(manifest_text(dir.path()), "1 b\n0 a\n2 c\n0 -\n");
        let mut bytes = [0u8; 24];
        read_exact_at(&mut reader, &mut bytes, 0).unwrap();
        assert_eq!(bytes, [[1u8; 8], [2; 8], [3; 8]].concat()[..]);
        writer.finish().unwrap();
    }

    #[test]
    fn a_full_batch_is_written_without_being_asked() {
        let dir = tempfile::tempdir().unwrap();
        let (part, manifest) = files(dir.path(), 4096);
        let mut writer = BlockWriter::start(part, manifest, None).unwrap();
        for index in 0..BLOCKS_PER_BATCH {
            writer
                .write_block(index as u64 * 8, &[7; 8], &format!("{index} x\n"))
                .unwrap();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while manifest_text(dir.path()).lines().count() < BLOCKS_PER_BATCH {
            assert!(
                Instant::now() < deadline,
                "the full batch was never written"
            );
            thread::sleep(Duration::from_millis(5));
        }
        drop(writer);
    }

    #[test]
    fn blocks_larger_than_a_run_reserves_are_written_whole() {
        let dir = tempfile::tempdir().unwrap();
        let big = vec![5u8; RUN_ROOM + 1];
        let (part, manifest) = files(dir.path(), 2 * big.len() as u64);
        let mut reader = part.try_clone().unwrap();
        let mut writer = BlockWriter::start(part, manifest, None).unwrap();
        writer.write_block(0, &big, "0 a\n").unwrap();
        writer.write_block(big.len() as u64, &big, "1 a\n").unwrap();
        writer.flush().unwrap();
        let mut back = vec![0u8; 2 * big.len()];
        read_exact_at(&mut reader, &mut back, 0).unwrap();
        assert!(back.iter().all(|&b| b == 5));
    }

    #[test]
    fn dropping_the_writer_writes_what_was_gathered() {
        let dir = tempfile::tempdir().unwrap();
        let (part, manifest) = files(dir.path(), 8);
        let writer_part = part.try_clone().unwrap();
        let mut writer = BlockWriter::start(writer_part, manifest, None).unwrap();
        writer.write_block(0, &[9; 8], "0 y\n").unwrap();
        drop(writer);
        assert_eq!(manifest_text(dir.path()), "0 y\n");
        let mut bytes = [0u8; 8];
        read_exact_at(&mut part.try_clone().unwrap(), &mut bytes, 0).unwrap();
        assert_eq!(bytes, [9; 8]);
    }

    #[test]
    fn a_failed_write_is_reported_by_every_later_call_and_vouched_for_by_no_line() {
        let dir = tempfile::tempdir().unwrap();
        let (part, manifest) = files(dir.path(), 64);
        drop(part);
        // A partial file that cannot be written.
        let read_only = File::open(dir.path().join("x.part")).unwrap();
        let mut writer = BlockWriter::start(read_only, manifest, None).unwrap();
        writer.write_block(0, &[1; 8], "0 a\n").unwrap();
        assert!(writer.flush().is_err());
        assert!(writer.write_block(8, &[1; 8], "1 a\n").is_err());
        assert!(writer.append_line("0 -\n").is_err());
        assert!(writer.flush().is_err());
        assert!(writer.finish().is_err());
        assert_eq!(manifest_text(dir.path()), "");
    }
}
