//! The blocking driver of [`ejtp_proto`]: a node on one OS thread's poll loop, no async
//! runtime.
//!
//! Two nodes on the loopback interface, one message:
//!
//! ```
//! use std::time::Duration;
//!
//! use ejtp_std::{Event, Identity, Node, NodeOptions};
//! use serde_json::json;
//!
//! let loopback = "127.0.0.1:0".parse()?; // port 0: the system picks a free port
//! let alice = Node::bind(
//!     NodeOptions::new(Identity::from_secret_bytes(&[1; 32])).udp(loopback).client("alice"),
//! )?;
//! let bob = Node::bind(
//!     NodeOptions::new(Identity::from_secret_bytes(&[2; 32])).udp(loopback).client("bob"),
//! )?;
//!
//! alice.send("alice", &bob.public_identity("bob"), json!({"hello": "bob"}))?;
//! let message = loop {
//!     match bob.events().recv_timeout(Duration::from_secs(5)) {
//!         Some(Event::Message(message)) => break message,
//!         Some(_) => continue, // sessions coming up and the like
//!         None => return Err("no message within 5 s".into()),
//!     }
//! };
//! assert_eq!(message.value, json!({"hello": "bob"}));
//! assert_eq!(message.from.key, alice.public_key());
//!
//! alice.shutdown()?;
//! bob.shutdown()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # How it runs
//!
//! [`Node::bind`] binds every UDP socket and TCP listener of the [`NodeOptions`] and starts
//! **one thread**, the poll loop, which owns the [`ejtp_adapter_core::Driver`] (the protocol
//! state machine with its clock and optional recording), every socket and every TCP
//! connection. It sleeps in a readiness poller ([`mio`]) until a socket is ready, a command
//! arrives, or the next deadline passes (the node's next timeout, a TCP connection's idle,
//! frame, connect or write deadline): nothing is read on a timer, and nothing it does
//! blocks, so one slow or unreachable peer never holds the others up.
//!
//! The application's commands come from any [`Handle`] on the request channel every adapter
//! uses ([`INBOX_CAPACITY`]), each followed by a wake-up of the poller, and are dispatched by
//! the same code as on the async adapters ([`ejtp_adapter_core::dispatch`]). The loop feeds the
//! node and carries out what it returns in order: datagrams go out with a non-blocking
//! `send_to` from a socket of the destination's IP family, a loopback one for a loopback
//! destination if there is the choice (with none of that family the destination cannot be
//! reached: the node is told and a warning names it once); stream frames go to the connection
//! with the destination, opened on demand without waiting ([`TCP_CONNECT_TIMEOUT`]), through a
//! send buffer of at most [`TCP_SEND_BUFFER`] bytes. A frame that finds the buffer full, and
//! every frame waiting for a connect that fails or times out, is reported to the node
//! ([`ejtp_proto::Node::handle_transmit_failed`]), which may send the message again on the
//! peer's next address or report the peer unreachable; so is a failed UDP send. A connection
//! whose peer takes nothing for [`TCP_WRITE_TIMEOUT`], or whose write fails, is closed and what
//! it held is lost (EJTP is unreliable), logged at `debug` level through [`tracing`].
//!
//! # TCP under abuse
//!
//! A peer may open connections and leave them idle, drip a frame a byte at a time, or announce
//! a frame of gigabytes. None of it makes the loop hold more than these bounds, each enforced
//! by the loop's own deadlines (no thread, no timer read):
//!
//! - **Connections in all**: `NodeOptions::max_tcp_connections` (default 256), accepted and
//!   opened together. A new one past it evicts the idlest, the one whose last complete frame,
//!   either way, is oldest: refusing the newest instead would let whoever fills the table with
//!   idle connections lock every new peer out, while an evicted peer with something to say
//!   connects again.
//! - **Connections with one IP address**: [`TCP_MAX_PER_IP`]; past it the newest is refused (an
//!   accepted one is closed at once, before the node hears of it), so that one address cannot
//!   push out anyone's connections, its own working ones included.
//! - **Bytes received and not yet a frame**: held by the node's stream decoder
//!   ([`ejtp_proto::stream::StreamDecoder`]), at most a length prefix and one frame of
//!   `Config::max_frame_len` (65 507 bytes by default) per connection. A prefix announcing more
//!   closes the connection as soon as its digits pass the bound, before anything after it is
//!   read. The loop itself keeps no received bytes from one turn to the next.
//! - **Bytes waiting to be sent**: [`TCP_SEND_BUFFER`].
//! - **Idle**: no frame completed, either way, for `NodeOptions::tcp_idle_timeout` (default
//!   60 s): closed.
//! - **Slow**: a frame begun, either way, and not completed within [`TCP_FRAME_TIMEOUT`] (a
//!   slow drip, or a peer reading a byte at a time): closed. The idle timer alone would never
//!   fire on a drip, which sends bytes but never completes a frame.
//! - **Half-open**: a connect that does not complete within [`TCP_CONNECT_TIMEOUT`] is given
//!   up; a peer that closes its half is closed at once (a read returns nothing); a peer that
//!   vanished sends nothing, so its connection falls to the idle timer, or to
//!   [`TCP_WRITE_TIMEOUT`] once frames to it stop leaving.
//!
//! [`Node::bind_with`] sets the per-address bound and the frame timeout ([`TcpLimits`]);
//! [`Handle::tcp_stats`] counts what each bound and timer closed ([`TcpStats`]).
//!
//! Besides the poll loop, a node with a shared folder has that folder's disk thread, which
//! writes every download's blocks and rescans the folder (`NodeOptions::share_rescan`): file
//! writes cannot be made non-blocking through a poller, and hashing a large file takes
//! seconds, which the loop must not spend away from its sockets. So a node has one thread, or
//! two with a shared folder, however many downloads run.
//!
//! Events reach the application through [`Events`], a bounded queue of [`EVENT_CAPACITY`]
//! events. The loop never waits for the application: an event that finds the queue full is
//! dropped and counted (with a `tracing` warning), and the next event received says how many
//! were lost before it ([`Events::lost`], [`Events::lost_total`]). So the [`Handle`]'s calls,
//! [`Handle::query`] and [`Handle::fetch`] included, return whether or not anyone reads the
//! events: their outcomes travel on channels of their own.
//!
//! # Shutting down
//!
//! [`Node::shutdown`] or [`Handle::shutdown`] (or dropping the [`Node`], or the last
//! [`Handle`] after [`Node::split`]) stops the node: it closes every connection, wakes and joins
//! its thread, closes the sockets and saves the recording, if any. When it returns, no thread
//! of the node is left running and the ports can be bound again. The events already queued can
//! still be received from the [`Events`] of a split node, after which [`Events::recv`] returns
//! `None`; commands return [`Error::Closed`].
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod admission;
mod events;
mod frame_watch;
mod handle;
mod limits;
mod node;
mod poll_loop;
mod tcp;
mod tcp_stats;
mod udp;

pub use ejtp_adapter_core::{Error, FetchOutcome, NodeOptions, QueryOutcome};
pub use ejtp_proto;
pub use ejtp_proto::{
    Event, FetchEvent, Identity, Message, MessageId, PublicIdentity, QueryEvent, QueryOptions,
    RoutingEvent, Stats, TransportEvent,
};
pub use events::{Events, IntoIter, Iter};
pub use handle::Handle;
pub use limits::{
    EVENT_CAPACITY, INBOX_CAPACITY, TCP_CONNECT_TIMEOUT, TCP_FRAME_TIMEOUT, TCP_MAX_PER_IP,
    TCP_SEND_BUFFER, TCP_WRITE_TIMEOUT, TcpLimits, UDP_BUFFER_LEN,
};
pub use node::Node;
pub use tcp_stats::TcpStats;
