//! Test vectors for `proto-core`, the runner that replays them, and a simulated network.
//!
//! - [`scenario`]: the scenario vector format (nodes, seeds, timed inputs, expected outputs),
//!   the [`Recorder`](scenario::Recorder) that writes one from a live run, and
//!   [`Scenario::replay`](scenario::Scenario::replay), which checks the outputs byte for byte.
//! - [`sim`]: several nodes driven on one virtual clock over `ejtp_proto::sim`, the one
//!   deterministic network emulator (seeded loss in bursts or not, duplication, reordering,
//!   delay, rate and queue limits, NATs).
//! - [`group_sim`]: one group machine per simulated node, over [`sim`].
//!
//! `README.md` beside this crate documents the file formats; `cargo test -p ejtp-testvectors` replays
//! every vector under `vectors/`.
//!
//! ```
//! use ejtp_testvectors::scenario::Scenario;
//!
//! let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/vectors/scenarios/two_nodes.json"))?;
//! let scenario: Scenario = serde_json::from_str(&text)?;
//! scenario.replay()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod group_sim;
pub mod scenario;
pub mod sim;

/// The node settings the stored scenario vectors are recorded with: the defaults, except that
/// path MTU probing is off. A probe is a datagram of up to 64 KiB of padding, so every
/// handshake would add some 130 KiB of hex to a vector without showing anything about the
/// protocol the vector is for; probing has its own simulator tests
/// (`tests/sim_large_messages.rs`).
#[must_use]
pub fn vector_config() -> ejtp_proto::Config {
    ejtp_proto::Config::default().with_path_mtu_probing(false)
}
