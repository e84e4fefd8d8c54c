//! Helpers shared by the generic integration tests: bounded waits, identities, loopback
//! addresses.
#![allow(dead_code)]

use std::io::ErrorKind;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use ejtp_adapter_core::NodeOptions;
use ejtp_adapter_tests::TestNode;
use ejtp_proto::TransportEvent;
use ejtp_proto::{Event, Identity, Message, NodeId, PublicIdentity};

/// The longest any single wait in these tests may take.
pub(crate) const WAIT: Duration = Duration::from_secs(10);

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

/// The next message delivered to `node`; panics after [`WAIT`].
pub(crate) fn next_message<N: TestNode>(node: &mut N) -> Message {
    node.next_message(WAIT)
        .unwrap_or_else(|| panic!("{}: no message within {WAIT:?}", N::ADAPTER))
}

/// The next event `pick` accepts, skipping the others; panics after [`WAIT`].
pub(crate) fn next_matching<N: TestNode, T>(
    node: &mut N,
    what: &str,
    pick: impl FnMut(Event) -> Option<T>,
) -> T {
    node.next_matching(WAIT, pick)
        .unwrap_or_else(|| panic!("{}: no {what} within {WAIT:?}", N::ADAPTER))
}

/// Waits until a session with `peer` is up; panics after [`WAIT`].
pub(crate) fn session_with<N: TestNode>(node: &mut N, peer: NodeId) {
    next_matching(node, "session", |event| match event {
        Event::Transport(TransportEvent::SessionEstablished { peer: up }) if up == peer => Some(()),
        _ => None,
    });
}

/// How to answer the sender of `message`: at the address it signed, with its key.
pub(crate) fn sender_of(message: &Message) -> PublicIdentity {
    PublicIdentity {
        name: "sender".to_string(),
        location: message.from.address.clone(),
        key: message.from.key,
    }
}

/// The next connection on `listener`, within `timeout` (panics otherwise), with reads bounded
/// by [`WAIT`]. `None` if `timeout` passes and `expect` is false.
pub(crate) fn accept_within(
    listener: &TcpListener,
    timeout: Duration,
    expect: bool,
) -> Option<TcpStream> {
    listener.set_nonblocking(true).unwrap();
    let deadline = Instant::now() + timeout;
    let stream = loop {
        match listener.accept() {
            Ok((stream, _)) => break Some(stream),
            Err(err) if err.kind() == ErrorKind::WouldBlock && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(err) if err.kind() == ErrorKind::WouldBlock && !expect => break None,
            Err(err) => panic!("no connection: {err}"),
        }
    };
    listener.set_nonblocking(false).unwrap();
    let stream = stream?;
    stream.set_nonblocking(false).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    Some(stream)
}
