//! The trace format: nodes with fixed keys and seeds, a timed list of [`Input`]s, and the
//! [`Output`]s each input must produce, byte for byte.
//!
//! A node is a function of its inputs, so a list of inputs is a complete record of a run. The
//! format belongs to the core because the core defines what an input is: adapters record
//! live nodes as [`Scenario`] values, and [`Scenario::replay`] checks a recording against fresh
//! nodes. Reading and writing files is left to the caller (`ejtp-testvectors` and the adapters
//! do it).
//!
//! ```
//! use ejtp_proto::trace::{FORMAT, NodeSpec, Scenario, Step, run_input};
//! use ejtp_proto::{Command, Config, Input, Instant, UnixMillis};
//!
//! let spec = NodeSpec {
//!     name: "alice".into(),
//!     secret: [1; 32],
//!     seed: [2; 32],
//!     start: Instant::from_micros(0),
//!     wall: UnixMillis(1_700_000_000_000),
//!     config: Config::default(),
//! };
//! let mut node = spec.build();
//! let command = Command::AddClient { callsign: "alice".into() };
//! let input = Input::Command { now: Instant::from_micros(10), command };
//! let (error, outputs) = run_input(&mut node, input.clone());
//! let scenario = Scenario {
//!     format: FORMAT.into(),
//!     description: "one client added".into(),
//!     nodes: vec![spec],
//!     steps: vec![Step { node: "alice".into(), input, error, outputs }],
//! };
//! Scenario::from_json(&scenario.to_json_pretty())?.replay()?;
//! # Ok::<(), ejtp_proto::trace::ReplayError>(())
//! ```

mod replay;

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

pub use crate::io::{Input, Output};
use crate::time::Instant;
use crate::{Config, Identity, Node, UnixMillis};
pub use replay::{ReplayError, run_input};

/// The `format` field every scenario file carries.
pub const FORMAT: &str = "ejtp-rs scenario v1";

/// One node of a scenario: everything needed to build it identically on replay.
///
/// The secret key is in the file: scenario keys are for tests only.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeSpec {
    /// The name steps refer to the node by.
    pub name: String,
    /// The node's ed25519 secret key.
    #[serde(with = "hex32")]
    pub secret: [u8; 32],
    /// The seed of the node's CSPRNG.
    #[serde(with = "hex32")]
    pub seed: [u8; 32],
    /// The instant the node was built at.
    pub start: Instant,
    /// The wall clock at `start`.
    pub wall: UnixMillis,
    /// The node's settings (missing fields take their defaults).
    #[serde(default)]
    pub config: Config,
}

impl NodeSpec {
    /// Builds the node this spec describes.
    #[must_use]
    pub fn build(&self) -> Node {
        Node::new(
            self.config.clone(),
            Identity::from_secret_bytes(&self.secret),
            self.seed,
            self.start,
            self.wall,
        )
    }
}

/// One input to one node and what it produced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// The node's name.
    pub node: String,
    /// The input.
    pub input: Input,
    /// The error a command returned, as text, if it returned one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Every output drained after the input, in order.
    pub outputs: Vec<Output>,
}

/// A scenario vector.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scenario {
    /// Always [`FORMAT`].
    pub format: String,
    /// What the scenario shows.
    pub description: String,
    /// The nodes, built before the first step.
    pub nodes: Vec<NodeSpec>,
    /// The inputs, in order.
    pub steps: Vec<Step>,
}

impl Scenario {
    /// Parses a scenario from the JSON text of a file, checking its [`FORMAT`].
    ///
    /// # Errors
    /// [`ReplayError::Load`] if the text is not a scenario.
    pub fn from_json(text: &str) -> Result<Self, ReplayError> {
        let scenario: Self =
            serde_json::from_str(text).map_err(|err| ReplayError::Load(err.to_string()))?;
        if scenario.format != FORMAT {
            return Err(ReplayError::Load(alloc::format!(
                "format is {:?}, expected {FORMAT:?}",
                scenario.format
            )));
        }
        Ok(scenario)
    }

    /// The scenario as pretty JSON with a final newline, as files hold it.
    #[must_use]
    pub fn to_json_pretty(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }
}

/// 32-byte keys and seeds as hex.
mod hex32 {
    use alloc::string::String;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        bytes: &[u8; 32],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&crate::hex::encode(bytes))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(deserializer)?;
        crate::hex::decode_array(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests;
