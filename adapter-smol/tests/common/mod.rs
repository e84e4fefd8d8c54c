//! Helpers shared by the integration tests: bounded waits, identities, loopback addresses.
#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use ejtp_proto::{Event, Identity, Message, PublicIdentity};
use ejtp_smol::{Node, NodeOptions};
use futures_lite::FutureExt;
use smol::Timer;

/// The longest any single wait in these tests may take.
pub(crate) const WAIT: Duration = Duration::from_secs(10);

/// Awaits `future`, failing the test if it takes longer than [`WAIT`].
pub(crate) async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    let timeout = async {
        Timer::after(WAIT).await;
        panic!("timed out after {WAIT:?} waiting for {what}")
    };
    future.or(timeout).await
}

/// 127.0.0.1 with a port the operating system picks.
pub(crate) fn ipv4() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// [::1] with a port the operating system picks.
pub(crate) fn ipv6() -> SocketAddr {
    SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, 0))
}

/// Options for a test node whose identity and seed derive from `n`.
pub(crate) fn options(n: u8) -> NodeOptions {
    NodeOptions::new(Identity::from_secret_bytes(&[n; 32])).seed([n.wrapping_add(100); 32])
}

/// The next event `pick` accepts, skipping the others.
pub(crate) async fn next_matching<T>(
    node: &mut Node,
    what: &str,
    mut pick: impl FnMut(Event) -> Option<T>,
) -> T {
    within(what, async {
        loop {
            match node.next_event().await {
                Some(event) => {
                    if let Some(found) = pick(event) {
                        return found;
                    }
                }
                None => panic!("the driver stopped while waiting for {what}"),
            }
        }
    })
    .await
}

/// The next message delivered to `node`.
pub(crate) async fn next_message(node: &mut Node) -> Message {
    next_matching(node, "a message", |event| match event {
        Event::Message(message) => Some(message),
        _ => None,
    })
    .await
}

/// How to answer the sender of `message`: at the address it signed, with its key.
pub(crate) fn sender_of(message: &Message) -> PublicIdentity {
    PublicIdentity {
        name: "sender".to_string(),
        location: message.from.address.clone(),
        key: message.from.key,
    }
}
