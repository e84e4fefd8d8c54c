//! What `ejtp fetch` prints: no `resumed:` line for a new download, the bytes held before it
//! started for a resumed one, a rate on the plain progress lines (and the last line once), a
//! summary that counts only the bytes received this time, a message on Ctrl-C that says how
//! to resume, and the path of an `--out` that cannot be written.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use common::{RunningNode, ejtp, finish};
use ejtp_proto::content::{BlockLayout, CJP2P_BLOCK_SIZE, ContentId, Manifest, block_checksum};

/// 1 MiB: 256 blocks.
const LEN: usize = 1 << 20;

fn content() -> Vec<u8> {
    (0..LEN as u64)
        .map(|i| (i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56) as u8)
        .collect()
}

/// A node serving `bytes` from a shared folder in `dir`.
fn seeder(dir: &Path, bytes: &[u8]) -> RunningNode {
    let (identity, _) = common::keygen(dir, "seed.json", "seed");
    let shared = dir.join("shared");
    std::fs::create_dir_all(&shared).unwrap();
    std::fs::write(shared.join("file.bin"), bytes).unwrap();
    RunningNode::seeder(&identity, "127.0.0.1:0", &shared)
}

/// Leaves in `out` the partial download an interrupted run would have: the first `blocks`
/// blocks written and recorded in the manifest. Returns the bytes held.
fn partial(out: &Path, id: ContentId, bytes: &[u8], blocks: u64) -> u64 {
    let work = out.join(".ejtp-partial");
    std::fs::create_dir_all(&work).unwrap();
    let layout = BlockLayout::new(bytes.len() as u64, CJP2P_BLOCK_SIZE).unwrap();
    let mut part = vec![0u8; bytes.len()];
    let mut manifest = Manifest::new(id, layout);
    let mut held = 0;
    for index in 0..blocks {
        let (offset, len) = (
            layout.offset_of(index) as usize,
            layout.len_of(index) as usize,
        );
        let block = &bytes[offset..offset + len];
        part[offset..offset + len].copy_from_slice(block);
        manifest.record(index, block_checksum(block));
        held += len as u64;
    }
    std::fs::write(work.join(format!("{id}.part")), part).unwrap();
    std::fs::write(work.join(format!("{id}.manifest")), manifest.encode()).unwrap();
    held
}

fn fetch(id: ContentId, peer: &str, out: &Path) -> common::Finished {
    finish(
        ejtp()
            .args(["fetch", &id.to_string(), "--peer", peer, "--out"])
            .arg(out),
    )
}

/// The progress lines on stderr: `<id>: N of M bytes ...`.
fn progress_lines(stderr: &str, id: ContentId) -> Vec<&str> {
    let prefix = format!("{id}: ");
    stderr
        .lines()
        .filter(|line| line.starts_with(&prefix))
        .collect()
}

#[test]
fn a_new_download_is_not_reported_as_resumed_and_its_lines_show_a_rate_once_each() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = content();
    let id = ContentId::of(&bytes);
    let seed = seeder(dir.path(), &bytes);
    let out = dir.path().join("out");
    let done = fetch(id, &seed.addr(0).to_string(), &out);
    assert_eq!(done.code(), Some(0), "{done:#?}");
    assert!(!done.stdout.contains("resumed"), "{done:#?}");
    let lines = progress_lines(&done.stderr, id);
    assert!(!lines.is_empty(), "{done:#?}");
    for line in &lines {
        assert!(line.contains("/s"), "no rate in {line:?}");
    }
    let last = format!("{id}: {LEN} of {LEN} bytes");
    let finals = lines.iter().filter(|line| line.starts_with(&last)).count();
    assert_eq!(finals, 1, "the last line once: {lines:?}");
    assert!(
        done.stderr.contains(&format!("received {LEN} bytes in ")),
        "{done:#?}"
    );
}

