//! What `ejtp fetch` shows while it downloads: a bar on a terminal, otherwise a plain line on
//! stderr at most once a second (each with the rate and the time left), and a summary.
//!
//! The rate counts only the bytes received by this run: the bytes an earlier run left
//! ([`Held`], read before the start) are neither part of the rate nor of the time left.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use ejtp_proto::content::ContentId;
use indicatif::{BinaryBytes, HumanDuration, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::held::Held;
use crate::console;

/// How often the plain (not a terminal) progress line is printed at most.
const PLAIN_EVERY: Duration = Duration::from_secs(1);

/// The progress of one download.
pub(super) struct Progress {
    id: ContentId,
    bar: Option<ProgressBar>,
    /// Bytes already held when this run started (what the node will not ask again).
    held: u64,
    /// The partial download found on disk, until the first figure confirms it.
    found: Option<Held>,
    started: Instant,
    /// The latest figures: bytes held, of the total.
    latest: Option<(u64, u64)>,
    /// When the last plain line was printed, and for how many bytes.
    last_line: Option<(Instant, u64)>,
}

impl Progress {
    /// Starts showing the download of `id`; `found` is what an earlier run left.
    pub(super) fn new(id: ContentId, found: Option<Held>) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            let style =
                ProgressStyle::with_template("{bar:40} {binary_bytes}/{binary_total_bytes} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar
        });
        Self {
            id,
            bar,
            held: 0,
            found,
            started: Instant::now(),
            latest: None,
            last_line: None,
        }
    }

    /// The node holds `have` of `total` bytes.
    pub(super) fn update(&mut self, have: u64, total: u64) {
        if self.latest.is_none() {
            // The node resumes a partial download only if it is for this length; otherwise it
            // starts over, and nothing was held.
            if let Some(found) = self.found.filter(|found| found.total == total) {
                self.held = found.bytes.min(have);
                if self.held > 0 {
                    // On stdout: scripts (and tests) see that the earlier download was reused.
                    let _ = console::line(format_args!(
                        "resumed: {} of {total} bytes already held",
                        self.held
                    ));
                }
            }
        }
        self.latest = Some((have, total));
        let speed = self.speed_text(have, total);
        match &self.bar {
            Some(bar) => {
                bar.set_length(total);
                bar.set_position(have);
                bar.set_message(speed);
            }
            None => {
                let (due, repeated) = match self.last_line {
                    None => (true, false),
                    Some((at, bytes)) => (at.elapsed() >= PLAIN_EVERY, bytes == have),
                };
                // The last figure always gets its line, and no figure gets two.
                if (due || have == total) && !repeated {
                    self.last_line = Some((Instant::now(), have));
                    let percent = have.saturating_mul(100).checked_div(total).unwrap_or(100);
                    eprintln!("{}: {have} of {total} bytes ({percent}%), {speed}", self.id);
                }
            }
        }
    }

    /// Bytes per second received by this run so far.
    fn rate(&self, have: u64) -> f64 {
        let elapsed = self.started.elapsed().as_secs_f64().max(0.001);
        have.saturating_sub(self.held) as f64 / elapsed
    }

    /// "4.70 MiB/s, eta 3 seconds" (no time left once complete).
    fn speed_text(&self, have: u64, total: u64) -> String {
        let rate = self.rate(have);
        let mut text = format!("{}/s", BinaryBytes(rate as u64));
        if have < total {
            let left = total - have;
            if rate >= 1.0 {
                let eta = Duration::from_secs_f64(left as f64 / rate);
                let _ = write!(text, ", eta {}", HumanDuration(eta));
            } else {
                text.push_str(", eta unknown");
            }
        }
        text
    }

    /// Takes the bar off the screen.
    pub(super) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    /// "received 1048576 bytes in 0.40 s (2.50 MiB/s); 786432 were already held".
    pub(super) fn summary(&self) -> String {
        let (have, _) = self.latest.unwrap_or_default();
        let received = have.saturating_sub(self.held);
        let mut text = format!(
            "received {received} bytes in {:.2} s ({}/s)",
            self.started.elapsed().as_secs_f64(),
            BinaryBytes(self.rate(have) as u64)
        );
        if self.held > 0 {
            let _ = write!(text, "; {} were already held", self.held);
        }
        text
    }

    /// What is kept on disk now: the latest figures, or what was found before the start.
    pub(super) fn kept(&self) -> Option<(u64, u64)> {
        self.latest
            .or_else(|| self.found.map(|found| (found.bytes, found.total)))
            .filter(|(have, _)| *have > 0)
    }
}
