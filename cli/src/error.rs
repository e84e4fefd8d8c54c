//! The one place errors become text and exit codes.
//!
//! Every failure ends the process the same way: one line `ejtp: <what went wrong>` on stderr
//! and exit code 2 for a usage error (a malformed argument) or 1 for anything else (a file that
//! cannot be read, a port in use, no acknowledgement). Never a panic message or a backtrace.

use std::fmt;
use std::io;
use std::process::ExitCode;

/// Why a command failed, and how the process should exit.
#[derive(Debug)]
pub(crate) struct CliError {
    message: String,
    usage: bool,
}

impl CliError {
    /// A malformed argument: exit code 2.
    pub(crate) fn usage(message: impl fmt::Display) -> Self {
        Self {
            message: message.to_string(),
            usage: true,
        }
    }

    /// Anything else that went wrong: exit code 1.
    pub(crate) fn failure(message: impl fmt::Display) -> Self {
        Self {
            message: message.to_string(),
            usage: false,
        }
    }

    /// The exit code this error ends the process with.
    pub(crate) fn exit_code(&self) -> ExitCode {
        ExitCode::from(if self.usage { 2 } else { 1 })
    }

    /// Prints the error as its one line on stderr and returns the exit code.
    pub(crate) fn report(&self) -> ExitCode {
        eprintln!("ejtp: {}", one_line(&self.message));
        self.exit_code()
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// What clap wants done with an argument error: print help or the version (exit 0), or fail.
pub(crate) fn from_clap(err: &clap::Error) -> Result<String, CliError> {
    use clap::error::ErrorKind;
    match err.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => Ok(err.render().to_string()),
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => Err(CliError::usage(format!(
            "a command is needed: {} (see ejtp --help)",
            command_list()
        ))),
        _ => Err(CliError::usage(clap_summary(&err.render().to_string()))),
    }
}

/// "keygen, run, ... or fetch": every command, from the definition itself so that the list
/// cannot fall behind it.
fn command_list() -> String {
    use clap::CommandFactory;
    let command = crate::args::Cli::command();
    let names: Vec<&str> = command
        .get_subcommands()
        .filter(|sub| !sub.is_hide_set())
        .map(clap::Command::get_name)
        .filter(|name| *name != "help")
        .collect();
    match names.split_last() {
        Some((last, [])) => (*last).to_string(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => "see the help".to_string(),
    }
}

/// Clap's multi-line error as one line: the message and its tips, without the usage block.
fn clap_summary(rendered: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    for line in rendered.lines() {
        let line = line.trim();
        if line.starts_with("Usage:") || line.starts_with("For more information") {
            break;
        }
        if line.is_empty() {
            continue;
        }
        match line.strip_prefix("tip: ") {
            Some(tip) => parts.push(format!("; tip: {tip}")),
            None => parts.push(format!(" {}", line.strip_prefix("error: ").unwrap_or(line))),
        }
    }
    let summary = parts.concat().trim().to_string();
    if summary.is_empty() {
        "invalid arguments (see ejtp --help)".to_string()
    } else {
        format!("{summary} (see ejtp --help)")
    }
}

/// An I/O error's reason in plain words where the OS's wording is cryptic.
pub(crate) fn io_reason(err: &io::Error) -> String {
    match err.kind() {
        io::ErrorKind::NotFound => "no such file".to_string(),
        io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        io::ErrorKind::AddrInUse => "address already in use".to_string(),
        io::ErrorKind::AddrNotAvailable => "not an address of this machine".to_string(),
        _ => err.to_string(),
    }
}

/// A node error's reason, with I/O errors in plain words.
pub(crate) fn node_reason(err: &ejtp_adapter_core::Error) -> String {
    match err {
        ejtp_adapter_core::Error::Io(err) => io_reason(err),
        other => other.to_string(),
    }
}

/// Joins the lines of a message, so that whatever an underlying error says stays on one line.
fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Replaces the default panic message (and any backtrace hint) with one `ejtp:` line: a panic
/// is a bug, but the user still gets a readable line and a non-zero exit (101).
pub(crate) fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let payload = info
            .payload()
            .downcast_ref::<&str>()
            .map(ToString::to_string)
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown cause".to_string());
        let place = info
            .location()
            .map(|location| format!(" at {}:{}", location.file(), location.line()))
            .unwrap_or_default();
        eprintln!(
            "ejtp: internal error{place}: {} (this is a bug; please report it)",
            one_line(&payload)
        );
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_errors_become_one_line_without_the_usage_block() {
        let rendered = "error: the following required arguments were not provided:\n  \
                        --out <FILE>\n\nUsage: ejtp keygen --out <FILE>\n\nFor more information, \
                        try '--help'.\n";
        assert_eq!(
            clap_summary(rendered),
            "the following required arguments were not provided: --out <FILE> (see ejtp --help)"
        );
    }

    #[test]
    fn clap_tips_stay_on_the_line() {
        let rendered = "error: unexpected argument '--outt' found\n\n  tip: a similar argument \
                        exists: '--out'\n\nUsage: ejtp keygen [OPTIONS] --out <FILE>\n";
        assert_eq!(
            clap_summary(rendered),
            "unexpected argument '--outt' found; tip: a similar argument exists: '--out' \
             (see ejtp --help)"
        );
    }

    #[test]
    fn multi_line_messages_are_joined() {
        assert_eq!(one_line("a\n\n  b\n"), "a; b");
    }
}
