//! Two nodes in one process on 127.0.0.1: alice pings bob, bob pongs back at the address
//! alice signed, and each side prints what happened.
//!
//! ```sh
//! cargo run -p ejtp-smol --example smol_ping
//! ```

use std::time::Duration;

use ejtp_proto::{Event, Identity, Message, PublicIdentity};
use ejtp_smol::{Node, NodeOptions};
use futures_lite::FutureExt;
use serde_json::json;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    smol::block_on(async {
        let localhost = "127.0.0.1:0".parse()?;
        let alice = NodeOptions::new(Identity::from_secret_bytes(&[1; 32]));
        let mut alice = Node::bind(alice.udp(localhost).client("alice")).await?;
        let bob = NodeOptions::new(Identity::from_secret_bytes(&[2; 32]));
        let mut bob = Node::bind(bob.udp(localhost).client("bob")).await?;
        println!("alice {} at {:?}", alice.node_id(), alice.udp_addrs());
        println!("bob   {} at {:?}", bob.node_id(), bob.udp_addrs());

        let id = alice
            .send("alice", &bob.public_identity("bob"), json!({"ping": 1}))
            .await?;
        println!("alice sent ping {id}");
        let ping = next_message(&mut bob).await?;
        println!(
            "bob got {} from {} ({:?}, id {})",
            ping.value, ping.from.node_id, ping.protection, ping.id
        );

        let alice_seen = PublicIdentity {
            name: "alice".to_string(),
            location: ping.from.address.clone(),
            key: ping.from.key,
        };
        let id = bob.send("bob", &alice_seen, json!({"pong": 1})).await?;
        println!("bob sent pong {id}");
        let pong = next_message(&mut alice).await?;
        println!(
            "alice got {} from {} ({:?}, id {})",
            pong.value, pong.from.node_id, pong.protection, pong.id
        );

        println!("alice: {:?}", alice.handle().stats().await?);
        println!("bob:   {:?}", bob.handle().stats().await?);
        alice.shutdown().await?;
        bob.shutdown().await?;
        Ok(())
    })
}

/// The next message for `node`, printing the other events on the way; gives up after 5 s.
async fn next_message(node: &mut Node) -> Result<Message, Box<dyn std::error::Error>> {
    let wait = async {
        loop {
            match node.next_event().await {
                Some(Event::Message(message)) => return Ok(message),
                Some(other) => println!("  (event: {other:?})"),
                None => return Err("the node stopped".into()),
            }
        }
    };
    let give_up = async {
        smol::Timer::after(Duration::from_secs(5)).await;
        Err("no message within 5 s".into())
    };
    wait.or(give_up).await
}
