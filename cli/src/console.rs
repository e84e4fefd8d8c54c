//! What commands print on stdout: their results, one line at a time.

use std::fmt::Display;
use std::io::Write;

use crate::error::CliError;

/// Prints one line on stdout and flushes it, so that a script reading a pipe sees it at once.
/// A closed stdout (the reader went away) is an error, not a panic.
pub(crate) fn line(text: impl Display) -> Result<(), CliError> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{text}")
        .and_then(|()| stdout.flush())
        .map_err(|err| CliError::failure(format!("cannot write to stdout: {err}")))
}
