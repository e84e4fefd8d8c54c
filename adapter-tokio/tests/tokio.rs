//! What only the tokio adapter does: run on a multi-threaded runtime, and save its recording
//! when the runtime goes away without a shutdown. (Everything else is the shared suite in
//! `adapter-tests`.)

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use ejtp_adapter_core::Recording;
use ejtp_proto::{Event, Identity, Message, Protection, PublicIdentity};
use ejtp_tokio::{Error, Node, NodeOptions};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(10);

fn ipv4() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

fn options(n: u8) -> NodeOptions {
    NodeOptions::new(Identity::from_secret_bytes(&[n; 32])).seed([n.wrapping_add(100); 32])
}

async fn next_message(node: &mut Node) -> Message {
    let wait = async {
        loop {
            match node.next_event().await {
                Some(Event::Message(message)) => return message,
                Some(_) => {}
                None => panic!("the driver stopped"),
            }
        }
    };
    tokio::time::timeout(WAIT, wait)
        .await
        .expect("a message in time")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_cross_udp_on_a_multi_threaded_runtime() {
    let mut alice = Node::bind(options(1).udp(ipv4()).client("alice"))
        .await
        .unwrap();
    let mut bob = Node::bind(options(2).udp(ipv4()).client("bob"))
        .await
        .unwrap();
    let mut protections = Vec::new();
    for n in 0..50 {
        alice
            .send("alice", &bob.public_identity("bob"), json!(n))
            .await
            .unwrap();
        let message = next_message(&mut bob).await;
        assert_eq!(message.value, json!(n));
        protections.push(message.protection);
        let sender = PublicIdentity {
            name: "sender".to_string(),
            location: message.from.address.clone(),
            key: message.from.key,
        };
        bob.send("bob", &sender, json!({"ack": n})).await.unwrap();
        assert_eq!(next_message(&mut alice).await.value, json!({"ack": n}));
        if message.protection == Protection::Session {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        protections.last(),
        Some(&Protection::Session),
        "a session came up: {protections:?}"
    );
    alice.shutdown().await.unwrap();
    bob.shutdown().await.unwrap();
}

/// The runtime going away without a shutdown drops the driver, which saves the recording.
#[test]
fn a_dropped_runtime_still_saves_the_recording() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dropped.json");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let options = options(1).udp(ipv4()).client("alice").record_to(&path);
    let node = runtime.block_on(Node::bind(options)).unwrap();
    let stats = runtime.block_on(node.handle().stats()).unwrap();
    assert_eq!(stats.queries.delivered, 0);
    drop(runtime);
    assert!(matches!(
        block_on_a_new_runtime(node.handle().stats()),
        Err(Error::Closed)
    ));
    Recording::load(&path).unwrap().replay().unwrap();
}

/// Runs `future` to completion on a runtime of its own.
fn block_on_a_new_runtime<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}
