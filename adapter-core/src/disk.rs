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
