//! A node's one disk thread (`ejtp-disk`): it writes every running download's blocks and
//! manifest lines ([`Disk`], used by the store's writers) and rescans the shared folder
//! ([`NodeOptions::share_rescan`](crate::NodeOptions::share_rescan)), so that a node with a
//! shared folder has one thread besides its driver, however many downloads run.
//!
//! File writes cannot be made non-blocking (a regular file is always "ready" to a poller) and
//! hashing a large file takes seconds, so neither is done by the driver. The two share the
//! thread without holding each other up: a rescan writes what the downloads queued between
//! every 64 KiB it hashes and while it waits for the folder's lock (which the driver may hold
//! while it waits for those very writes, at a download's flush).

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::SharedDirectory;
use crate::rescan::{MIN_RESCAN_INTERVAL, rescan};

/// Writes waiting for the disk thread, at most, from every download together: each is a batch
/// of at most 16 blocks (see the store's writer), so with 40 KiB blocks about 40 MiB at worst,
/// 4 MiB with CJP2P's 4 KiB blocks. When it is full, the driver waits for the disk, as it
/// would for a slow disk anyway.
pub(crate) const DISK_QUEUE: usize = 64;

/// Work for the disk thread.
pub(crate) type Task = Box<dyn FnOnce() + Send>;

/// Where the store's writers queue their work for the node's disk thread. Cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct Disk {
    tasks: SyncSender<Task>,
}

impl Disk {
    /// Queues `task`, after everything queued before it (waiting for room if the queue is
    /// full). `Err` if the disk thread has stopped.
    pub(crate) fn run(&self, task: Task) -> Result<(), ()> {
        self.tasks.send(task).map_err(|_| ())
    }
}

/// The disk thread of one shared folder, until dropped.
#[derive(Debug)]
pub(crate) struct DiskThread {
    shared: SharedDirectory,
    /// Dropped to let the thread end once it has done what was queued.
    disk: Option<Disk>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl DiskThread {
    /// Starts the disk thread of `shared`, rescanning it every `rescan` (at least
    /// [`MIN_RESCAN_INTERVAL`]) if given, and has the folder's downloads written on it.
    pub(crate) fn start(shared: SharedDirectory, rescan: Option<Duration>) -> io::Result<Self> {
        let (tasks, queue) = mpsc::sync_channel(DISK_QUEUE);
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (shared, stop) = (shared.clone(), Arc::clone(&stop));
            let every = rescan.map(|every| every.max(MIN_RESCAN_INTERVAL));
            thread::Builder::new()
                .name("ejtp-disk".to_string())
                .spawn(move || run(&queue, &shared, every, &stop))?
        };
        let disk = Disk { tasks };
        shared.with_files(|files| files.store.set_disk(Some(disk.clone())));
        Ok(Self {
            shared,
            disk: Some(disk),
            stop,
            thread: Some(thread),
        })
    }
}

/// The thread: queued writes in order, and a rescan whenever one is due.
fn run(
    queue: &Receiver<Task>,
    shared: &SharedDirectory,
    every: Option<Duration>,
    stop: &AtomicBool,
) {
    let mut next = every.map(|every| Instant::now() + every);
    loop {
        let task = match next {
            Some(at) => match queue.recv_timeout(at.saturating_duration_since(Instant::now())) {
                Ok(task) => Some(task),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => return,
            },
            None => match queue.recv() {
                Ok(task) => Some(task),
                Err(_) => return,
            },
        };
        match task {
            Some(task) => task(),
            None if stop.load(Ordering::Relaxed) => {}
            None => {
                rescan(shared, stop, false, &mut || {
                    while let Ok(task) = queue.try_recv() {
                        task();
                    }
                });
                next = every.map(|every| Instant::now() + every);
            }
        }
    }
}

impl Drop for DiskThread {
    fn drop(&mut self) {
        // The downloads still open write their last blocks first, while the thread runs; they
        // are closed outside the folder's lock, which a rescan may be waiting for.
        let open = self.shared.with_files(|files| {
            files.store.set_disk(None);
            files.store.take_open_partials()
        });
        drop(open);
        // A hash in progress gives up; once every writer is gone, the queue ends the thread.
        self.stop.store(true, Ordering::Relaxed);
        drop(self.disk.take());
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::warn!("the shared folder's disk thread panicked");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use ejtp_proto::content::{BlockLayout, ContentId, ContentStore, PartialStore, block_checksum};

    use super::*;

    /// Downloads go on (written, read back under the folder's lock, finished) while rescans
    /// every 50 ms hash a file that keeps changing: nothing waits for the other for long, and
    /// nothing deadlocks (the watchdog would fail the test).
    #[test]
    fn downloads_are_written_while_the_same_thread_rescans_and_hashes() {
        let dir = tempfile::tempdir().unwrap();
        let shared = SharedDirectory::open(dir.path()).unwrap();
        let disk = shared.start_disk(Some(Duration::from_millis(50))).unwrap();
        let (done, finished) = mpsc::channel();
        let worker = {
            let (mut shared, dir) = (shared, dir.path().to_path_buf());
            thread::spawn(move || {
                for round in 0..6u8 {
                    // A large file changed every round: the next rescan hashes it again.
                    fs::write(dir.join("large"), vec![round; 16 << 20]).unwrap();
                    let content: Vec<u8> = (0..256 * 1024u32)
                        .map(|i| (i as u8).wrapping_add(round))
                        .collect();
                    let id = ContentId::of(&content);
                    let layout = BlockLayout::new(content.len() as u64, 4096).unwrap();
                    shared.begin(&id, layout).unwrap();
                    for index in 0..layout.block_count() {
                        let at = layout.offset_of(index) as usize;
                        let block = &content[at..at + layout.len_of(index) as usize];
                        shared
                            .write_block(&id, index, block, block_checksum(block))
                            .unwrap();
                        if index % 16 == 5 {
                            // Reading back flushes, under the folder's lock.
                            let mut buffer = vec![0; block.len()];
                            shared.read_block(&id, index, &mut buffer).unwrap();
                            assert_eq!(buffer, block);
                        }
                    }
                    shared.finish(&id).unwrap();
                    assert_eq!(shared.len_of(&id), Some(content.len() as u64));
                    thread::sleep(Duration::from_millis(30));
                }
                let _ = done.send(());
            })
        };
        finished
            .recv_timeout(Duration::from_secs(60))
            .expect("the downloads finish while the folder is rescanned");
        worker.join().unwrap();
        let started = Instant::now();
        drop(disk);
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    /// A download still open when the disk thread stops has its blocks written first.
    #[test]
    fn stopping_writes_what_open_downloads_hold() {
        let dir = tempfile::tempdir().unwrap();
        let mut shared = SharedDirectory::open(dir.path()).unwrap();
        let disk = shared.start_disk(None).unwrap();
        let content = vec![7u8; 3 * 4096];
        let id = ContentId::of(&content);
        let layout = BlockLayout::new(content.len() as u64, 4096).unwrap();
        shared.begin(&id, layout).unwrap();
        for index in 0..3 {
            let block = &content[index as usize * 4096..][..4096];
            shared
                .write_block(&id, index, block, block_checksum(block))
                .unwrap();
        }
        drop(disk);
        let part = dir
            .path()
            .join(crate::store::PARTIAL_DIR)
            .join(format!("{id}.part"));
        assert_eq!(fs::read(part).unwrap(), content);
    }
}
