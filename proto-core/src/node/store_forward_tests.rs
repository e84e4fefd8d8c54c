//! Unit tests of store-and-forward: a relay holds an away recipient's frames within its bounds
//! and hands them over only on the recipient's signed request.

use alloc::vec::Vec;
use core::time::Duration;

use serde_json::{Value, json};

use super::test_support::*;
use super::*;
use crate::mailbox::MailboxOp;

fn node(key: u8, config: Config) -> Node {
    udp_node_with_client(key, config, "c")
}

fn identity(key: u8) -> PublicIdentity {
    PublicIdentity {
        name: "c".into(),
        location: udp_address(key, Some("c")),
        key: Identity::from_secret_bytes(&[key; 32]).public_key(),
    }
}

/// Alice (key 1), a relay keeping mailboxes (key 2) and bob (key 3), sessions off so that every
/// frame is a sealed one the relay can hold.
fn alice_relay_bob() -> (Node, Node, Node) {
    let plain = || Config {
        sessions: false,
        ..Config::default()
    };
    (node(1, plain()), node(2, relay_config()), node(3, plain()))
}

fn relay_config() -> Config {
    Config {
        max_mailboxes: 4,
        max_held_per_mailbox: 3,
        sessions: false,
        ..Config::default()
    }
}

/// Everything `from` wants to send, as `(destination, bytes)`.
fn transmits(from: &mut Node) -> Vec<Transmit> {
    core::iter::from_fn(|| from.poll_transmit()).collect()
}

fn feed(to: &mut Node, now: Instant, from_key: u8, frames: &[Transmit]) {
    let from = udp_address(from_key, None).transport().unwrap();
    for transmit in frames {
        to.handle_datagram(now, from, &transmit.payload);
    }
}

fn delivered(node: &mut Node) -> Vec<Value> {
    core::iter::from_fn(|| node.poll_event())
        .filter_map(|event| match event {
            Event::Message(message) => Some(message.value),
            _ => None,
        })
        .collect()
}

#[test]
fn a_relay_holds_frames_for_an_away_recipient_and_hands_them_over_on_release() {
    let (mut alice, mut relay, mut bob) = alice_relay_bob();
    let now = Instant::ZERO;
    bob.request_mailbox(now, &identity(2), MailboxOp::Hold)
        .unwrap();
    feed(&mut relay, now, 3, &transmits(&mut bob));
    for n in 0..5 {
        alice
            .via(&[identity(2)])
            .send(now, "c", &identity(3), json!(n))
            .unwrap();
    }
    feed(&mut relay, now, 1, &transmits(&mut alice));
    assert!(
        transmits(&mut relay).is_empty(),
        "nothing goes to bob while he is away"
    );
    assert_eq!(relay.held_frames(), 3, "three a mailbox");
    assert_eq!(relay.stats().relay.held, 5);
    assert_eq!(
        relay.stats().relay.dropped_held_overflow,
        2,
        "the oldest two went"
    );

    let later = Instant::from_millis(1_000);
    bob.request_mailbox(later, &identity(2), MailboxOp::Release)
        .unwrap();
    feed(&mut relay, later, 3, &transmits(&mut bob));
    let handed = transmits(&mut relay);
    assert_eq!(handed.len(), 3);
    assert!(
        handed
            .iter()
            .all(|t| t.to == udp_address(3, None).transport().unwrap())
    );
    assert_eq!(relay.stats().relay.handed_over, 3);
    feed(&mut bob, later, 2, &handed);
    assert_eq!(delivered(&mut bob), [json!(2), json!(3), json!(4)]);
    // A relay handing the same frames over again delivers nothing twice.
    feed(&mut bob, later, 2, &handed);
    assert!(delivered(&mut bob).is_empty());

    // Released: frames go straight on again.
    alice
        .via(&[identity(2)])
        .send(later, "c", &identity(3), json!("direct"))
        .unwrap();
    feed(&mut relay, later, 1, &transmits(&mut alice));
    assert_eq!(transmits(&mut relay).len(), 1);
    assert_eq!(relay.held_frames(), 0);
}

