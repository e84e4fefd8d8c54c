//! Scenario vectors: the core's trace format ([`ejtp_proto::trace`], re-exported here), read
//! from files, and a [`Recorder`] that runs nodes in memory and records them.

use std::path::Path;

pub use ejtp_proto::trace::{FORMAT, NodeSpec, ReplayError, Scenario, Step, run_input};
use ejtp_proto::{Command, CommandOutcome, Input, Instant, MessageId, Node, Output};

/// Reads a scenario file.
///
/// # Errors
/// [`ReplayError::Load`] if the file cannot be read or is not a scenario.
pub fn load(path: &Path) -> Result<Scenario, ReplayError> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| ReplayError::Load(format!("{}: {err}", path.display())))?;
    Scenario::from_json(&text)
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
            .map(CommandOutcome::message_id)
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
