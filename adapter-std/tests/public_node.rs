//! A real node fetching over a real UDP socket from a simulated public CJP2P node that behaves
//! as the public node does: once it has served the file to anyone, a `MaybeTheyHaveSome`
//! naming other peers comes beside each `Content` in the same datagram, and now and then it
//! ignores a request and answers `MaybeTheyHaveSome` instead. Neither means "I have none":
//! every fetch completes with the verified content.

mod common;

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use ejtp_std::FetchEvent;
use ejtp_std::ejtp_proto::cjp2p::{Cjp2pMessage, Cookie, encode_datagram, parse_datagram};
use ejtp_std::ejtp_proto::content::ContentId;
use ejtp_std::{Event, Identity, Node, NodeOptions};

/// How long one fetch of the test file may take: it takes well under a second on loopback.
const FETCH_LIMIT: Duration = Duration::from_secs(60);

fn pattern(len: usize) -> Vec<u8> {
    (0..len as u64)
        .map(|i| (i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56) as u8)
        .collect()
}

/// What the simulated node did, for the test to check that it behaved as described.
#[derive(Default)]
struct Counts {
    content: AtomicU64,
    beside: AtomicU64,
    instead: AtomicU64,
}

/// The simulated public node: serves `content` on `socket` until `stop`.
fn public_node(socket: UdpSocket, content: Vec<u8>, counts: Arc<Counts>, stop: Arc<AtomicBool>) {
    let id = ContentId::of(&content).to_string();
    let eof = content.len() as u64;
    let mut rng = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut served_anyone = false;
    // Each asker's cookie, kept once offered and returned in every later datagram to it.
    let mut cookies: HashMap<SocketAddr, Cookie> = HashMap::new();
    let mut buffer = vec![0u8; 65_536];
    socket
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    while !stop.load(Ordering::Relaxed) {
        let Ok((len, from)) = socket.recv_from(&mut buffer) else {
            continue;
        };
        let Ok(parsed) = parse_datagram(&buffer[..len], 128) else {
            continue;
        };
        // Other peers it knows for the id: whoever it served, and one that answers nothing.
        let peers: Vec<SocketAddr> = vec![from, "127.0.0.1:9".parse().unwrap()];
        let mut answers = Vec::new();
        for message in parsed.messages {
            match message {
                Cjp2pMessage::PleaseAlwaysReturnThisMessage { cookie } => {
                    cookies.insert(from, cookie);
                }
                Cjp2pMessage::PleaseSendContent {
                    id: asked,
                    offset,
                    length,
                } => {
                    let maybe = Cjp2pMessage::MaybeTheyHaveSome {
                        id: asked.clone(),
                        peers: peers.clone(),
                    };
                    // One request in five ignored at random, "maybe they have some" instead.
                    if asked != id || next() % 5 == 0 {
                        counts.instead.fetch_add(1, Ordering::Relaxed);
                        answers.push(maybe);
                        continue;
                    }
                    let start = offset.min(eof) as usize;
                    let end = (offset.saturating_add(length.min(40_960))).min(eof) as usize;
                    let bytes = Cjp2pMessage::Content {
                        id: asked,
                        offset,
                        data: content[start..end].to_vec(),
                        eof,
                    };
                    counts.content.fetch_add(1, Ordering::Relaxed);
                    if served_anyone {
                        counts.beside.fetch_add(1, Ordering::Relaxed);
                        // Beside the Content, before or after it.
                        if next() % 2 == 0 {
                            answers.extend([maybe, bytes]);
                        } else {
                            answers.extend([bytes, maybe]);
                        }
                    } else {
                        answers.push(bytes);
                    }
                    served_anyone = true;
                }
                _ => {}
            }
        }
        if answers.is_empty() {
            continue;
        }
        // The asker's cookie returned in every datagram, as the public node does.
        if let Some(cookie) = cookies.get(&from) {
            answers.push(Cjp2pMessage::AlwaysReturned {
                cookie: cookie.clone(),
            });
        }
        let _ = socket.send_to(&encode_datagram(&answers), from);
    }
}

/// Waits for the end of the download of `id`: `Ok(len)` or `Err(why)`.
fn wait_end(node: &Node, id: ContentId) -> Result<u64, String> {
    let deadline = Instant::now() + FETCH_LIMIT;
    loop {
        let left = deadline
            .checked_duration_since(Instant::now())
            .unwrap_or_else(|| panic!("the fetch did not end within {FETCH_LIMIT:?}"));
        match node.events().recv_timeout(left) {
            Some(Event::Fetch(FetchEvent::Completed { id: done, len })) if done == id => {
                return Ok(len);
            }
            Some(Event::Fetch(FetchEvent::Failed { id: done, why })) if done == id => {
                return Err(why);
            }
            _ => {}
        }
    }
}

#[test]
fn repeated_fetches_from_a_public_node_that_says_maybe_they_have_some_all_complete() {
    let content = pattern(1 << 20);
    let id = ContentId::of(&content);
    let socket = UdpSocket::bind(common::v4()).unwrap();
    let seeder = socket.local_addr().unwrap();
    let counts = Arc::new(Counts::default());
    let stop = Arc::new(AtomicBool::new(false));
    let server = {
        let (content, counts, stop) = (content.clone(), Arc::clone(&counts), Arc::clone(&stop));
        thread::spawn(move || public_node(socket, content, counts, stop))
    };

    for run in 0..4u8 {
        let dir = tempfile::tempdir().unwrap();
        let options = NodeOptions::new(Identity::from_secret_bytes(&[40 + run; 32]))
            .seed([80 + run; 32])
            .udp(common::v4())
            .share_dir(dir.path());
        let node = Node::bind(options).unwrap();
        node.handle().start_fetch(id, &[seeder]).unwrap();
        let ended = wait_end(&node, id);
        assert_eq!(ended, Ok(content.len() as u64), "run {run}");
        let path = node.handle().content_path(id).unwrap().expect("the file");
        assert!(std::fs::read(&path).unwrap() == content, "run {run}");
        node.shutdown().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    server.join().unwrap();
    // The simulated node did what the public node does, often.
    let (content, beside, instead) = (
        counts.content.load(Ordering::Relaxed),
        counts.beside.load(Ordering::Relaxed),
        counts.instead.load(Ordering::Relaxed),
    );
    assert!(content >= 4 * 256, "{content} Content answers");
    assert!(
        beside > content / 2,
        "{beside} of {content} with a MaybeTheyHaveSome beside"
    );
    assert!(instead > 50, "{instead} requests ignored");
}
