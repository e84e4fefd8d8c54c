//! Work under load: a flood of fake sealed frames and handshake inits from spoofed addresses
//! costs bob at most his key-work budget (`Config::key_work_per_second`); the rest get a cookie
//! challenge, which a spoofer never sees. A new peer that really receives at its address gets
//! through during the flood: its challenged frames go again with the cookie.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use ejtp_proto::crypto::body;
use ejtp_proto::{Address, Command, Config, QueryOptions, TransportAddr};
use ejtp_testvectors::sim::{LinkConditions, SimNetwork};
use serde_json::json;
use support::messages;

const BOB: usize = 0;
const ALICE: usize = 1;

/// Key work bob takes per second before he is under load.
const BUDGET: u32 = 50;

/// A tiny deterministic generator for the flood's bytes.
struct Xorshift(u64);

impl Xorshift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn fill(&mut self, out: &mut [u8]) {
        for byte in out {
            *byte = self.next() as u8;
        }
    }
}

/// A fake sealed frame (random `enc` and ciphertext) or handshake init (random Noise message)
/// for bob, from a random spoofed address in 198.51.100.0/24.
fn hostile(rng: &mut Xorshift, bob: &Address) -> (TransportAddr, Vec<u8>) {
    let mut frame = ejtp_proto::frame::sealed_prefix(bob);
    let mut random = [0u8; 128];
    rng.fill(&mut random);
    if rng.next().is_multiple_of(2) {
        body::write_sealed_header(&mut frame, 0, ejtp_proto::UnixMillis(0), &[7; 32]);
        frame.extend_from_slice(&random[..96]);
    } else {
        body::write_handshake_init(&mut frame, rng.next() as u32, &random);
    }
    let from = SocketAddr::from(([198, 51, 100, (rng.next() % 250) as u8 + 1], 40_000));
    (TransportAddr::udp(from), frame)
}

fn network(seed: u64) -> SimNetwork {
    let mut net = SimNetwork::new(seed, LinkConditions::PERFECT);
    let bob = Config::default().with_key_work_per_second(BUDGET);
    net.add_node("bob", 0xb0, bob, &["bob"]);
    net.add_node("alice", 0xa1, Config::default(), &["alice"]);
    net
}

/// Floods bob with `per_tick` hostile frames every 10 ms for `ticks` ticks.
fn flood(net: &mut SimNetwork, rng: &mut Xorshift, ticks: usize, per_tick: usize) {
    let bob = net.identity(BOB, "bob").location;
    for _ in 0..ticks {
        for _ in 0..per_tick {
            let (from, frame) = hostile(rng, &bob);
            net.inject(BOB, from, frame);
        }
        net.run_for(Duration::from_millis(10));
    }
}

#[test]
fn a_flood_costs_at_most_the_budget_and_the_rest_is_challenged() {
    let mut net = network(1);
    let mut rng = Xorshift(0x5eed);
    // 2 s at 2 000 frames a second: 4 000 frames.
    flood(&mut net, &mut rng, 200, 20);
    let stats = net.node(BOB).stats();
    // Every frame that got key work failed it (`dropped_crypto`); the budget allowed its burst
    // and its rate over the 2 s.
    let worked = stats.transport.dropped_crypto;
    let allowed = u64::from(BUDGET) * 3;
    assert!(
        worked <= allowed,
        "{worked} frames got key work, more than the {allowed} the budget allows"
    );
    assert!(worked >= u64::from(BUDGET), "the budget was used: {worked}");
    assert_eq!(
        worked + stats.transport.cookie_challenges_sent,
        4_000,
        "every other frame was challenged: {stats:?}"
    );
    assert_eq!(stats.queries.delivered, 0);
}

