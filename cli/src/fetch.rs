//! `ejtp fetch`: download one content by id from CJP2P nodes into a folder, with progress.

use std::io::IsTerminal;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use adapter_std::{Node, NodeOptions};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use proto_core::content::ContentId;
use proto_core::{CoreRng, Event, Identity};

use crate::args::FetchArgs;
use crate::console;
use crate::error::{CliError, io_reason, node_reason};

/// How often the plain (not a terminal) progress line is printed at most.
const PLAIN_EVERY: Duration = Duration::from_secs(1);

/// Downloads `args.id` into `args.out` and prints `fetched: <path>`. A download in progress is
/// kept in `OUT/.ejtp-partial`, so the same command after an interruption resumes it.
pub(crate) fn fetch(args: &FetchArgs) -> Result<(), CliError> {
    std::fs::create_dir_all(&args.out).map_err(|err| {
        CliError::failure(format!(
            "cannot create {}: {}",
            args.out.display(),
            io_reason(&err)
        ))
    })?;
    let seed = adapter_core::os_seed()
        .map_err(|err| CliError::failure(format!("cannot draw randomness: {err}")))?;
    // CJP2P needs no identity of ours: a throwaway one.
    let identity = Identity::generate(&mut CoreRng::from_seed(seed));
    // One socket per address family the peers use: a datagram leaves from a socket of its
    // destination's family, so one socket would never reach the peers of the other.
    let options = bind_for(&args.peers)
        .into_iter()
        .fold(NodeOptions::new(identity), NodeOptions::udp)
        .share_dir(&args.out);
    let node = Node::bind(options).map_err(|err| {
        CliError::failure(format!("cannot start the node: {}", node_reason(&err)))
    })?;
    let outcome = download(&node, args);
    let stopped = node.shutdown();
    let path = outcome?;
    stopped.map_err(|err| {
        CliError::failure(format!("could not stop cleanly: {}", node_reason(&err)))
    })?;
    console::line(format_args!("fetched: {}", path.display()))
}

/// One local address for each address family the peers use, the first peer's family first:
/// loopback for a family whose peers are all loopback (tests), else the wildcard (CJP2P answers
/// go back to the source address). A family this machine cannot bind (no IPv6, say) is left
/// out with a warning naming the peers that cannot be reached, unless no family can be bound,
/// when the node's own bind error says why.
fn bind_for(peers: &[SocketAddr]) -> Vec<SocketAddr> {
    let first_v6 = peers.first().is_some_and(SocketAddr::is_ipv6);
    let mut wanted = Vec::new();
    for v6 in [first_v6, !first_v6] {
        let family: Vec<SocketAddr> = peers
            .iter()
            .copied()
            .filter(|peer| peer.is_ipv6() == v6)
            .collect();
        if family.is_empty() {
            continue;
        }
        let loopback = family.iter().all(|peer| peer.ip().is_loopback());
        let ip = match (v6, loopback) {
            (false, true) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            (false, false) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            (true, true) => IpAddr::V6(Ipv6Addr::LOCALHOST),
            (true, false) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        };
        wanted.push((SocketAddr::new(ip, 0), family));
    }
    let bindable: Vec<SocketAddr> = wanted
        .iter()
        .filter_map(|(local, family)| match std::net::UdpSocket::bind(local) {
            Ok(_) => Some(*local),
            Err(err) => {
                let names: Vec<String> = family.iter().map(ToString::to_string).collect();
                tracing::warn!(
                    "cannot bind {local} ({err}): cannot reach the peers {}",
                    names.join(", ")
                );
                None
            }
        })
        .collect();
    if bindable.is_empty() {
        wanted.into_iter().map(|(local, _)| local).collect()
    } else {
        bindable
    }
}

fn download(node: &Node, args: &FetchArgs) -> Result<std::path::PathBuf, CliError> {
    let id = args.id;
    let handle = node.handle();
    handle
        .start_fetch(id, &args.peers)
        .map_err(|err| CliError::failure(format!("cannot fetch {id}: {}", node_reason(&err))))?;
    let deadline = Instant::now() + Duration::from_secs(args.timeout);
    let mut progress = Progress::new(id);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            progress.finish();
            return Err(CliError::failure(format!(
                "gave up on {id} after {} s (run again to resume)",
                args.timeout
            )));
        }
        match node
            .events()
            .recv_timeout(left.min(Duration::from_millis(500)))
        {
            Some(Event::DownloadProgress {
                id: of,
                have,
                total,
            }) if of == id => {
                progress.update(have, total);
            }
            Some(Event::DownloadCompleted { id: of, len }) if of == id => {
                progress.update(len, len);
                progress.finish();
                let path = handle
                    .content_path(id)
                    .map_err(|err| CliError::failure(node_reason(&err)))?;
                return path.ok_or_else(|| {
                    CliError::failure(format!(
                        "{id} completed but is not in {}",
                        args.out.display()
                    ))
                });
            }
            Some(Event::DownloadFailed { id: of, why }) if of == id => {
                progress.finish();
                return Err(CliError::failure(format!(
                    "cannot fetch {id}: {why} (run again to resume)"
                )));
            }
            Some(other) => tracing::debug!("{other:?}"),
            None => {}
        }
    }
}

/// A progress bar on a terminal, plain lines otherwise.
struct Progress {
    id: ContentId,
    bar: Option<ProgressBar>,
    /// Bytes held when the first figure came (resumed from an earlier run).
    first: Option<u64>,
    last_line: Option<Instant>,
}

impl Progress {
    fn new(id: ContentId) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{bar:40} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar
        });
        Self {
            id,
            bar,
            first: None,
            last_line: None,
        }
    }

    fn update(&mut self, have: u64, total: u64) {
        if self.first.is_none() {
            self.first = Some(have);
            if have > 0 && have < total {
                // On stdout: scripts (and tests) see that the earlier download was reused.
                let _ = console::line(format_args!(
                    "resumed: {have} of {total} bytes already held"
                ));
            }
            if let Some(bar) = &self.bar {
                bar.set_length(total);
                bar.reset_elapsed();
            }
        }
        match &self.bar {
            Some(bar) => {
                bar.set_length(total);
                bar.set_position(have);
            }
            None => {
                let due = self.last_line.is_none_or(|at| at.elapsed() >= PLAIN_EVERY);
                if due || have == total {
                    self.last_line = Some(Instant::now());
                    eprintln!("{}: {have} of {total} bytes", self.id);
                }
            }
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
