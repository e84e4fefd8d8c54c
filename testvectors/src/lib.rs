//! Test vectors for `proto-core`, the runner that replays them, and a simulated network.
//!
//! - [`scenario`]: the scenario vector format (nodes, seeds, timed inputs, expected outputs),
//!   the [`Recorder`](scenario::Recorder) that writes one from a live run, and
//!   [`Scenario::replay`](scenario::Scenario::replay), which checks the outputs byte for byte.
//! - [`sim`]: a deterministic network emulator (seeded loss, duplication, reordering, delay)
//!   that drives several nodes on one virtual clock.
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