/// Alice (a new peer: she never talked to bob) sends bob queries during a flood; returns what
/// bob got from her.
fn alice_asks_during_a_flood(net: &mut SimNetwork, queries: usize) -> Vec<serde_json::Value> {
    let mut rng = Xorshift(0xf100d);
    flood(net, &mut rng, 50, 20);
    assert!(
        net.node(BOB).stats().transport.cookie_challenges_sent > 0,
        "bob is under load"
    );
    let bob_id = net.identity(BOB, "bob");
    for n in 0..queries {
        // Frames that arrive just before hers, so that the budget is spent when she comes.
        for _ in 0..5 {
            let (from, frame) = hostile(&mut rng, &bob_id.location);
            net.inject(BOB, from, frame);
        }
        net.command(
            ALICE,
            Command::Query {
                from: "alice".into(),
                to: bob_id.clone(),
                value: json!({"during": "the flood", "n": n}),
                via: vec![],
                options: QueryOptions::default(),
            },
        )
        .unwrap();
        flood(net, &mut rng, 30, 20);
    }
    let events = net.take_events();
    messages(&events)
        .into_iter()
        .filter(|(node, _)| *node == BOB)
        .map(|(_, message)| message.value)
        .collect()
}

/// Whether bob sent alice a cookie challenge.
fn alice_was_challenged(net: &SimNetwork) -> bool {
    net.captured().iter().any(|packet| {
        packet.to == ALICE
            && packet.from == net.udp_addr(BOB)
            && packet
                .payload
                .iter()
                .position(|&byte| byte == 0)
                .and_then(|nul| packet.payload.get(nul + 1))
                == Some(&body::KIND_COOKIE_CHALLENGE)
    })
}

#[test]
fn a_new_peer_gets_through_a_flood() {
    // With sessions (the default): what bob challenged goes again, on the session if it is up
    // by then, else with the cookie.
    let mut net = network(2);
    let got = alice_asks_during_a_flood(&mut net, 1);
    assert!(alice_was_challenged(&net));
    assert_eq!(got.len(), 1, "bob got alice's query once: {got:?}");
    let alice = net.identity(ALICE, "alice").key.node_id();
    assert!(net.node(BOB).has_session(&alice), "their session is up");
}

#[test]
fn a_new_peer_without_sessions_gets_through_a_flood_with_the_cookie() {
    // Every frame of hers needs key work: each goes with the cookie once she has it.
    let mut net = SimNetwork::new(5, LinkConditions::PERFECT);
    let bob = Config::default().with_key_work_per_second(BUDGET);
    net.add_node("bob", 0xb0, bob.with_sessions(false), &["bob"]);
    net.add_node(
        "alice",
        0xa1,
        Config::default().with_sessions(false),
        &["alice"],
    );
    let got = alice_asks_during_a_flood(&mut net, 3);
    assert!(alice_was_challenged(&net));
    assert_eq!(
        got.len(),
        3,
        "bob got each of alice's queries once: {got:?}"
    );
    let (alice, bob) = (net.node(ALICE).stats(), net.node(BOB).stats());
    assert!(alice.transport.frames_sent_with_cookie >= 2, "{alice:?}");
    assert!(bob.transport.cookie_echoes_taken >= 2, "{bob:?}");
    assert_eq!(bob.transport.dropped_bad_cookie, 0);
}

#[test]
fn a_challenge_naming_nothing_we_sent_is_ignored() {
    let mut net = network(3);
    let alice = net.identity(ALICE, "alice").location;
    let mut frame = ejtp_proto::frame::sealed_prefix(&alice);
    body::write_cookie_challenge(&mut frame, &[1; 16], &[2; 16]);
    let from = TransportAddr::udp(SocketAddr::from(([203, 0, 113, 9], 5_000)));
    let sent_before = net.captured().len();
    net.inject(ALICE, from, frame);
    net.run_for(Duration::from_secs(1));
    assert_eq!(net.node(ALICE).stats().transport.dropped_stray_challenge, 1);
    let answered = net.captured()[sent_before..]
        .iter()
        .any(|packet| packet.from == net.udp_addr(ALICE));
    assert!(!answered, "alice sent nothing for it");
}

#[test]
fn a_forged_cookie_is_refused_and_its_frame_not_handled() {
    let mut net = network(4);
    let bob = net.identity(BOB, "bob").location;
    let mut rng = Xorshift(7);
    let (from, inner) = hostile(&mut rng, &bob);
    let mut frame = ejtp_proto::frame::sealed_prefix(&bob);
    body::write_cookie_echo(&mut frame, &[3; 16], &inner);
    net.inject(BOB, from, frame);
    net.run_for(Duration::from_millis(100));
    let stats = net.node(BOB).stats();
    assert_eq!(stats.transport.dropped_bad_cookie, 1);
    assert_eq!(stats.transport.dropped_crypto, 0, "no key work for it");
}