/// A stand-in for a public CJP2P node on 127.0.0.1: it answers each request for `bytes` with
/// one block, echoing the requester's cookie, waiting `pause` before each answer (a slow
/// link), until dropped. Its first answer is a block, so the fetcher's first progress figure
/// already counts it.
struct PublicNode {
    addr: std::net::SocketAddr,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl PublicNode {
    fn serve(bytes: Vec<u8>, pause: Duration) -> Self {
        use ejtp_proto::cjp2p::{Cjp2pMessage, encode_datagram, parse_datagram};
        use std::sync::atomic::Ordering;
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let addr = socket.local_addr().unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = std::sync::Arc::clone(&stop);
        let id = ContentId::of(&bytes).to_string();
        let thread = thread::spawn(move || {
            let mut buffer = vec![0u8; 65_536];
            let mut cookie = None;
            let deadline = Instant::now() + common::LIMIT;
            while !stopped.load(Ordering::SeqCst) && Instant::now() < deadline {
                let Ok((len, from)) = socket.recv_from(&mut buffer) else {
                    continue;
                };
                let Ok(parsed) = parse_datagram(&buffer[..len], 128) else {
                    continue;
                };
                for message in parsed.messages {
                    match message {
                        Cjp2pMessage::PleaseAlwaysReturnThisMessage { cookie: theirs } => {
                            cookie = Some(theirs);
                        }
                        Cjp2pMessage::PleaseSendContent {
                            id: asked, offset, ..
                        } if asked == id => {
                            let Some(cookie) = cookie.clone() else {
                                continue;
                            };
                            let start = (offset as usize).min(bytes.len());
                            let end = (start + 4096).min(bytes.len());
                            let reply = encode_datagram(&[
                                Cjp2pMessage::AlwaysReturned { cookie },
                                Cjp2pMessage::Content {
                                    id: id.clone(),
                                    offset,
                                    data: bytes[start..end].to_vec(),
                                    eof: bytes.len() as u64,
                                },
                            ]);
                            thread::sleep(pause);
                            let _ = socket.send_to(&reply, from);
                        }
                        _ => {}
                    }
                }
            }
        });
        Self {
            addr,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for PublicNode {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[test]
fn a_new_download_from_a_public_node_is_not_reported_as_resumed() {
    let dir = tempfile::tempdir().unwrap();
    let bytes: Vec<u8> = content().into_iter().take(64 << 10).collect();
    let id = ContentId::of(&bytes);
    let public = PublicNode::serve(bytes.clone(), Duration::ZERO);
    let out = dir.path().join("out");
    let done = fetch(id, &public.addr.to_string(), &out);
    assert_eq!(done.code(), Some(0), "{done:#?}");
    assert!(!done.stdout.contains("resumed"), "{done:#?}");
    assert!(
        done.stderr
            .contains(&format!("received {} bytes in ", bytes.len())),
        "{done:#?}"
    );
    assert!(std::fs::read(out.join(id.to_string())).unwrap() == bytes);
}

/// Bytes per second from a rate as the progress lines write it: `781.25 KiB/s`.
fn bytes_per_second(text: &str) -> f64 {
    let (number, unit) = text
        .trim_end_matches("/s")
        .split_once(' ')
        .unwrap_or_else(|| panic!("not a rate: {text:?}"));
    let scale = match unit {
        "B" => 1.0,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        other => panic!("unit {other:?} in {text:?}"),
    };
    number.parse::<f64>().unwrap() * scale
}

#[test]
fn after_a_resume_the_rate_counts_only_the_new_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = content();
    let id = ContentId::of(&bytes);
    let out = dir.path().join("out");
    // 240 of the 256 blocks are held; the rest come at most one block per 5 ms: 800 KiB/s.
    let held = partial(&out, id, &bytes, 240);
    let public = PublicNode::serve(bytes, Duration::from_millis(5));
    let done = fetch(id, &public.addr.to_string(), &out);
    assert_eq!(done.code(), Some(0), "{done:#?}");
    assert!(
        done.stdout
            .contains(&format!("resumed: {held} of {LEN} bytes already held")),
        "{done:#?}"
    );
    let last = format!("{id}: {LEN} of {LEN} bytes (100%), ");
    let rate = progress_lines(&done.stderr, id)
        .iter()
        .find_map(|line| line.strip_prefix(&last))
        .map(bytes_per_second)
        .unwrap_or_else(|| panic!("no last line in {done:#?}"));
    // Counting the held 960 KiB as received would give well over 1 MiB/s.
    assert!(
        rate <= 800.0 * 1024.0,
        "rate {rate} B/s above what the link gives: {done:#?}"
    );
}

#[test]
fn a_resumed_download_reports_what_was_held_and_counts_only_new_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = content();
    let id = ContentId::of(&bytes);
    let seed = seeder(dir.path(), &bytes);
    let out = dir.path().join("out");
    let held = partial(&out, id, &bytes, 192);
    let done = fetch(id, &seed.addr(0).to_string(), &out);
    assert_eq!(done.code(), Some(0), "{done:#?}");
    let resumed = format!("resumed: {held} of {LEN} bytes already held");
    assert!(
        done.stdout.lines().any(|line| line == resumed),
        "{resumed:?} in {done:#?}"
    );
    let new = LEN as u64 - held;
    assert!(
        done.stderr.contains(&format!("received {new} bytes in ")),
        "only the {new} new bytes count: {done:#?}"
    );
    let path = out.join(id.to_string());
    assert!(std::fs::read(path).unwrap() == bytes);
}

#[cfg(unix)]
#[test]
fn ctrl_c_says_the_partial_download_is_kept_and_how_to_resume() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = content();
    let id = ContentId::of(&bytes);
    let out = dir.path().join("out");
    let held = partial(&out, id, &bytes, 64);
    // A peer that never answers: the fetch waits until interrupted.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut child = ejtp()
        .args(["fetch", &id.to_string(), "--peer"])
        .arg(silent.local_addr().unwrap().to_string())
        .arg("--out")
        .arg(&out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (lines, seen) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    // Nothing arrives from the silent peer: interrupt it once it is surely waiting.
    let first = seen.recv_timeout(Duration::from_secs(2)).ok();
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("ejtp fetch did not stop on SIGINT");
        }
        thread::sleep(Duration::from_millis(20));
    };
    let mut text: Vec<String> = first.into_iter().collect();
    while let Ok(line) = seen.recv_timeout(Duration::from_millis(500)) {
        text.push(line);
    }
    let text = text.join("\n");
    assert_eq!(status.code(), Some(1), "{status:?}: {text}");
    assert!(text.contains("interrupted"), "{text}");
    assert!(
        text.contains(&format!("{held} of {LEN} bytes are kept in ")),
        "{text}"
    );
    assert!(text.contains(".ejtp-partial"), "{text}");
    assert!(
        text.contains("run the same command again to resume"),
        "{text}"
    );
    assert!(
        out.join(".ejtp-partial")
            .join(format!("{id}.part"))
            .exists()
    );
}

/// A folder nobody may write into (for root too, with the immutable attribute), made
/// writable again when dropped.
struct Unwritable(PathBuf);

impl Unwritable {
    #[cfg(unix)]
    fn new(path: PathBuf) -> Option<Self> {
        use std::os::unix::fs::PermissionsExt;
        std::fs::create_dir_all(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o555)).unwrap();
        let this = Self(path);
        if this.refuses_writes() {
            return Some(this);
        }
        // Root writes anywhere; an immutable folder refuses even root.
        let _ = Command::new("chattr").arg("+i").arg(&this.0).status();
        this.refuses_writes().then_some(this)
    }

    fn refuses_writes(&self) -> bool {
        let probe = self.0.join("probe");
        let refused = std::fs::create_dir(&probe).is_err();
        let _ = std::fs::remove_dir(&probe);
        refused
    }
}

impl Drop for Unwritable {
    fn drop(&mut self) {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = Command::new("chattr")
                .arg("-i")
                .arg(&self.0)
                .stderr(Stdio::null())
                .status();
            let _ = std::fs::set_permissions(&self.0, std::fs::Permissions::from_mode(0o755));
        }
    }
}

#[cfg(unix)]
#[test]
fn an_unwritable_out_folder_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let Some(out) = Unwritable::new(dir.path().join("locked")) else {
        eprintln!("skipped: this system lets the test write into any folder");
        return;
    };
    let id = ContentId::of(b"anything");
    let done = fetch(id, "127.0.0.1:9", &out.0);
    let line = done.assert_one_line_error(1);
    assert!(line.contains(&out.0.display().to_string()), "{line}");
    assert!(line.contains("permission denied"), "{line}");
}
