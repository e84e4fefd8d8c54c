//! What this process holds right now, read from Linux's `/proc/self`: resident memory, open
//! descriptors and threads, for a soak to watch over time.

use std::fs;

/// One reading of `/proc/self`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcessSample {
    /// Resident set size (`VmRSS` of `/proc/self/status`), KiB.
    pub rss_kib: u64,
    /// Entries of `/proc/self/fd` (the descriptor that lists them included).
    pub fds: usize,
    /// Entries of `/proc/self/task`: the process's threads.
    pub threads: usize,
}

impl ProcessSample {
    /// Reads the three figures; `None` where `/proc` is not Linux's (or cannot be read).
    #[must_use]
    pub fn now() -> Option<Self> {
        let status = fs::read_to_string("/proc/self/status").ok()?;
        let rss_kib = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        let count = |dir: &str| fs::read_dir(dir).ok().map(Iterator::count);
        Some(Self {
            rss_kib,
            fds: count("/proc/self/fd")?,
            threads: count("/proc/self/task")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_linux_process_has_memory_descriptors_and_a_thread() {
        if let Some(sample) = ProcessSample::now() {
            assert!(sample.rss_kib > 0);
            assert!(sample.fds >= 3, "{sample:?}");
            assert!(sample.threads >= 1);
        }
    }
}
