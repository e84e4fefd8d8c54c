//! Replaying a scenario against fresh nodes, and why a replay fails.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use super::{NodeSpec, Scenario};
use crate::{Input, Node, Output};

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

impl core::error::Error for ReplayError {}

impl Scenario {
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

/// Feeds one input to a node and drains every output: one step of a trace, as recorders
/// and the replayer run it. Returns the command's error as text, if it returned one.
pub fn run_input(node: &mut Node, input: Input) -> (Option<String>, Vec<Output>) {
    let error = node.handle_input(input).err().map(|err| err.to_string());
    let outputs = core::iter::from_fn(|| node.poll_output()).collect();
    (error, outputs)
}

fn describe(error: Option<&String>, outputs: &[Output]) -> String {
    let outputs = serde_json::to_string(outputs).unwrap_or_default();
    match error {
        Some(error) => alloc::format!("error {error:?}, outputs {outputs}"),
        None => outputs,
    }
}
