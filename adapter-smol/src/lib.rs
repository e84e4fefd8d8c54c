//! The smol driver for [`ejtp_proto`]: real UDP and TCP sockets, timers and tasks around
//! [`ejtp_adapter_core::Driver`], runnable under smol or any other executor.
//!
//! Two nodes on 127.0.0.1 exchanging a signed, encrypted message:
//!
//! ```
//! use ejtp_smol::{Node, NodeOptions};
//! use ejtp_proto::{Event, Identity};
//! use serde_json::json;
//!
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     smol::block_on(async {
//!         let localhost = "127.0.0.1:0".parse()?;
//!         let alice = NodeOptions::new(Identity::from_secret_bytes(&[1; 32]));
//!         let alice = Node::bind(alice.udp(localhost).client("alice")).await?;
//!         let bob = NodeOptions::new(Identity::from_secret_bytes(&[2; 32]));
//!         let mut bob = Node::bind(bob.udp(localhost).client("bob")).await?;
//!
//!         alice.send("alice", &bob.public_identity("bob"), json!({"hello": "bob"})).await?;
//!         let message = loop {
//!             match bob.next_event().await {
//!                 Some(Event::Message(message)) => break message,
//!                 Some(_) => continue, // sessions coming up, ...
//!                 None => return Err("bob's driver stopped".into()),
//!             }
//!         };
//!         assert_eq!(message.value, json!({"hello": "bob"}));
//!         assert_eq!(message.from.key, alice.public_key());
//!
//!         alice.shutdown().await?;
//!         bob.shutdown().await?;
//!         Ok(())
//!     })
//! }
//! ```
//!
//! # How it runs
//!
//! [`Node::bind`] binds every UDP socket and TCP listener of the [`NodeOptions`], builds the
//! [`ejtp_adapter_core::Driver`] with the addresses the operating system actually gave (so port 0
//! works), and spawns the driver with [`smol::spawn`]. [`Node::bind_detached`] returns the
//! driver as a future instead, for the application to run on any executor (async-std, a
//! `block_on`, its own `smol::Executor`): the sockets and timers are async-io's, which need no
//! particular executor, and the driver future runs its own socket tasks on an
//! [`Executor`](smol::Executor) of its own, so nothing is spawned anywhere else.
//!
//! Inside the driver future, one task reads each UDP socket (datagrams of up to 64 KiB), one
//! accepts on each TCP listener, and one carries each TCP connection; they feed a bounded
//! channel, the [`Handle`]s another, and the driver reads both, racing them against the node's
//! next timer. The driver is the only one that touches the node. The driver and everything
//! around it but the sockets, timers and executor are `ejtp_adapter_core`'s, shared with the tokio
//! adapter.
//!
//! - A [`Handle`] (cheap to clone) sends commands, each with a reply channel; once the driver
//!   has stopped they fail with [`Error::Closed`].
//! - [`Events`] receives what the node tells the application over a channel bounded at
//!   [`EVENT_CHANNEL_CAPACITY`]. The driver never waits for the application: an event that
//!   finds the channel full is dropped and counted (with a `tracing` warning), and the next
//!   event read says how many were lost before it ([`Events::lost`], [`Events::lost_total`]).
//!   So [`Handle::query`], [`Handle::fetch`] and every other command return whether or not
//!   anyone reads the events: their outcomes travel on channels of their own.
//!
//! Dropping a [`Node`] does not stop its driver (a node may keep relaying for others);
//! [`Node::shutdown`] (or [`Handle::shutdown`]) does: it closes every socket and saves the
//! recording, if [`NodeOptions::record_to`] asked for one. Dropping the driver future (an
//! executor going away) also stops it, and the recording is then saved as it is dropped.
//!
//! # UDP and TCP
//!
//! A datagram goes out of the first bound UDP socket of the destination's IP family, a
//! loopback one for a loopback destination and another for any other if there is the choice
//! (with none of that family the node cannot reach the destination: it is told, as of a failed
//! send, and a warning names the destination once). TCP frames go to the connection with the
//! destination's address, accepted or opened, which is reused for every frame; one is opened
//! when there is none (connecting for at most [`TCP_CONNECT_TIMEOUT`]). A connection is closed
//! when it has carried nothing for [`NodeOptions::tcp_idle_timeout`], when the table is full
//! ([`NodeOptions::max_tcp_connections`], least recently used first), and when the peer sends
//! bytes that are not valid framing ([`ejtp_proto::TransportEvent::StreamFailed`]); the frames already
//! queued for it are written first. Like EJTP itself this is unreliable: a frame that cannot be
//! written (failed connect or write, a write stalled for [`TCP_WRITE_TIMEOUT`]) is dropped
//! with a debug log. A failed UDP send, a frame refused because [`TCP_QUEUE_CAPACITY`] frames
//! already wait for a slow peer, and the frames queued for a connection that could not be
//! opened, are reported to the node ([`ejtp_proto::Node::handle_transmit_failed`]), which may
//! send the message again on the peer's next address or report the peer unreachable.
//!
//! # Logging
//!
//! Through [`tracing`]: `debug` for anything dropped or closed, `trace` for every datagram and
//! chunk of traffic.

mod node;
mod runtime;

pub use ejtp_adapter_core::events::Events;
pub use ejtp_adapter_core::handle::Handle;
pub use ejtp_adapter_core::limits::{
    EVENT_CHANNEL_CAPACITY, TCP_CONNECT_TIMEOUT, TCP_QUEUE_CAPACITY, TCP_WRITE_TIMEOUT,
};
pub use ejtp_adapter_core::{Error, FetchOutcome, NodeOptions, QueryOptions, QueryOutcome};
pub use ejtp_proto;
/// What an application needs from the core, so that it imports one crate.
pub use ejtp_proto::{
    Event, FetchEvent, Identity, Message, MessageId, PublicIdentity, QueryEvent, RoutingEvent,
    Stats, TransportEvent,
};
pub use node::Node;
