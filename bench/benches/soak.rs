//! Soak: four adapter-std nodes on 127.0.0.1 exchanging queries and content for a long time
//! while a hostile sender floods them, watching for lost queries, failed fetches and growth.
//!
//! `cargo bench -p ejtp-bench --bench soak` runs for `EJTP_SOAK_SECS` seconds (default 60; 10
//! with `EJTP_BENCH_QUICK=1`):
//! - four `ejtp_std` nodes (`n0` to `n3`, one client each, default `Config`), each with a
//!   shared folder. Each node's querying thread asks the other three in turn, one query every
//!   20 ms, hard timeout 5 s; each node's application thread answers every query with a reply
//!   of the size it asks for (200 B to 8 KiB, and one in fifty of 64 to 72 KiB, larger than
//!   any UDP datagram), which the querier checks byte for byte;
//! - `n0` and `n1` share the same four files (256 KiB to 4 MiB); `n2` and `n3` fetch them in
//!   turn from both with `Handle::fetch` (download deadline 60 s), check the copy against its
//!   id (SHA-256), keep it 1.5 s (three rescans of the folder, every 500 ms), delete it, wait
//!   until the folder's rescan withdraws it, and fetch the next;
//! - one hostile thread sends the nodes, from sockets of its own on 127.0.0.1 (one of eight
//!   replaced every 2 s, so that the nodes keep meeting new addresses), a seeded mix of hostile
//!   datagrams (`ejtp_bench::hostile`) at `EJTP_SOAK_HOSTILE_RATE` datagrams a second in all
//!   (default 2 000), and every 30 s captures the real first datagrams of a throwaway identity
//!   to one of the nodes (`ejtp_bench::replay_capture`), sends them once (the message is
//!   delivered) and then replays them as part of the mix, which must never deliver it again.
//!
//! The seed (`EJTP_SOAK_SEED`, decimal or `0x` hex) fixes every choice: identities, file
//! contents, query sizes, the hostile mix. Every 5 s (1 s for runs up to 20 s, 30 s for runs
//! of 10 minutes or more) one line: elapsed time, resident memory, descriptors and threads of
//! the process, queries and fetches so far (and since the last line), hostile datagrams sent,
//! and each node's drops (the sum of its `dropped_*` counters) and queue drops (transmit and
//! event queues full, and events the adapter lost). At the end a summary, then the verdict: the
//! process exits with status 1 if a query failed or timed out, a fetch failed, a replayed
//! message was delivered twice, or resident memory grew faster than 256 KiB a minute after the
//! warm-up (the first minute, or the first third of a shorter run; the slope is the least
//! squares line through the samples after it, and is judged only when they span at least two
//! minutes: a shorter window measures start-up, not a leak).
//!
//! It is not a test (`cargo test` does not run bench targets): it takes minutes, and what it
//! measures, loss and memory over time, is not a pass/fail of one change.

use std::fs::{self, File};
use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ejtp_bench::hostile::Target;
use ejtp_bench::process::ProcessSample;
use ejtp_bench::splitmix::SplitMix64;
use ejtp_bench::trend::slope_per_minute;
use ejtp_proto::content::{ContentId, DownloadConfig};
use ejtp_proto::{Event, Identity, PublicIdentity, QueryOptions, Stats, UnixMillis};
use ejtp_std::{Events, FetchOutcome, Handle, NodeOptions, QueryOutcome};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

#[path = "soak/hostile_loop.rs"]
mod hostile_loop;
#[path = "soak/report.rs"]
mod report;

use hostile_loop::hostile_loop;
use report::{Sample, print_sample, sample, stats_line};

