//! `ejtp replay`: check a recorded scenario byte for byte.

use ejtp_adapter_core::Recording;
use ejtp_proto::trace::ReplayError;

use crate::args::ReplayArgs;
use crate::console;
use crate::error::{CliError, io_reason};

/// Loads the scenario, replays every step and compares the outputs. On a mismatch the
/// expected and actual outputs go to stdout and the one-line error says which step.
pub(crate) fn replay(args: &ReplayArgs) -> Result<(), CliError> {
    // The library calls every file it cannot use "not a scenario"; a file that cannot be
    // opened at all is told as such first.
    if let Err(err) = std::fs::File::open(&args.file) {
        return Err(CliError::failure(format!(
            "cannot load {}: {}",
            args.file.display(),
            io_reason(&err)
        )));
    }
    let scenario = Recording::load(&args.file)
        .map_err(|err| CliError::failure(format!("cannot load {}: {err}", args.file.display())))?;
    match scenario.replay() {
        Ok(()) => console::line(format_args!(
            "replayed {} steps of {} nodes: outputs match",
            scenario.steps.len(),
            scenario.nodes.len()
        )),
        Err(ReplayError::Mismatch {
            step,
            node,
            expected,
            actual,
        }) => {
            console::line(format_args!("step {step} ({node}): outputs differ"))?;
            console::line(format_args!("expected: {expected}"))?;
            console::line(format_args!("actual:   {actual}"))?;
            Err(CliError::failure(format!(
                "{}: step {step} of {} ({node}) does not replay: outputs differ",
                args.file.display(),
                scenario.steps.len()
            )))
        }
        Err(err) => Err(CliError::failure(format!("{}: {err}", args.file.display()))),
    }
}
