//! 64 MiB content transfer over loopback, beside the raw rates of the same machine.
//!
//! `cargo bench -p ejtp-bench --bench transfer` measures, in one run (8 MiB with
//! `EJTP_BENCH_QUICK=1`), each rate as the median of three rounds:
//! - ours, CJP2P-compatible mode: a node of `adapter-std` with the content in its shared folder,
//!   and another that downloads it with `Handle::fetch` (so `Content::fetch`: CJP2P
//!   `PleaseSendContent`/`Content` datagrams, block checks, written to its shared folder on
//!   disk, verified, renamed) — what a user of the blocking adapter gets, timed from the call
//!   to its return;
//!   The nodes know each other as ours (`EjtpSessions`), so requests ask ten blocks at once,
//!   but content sessions are off (`Config::cjp2p.content_sessions = false`);
//! - ours in one thread: the same download between two `ejtp_proto::Node`s in memory
//!   (`MemoryStore` / `MemoryPartialStore`, datagrams handed over directly, no socket, no disk,
//!   timers run when `poll_timeout` says they are due, as an adapter runs them): the core's own
//!   rate for CJP2P-compatible mode, timed like the above from the fetch to its completion, so
//!   first contact (the two nodes' cookie exchange) is included;
//! - ours, encrypted mode: both of the above with content sessions on (the default), so that
//!   after the first requests (sent as CJP2P while the Noise handshake completes) the content
//!   travels in binary session frames; the share of the content that did is printed;
//! - raw UDP: the same number of content bytes sent from one thread and received by another on
//!   127.0.0.1 in CJP2P `Content` datagrams of the two sizes CJP2P mode uses (one 4 KiB block,
//!   as the public node sends; ten blocks, the 40 960-byte most one reply carries, as our
//!   nodes send each other), with a small window of acknowledgements so that the receiver's
//!   socket buffer does not overflow;
//! - raw CPU, one core: SHA-256 (the whole-content check), XXH64 (the manifest's block
//!   checksums), base64 encode + decode (CJP2P's wire
//!   encoding) and ChaCha20-Poly1305 seal + open (what an encrypted session costs a byte) of
//!   the same bytes;
//!
//! and prints each beside the design's targets: CJP2P-compatible mode at least 2.5x the public
//! node's 250 MB/s (625 MB/s), encrypted sessions at least 600 MB/s.
//!
//! `EJTP_BENCH_PROFILE=nodes|memory|nodes-encrypted|memory-encrypted` runs only that one of
//! our paths, five times, for a profiler to watch.

use std::net::UdpSocket;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant as Clock};

