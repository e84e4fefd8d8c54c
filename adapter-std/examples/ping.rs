//! Two nodes on 127.0.0.1, one message each way: `cargo run -p ejtp-std --example ping`.

use std::error::Error;
use std::time::Duration;

use ejtp_std::{Event, Events, Identity, Message, Node, NodeOptions, PublicIdentity};
use serde_json::json;

fn main() -> Result<(), Box<dyn Error>> {
    let loopback = "127.0.0.1:0".parse()?;
    // Fixed test keys for the example; a real node loads its identity from a file.
    let alice = Node::bind(
        NodeOptions::new(Identity::from_secret_bytes(&[1; 32]))
            .udp(loopback)
            .client("alice"),
    )?;
    let bob = Node::bind(
        NodeOptions::new(Identity::from_secret_bytes(&[2; 32]))
            .udp(loopback)
            .client("bob"),
    )?;
    println!("alice {} on udp:{}", alice.node_id(), alice.udp_addrs()[0]);
    println!("bob   {} on udp:{}", bob.node_id(), bob.udp_addrs()[0]);

    let id = alice.send("alice", &bob.public_identity("bob"), json!({"ping": 1}))?;
    println!("alice -> bob: sent message {id}");
    let ping = next_message(bob.events(), "bob")?;

    // Bob answers at the address alice signed, to the key her signature proved.
    let back = PublicIdentity {
        name: "alice".to_string(),
        location: ping.from.address.clone(),
        key: ping.from.key,
    };
    let id = bob.send("bob", &back, json!({"pong": ping.value["ping"]}))?;
    println!("bob -> alice: sent message {id}");
    next_message(alice.events(), "alice")?;

    println!("alice: {:?}", alice.handle().stats()?);
    alice.shutdown()?;
    bob.shutdown()?;
    Ok(())
}

/// Prints `who`'s events until a message arrives (at most 5 s).
fn next_message(events: &Events, who: &str) -> Result<Message, Box<dyn Error>> {
    loop {
        match events.recv_timeout(Duration::from_secs(5)) {
            Some(Event::Message(message)) => {
                println!(
                    "{who} <- {}: {} ({:?}, message {})",
                    message.from.address.to_strict_json(),
                    message.value,
                    message.protection,
                    message.id
                );
                return Ok(message);
            }
            Some(other) => println!("{who}: {other:?}"),
            None => return Err(format!("{who}: no message within 5 s").into()),
        }
    }
}
