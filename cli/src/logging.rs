//! Diagnostics: tracing to stderr, its level set by `-v` or `RUST_LOG`.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Starts logging to stderr. `RUST_LOG`, when set, is the filter; otherwise the `-v` count
/// (1 info, 2 debug, 3 and more trace) or, if that is lower, the command's `base` verbosity
/// (same scale, 0 warnings). The count names a level rather than adding to the base, so that
/// `-vv` means debug for every command, as `--help` says, and not trace for `run`.
pub(crate) fn init(base: u8, verbose: u8) {
    let filter = match std::env::var("RUST_LOG") {
        Ok(directives) if !directives.trim().is_empty() => EnvFilter::new(directives),
        _ => EnvFilter::new(level(base.max(verbose))),
    };
    // A second initialisation (never done here) would fail; logging is optional either way.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .try_init();
}

/// The level name for a verbosity.
fn level(verbosity: u8) -> &'static str {
    match verbosity {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    }
}