#[test]
fn held_frames_age_out_and_any_authenticated_frame_from_the_recipient_fetches_them() {
    let (mut alice, mut relay, mut bob) = alice_relay_bob();
    let now = Instant::ZERO;
    bob.request_mailbox(now, &identity(2), MailboxOp::Hold)
        .unwrap();
    feed(&mut relay, now, 3, &transmits(&mut bob));
    alice
        .via(&[identity(2)])
        .send(now, "c", &identity(3), json!("old"))
        .unwrap();
    feed(&mut relay, now, 1, &transmits(&mut alice));
    let expiry = relay.poll_timeout().unwrap();
    assert_eq!(expiry.reason, TimerReason::MailboxExpiry);
    assert_eq!(expiry.at, Instant::ZERO + Duration::from_secs(60));
    relay.handle_timeout(expiry.at);
    assert_eq!(relay.held_frames(), 0);
    assert_eq!(relay.stats().relay.dropped_held_expired, 1);

    let later = expiry.at;
    alice
        .via(&[identity(2)])
        .send(later, "c", &identity(3), json!("new"))
        .unwrap();
    feed(&mut relay, later, 1, &transmits(&mut alice));
    assert_eq!(relay.held_frames(), 1);
    // Bob sends the relay a message: that shows he is back.
    bob.send(later, "c", &identity(2), json!("hi")).unwrap();
    feed(&mut relay, later, 3, &transmits(&mut bob));
    let handed = transmits(&mut relay);
    assert_eq!(handed.len(), 1);
    feed(&mut bob, later, 2, &handed);
    assert_eq!(delivered(&mut bob), [json!("new")]);
}

#[test]
fn strangers_can_neither_open_fetch_nor_replay_a_mailbox() {
    let (mut alice, mut relay, mut bob) = alice_relay_bob();
    let now = Instant::ZERO;
    bob.request_mailbox(now, &identity(2), MailboxOp::Hold)
        .unwrap();
    let hold = transmits(&mut bob);
    feed(&mut relay, now, 3, &hold);
    alice
        .via(&[identity(2)])
        .send(now, "c", &identity(3), json!("for bob"))
        .unwrap();
    feed(&mut relay, now, 1, &transmits(&mut alice));
    // Eve (alice here) asks for bob's frames with her own key: she gets her own empty mailbox,
    // never bob's frames.
    alice
        .request_mailbox(now, &identity(2), MailboxOp::Fetch)
        .unwrap();
    feed(&mut relay, now, 1, &transmits(&mut alice));
    assert!(transmits(&mut relay).is_empty());
    // A tampered request (bob's, with another op byte) does not verify.
    let mut tampered = hold[0].clone();
    let op_at = tampered.payload.iter().position(|b| *b == 0).unwrap() + 2;
    tampered.payload[op_at] = MailboxOp::Release.to_byte();
    let crypto_before = relay.stats().transport.dropped_crypto;
    feed(&mut relay, now, 3, &[tampered]);
    assert_eq!(relay.stats().transport.dropped_crypto, crypto_before + 1);
    // Bob releases; a replay of his old hold request is refused, so holding does not resume.
    let later = Instant::from_millis(10);
    bob.request_mailbox(later, &identity(2), MailboxOp::Release)
        .unwrap();
    feed(&mut relay, later, 3, &transmits(&mut bob));
    assert_eq!(transmits(&mut relay).len(), 1);
    let refused = relay.stats().relay.dropped_mailbox_request;
    feed(&mut relay, later, 3, &hold);
    assert_eq!(relay.stats().relay.dropped_mailbox_request, refused + 1);
    alice
        .via(&[identity(2)])
        .send(later, "c", &identity(3), json!("direct"))
        .unwrap();
    feed(&mut relay, later, 1, &transmits(&mut alice));
    assert_eq!(transmits(&mut relay).len(), 1, "sent on, not held");
}

#[test]
fn a_node_that_is_no_relay_refuses_mailbox_requests() {
    let mut relay = node(2, Config::default());
    let mut bob = node(3, Config::default());
    bob.request_mailbox(Instant::ZERO, &identity(2), MailboxOp::Hold)
        .unwrap();
    feed(&mut relay, Instant::ZERO, 3, &transmits(&mut bob));
    assert_eq!(relay.stats().relay.dropped_mailbox_request, 1);
    assert!(relay.poll_timeout().is_none());
}
