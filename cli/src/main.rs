//! `ejtp`: the command-line node of the encrypted JSON transport.
//!
//! ```text
//! ejtp keygen --out alice.json --callsign alice      # a new identity (owner-only file)
//! ejtp run --identity bob.json --udp 127.0.0.1:7000  # a node that answers every message
//! ejtp send --identity alice.json --to 127.0.0.1:7000 --key <bob's key> '{"hi":1}'
//! ejtp chat --identity bob.json --udp 127.0.0.1:7001 --join 127.0.0.1:7000 --key <key> --password pw
//! ejtp demo                                          # the protocol at work, narrated
//! ejtp replay recording.json                         # check a recording byte for byte
//! ejtp share --dir shared photo.jpg                  # prints the file's content id
//! ejtp fetch <id> --peer 127.0.0.1:7000 --out dl     # downloads it (resumable)
//! ```
//!
//! Each command lives in its own module; this file parses the arguments, starts logging and
//! turns the outcome into an exit code (0 success, 1 failure, 2 usage error) through
//! [`error::CliError`], the one place errors are formatted.

mod ack;
mod args;
mod chat;
mod console;
mod demo;
mod endpoint;
mod error;
mod fetch;
mod folder;
mod identity_file;
mod keygen;
mod logging;
mod replay;
mod run;
mod send;
mod share;
mod value;

use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command};
use crate::error::CliError;

fn main() -> ExitCode {
    error::install_panic_hook();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            return match error::from_clap(&err) {
                Ok(help) => match console::line(help.trim_end()) {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(err) => err.report(),
                },
                Err(err) => err.report(),
            };
        }
    };
    // A running node narrates at info level by default; the other commands print results
    // and keep logs for warnings unless asked.
    let base = u8::from(matches!(cli.command, Command::Run(_)));
    logging::init(base, cli.verbose);
    match dispatch(&cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => err.report(),
    }
}

/// Runs the command.
fn dispatch(command: &Command) -> Result<(), CliError> {
    match command {
        Command::Keygen(args) => keygen::keygen(args),
        Command::Run(args) => run::run(args),
        Command::Send(args) => send::send(args),
        Command::Chat(args) => chat::chat(args),
        Command::Demo => demo::demo(),
        Command::Replay(args) => replay::replay(args),
        Command::Share(args) => share::share(args),
        Command::Fetch(args) => fetch::fetch(args),
    }
}
