//! A netem-like simulated network, sans-IO: latency, jitter, independent and burst
//! (Gilbert-Elliott) loss, duplication, reordering, a rate limit with a bounded queue, and NATs
//! with endpoint-independent mapping, all on one virtual clock and drawing from one seeded
//! [`CoreRng`](crate::CoreRng).
//!
//! It is the one network every multi-node test harness drives: `ejtp_testvectors::sim` (nodes
//! with recorded inputs), the group tests, the download swarm and the node's own tests
//! (`node::test_net`). It carries whatever the
//! harness gives it ([`Packet::body`]), so a harness of typed messages and one of datagram
//! bytes share the same faults. Like the node it never calls out: the harness [`sends`] into
//! it, asks [`next_at`] and takes packets out with [`pop_due`], in arrival order and, among equal
//! times, in sending order.
//!
//! Faults that are off draw nothing from the generator (see [`draw`]), so a run with only delay
//! and jitter draws what the first simulator drew and recorded scenarios replay unchanged.
//!
//! Compiled for the crate's own tests and, with the `sim` feature, for other crates' tests; it
//! is not part of the protocol.
//!
//! [`sends`]: Network::send
//! [`next_at`]: Network::next_at
//! [`pop_due`]: Network::pop_due

pub mod draw;
pub mod link;
pub mod loss;
pub mod nat;
pub mod network;
pub mod schedule;

#[cfg(test)]
mod tests;

pub use link::{LinkConfig, LinkDrop};
pub use loss::{GilbertElliott, Loss};
pub use nat::{Filtering, Mapping, Nat};
pub use network::{Dropped, Fate, NetStats, Network, Packet};
pub use schedule::Schedule;
