//! When a command returns, on every adapter (adapter-core's `dispatch`): the node has handed
//! the datagrams it produced to the operating system, and the events it produced are queued.
//! So a caller can rely on the same order of things whichever adapter runs the node.

mod common;

use std::net::UdpSocket;
use std::time::Duration;

use common::{ipv4, options};
use ejtp_adapter_tests::{TestNode, for_each_adapter};
use ejtp_proto::{Address, Event, Identity, PublicIdentity};
use serde_json::json;

/// How many sends each test checks, so that a lucky schedule cannot pass it.
const SENDS: usize = 20;

fn a_send_returns_once_its_datagram_is_with_the_operating_system<N: TestNode>() {
    let alice = N::bind(options(1).udp(ipv4()).client("alice"));
    let raw = UdpSocket::bind(ipv4()).unwrap();
    raw.set_nonblocking(true).unwrap();
    let to = PublicIdentity {
        name: "raw".to_string(),
        location: Address::udp(raw.local_addr().unwrap(), Some("raw")),
        key: Identity::from_secret_bytes(&[9; 32]).public_key(),
    };
    let mut buffer = vec![0; 64 * 1024];
    for n in 0..SENDS {
        alice.send("alice", &to, json!(n));
        // On loopback a datagram is in the receiving socket's queue by the time `send_to`
        // returns, so it can be read without waiting the moment the command has returned.
        let (len, from) = raw.recv_from(&mut buffer).unwrap_or_else(|err| {
            panic!(
                "{}: send {n} returned before its datagram was sent: {err}",
                N::ADAPTER
            )
        });
        assert!(len > 0);
        assert_eq!(from, alice.udp_addrs()[0]);
        // The node may add a datagram of its own (a handshake): not what is checked here.
        while raw.recv_from(&mut buffer).is_ok() {}
    }
    alice.shutdown();
}

fn a_send_returns_once_its_events_are_queued<N: TestNode>() {
    let mut alice = N::bind(options(2).udp(ipv4()).client("alice"));
    let me = alice.identity("alice");
    for n in 0..SENDS {
        // A message to a local client is delivered without the network: one event, produced
        // by the send itself.
        let id = alice.send("alice", &me, json!(n));
        let mut queued = false;
        while let Some(event) = alice.next_event(Duration::ZERO) {
            if matches!(&event, Event::Message(message) if message.id == id) {
                queued = true;
                break;
            }
        }
        assert!(
            queued,
            "{}: send {n} returned before its message was queued",
            N::ADAPTER
        );
    }
    alice.shutdown();
}

for_each_adapter! {
    a_send_returns_once_its_datagram_is_with_the_operating_system,
    a_send_returns_once_its_events_are_queued,
}
