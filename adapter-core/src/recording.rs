//! Recording a live node as a scenario vector (the core's [`ejtp_proto::trace`] format) that
//! `ejtp replay` and [`Scenario::replay`] replay.

use std::io::Write;
use std::path::{Path, PathBuf};

use ejtp_proto::trace::{FORMAT, NodeSpec, ReplayError, Scenario, Step};
use ejtp_proto::{Input, Output};

use crate::Error;

/// Every input a node was given and the outputs each produced, to be saved as a scenario file.
#[derive(Debug)]
pub struct Recording {
    path: PathBuf,
    scenario: Scenario,
}

impl Recording {
    /// Reads a saved recording (or any scenario file) for [`Scenario::replay`].
    ///
    /// # Errors
    /// [`ReplayError::Load`] naming the path if the file cannot be read or is not a scenario.
    pub fn load(path: &Path) -> Result<Scenario, ReplayError> {
        let text = std::fs::read_to_string(path)
            .map_err(|err| ReplayError::Load(format!("{}: {err}", path.display())))?;
        Scenario::from_json(&text)
    }

    /// A recording of the node `spec` describes, to be saved at `path`.
    #[must_use]
    pub fn new(path: &Path, spec: NodeSpec) -> Self {
        let scenario = Scenario {
            format: FORMAT.to_string(),
            description: "a live session recorded by an adapter".to_string(),
            nodes: vec![spec],
            steps: Vec::new(),
        };
        Self {
            path: path.to_path_buf(),
            scenario,
        }
    }

    /// Adds one input and what it produced.
    pub fn step(&mut self, input: Input, error: Option<String>, outputs: &[Output]) {
        let node = self
            .scenario
            .nodes
            .first()
            .map(|spec| spec.name.clone())
            .unwrap_or_default();
        self.scenario.steps.push(Step {
            node,
            input,
            error,
            outputs: outputs.to_vec(),
        });
    }

    /// The recording so far.
    #[must_use]
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// Writes the scenario file (replacing it through a temporary file, so a reader never sees
    /// half a file).
    ///
    /// # Errors
    /// [`Error::Io`] if the file cannot be written.
    pub fn save(&self) -> Result<(), Error> {
        let temporary = self.path.with_extension("json.partial");
        // A leftover partial file would keep its permissions; start from none.
        let _ = std::fs::remove_file(&temporary);
        let mut file = owner_only_file(&temporary)?;
        file.write_all(self.scenario.to_json_pretty().as_bytes())?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&temporary, &self.path)?;
        Ok(())
    }
}

/// Creates (or truncates) `path` readable by its owner only: a recording holds a secret key.
fn owner_only_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}
