//! An onion through a third node, on every adapter: the relay peels its layer and sends the
//! rest on, reading nothing.

mod common;

use std::time::Duration;

use common::{ipv4, next_message, options};
use ejtp_adapter_tests::TestHandle;
use ejtp_adapter_tests::{TestNode, for_each_adapter};
use ejtp_proto::{Config, MailboxOp, Protection};
use serde_json::json;

fn a_message_relayed_through_a_third_node_reaches_only_its_recipient<N: TestNode>() {
    let alice = N::bind(options(1).udp(ipv4()).client("alice"));
    let mut relay = N::bind(options(2).udp(ipv4()).client("relay"));
    let mut bob = N::bind(options(3).udp(ipv4()).client("bob"));

    let id = alice.send_via(
        "alice",
        &bob.identity("bob"),
        &[relay.identity("relay")],
        json!("through the onion"),
    );
    let message = next_message(&mut bob);
    assert_eq!(message.id, id);
    assert_eq!(message.value, json!("through the onion"));
    assert_eq!(
        message.from.key,
        alice.public_key(),
        "from alice, not the relay"
    );
    assert_eq!(message.protection, Protection::Sealed);

    let relayed = relay.stats();
    assert_eq!(
        (relayed.transport.forwarded, relayed.queries.delivered),
        (1, 0),
        "{relayed:?}"
    );
    assert!(
        relay.next_message(Duration::from_millis(100)).is_none(),
        "the relay tells its clients nothing"
    );
    assert_eq!(
        bob.stats().transport.datagrams_received,
        1,
        "only from the relay"
    );

    for node in [alice, relay, bob] {
        node.shutdown();
    }
}

fn a_relay_holds_frames_for_a_recipient_that_is_down_until_it_comes_back<N: TestNode>() {
    let alice = N::bind(options(1).udp(ipv4()).client("alice"));
    let relay_config = Config::default().with_max_mailboxes(4);
    let relay = N::bind(options(2).udp(ipv4()).client("relay").config(relay_config));
    // Bob keeps a replay journal: without one, a node refuses every first message signed
    // before it started (it cannot rule out a replay), and what the relay holds for him is
    // signed while he is down.
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("bob.replay.jsonl");
    let bob = N::bind(
        options(3)
            .udp(ipv4())
            .client("bob")
            .replay_journal(&journal),
    );
    let (relay_id, bob_id, bob_addr) = (
        relay.identity("relay"),
        bob.identity("bob"),
        bob.udp_addrs()[0],
    );

    bob.handle()
        .request_mailbox(&relay_id, MailboxOp::Hold)
        .unwrap();
    // One loopback datagram: let it land before bob goes.
    std::thread::sleep(Duration::from_millis(200));
    bob.shutdown();
    alice.send_via(
        "alice",
        &bob_id,
        std::slice::from_ref(&relay_id),
        json!("while you were out"),
    );
    let deadline = std::time::Instant::now() + common::WAIT;
    while relay.stats().relay.held == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "{}: nothing held",
            N::ADAPTER
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    // Bob comes back on the same address with the same key, and asks for his frames.
    let mut bob = N::bind(
        options(3)
            .udp(bob_addr)
            .client("bob")
            .replay_journal(&journal),
    );
    bob.handle()
        .request_mailbox(&relay_id, MailboxOp::Release)
        .unwrap();
    let message = next_message(&mut bob);
    assert_eq!(message.value, json!("while you were out"));
    assert_eq!(message.from.key, alice.public_key());
    let stats = relay.stats();
    assert_eq!(
        (
            stats.relay.held,
            stats.relay.handed_over,
            stats.queries.delivered
        ),
        (1, 1, 0),
        "{stats:?}"
    );

    for node in [alice, relay, bob] {
        node.shutdown();
    }
}

for_each_adapter! {
    a_message_relayed_through_a_third_node_reaches_only_its_recipient,
    a_relay_holds_frames_for_a_recipient_that_is_down_until_it_comes_back,
}