const NAMES: [&str; 4] = ["n0", "n1", "n2", "n3"];
/// The nodes that share the files; the others fetch them.
const SEEDERS: [usize; 2] = [0, 1];
const FETCHERS: [usize; 2] = [2, 3];
const FILE_SIZES: [usize; 4] = [256 << 10, 1 << 20, (2 << 20) + 12_345, 4 << 20];
const QUERY_EVERY: Duration = Duration::from_millis(20);
const QUERY_TIMEOUT: Duration = Duration::from_secs(5);
const FETCH_DEADLINE: Duration = Duration::from_secs(60);
const FETCH_PAUSE: Duration = Duration::from_millis(250);
const RESCAN: Duration = Duration::from_millis(500);
/// How long a fetcher waits for its folder to withdraw a deleted copy.
const WITHDRAW_WAIT: Duration = Duration::from_secs(10);
/// How long a fetcher keeps a verified copy before deleting it: three rescans, so that the
/// folder has adopted it. A finished download deleted before any rescan saw it is never
/// withdrawn (the rescan withdraws only the files it tracks, and adopts only those it finds):
/// `content_path` keeps naming the deleted file and the next `fetch` of it returns `Completed`
/// at once, with that path.
const KEEP_BEFORE_DELETE: Duration = Duration::from_millis(1_500);
const HOSTILE_SOCKETS: usize = 8;
const ROTATE_EVERY: Duration = Duration::from_secs(2);
const CAPTURE_EVERY: Duration = Duration::from_secs(30);
const WARM_UP: Duration = Duration::from_secs(60);
const RSS_SLOPE_BOUND: f64 = 256.0;
/// The least span of samples after the warm-up over which the slope is judged.
const SLOPE_WINDOW: Duration = Duration::from_secs(120);
const DEFAULT_SEED: u64 = 0x50a4_2026_e17b_0001;
const DEFAULT_RATE: u64 = 2_000;
/// Failures described in full; the rest are only counted.
const FAILURES_KEPT: usize = 30;

/// What the environment asks for.
struct Settings {
    run: Duration,
    seed: u64,
    hostile_rate: u64,
    sample_every: Duration,
    warm_up: Duration,
}

fn env_u64(name: &str) -> Option<u64> {
    let text = std::env::var(name).ok()?;
    let text = text.trim();
    let parsed = match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse(),
    };
    match parsed {
        Ok(value) => Some(value),
        Err(err) => {
            eprintln!("{name}={text:?} is not a number ({err}); ignored");
            None
        }
    }
}

impl Settings {
    fn from_env() -> Self {
        let secs = env_u64("EJTP_SOAK_SECS").unwrap_or(if ejtp_bench::quick() { 10 } else { 60 });
        let run = Duration::from_secs(secs.max(1));
        let sample_every = Duration::from_secs(match secs {
            0..=20 => 1,
            21..600 => 5,
            _ => 30,
        });
        Self {
            run,
            seed: env_u64("EJTP_SOAK_SEED").unwrap_or(DEFAULT_SEED),
            hostile_rate: env_u64("EJTP_SOAK_HOSTILE_RATE").unwrap_or(DEFAULT_RATE),
            sample_every,
            warm_up: WARM_UP.min(run / 3),
        }
    }
}

/// Counters of one node's application thread.
#[derive(Default)]
struct NodeCounters {
    /// Captured first messages sent to this node once, and replayed after.
    captures_sent: AtomicU64,
    /// Of those, deliveries seen by the application.
    replayed_delivered: AtomicU64,
    /// Messages that were neither a query of ours nor a captured message.
    unexpected: AtomicU64,
    /// Replies the node refused.
    reply_errors: AtomicU64,
    /// Events the adapter dropped, the queue being full (`Events::lost_total`).
    events_lost: AtomicU64,
}

/// Everything the threads count.
#[derive(Default)]
struct Counters {
    queries_ok: AtomicU64,
    queries_failed: AtomicU64,
    queries_timed_out: AtomicU64,
    fetches_ok: AtomicU64,
    fetches_failed: AtomicU64,
    fetched_bytes: AtomicU64,
    hostile_sent: AtomicU64,
    hostile_bytes: AtomicU64,
    hostile_send_errors: AtomicU64,
    hostile_skipped: AtomicU64,
    answers_to_hostile: AtomicU64,
    answer_bytes_to_hostile: AtomicU64,
    nodes: [NodeCounters; 4],
    failures: Mutex<Vec<String>>,
    failures_total: AtomicU64,
}