use chacha20poly1305::aead::{AeadInOut, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use ejtp_proto::cjp2p::{Cjp2pMessage, base64, encode_datagram};
use sha2::{Digest, Sha256};

/// Rounds of the raw measurements; the median is printed.
const ROUNDS: usize = 3;
const CJP2P_TARGET: f64 = 2.5 * 250.0;
const ENCRYPTED_TARGET: f64 = 600.0;
/// Bytes the raw UDP sender may have unacknowledged: below Linux's default receive buffer.
const WINDOW_BYTES: usize = 96 * 1024;

fn mb_per_s(bytes: usize, elapsed: Duration) -> f64 {
    bytes as f64 / elapsed.as_secs_f64() / 1e6
}

/// The CJP2P datagram carrying `len` content bytes, as a node sends it.
fn content_datagram(len: usize) -> Vec<u8> {
    encode_datagram(&[Cjp2pMessage::Content {
        id: "ab".repeat(32),
        offset: 1 << 20,
        data: vec![0x5a; len],
        eof: 64 << 20,
    }])
}

/// Sends `total` content bytes as datagrams of `datagram_len` wire bytes carrying `chunk`
/// content bytes each; returns the content rate at the receiver (MB/s) and datagrams lost.
fn raw_udp(total: usize, chunk: usize, datagram_len: usize) -> (f64, u64) {
    let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    receiver
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    sender
        .set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    let to = receiver.local_addr().unwrap();
    let back = sender.local_addr().unwrap();
    let count = total.div_ceil(chunk) as u64;
    let window = (WINDOW_BYTES / datagram_len).max(2) as u64;
    let ack_every = (window / 2).max(1);

    let receiving = thread::spawn(move || {
        let mut buffer = vec![0u8; 65_536];
        let mut received = 0u64;
        let mut started = None;
        let mut last = Clock::now();
        // A timeout: the sender is done (or everything else was lost).
        while let Ok((len, _)) = receiver.recv_from(&mut buffer) {
            if len < 8 {
                break; // the end marker
            }
            started.get_or_insert_with(Clock::now);
            last = Clock::now();
            received += 1;
            let sequence = u64::from_le_bytes(buffer[..8].try_into().unwrap());
            if received.is_multiple_of(ack_every) || sequence + 1 == count {
                receiver.send_to(&sequence.to_le_bytes(), back).unwrap();
            }
        }
        let elapsed = started.map_or(Duration::ZERO, |start| last - start);
        (received, elapsed)
    });

    let mut datagram = vec![0x5au8; datagram_len];
    let mut acked = 0u64;
    let mut ack = [0u8; 8];
    for sequence in 0..count {
        while sequence.saturating_sub(acked) >= window {
            match sender.recv_from(&mut ack) {
                Ok(_) => acked = acked.max(u64::from_le_bytes(ack) + 1),
                // Lost datagrams or a lost acknowledgement: carry on rather than stall.
                Err(_) => acked = sequence,
            }
        }
        datagram[..8].copy_from_slice(&sequence.to_le_bytes());
        sender.send_to(&datagram, to).unwrap();
    }
    // The end marker, a few times in case one is lost.
    for _ in 0..3 {
        sender.send_to(&[0u8; 1], to).unwrap();
    }
    let (received, elapsed) = receiving.join().unwrap();
    // The first datagram starts the clock, so count the content of the others.
    let content = received.saturating_sub(1) as usize * chunk;
    (mb_per_s(content, elapsed), count - received)
}

fn sha256_rate(data: &[u8]) -> f64 {
    let start = Clock::now();
    std::hint::black_box(Sha256::digest(data));
    mb_per_s(data.len(), start.elapsed())
}

fn checksum_rate(data: &[u8], block: usize) -> f64 {
    let start = Clock::now();
    for piece in data.chunks(block) {
        std::hint::black_box(ejtp_proto::content::block_checksum(piece));
    }
    mb_per_s(data.len(), start.elapsed())
}

/// Base64 encode + decode of `data` in `chunk`-byte pieces: the rate of both, and of the
/// decoding alone (what the fetching node does).
fn base64_rate(data: &[u8], chunk: usize) -> (f64, f64) {
    let mut text = String::with_capacity(base64::encoded_len(chunk));
    let (mut encoding, mut decoding) = (Duration::ZERO, Duration::ZERO);
    for piece in data.chunks(chunk) {
        let start = Clock::now();
        text.clear();
        base64::encode_into(piece, &mut text);
        let encoded = Clock::now();
        std::hint::black_box(base64::decode(&text).unwrap());
        encoding += encoded - start;
        decoding += encoded.elapsed();
    }
    (
        mb_per_s(data.len(), encoding + decoding),
        mb_per_s(data.len(), decoding),
    )
}

/// ChaCha20-Poly1305 seal + open of `data` in `chunk`-byte frames: the rate of both, and of
/// the opening alone (what the fetching node does).
fn aead_rate(data: &[u8], chunk: usize) -> (f64, f64) {
    let cipher = ChaCha20Poly1305::new(&Key::from([7u8; 32]));
    let mut buffer = vec![0u8; chunk];
    let (mut sealing, mut opening) = (Duration::ZERO, Duration::ZERO);
    for (counter, piece) in data.chunks(chunk).enumerate() {
        let mut nonce = [0u8; 12];
        nonce[4..].copy_from_slice(&(counter as u64).to_le_bytes());
        let nonce = Nonce::from(nonce);
        let buffer = &mut buffer[..piece.len()];
        let start = Clock::now();
        buffer.copy_from_slice(piece);
        let tag = cipher
            .encrypt_inout_detached(&nonce, &[], buffer.into())
            .unwrap();
        let sealed = Clock::now();
        cipher
            .decrypt_inout_detached(&nonce, &[], buffer.into(), &tag)
            .unwrap();
        std::hint::black_box(&buffer);
        sealing += sealed - start;
        opening += sealed.elapsed();
    }
    (
        mb_per_s(data.len(), sealing + opening),
        mb_per_s(data.len(), opening),
    )
}

/// The round of median rate, or the first failure if a round failed.
fn median_outcome(mut rounds: Vec<Result<(f64, f64), String>>) -> Result<(f64, f64), String> {
    if let Some(failed) = rounds.iter().position(Result::is_err) {
        return rounds.swap_remove(failed);
    }
    let mut done: Vec<(f64, f64)> = rounds.into_iter().flatten().collect();
    done.sort_by(|a, b| a.0.total_cmp(&b.0));
    done.get(done.len() / 2)
        .copied()
        .ok_or_else(|| "no round ran".to_string())
}

/// The rate of doing all of `rates` one after the other on one core.
fn serial(rates: &[f64]) -> f64 {
    1.0 / rates.iter().map(|rate| 1.0 / rate).sum::<f64>()
}

/// The configuration of both nodes: content over sessions (the encrypted mode) or not (the
/// CJP2P-compatible mode, still asking each other ten blocks a request).
fn config(sessions: bool) -> ejtp_proto::Config {
    let mut config = ejtp_proto::Config::default();
    config.cjp2p.content_sessions = sessions;
    config
}

/// Downloads `data` from one adapter-std node to another over 127.0.0.1 with `Handle::fetch`,
/// content over a session if `sessions`; returns the content rate (MB/s) and the share of the
/// content that came in session frames, or why it failed.
fn our_nodes(data: &[u8], sessions: bool) -> Result<(f64, f64), String> {
    let seeder_dir = tempfile::tempdir().map_err(|err| err.to_string())?;
    let fetcher_dir = tempfile::tempdir().map_err(|err| err.to_string())?;
    let file = seeder_dir.path().join("content.bin");
    std::fs::write(&file, data).map_err(|err| err.to_string())?;
    let bind = |secret: u8, dir: &Path| {
        ejtp_std::Node::bind(
            ejtp_std::NodeOptions::new(ejtp_proto::Identity::from_secret_bytes(&[secret; 32]))
                .udp("127.0.0.1:0".parse().unwrap())
                .config(config(sessions))
                .share_dir(dir),
        )
    };
    let seeder = bind(1, seeder_dir.path()).map_err(|err| err.to_string())?;
    let fetcher = bind(2, fetcher_dir.path()).map_err(|err| err.to_string())?;
    let source = seeder.udp_addrs()[0];
    let (seeder, seeder_events) = seeder.split();
    let (fetcher, fetcher_events) = fetcher.split();
    // Both event queues must be drained, or the drivers wait for room.
    let drains = [seeder_events, fetcher_events]
        .map(|events| thread::spawn(move || while events.recv().is_some() {}));
    let id = seeder.share(&file).map_err(|err| err.to_string())?;

    let start = Clock::now();
    let outcome = fetcher.fetch(id, &[source]);
    let elapsed = start.elapsed();
    let in_sessions = fetcher
        .stats()
        .map_err(|err| err.to_string())?
        .fetch
        .session_content_bytes as f64
        / data.len() as f64;
    seeder.shutdown().map_err(|err| err.to_string())?;
    fetcher.shutdown().map_err(|err| err.to_string())?;
    for drain in drains {
        drain.join().unwrap();
    }
    match outcome.map_err(|err| err.to_string())? {
        ejtp_std::FetchOutcome::Completed { len, .. } if len == data.len() as u64 => {
            Ok((mb_per_s(data.len(), elapsed), in_sessions))
        }
        other => Err(format!("{other:?}")),
    }
}

/// Downloads `data` between two `Node`s in one thread, datagrams handed over in memory and
/// timers run when due, content over a session if `sessions`; returns the content rate (MB/s)
/// and the share of the content that came in session frames, or why it failed.
fn our_core_in_memory(data: &[u8], sessions: bool) -> Result<(f64, f64), String> {
    use ejtp_proto::FetchEvent;
    use ejtp_proto::content::{MemoryPartialStore, MemoryStore};
    use ejtp_proto::{Event, Identity, Instant, Node, TransportAddr, UnixMillis};

    let start = Clock::now();
    let now = || Instant::from_micros(start.elapsed().as_micros() as u64);
    let wall = UnixMillis(1_700_000_000_000);
    let node = |secret: u8, port: u16| {
        let mut node = Node::new(
            config(sessions),
            Identity::from_secret_bytes(&[secret; 32]),
            [secret; 32],
            now(),
            wall,
        );
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        node.add_local_address(ejtp_proto::Address::udp(addr, None))
            .map_err(|err| format!("{err:?}"))?;
        Ok::<_, String>((node, TransportAddr::udp(addr)))
    };
    let (mut seeder, seeder_addr) = node(1, 9001)?;
    let (mut fetcher, fetcher_addr) = node(2, 9002)?;
    let mut content = MemoryStore::new();
    let id = content.insert(data.to_vec());
    seeder.cjp2p().set_store(Some(Box::new(content)));
    fetcher
        .content()
        .set_storage(Some(Box::new(MemoryPartialStore::new())));

    let began = Clock::now();
    fetcher
        .content()
        .fetch(now(), id, vec![seeder_addr])
        .map_err(|err| format!("{err:?}"))?;
    while began.elapsed() < Duration::from_secs(120) {
        let mut moved = false;
        while let Some(transmit) = fetcher.poll_transmit() {
            seeder.handle_datagram(now(), fetcher_addr, &transmit.payload);
            moved = true;
        }
        while let Some(transmit) = seeder.poll_transmit() {
            fetcher.handle_datagram(now(), seeder_addr, &transmit.payload);
            moved = true;
        }
        while seeder.poll_event().is_some() {}
        while let Some(event) = fetcher.poll_event() {
            match event {
                Event::Fetch(FetchEvent::Completed { len, .. }) if len == data.len() as u64 => {
                    let rate = mb_per_s(data.len(), began.elapsed());
                    let in_sessions =
                        fetcher.stats().fetch.session_content_bytes as f64 / data.len() as f64;
                    return Ok((rate, in_sessions));
                }
                Event::Fetch(FetchEvent::Completed { len, .. }) => {
                    return Err(format!("completed at {len} bytes"));
                }
                Event::Fetch(FetchEvent::Failed { why, .. }) => return Err(why),
                _ => {}
            }
        }
        if !moved {
            // Nothing in flight: as an adapter does, wake a node when its timer (a retry, a
            // probe) is due, and otherwise sleep until the earliest one rather than spin.
            let at = now();
            let mut woke = false;
            let mut next: Option<Instant> = None;
            for node in [&mut fetcher, &mut seeder] {
                match node.poll_timeout() {
                    Some(timeout) if timeout.at <= at => {
                        node.handle_timeout(at);
                        woke = true;
                    }
                    Some(timeout) => next = Some(next.map_or(timeout.at, |n| n.min(timeout.at))),
                    None => {}
                }
            }
            if let (false, Some(next)) = (woke, next) {
                thread::sleep(next.saturating_duration_since(at));
            }
        }
    }
    Err("no end within 120 s".to_string())
}

/// Runs one of our four paths alone, five times, for a profiler to watch
/// (`EJTP_BENCH_PROFILE=nodes|memory|nodes-encrypted|memory-encrypted`); its rates are printed
/// but are not the bench's figures (the full run measures each path beside the raw rates).
fn profile_one(path: &str, data: &[u8]) {
    for _ in 0..5 {
        let outcome = match path {
            "nodes" => our_nodes(data, false),
            "memory" => our_core_in_memory(data, false),
            "nodes-encrypted" => our_nodes(data, true),
            "memory-encrypted" => our_core_in_memory(data, true),
            other => {
                eprintln!("EJTP_BENCH_PROFILE: no path {other:?}");
                return;
            }
        };
        match outcome {
            Ok((rate, _)) => println!("{path}: {rate:.0} MB/s"),
            Err(why) => println!("{path}: the fetch failed: {why}"),
        }
    }
}

fn main() {
    let total: usize = if ejtp_bench::quick() {
        8 << 20
    } else {
        64 << 20
    };
    let data: Vec<u8> = (0..total).map(|index| (index * 31 % 251) as u8).collect();
    let block = 4096;
    let reply = 40_960;
    let small = content_datagram(block).len();
    let large = content_datagram(reply).len();

    if let Some(path) = std::env::var_os("EJTP_BENCH_PROFILE") {
        profile_one(&path.to_string_lossy(), &data);
        return;
    }
    // Our four paths, each the median of three rounds taken in turn (a transfer's rate moves
    // with what else the two cores are doing at that moment).
    let mut ours_rounds: [Vec<Result<(f64, f64), String>>; 4] = Default::default();
    for _ in 0..ROUNDS {
        ours_rounds[0].push(our_nodes(&data, false));
        ours_rounds[1].push(our_core_in_memory(&data, false));
        ours_rounds[2].push(our_nodes(&data, true));
        ours_rounds[3].push(our_core_in_memory(&data, true));
    }
    let [ours, ours_in_memory, encrypted, encrypted_in_memory] = ours_rounds.map(median_outcome);
    // The raw rates: the median of three alternating rounds, as the machine may be busy.
    let mut rounds: Vec<[f64; 8]> = Vec::new();
    let mut lost = (0, 0);
    for _ in 0..ROUNDS {
        let (udp_small, lost_small) = raw_udp(total, block, small);
        let (udp_large, lost_large) = raw_udp(total, reply, large);
        lost = (lost.0 + lost_small, lost.1 + lost_large);
        let (b64, b64_decode) = base64_rate(&data, reply);
        let (aead, aead_open) = aead_rate(&data, reply);
        rounds.push([
            udp_small,
            udp_large,
            sha256_rate(&data),
            b64,
            aead,
            checksum_rate(&data, block),
            b64_decode,
            aead_open,
        ]);
    }
    let median = |column: usize| {
        let mut values: Vec<f64> = rounds.iter().map(|round| round[column]).collect();
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    let (udp_small, udp_large, sha, b64, aead, checksum) = (
        median(0),
        median(1),
        median(2),
        median(3),
        median(4),
        median(5),
    );
    let (b64_decode, aead_open) = (median(6), median(7));
    let (lost_small, lost_large) = lost;

    let mib = total >> 20;
    println!(
        "{mib} MiB over 127.0.0.1 and on one core of this machine, in one run (every rate: median of {ROUNDS} rounds):"
    );
    println!("  {:<86} {:>9}   {:>14}", "path", "rate", "of target");
    let line = |name: &str, rate: f64, target: f64| {
        println!(
            "  {name:<86} {rate:>6.0} MB/s   {:>5.2}x {target:.0}",
            rate / target
        );
    };
    let raw: [(String, f64, f64); 10] = [
        (
            format!(
                "raw UDP, {small}-byte datagrams (4 KiB block each), {lost_small} lost in all rounds"
            ),
            udp_small,
            CJP2P_TARGET,
        ),
        (
            format!(
                "raw UDP, {large}-byte datagrams (40 KiB each), {lost_large} lost in all rounds"
            ),
            udp_large,
            CJP2P_TARGET,
        ),
        (
            "raw SHA-256 (the whole-content check against the id)".into(),
            sha,
            CJP2P_TARGET,
        ),
        (
            "raw XXH64 of 4 KiB blocks (the manifest's block checksums)".into(),
            checksum,
            CJP2P_TARGET,
        ),
        (
            "raw base64 encode + decode (CJP2P wire encoding)".into(),
            b64,
            CJP2P_TARGET,
        ),
        (
            "raw SHA-256 + XXH64 + base64 both ways, serially (CJP2P bytes' CPU)".into(),
            serial(&[sha, checksum, b64]),
            CJP2P_TARGET,
        ),
        (
            "the fetching node's least CPU: base64 decode + SHA-256 + XXH64, serially".into(),
            serial(&[b64_decode, sha, checksum]),
            CJP2P_TARGET,
        ),
        (
            "raw ChaCha20-Poly1305 seal + open, 40 KiB frames".into(),
            aead,
            ENCRYPTED_TARGET,
        ),
        (
            "raw SHA-256 + XXH64 + ChaCha20-Poly1305 seal + open, serially".into(),
            serial(&[sha, checksum, aead]),
            ENCRYPTED_TARGET,
        ),
        (
            "the fetching node's least CPU: ChaCha20-Poly1305 open + SHA-256 + XXH64, serially"
                .into(),
            serial(&[aead_open, sha, checksum]),
            ENCRYPTED_TARGET,
        ),
    ];
    for (name, rate, target) in &raw {
        line(name, *rate, *target);
    }
    let report = |name: &str, outcome: Result<(f64, f64), String>, target: f64| match outcome {
        Ok((rate, in_sessions)) => {
            line(name, rate, target);
            println!(
                "  {:<86} {:>13.0}%",
                "  of the content in session frames",
                in_sessions * 100.0
            );
            Some(rate)
        }
        Err(why) => {
            println!("  {name}: the fetch failed: {why}");
            None
        }
    };
    if let Some(rate) = report(
        "our nodes, CJP2P-compatible mode (adapter-std Handle::fetch)",
        ours,
        CJP2P_TARGET,
    ) {
        println!(
            "  {:<86} {:>14.2}x",
            "  of raw UDP in 40 KiB datagrams",
            rate / udp_large
        );
    }
    report(
        "our core, CJP2P-compatible mode, two Nodes in one thread, in memory",
        ours_in_memory,
        CJP2P_TARGET,
    );
    if let Some(rate) = report(
        "our nodes, encrypted sessions (adapter-std Handle::fetch)",
        encrypted,
        ENCRYPTED_TARGET,
    ) {
        println!(
            "  {:<86} {:>14.2}x",
            "  of raw UDP in 40 KiB datagrams",
            rate / udp_large
        );
    }
    report(
        "our core, encrypted sessions, two Nodes in one thread, in memory",
        encrypted_in_memory,
        ENCRYPTED_TARGET,
    );
}
