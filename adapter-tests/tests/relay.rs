//! An onion through a third node, on every adapter: the relay peels its layer and sends the
//! rest on, reading nothing.

mod common;

use std::time::Duration;

use adapter_tests::{TestNode, for_each_adapter};
use common::{ipv4, next_message, options};
use proto_core::Protection;
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
        (relayed.forwarded, relayed.delivered),
        (1, 0),
        "{relayed:?}"
    );
    assert!(
        relay.next_message(Duration::from_millis(100)).is_none(),
        "the relay tells its clients nothing"
    );
    assert_eq!(bob.stats().datagrams_received, 1, "only from the relay");

    for node in [alice, relay, bob] {
        node.shutdown();
    }
}

for_each_adapter! {
    a_message_relayed_through_a_third_node_reaches_only_its_recipient,
}