impl Counters {
    fn fail(&self, since: Instant, what: String) {
        self.failures_total.fetch_add(1, Ordering::Relaxed);
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        if failures.len() < FAILURES_KEPT {
            failures.push(format!("at {:.1} s: {what}", since.elapsed().as_secs_f64()));
        }
    }
}

/// What every thread of the run shares: the counters, the stop flag, and when it began.
#[derive(Clone)]
struct Run {
    counters: Arc<Counters>,
    stop: Arc<AtomicBool>,
    began: Instant,
}

impl Run {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    fn fail(&self, what: String) {
        self.counters.fail(self.began, what);
    }
}

fn get(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

fn add(counter: &AtomicU64, by: u64) {
    counter.fetch_add(by, Ordering::Relaxed);
}

fn wall() -> UnixMillis {
    UnixMillis(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_millis() as u64),
    )
}

/// Sleeps `duration`, or less if `stop` is set meanwhile.
fn sleep_unless(stop: &AtomicBool, duration: Duration) {
    let until = Instant::now() + duration;
    while !stop.load(Ordering::Relaxed) {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        thread::sleep(left.min(Duration::from_millis(50)));
    }
}

/// The reply to a query asking for `want` bytes: its sequence number and `want` letters.
fn reply_value(seq: &Value, want: usize) -> Value {
    let pad: String = (0..want)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    json!({"seq": seq, "pad": pad})
}

/// A running node of the soak.
struct SoakNode {
    handle: Handle,
    to: PublicIdentity,
    addr: SocketAddr,
    dir: PathBuf,
}

fn bind(index: usize, secret: [u8; 32], seed: [u8; 32], dir: &Path) -> (SoakNode, Events) {
    let download = DownloadConfig {
        deadline: Some(FETCH_DEADLINE),
        ..DownloadConfig::default()
    };
    let options = NodeOptions::new(Identity::from_secret_bytes(&secret))
        .udp(SocketAddr::from(([127, 0, 0, 1], 0)))
        .client(NAMES[index])
        .seed(seed)
        .share_dir(dir)
        .share_rescan(Some(RESCAN))
        .download_config(download);
    let node = ejtp_std::Node::bind(options)
        .unwrap_or_else(|err| panic!("{} cannot start: {err}", NAMES[index]));
    let to = node.public_identity(NAMES[index]);
    let addr = node.udp_addrs()[0];
    let (handle, events) = node.split();
    let node = SoakNode {
        handle,
        to,
        addr,
        dir: dir.to_path_buf(),
    };
    (node, events)
}

/// A node's application: answers every query with the reply it asks for, and counts the rest.
fn answer(index: usize, handle: Handle, events: Events, counters: Arc<Counters>) {
    let mine = &counters.nodes[index];
    while let Some(event) = events.recv() {
        mine.events_lost
            .store(events.lost_total(), Ordering::Relaxed);
        let Event::Message(message) = event else {
            continue;
        };
        if let Some(want) = message.value.get("want").and_then(Value::as_u64) {
            let seq = message.value.get("seq").cloned().unwrap_or(Value::Null);
            let value = reply_value(&seq, want as usize);
            match handle.reply(NAMES[index], &message, value) {
                Ok(_) => {}
                Err(ejtp_std::Error::Closed) => break,
                Err(_) => add(&mine.reply_errors, 1),
            }
        } else if message.value.get("soak").and_then(Value::as_str) == Some("replayed") {
            add(&mine.replayed_delivered, 1);
        } else {
            add(&mine.unexpected, 1);
        }
    }
}

