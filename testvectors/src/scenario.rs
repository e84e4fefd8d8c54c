//! Scenario vectors: nodes with fixed keys and seeds, a timed list of inputs, and the outputs
//! each input must produce, byte for byte.

use std::fmt;
use std::path::Path;

use ejtp_proto::{Command, Config, Identity, Input, Instant, MessageId, Node, Output, UnixMillis};
use serde::{Deserialize, Serialize};

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

/// Why a scenario did not replay.
#[derive(Debug)]
#[non_exhaustive]
pub enum ReplayError {
    /// The file is not a scenario.
    Load(String),
    /// A step names a node the scenario does not have.
    UnknownNode {
        /// The step's index.
        step: usize,
        /// The name.
        node: String,
    },
    /// A step produced other outputs (or another error) than recorded.
    Mismatch {
        /// The step's index.
        step: usize,
        /// The node's name.
        node: String,
        /// What the file says, as JSON.
        expected: String,
        /// What the node did, as JSON.
        actual: String,
    },
}

impl fmt::Display for ReplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Load(reason) => write!(f, "not a scenario: {reason}"),
            Self::UnknownNode { step, node } => {
                write!(f, "step {step} names unknown node {node:?}")
            }
            Self::Mismatch {
                step,
                node,
                expected,
                actual,
            } => {
                write!(
                    f,
                    "step {step} ({node}): outputs differ\nexpected: {expected}\nactual:   {actual}"
                )
            }
        }
    }
}

impl std::error::Error for ReplayError {}

impl Scenario {
    /// Reads a scenario file.
    ///
    /// # Errors
    /// [`ReplayError::Load`] if the file cannot be read or is not a scenario.
    pub fn load(path: &Path) -> Result<Self, ReplayError> {
        let text = std::fs::read_to_string(path)
            .map_err(|err| ReplayError::Load(format!("{}: {err}", path.display())))?;
        let scenario: Self =
            serde_json::from_str(&text).map_err(|err| ReplayError::Load(err.to_string()))?;
        if scenario.format != FORMAT {
            return Err(ReplayError::Load(format!(
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

    /// Builds the nodes, feeds every input, and checks that each produces exactly the recorded
    /// outputs.
    ///
    /// # Errors
    /// The first step whose outputs differ, or that names an unknown node.
    pub fn replay(&self) -> Result<(), ReplayError> {
        let mut nodes: Vec<Node> = self.nodes.iter().map(NodeSpec::build).collect();
        for (index, step) in self.steps.iter().enumerate() {
            let position = self.nodes.iter().position(|spec| spec.name == step.node);
            let Some(node) = position.and_then(|position| nodes.get_mut(position)) else {
                return Err(ReplayError::UnknownNode {
                    step: index,
                    node: step.node.clone(),
                });
            };
            let (error, outputs) = run_input(node, step.input.clone());
            if error != step.error || outputs != step.outputs {
                return Err(ReplayError::Mismatch {
                    step: index,
                    node: step.node.clone(),
                    expected: describe(step.error.as_ref(), &step.outputs),
                    actual: describe(error.as_ref(), &outputs),
                });
            }
        }
        Ok(())
    }
}

/// Feeds one input and drains every output.
fn run_input(node: &mut Node, input: Input) -> (Option<String>, Vec<Output>) {
    let error = node.handle_input(input).err().map(|err| err.to_string());
    let outputs = std::iter::from_fn(|| node.poll_output()).collect();
    (error, outputs)
}

fn describe(error: Option<&String>, outputs: &[Output]) -> String {
    let outputs = serde_json::to_string(outputs).unwrap_or_default();
    match error {
        Some(error) => format!("error {error:?}, outputs {outputs}"),
        None => outputs,
    }
}

/// Runs nodes and records every input and its outputs as a [`Scenario`].
pub struct Recorder {
    specs: Vec<NodeSpec>,
    nodes: Vec<Node>,
    steps: Vec<Step>,
}

impl Recorder {
    /// A recorder with no nodes yet.
    #[must_use]
    pub fn new() -> Self {
        Self {
            specs: Vec::new(),
            nodes: Vec::new(),
            steps: Vec::new(),
        }
    }

    /// Builds a node from `spec`; returns its index.
    pub fn add_node(&mut self, spec: NodeSpec) -> usize {
        self.nodes.push(spec.build());
        self.specs.push(spec);
        self.nodes.len() - 1
    }

    /// Feeds `input` to node `index`, records it, and returns the command error (if any) and
    /// the outputs.
    ///
    /// # Panics
    /// If `index` is not a node of this recorder (a bug in the calling test).
    pub fn input(&mut self, index: usize, input: Input) -> (Option<String>, Vec<Output>) {
        let node = &mut self.nodes[index];
        let (error, outputs) = run_input(node, input.clone());
        let name = self.specs[index].name.clone();
        self.steps.push(Step {
            node: name,
            input,
            error: error.clone(),
            outputs: outputs.clone(),
        });
        (error, outputs)
    }

    /// Gives node `index` a command at `now`, records it like [`input`](Self::input), and
    /// returns what [`Node::handle_command`] returned (the message id of a send, query or
    /// reply; errors as text) and the outputs.
    ///
    /// # Panics
    /// If `index` is not a node of this recorder (a bug in the calling test).
    pub fn command(
        &mut self,
        index: usize,
        now: Instant,
        command: Command,
    ) -> (Result<Option<MessageId>, String>, Vec<Output>) {
        let node = &mut self.nodes[index];
        let input = Input::Command {
            now,
            command: command.clone(),
        };
        let result = node
            .handle_command(now, command)
            .map_err(|err| err.to_string());
        let outputs: Vec<Output> = std::iter::from_fn(|| node.poll_output()).collect();
        let name = self.specs[index].name.clone();
        self.steps.push(Step {
            node: name,
            input,
            error: result.clone().err(),
            outputs: outputs.clone(),
        });
        (result, outputs)
    }

    /// The node at `index`.
    ///
    /// # Panics
    /// If `index` is not a node of this recorder.
    #[must_use]
    pub fn node(&self, index: usize) -> &Node {
        &self.nodes[index]
    }

    /// The node at `index`, mutably: for state a scenario cannot carry (a content store).
    /// Changes made here are not recorded, so a run that uses it is not a replayable vector.
    ///
    /// # Panics
    /// If `index` is not a node of this recorder.
    pub fn node_mut(&mut self, index: usize) -> &mut Node {
        &mut self.nodes[index]
    }

    /// How many nodes there are.
    #[must_use]
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether there are no nodes.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The recording so far.
    #[must_use]
    pub fn scenario(&self, description: &str) -> Scenario {
        Scenario {
            format: FORMAT.to_string(),
            description: description.to_string(),
            nodes: self.specs.clone(),
            steps: self.steps.clone(),
        }
    }
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new()
    }
}

/// 32-byte keys and seeds as hex.
mod hex32 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        bytes: &[u8; 32],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&ejtp_proto::hex::encode(bytes))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(deserializer)?;
        ejtp_proto::hex::decode_array(&text).map_err(serde::de::Error::custom)
    }
}
