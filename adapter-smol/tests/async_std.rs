//! The smol adapter under the async-std executor, with smol's own executor never started.
//!
//! Every node here is bound with `bind_detached` and its driver spawned on async-std, so this
//! test binary must never call `smol::spawn` (nor `Node::bind`): the last check looks for the
//! thread smol's global executor would have started.

mod common;

use common::{ipv4, ipv6, next_message, options, sender_of};
use ejtp_proto::Protection;
use ejtp_smol::Node;
use serde_json::json;

#[async_std::test]
async fn a_smol_node_runs_entirely_under_async_std() {
    let (mut alice, driver) = Node::bind_detached(options(1).udp(ipv4()).client("alice"))
        .await
        .unwrap();
    let alice_driver = async_std::task::spawn(driver);
    let bob = options(2).udp(ipv6()).udp(ipv4()).tcp(ipv4()).client("bob");
    let (mut bob, driver) = Node::bind_detached(bob).await.unwrap();
    let bob_driver = async_std::task::spawn(driver);

    // UDP both ways, then on until a session carries alice's messages.
    let mut at_v4 = bob.public_identity("bob");
    at_v4.location = ejtp_proto::Address::udp(bob.udp_addrs()[1], Some("bob"));
    alice
        .send("alice", &at_v4, json!("hello bob"))
        .await
        .unwrap();
    let message = next_message(&mut bob).await;
    assert_eq!(message.value, json!("hello bob"));
    bob.send("bob", &sender_of(&message), json!("hello alice"))
        .await
        .unwrap();
    assert_eq!(next_message(&mut alice).await.value, json!("hello alice"));
    let mut last = Protection::Sealed;
    for n in 0..50 {
        alice.send("alice", &at_v4, json!(n)).await.unwrap();
        let message = next_message(&mut bob).await;
        assert_eq!(message.value, json!(n));
        last = message.protection;
        if last == Protection::Session {
            break;
        }
        async_std::task::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(last, Protection::Session);

    // TCP too: the connection tasks run inside the driver future as well.
    let tcp = bob.tcp_identity("bob").unwrap();
    alice.send("alice", &tcp, json!("over tcp")).await.unwrap();
    let message = next_message(&mut bob).await;
    assert_eq!(message.value, json!("over tcp"));

    alice.shutdown().await.unwrap();
    bob.shutdown().await.unwrap();
    // The drivers complete once shut down.
    common::within("alice's driver", alice_driver).await;
    common::within("bob's driver", bob_driver).await;

    #[cfg(target_os = "linux")]
    {
        let threads: Vec<String> = std::fs::read_dir("/proc/self/task")
            .unwrap()
            .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
            .map(|name| name.trim().to_string())
            .collect();
        assert!(
            !threads.iter().any(|name| name.starts_with("smol-")),
            "smol's global executor started: {threads:?}"
        );
    }
}