/// A node's querying thread: the other nodes in turn, one query every [`QUERY_EVERY`].
fn query_loop(
    index: usize,
    handle: Handle,
    peers: Vec<PublicIdentity>,
    mut rng: SplitMix64,
    run: Run,
) {
    let counters = &run.counters;
    let options = QueryOptions {
        hard_timeout: QUERY_TIMEOUT,
        ..QueryOptions::default()
    };
    let mut next = Instant::now();
    let mut seq = 0u64;
    while !run.stopped() {
        let peer = &peers[(seq % peers.len() as u64) as usize];
        let want = if rng.chance(20) {
            rng.len_between(64 << 10, 72 << 10)
        } else if rng.chance(500) {
            rng.len_between(200, 1_200)
        } else {
            rng.len_between(1_200, 8 << 10)
        };
        let value = json!({"seq": seq, "want": want});
        let asked = Instant::now();
        let outcome = handle.query(NAMES[index], peer, value, options);
        let took = asked.elapsed().as_secs_f64();
        let what = format!("{} -> {} query {seq} ({want} B)", NAMES[index], peer.name);
        match outcome {
            Ok(QueryOutcome::Reply { message, .. })
                if message.from.key == peer.key
                    && message.value == reply_value(&json!(seq), want) =>
            {
                add(&counters.queries_ok, 1);
            }
            Ok(QueryOutcome::Reply { message, .. }) => {
                add(&counters.queries_failed, 1);
                let got = message.value.to_string();
                let got = got.get(..got.len().min(80)).unwrap_or_default();
                run.fail(format!("{what}: a wrong reply: {got}"));
            }
            Ok(QueryOutcome::TimedOut) => {
                add(&counters.queries_timed_out, 1);
                run.fail(format!("{what}: timed out after {took:.1} s"));
            }
            Ok(other) => {
                add(&counters.queries_failed, 1);
                run.fail(format!("{what}: {other:?} after {took:.1} s"));
            }
            Err(err) => {
                add(&counters.queries_failed, 1);
                run.fail(format!("{what}: {err}"));
            }
        }
        seq += 1;
        next += QUERY_EVERY;
        let now = Instant::now();
        if next > now {
            thread::sleep(next - now);
        } else {
            next = now;
        }
    }
}

/// Whether the file at `path` hashes to `id`, read in pieces (no copy of it in memory).
fn verify(path: &Path, id: ContentId) -> Result<u64, String> {
    let mut file = File::open(path).map_err(|err| format!("cannot open the copy: {err}"))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 64 << 10];
    let mut len = 0u64;
    loop {
        let read = file
            .read(&mut buffer)
            .map_err(|err| format!("cannot read the copy: {err}"))?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
        len += read as u64;
    }
    if <[u8; 32]>::from(hasher.finalize()) == id.0 {
        Ok(len)
    } else {
        Err("the copy does not hash to its id".to_string())
    }
}

/// A fetching node: each file in turn from both seeders, checked, deleted, and withdrawn by
/// the folder's rescan before it is fetched again.
fn fetch_loop(
    index: usize,
    handle: Handle,
    files: Vec<(ContentId, u64)>,
    sources: Vec<SocketAddr>,
    first: usize,
    run: Run,
) {
    let counters = &run.counters;
    let name = NAMES[index];
    let mut turn = first;
    'files: while !run.stopped() {
        let (id, len) = files[turn % files.len()];
        turn += 1;
        let short = &id.to_string()[..8];
        let waiting = Instant::now();
        while matches!(handle.content_path(id), Ok(Some(_))) {
            if run.stopped() {
                break 'files;
            }
            if waiting.elapsed() > WITHDRAW_WAIT {
                add(&counters.fetches_failed, 1);
                run.fail(format!(
                    "{name}: its deleted copy of {short}… is still listed after {} s",
                    WITHDRAW_WAIT.as_secs()
                ));
                continue 'files;
            }
            thread::sleep(Duration::from_millis(50));
        }
        let asked = Instant::now();
        let outcome = handle.fetch(id, &sources);
        let took = asked.elapsed().as_secs_f64();
        let checked = match outcome {
            Ok(FetchOutcome::Completed {
                len: got,
                path: Some(path),
                ..
            }) if got == len => {
                let checked = verify(&path, id);
                sleep_unless(&run.stop, KEEP_BEFORE_DELETE);
                if let Err(err) = fs::remove_file(&path) {
                    run.fail(format!("{name}: cannot delete {short}…: {err}"));
                }
                checked
            }
            Ok(other) => Err(format!("{other:?}")),
            Err(err) => Err(err.to_string()),
        };
        match checked {
            Ok(bytes) if bytes == len => {
                add(&counters.fetches_ok, 1);
                add(&counters.fetched_bytes, bytes);
            }
            Ok(bytes) => {
                add(&counters.fetches_failed, 1);
                run.fail(format!(
                    "{name}: fetch {short}…: {bytes} bytes on disk, {len} expected"
                ));
            }
            Err(why) => {
                add(&counters.fetches_failed, 1);
                run.fail(format!("{name}: fetch {short}… after {took:.1} s: {why}"));
            }
        }
        sleep_unless(&run.stop, FETCH_PAUSE);
    }
}

