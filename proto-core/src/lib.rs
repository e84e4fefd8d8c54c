//! The sans-IO core of an encrypted JSON peer-to-peer transport in the EJTP lineage.
//!
//! A [`Node`] is the whole protocol as a deterministic state machine: it consumes received
//! bytes, time and application commands, and produces frames to send (each tagged with its
//! destination), events, and the next time it wants to be woken. It does no I/O, reads no clock
//! and draws no OS randomness: time enters as [`Instant`] arguments, wall-clock time as
//! [`UnixMillis`], and randomness from a seed given at construction. The same inputs always give
//! the same outputs, byte for byte.
//!
//! ```
//! use ejtp_proto::{Address, Config, Event, Identity, Instant, Node, TransportAddr, UnixMillis};
//! use serde_json::json;
//!
//! let (now, wall) = (Instant::ZERO, UnixMillis(1_700_000_000_000));
//! let mut alice = Node::new(Config::default(), Identity::from_secret_bytes(&[1; 32]), [11; 32], now, wall);
//! let mut bob = Node::new(Config::default(), Identity::from_secret_bytes(&[2; 32]), [22; 32], now, wall);
//! alice.add_local_address(Address::udp("127.0.0.1:9001".parse()?, None))?;
//! bob.add_local_address(Address::udp("127.0.0.1:9002".parse()?, None))?;
//! alice.add_client("alice")?;
//! bob.add_client("bob")?;
//!
//! alice.send(now, "alice", &bob.public_identity("bob", "bob"), json!({"hello": "bob"}))?;
//! let from: TransportAddr = "udp:127.0.0.1:9001".parse()?;
//! while let Some(transmit) = alice.poll_transmit() {
//!     // A driver would send `transmit.payload` to `transmit.to`.
//!     bob.handle_datagram(now, from, &transmit.payload);
//! }
//! let Some(Event::Message(message)) = bob.poll_event() else { panic!("no message") };
//! assert_eq!(message.value, json!({"hello": "bob"}));
//! assert_eq!(message.from.key, alice.public_key());
//! # Ok::<(), Box<dyn core::error::Error>>(())
//! ```
//!
//! # Run loop
//!
//! Whatever the runtime, a driver repeats:
//!
//! ```text
//! loop {
//!     wait for: a datagram or stream bytes, an application command, or node.poll_timeout()
//!     feed it:  node.handle_datagram / handle_stream_data / handle_timeout / send / ...
//!     drain:    while let Some(t) = node.poll_transmit() { socket.send_to(&t.payload, t.to) }
//!               while let Some(e) = node.poll_event()    { application.handle(e) }
//! }
//! ```
//!
//! [`Node::handle_input`] and [`Node::poll_output`] do the same with serialisable [`Input`] and
//! [`Output`] values: a list of inputs is a replayable trace (see the `testvectors` crate).
//!
//! # Panics, errors and unwraps
//!
//! Nothing the network sends can make the core panic or return an error: malformed, forged,
//! replayed or stale frames are counted in [`Stats`] and dropped. Misuse of the API (an unknown
//! callsign, a float in a value, a full transmit queue) returns a typed error, and a send that
//! cannot be queued hands its value back ([`SendError::Blocked`]). The crate denies `unwrap`,
//! `expect`, `panic!` and unchecked indexing outside tests; a panic is a bug.
//!
//! # Layers
//!
//! [`json`] (strict JSON), [`address`], [`frame`] (EJTP `j`/`s`/`r`/`c`), [`stream`] (TCP
//! framing), [`identity`] (ed25519, node ids, identity files), [`crypto`] (sender proofs, HPKE,
//! Noise IK, session transport), [`replay`] (windows and nonce memory), [`routing`] (signed
//! address records and lookup bodies), [`cjp2p`] (the CJP2P wire format, cookies and content
//! serving), and the node itself (with its routing table); [`group`] layers Pyile-style groups
//! on the node's messages.
//! `docs/PROTOCOL.md` in the repository gives every byte.
//!
//! # `no_std`
//!
//! The crate is `#![no_std]` with `alloc` and builds for `thumbv7em-none-eabihf` and
//! `wasm32-unknown-unknown`. Its one feature, `sim`, adds the simulated network (`ejtp_proto::sim`) that
//! other crates' tests drive nodes over; it is not part of the protocol. Its errors implement
//! `core::error::Error`, which is `std::error::Error` under std.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod address;
mod bytes;
pub mod cjp2p;
pub mod config;
pub mod content;
pub mod crypto;
pub mod error;
pub mod event;
pub mod fragment;
pub mod frame;
pub mod group;
pub mod hex;
pub mod identity;
pub mod io;
pub mod json;
pub mod mailbox;
mod node;
pub mod path_message;
pub mod query;
pub mod relay_address;
pub mod replay;
pub mod replay_journal;
pub mod rng;
pub mod routing;
#[cfg(any(test, feature = "sim"))]
pub mod sim;
pub mod stream;
pub mod throttle;
pub mod time;
pub mod trace;
pub mod transport;

pub use address::Address;
pub use cjp2p::{Cjp2pMessage, Cjp2pPeer};
pub use config::Config;
pub use error::{CommandError, FetchError, SendError};
pub use event::{
    Event, FetchEvent, Message, MessageId, Protection, QueryEvent, RoutingEvent, Sender,
    TransportEvent,
};
pub use identity::{Identity, IdentityFile, NodeId, PublicIdentity, PublicKey};
pub use io::{Command, CommandOutcome, Input, Output, Timeout, TimerReason, Transmit};
pub use mailbox::MailboxOp;
pub use node::{
    Cjp2p, Cjp2pStats, Content, ContentStorage, FetchStats, MAX_LOCAL_ADDRESSES, Node, QueryStats,
    RelayStats, Routes, RoutingStats, Stats, TransportStats, Via,
};
pub use query::QueryOptions;
pub use rng::CoreRng;
pub use time::{Instant, UnixMillis};
pub use transport::{Protocol, TransportAddr};
