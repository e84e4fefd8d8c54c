//! Downloads between our own nodes: larger requests, and content in session frames.

use alloc::boxed::Box;
use alloc::vec;
use core::time::Duration;

use super::test_net::{Net, addr, lossy, node, node_with, pattern, seeder};
use crate::content::{ContentId, MemoryPartialStore, MemoryStore};
use crate::{Config, Instant, Node};

const LEN: usize = 1 << 20;
const BLOCKS: u64 = (LEN as u64).div_ceil(4096);

fn fetcher(n: u8, config: Config) -> Node {
    let mut fetcher = node_with(n, config);
    fetcher
        .content()
        .set_storage(Some(Box::new(MemoryPartialStore::new())));
    fetcher
}

/// Runs a fetch of `content` by node 2 from node 1 to its end; panics unless it completed with
/// the right bytes.
fn fetch_all(mut net: Net, content: &[u8]) -> Net {
    let id = ContentId::of(content);
    net.node(2)
        .content()
        .fetch(Instant::ZERO, id, vec![addr(1)])
        .unwrap();
    net.run_until(Duration::from_secs(60), |net| {
        net.finished(addr(2), id).is_some()
    });
    net.assert_fetched(2, content);
    net
}

#[test]
fn our_nodes_move_content_in_session_frames_once_the_session_is_up() {
    let content = pattern(LEN, 1);
    let net = Net::new(
        vec![(1, seeder(1, &content)), (2, fetcher(2, Config::default()))],
        0,
    );
    let mut net = fetch_all(net, &content);
    let fetched = net.node(2).stats();
    let served = net.node(1).stats();
    assert!(fetched.fetch.session_content_requests > 0);
    assert_eq!(
        served.fetch.session_content_served,
        fetched.fetch.session_content_requests
    );
    // Only the first requests, sent before the handshake completed, went as CJP2P.
    assert!(
        fetched.fetch.session_content_bytes >= LEN as u64 * 3 / 4,
        "{} of {LEN} bytes in the session",
        fetched.fetch.session_content_bytes
    );
    assert!(served.cjp2p.cjp2p_content_served < 20, "{served:?}");
    // Each request asked ten blocks, not one.
    assert!(
        fetched.fetch.session_content_requests <= BLOCKS / 10 + 10,
        "{} requests for {BLOCKS} blocks",
        fetched.fetch.session_content_requests
    );
    assert_eq!(fetched.fetch.session_content_dropped, 0);
    assert_eq!(served.fetch.session_content_dropped, 0);
    let seeder_id = net.node(1).node_id();
    assert!(net.node(2).has_session(&seeder_id));
}

#[test]
fn our_nodes_ask_ten_blocks_per_cjp2p_request_when_sessions_are_not_used() {
    let content = pattern(LEN, 2);
    let mut config = Config::default();
    config.cjp2p.content_sessions = false;
    let net = Net::new(vec![(1, seeder(1, &content)), (2, fetcher(2, config))], 0);
    let mut net = fetch_all(net, &content);
    assert_eq!(net.node(2).stats().fetch.session_content_requests, 0);
    let answers = net.node(1).stats().cjp2p.cjp2p_content_served;
    // Five blocks an answer on average, the early ones (while windows are small) included.
    assert!(
        answers <= BLOCKS / 5,
        "{answers} CJP2P answers for {BLOCKS} blocks"
    );
}

#[test]
fn a_peer_that_does_not_say_it_is_ours_is_asked_one_block_at_a_time() {
    let content = pattern(LEN / 4, 3);
    // A seeder without sessions does not announce `EjtpSessions`, like a public CJP2P node.
    let mut seeder = node_with(
        1,
        Config {
            sessions: false,
            ..Config::default()
        },
    );
    let mut store = MemoryStore::new();
    store.insert(content.clone());
    seeder.cjp2p().set_store(Some(Box::new(store)));
    let net = Net::new(vec![(1, seeder), (2, fetcher(2, Config::default()))], 0);
    let mut net = fetch_all(net, &content);
    assert_eq!(net.node(2).stats().fetch.session_content_requests, 0);
    assert!(net.node(1).stats().cjp2p.cjp2p_content_served >= BLOCKS / 4);
}

#[test]
fn a_handshake_that_never_completes_leaves_the_download_on_cjp2p() {
    let content = pattern(LEN / 4, 4);
    let mut net = Net::new(
        vec![(1, seeder(1, &content)), (2, fetcher(2, Config::default()))],
        0,
    );
    // Only CJP2P datagrams get through: the handshake and every EJTP frame are lost.
    net.passes = |_, _, payload| payload.first() == Some(&b'[');
    let mut net = fetch_all(net, &content);
    assert_eq!(net.node(2).stats().fetch.session_content_requests, 0);
    let seeder_id = net.node(1).node_id();
    assert!(!net.node(2).has_session(&seeder_id));
}

/// Loss hits the handshakes too, and a session only comes up once a handshake round trip gets
/// through: a lost init or response is sent again after `handshake_timeout` (2 s), longer than
/// this download takes (0.1 to 1.2 s of simulated time). So whether each seeder serves in a
/// session depends on which datagrams are lost: on 7 of 16 seeds of the simulator one of the
/// two handshakes lost a datagram and that seeder served the whole download as CJP2P. This
/// test is about the sessions' downloads under loss, so it runs on a seed (as the harness's
/// former fixed loss sequence did) on which both handshakes get through.
const BOTH_HANDSHAKES_THROUGH: [u8; 32] = [2; 32];

#[test]
fn session_downloads_survive_loss_from_several_of_our_nodes() {
    let content = pattern(LEN / 2, 5);
    let id = ContentId::of(&content);
    let mut net = Net::seeded(
        vec![
            (1, seeder(1, &content)),
            (3, seeder(3, &content)),
            (2, fetcher(2, Config::default())),
        ],
        lossy(100),
        BOTH_HANDSHAKES_THROUGH,
    );
    net.node(2)
        .content()
        .fetch(Instant::ZERO, id, vec![addr(1), addr(3)])
        .unwrap();
    net.run_until(Duration::from_secs(120), |net| {
        net.finished(addr(2), id).is_some()
    });
    net.assert_fetched(2, &content);
    assert!(net.node(2).stats().fetch.session_content_bytes > 0);
    assert!(net.node(1).stats().fetch.session_content_served > 0);
    assert!(net.node(3).stats().fetch.session_content_served > 0);
}

#[test]
fn content_messages_outside_a_session_are_dropped() {
    let mut fetcher = node(2);
    let from = addr(1);
    let plaintext = crate::content::SessionContent::Missing {
        id: ContentId::of(b"x"),
    }
    .encode();
    // A content message is never a frame of its own: only a session's plaintext.
    fetcher.handle_datagram(Instant::ZERO, from, &plaintext);
    assert_eq!(fetcher.stats().fetch.session_content_dropped, 0);
    assert_eq!(fetcher.stats().transport.dropped_malformed, 1);
}