fn make_files(rng: &mut SplitMix64) -> Vec<Vec<u8>> {
    FILE_SIZES.iter().map(|len| rng.bytes(*len)).collect()
}

#[allow(clippy::too_many_lines)]
fn main() {
    let settings = Settings::from_env();
    let mut rng = SplitMix64::new(settings.seed);
    println!(
        "Soak: 4 adapter-std nodes on 127.0.0.1 for {} s, seed {:#x} (EJTP_SOAK_SEED overrides), hostile {} datagrams/s (EJTP_SOAK_HOSTILE_RATE), a line every {} s; warm-up {} s, RSS slope bound {RSS_SLOPE_BOUND} KiB/min",
        settings.run.as_secs(),
        settings.seed,
        settings.hostile_rate,
        settings.sample_every.as_secs(),
        settings.warm_up.as_secs(),
    );
    let scratch = tempfile::tempdir().expect("a scratch folder");
    let files = make_files(&mut rng);
    let ids: Vec<(ContentId, u64)> = files
        .iter()
        .map(|bytes| (ContentId::of(bytes), bytes.len() as u64))
        .collect();
    let counters = Arc::new(Counters::default());
    let stop = Arc::new(AtomicBool::new(false));

    let mut nodes = Vec::new();
    let mut answering = Vec::new();
    for (index, name) in NAMES.iter().enumerate() {
        let dir = scratch.path().join(name);
        fs::create_dir_all(&dir).expect("a node's folder");
        if SEEDERS.contains(&index) {
            for (number, bytes) in files.iter().enumerate() {
                fs::write(dir.join(format!("file{number}.bin")), bytes).expect("a shared file");
            }
        }
        let (node, events) = bind(index, rng.array32(), rng.array32(), &dir);
        let (handle, counters) = (node.handle.clone(), Arc::clone(&counters));
        answering.push(thread::spawn(move || {
            answer(index, handle, events, counters);
        }));
        nodes.push(node);
    }
    for seeder in SEEDERS {
        let waiting = Instant::now();
        for (id, _) in &ids {
            while !matches!(nodes[seeder].handle.content_path(*id), Ok(Some(_))) {
                assert!(
                    waiting.elapsed() < Duration::from_secs(60),
                    "{} did not share its files within 60 s",
                    NAMES[seeder]
                );
                thread::sleep(Duration::from_millis(20));
            }
        }
    }
    println!(
        "  nodes: {}; shared by n0 and n1: {} files of {} bytes; folders under {}",
        nodes
            .iter()
            .zip(NAMES)
            .map(|(node, name)| format!("{name} {}", node.addr))
            .collect::<Vec<_>>()
            .join(", "),
        ids.len(),
        ids.iter()
            .map(|(_, len)| len.to_string())
            .collect::<Vec<_>>()
            .join("/"),
        scratch.path().display()
    );

    let run = Run {
        counters: Arc::clone(&counters),
        stop: Arc::clone(&stop),
        began: Instant::now(),
    };
    let began = run.began;
    let mut workers: Vec<JoinHandle<()>> = Vec::new();
    for index in 0..NAMES.len() {
        let peers: Vec<PublicIdentity> = nodes
            .iter()
            .enumerate()
            .filter(|(other, _)| *other != index)
            .map(|(_, node)| node.to.clone())
            .collect();
        let (handle, run) = (nodes[index].handle.clone(), run.clone());
        let rng = SplitMix64::new(settings.seed ^ (0x9e37 + index as u64));
        workers.push(thread::spawn(move || {
            query_loop(index, handle, peers, rng, run);
        }));
    }
    let sources: Vec<SocketAddr> = SEEDERS.iter().map(|seeder| nodes[*seeder].addr).collect();
    for (turn, fetcher) in FETCHERS.into_iter().enumerate() {
        let (handle, run) = (nodes[fetcher].handle.clone(), run.clone());
        let (files, sources) = (ids.clone(), sources.clone());
        let first = turn * 2;
        workers.push(thread::spawn(move || {
            fetch_loop(fetcher, handle, files, sources, first, run);
        }));
    }
    let hostile = {
        let targets: Vec<Target> = nodes
            .iter()
            .zip(NAMES)
            .map(|(node, name)| Target {
                addr: node.addr,
                callsign: name.to_string(),
                node_id: node.to.key.node_id(),
            })
            .collect();
        let identities: Vec<PublicIdentity> = nodes.iter().map(|node| node.to.clone()).collect();
        let content: Vec<ContentId> = ids.iter().map(|(id, _)| *id).collect();
        let (seed, rate, run) = (settings.seed, settings.hostile_rate, run);
        thread::spawn(move || hostile_loop(seed, rate, targets, identities, content, run))
    };

    let mut samples: Vec<Sample> = Vec::new();
    let end = began + settings.run;
    let mut next = began + settings.sample_every;
    loop {
        let now = Instant::now();
        let at = next.min(end);
        if at > now {
            thread::sleep(at - now);
        }
        let taken = sample(began, &counters, &nodes);
        print_sample(&taken, samples.last());
        samples.push(taken);
        if Instant::now() >= end {
            break;
        }
        next += settings.sample_every;
    }

    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.join().expect("a worker thread");
    }
    let mix = hostile.join().expect("the hostile thread");
    let final_stats: Vec<Option<Stats>> =
        nodes.iter().map(|node| node.handle.stats().ok()).collect();
    for node in &nodes {
        if let Err(err) = node.handle.shutdown() {
            println!("  shutting a node down failed: {err}");
        }
    }
    for thread in answering {
        thread.join().expect("an application thread");
    }
    let leftovers: Vec<usize> = nodes
        .iter()
        .map(|node| {
            fs::read_dir(&node.dir).map_or(0, |dir| {
                dir.filter_map(Result::ok)
                    .filter(|entry| entry.path().is_file())
                    .count()
            })
        })
        .collect();

    // ----- the summary -----
    let last = samples.last().cloned().expect("at least one sample");
    // The counters now, with what ended after the last line (the threads' last queries and
    // fetches).
    let (ok, failed, timed_out) = (
        get(&counters.queries_ok),
        get(&counters.queries_failed),
        get(&counters.queries_timed_out),
    );
    let (fetches_ok, fetches_failed) = (get(&counters.fetches_ok), get(&counters.fetches_failed));
    let asked = ok + failed + timed_out;
    let ratio = if asked == 0 {
        0.0
    } else {
        ok as f64 / asked as f64 * 100.0
    };
    let warm = settings.warm_up.as_secs_f64();
    let after: Vec<&Sample> = samples.iter().filter(|s| s.at >= warm).collect();
    let rss = |s: &Sample| s.process.map(|p| p.rss_kib);
    let points: Vec<(f64, f64)> = after
        .iter()
        .filter_map(|s| Some((s.at, rss(s)? as f64)))
        .collect();
    let slope = slope_per_minute(&points);
    let window = points.last().map_or(0.0, |last| last.0) - points.first().map_or(0.0, |f| f.0);
    let judged = window >= SLOPE_WINDOW.as_secs_f64();
    let processes: Vec<ProcessSample> = samples.iter().filter_map(|s| s.process).collect();
    let range = |pick: fn(&ProcessSample) -> usize| {
        let values = processes.iter().map(pick);
        (values.clone().min().unwrap_or(0), values.max().unwrap_or(0))
    };
    let (fd_min, fd_max) = range(|p| p.fds);
    let (thr_min, thr_max) = range(|p| p.threads);
    let rss_max = processes.iter().map(|p| p.rss_kib).max().unwrap_or(0);
    let first_after = after.first().and_then(|s| Some((s.at, rss(s)?)));

    println!(
        "Summary after {:.0} s (seed {:#x}):",
        last.at, settings.seed
    );
    println!(
        "  queries: {asked} asked, ok {ok}, failed {failed}, timed out {timed_out}: {ratio:.3}% answered"
    );
    println!(
        "  fetches: ok {} ({:.1} MiB verified), failed {}",
        fetches_ok,
        get(&counters.fetched_bytes) as f64 / f64::from(1 << 20),
        fetches_failed
    );
    let mut twice = Vec::new();
    for (index, mine) in counters.nodes.iter().enumerate() {
        let (sent, delivered) = (get(&mine.captures_sent), get(&mine.replayed_delivered));
        println!(
            "  {}: captured messages sent {sent}, delivered {delivered}; unexpected messages {}, replies refused {}, events lost {}; files left in its folder {}",
            NAMES[index],
            get(&mine.unexpected),
            get(&mine.reply_errors),
            get(&mine.events_lost),
            leftovers[index],
        );
        if delivered > sent {
            twice.push(NAMES[index]);
        }
        if let Some(Some(stats)) = final_stats.get(index) {
            println!("      {}", stats_line(stats));
        }
    }
    let sent_bytes = get(&counters.hostile_bytes);
    println!(
        "  hostile: {} datagrams sent ({:.1} MiB), {} send errors, {} skipped (the thread fell behind); by kind: {}",
        get(&counters.hostile_sent),
        sent_bytes as f64 / f64::from(1 << 20),
        get(&counters.hostile_send_errors),
        get(&counters.hostile_skipped),
        mix.counts()
            .iter()
            .map(|(kind, count)| format!("{} {count}", kind.name()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let answer_bytes = get(&counters.answer_bytes_to_hostile);
    println!(
        "  answered to the hostile sockets: {} datagrams, {:.1} KiB ({:.3} of the bytes sent)",
        get(&counters.answers_to_hostile),
        answer_bytes as f64 / 1024.0,
        answer_bytes as f64 / sent_bytes.max(1) as f64
    );
    match first_after {
        Some((at, first)) => println!(
            "  RSS: {first} KiB at {at:.0} s (first sample after the {warm:.0} s warm-up), {} KiB at the end, max {rss_max} KiB; slope {} over {} samples ({window:.0} s){}",
            rss(&last).unwrap_or(0),
            slope.map_or("n/a".to_string(), |s| format!("{s:+.1} KiB/min")),
            points.len(),
            if judged {
                String::new()
            } else {
                format!(" (not judged: under {} s)", SLOPE_WINDOW.as_secs())
            },
        ),
        None => println!("  RSS: no sample after the warm-up"),
    }
    println!("  descriptors: {fd_min} to {fd_max}; threads: {thr_min} to {thr_max}");
    let failures = counters
        .failures
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    if !failures.is_empty() {
        println!(
            "  failures ({} in all, the first {}):",
            get(&counters.failures_total),
            failures.len()
        );
        for failure in &failures {
            println!("    {failure}");
        }
    }

    let mut verdict = Vec::new();
    if failed + timed_out > 0 {
        verdict.push(format!(
            "{} legitimate queries did not get their reply",
            failed + timed_out
        ));
    }
    if fetches_failed > 0 {
        verdict.push(format!("{fetches_failed} fetches failed"));
    }
    if !twice.is_empty() {
        verdict.push(format!(
            "a replayed message was delivered more than once by {}",
            twice.join(", ")
        ));
    }
    if let (true, Some(slope)) = (judged, slope) {
        if slope > RSS_SLOPE_BOUND {
            verdict.push(format!(
                "RSS grew {slope:.1} KiB/min after the warm-up, above {RSS_SLOPE_BOUND}"
            ));
        }
    }
    if asked == 0 {
        verdict.push("no query was asked".to_string());
    }
    if verdict.is_empty() {
        println!("PASS");
    } else {
        println!("FAIL: {}", verdict.join("; "));
        std::process::exit(1);
    }
}
