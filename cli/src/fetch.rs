//! `ejtp fetch`: download one content by id from CJP2P nodes into a folder, with progress.

mod held;
mod progress;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ejtp_adapter_core::store::PARTIAL_DIR;
use ejtp_proto::FetchEvent;
use ejtp_proto::content::DownloadConfig;
use ejtp_proto::{CoreRng, Event, Identity};
use ejtp_std::{Node, NodeOptions};

use crate::args::FetchArgs;
use crate::console;
use crate::error::{CliError, node_reason};
use progress::Progress;

/// Longest wait for an event before looking at the clock and for Ctrl-C again.
const POLL: Duration = Duration::from_millis(100);

/// Downloads `args.id` into `args.out` and prints `fetched: <path>`. A download in progress is
/// kept in `OUT/.ejtp-partial`, so the same command after an interruption (Ctrl-C, a timeout,
/// a failure) resumes it; an interruption says so.
pub(crate) fn fetch(args: &FetchArgs) -> Result<(), CliError> {
    // Checked first, so that an unwritable folder is named as such rather than reported as
    // the node failing to start.
    crate::folder::check_download_folder(&args.out, "--out")?;
    let stop = crate::run::stop_on_signal()?;
    let seed = ejtp_adapter_core::os_seed()
        .map_err(|err| CliError::failure(format!("cannot draw randomness: {err}")))?;
    // CJP2P needs no identity of ours: a throwaway one.
    let identity = Identity::generate(&mut CoreRng::from_seed(seed));
    // One socket per address family the peers use: a datagram leaves from a socket of its
    // destination's family, so one socket would never reach the peers of the other.
    // The download itself gives up at `--timeout`, so that its failure says why for each
    // source (unreachable, stalled since when, ...).
    let download_config = DownloadConfig {
        deadline: Some(Duration::from_secs(args.timeout)),
        ..DownloadConfig::default()
    };
    let options = bind_for(&args.peers)
        .into_iter()
        .fold(NodeOptions::new(identity), NodeOptions::udp)
        .share_dir(&args.out)
        .download_config(download_config);
    let node = Node::bind(options).map_err(|err| {
        CliError::failure(format!("cannot start the node: {}", node_reason(&err)))
    })?;
    let outcome = download(&node, args, &stop);
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

/// How much longer than `--timeout` to wait for the download's own failure, which carries the
/// reasons.
const DEADLINE_GRACE: Duration = Duration::from_secs(5);

fn download(node: &Node, args: &FetchArgs, stop: &AtomicBool) -> Result<PathBuf, CliError> {
    let id = args.id;
    let handle = node.handle();
    // What an earlier run left, read before the node begins the download and counts it in.
    let mut progress = Progress::new(id, held::held_before(&args.out, id));
    handle
        .start_fetch(id, &args.peers)
        .map_err(|err| CliError::failure(format!("cannot fetch {id}: {}", node_reason(&err))))?;
    // A safety net only: the download's own deadline (`--timeout`) ends it first, with the
    // reason for each source.
    let deadline = Instant::now() + Duration::from_secs(args.timeout) + DEADLINE_GRACE;
    loop {
        if stop.load(Ordering::SeqCst) {
            progress.finish();
            return Err(interrupted(args, &progress));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            progress.finish();
            return Err(CliError::failure(format!(
                "gave up on {id} after {} s (run again to resume)",
                args.timeout
            )));
        }
        match node.events().recv_timeout(left.min(POLL)) {
            Some(Event::Fetch(FetchEvent::Progress {
                id: of,
                have,
                total,
            })) if of == id => {
                progress.update(have, total);
            }
            Some(Event::Fetch(FetchEvent::Completed { id: of, len })) if of == id => {
                progress.update(len, len);
                progress.finish();
                eprintln!("{}", progress.summary());
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
            Some(Event::Fetch(FetchEvent::Failed { id: of, why })) if of == id => {
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

/// The failure for Ctrl-C: what is kept, where, and how to go on.
fn interrupted(args: &FetchArgs, progress: &Progress) -> CliError {
    let work = args.out.join(PARTIAL_DIR);
    match progress.kept() {
        Some((have, total)) => CliError::failure(format!(
            "interrupted: {have} of {total} bytes are kept in {}; run the same command again to \
             resume",
            work.display()
        )),
        None => CliError::failure(format!(
            "interrupted before any of {} arrived; run the same command again to start it",
            args.id
        )),
    }
}
