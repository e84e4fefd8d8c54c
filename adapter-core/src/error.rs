//! The one error type of the adapters.

use std::fmt;
use std::io;

use ejtp_proto::{CommandError, SendError};

/// Why an adapter operation failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A socket or file operation failed (binding a port in use, writing a recording, ...).
    Io(io::Error),
    /// The node refused to send.
    Send(SendError),
    /// The node refused a command.
    Command(CommandError),
    /// The node's driver has stopped; nothing more can be done with this handle.
    Closed,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(err) => err.fmt(f),
            Self::Send(err) => err.fmt(f),
            Self::Command(err) => err.fmt(f),
            Self::Closed => f.write_str("the node has stopped"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io(err) => Some(err),
            Self::Send(err) => Some(err),
            Self::Command(err) => Some(err),
            Self::Closed => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(err: io::Error) -> Self {
        Self::Io(err)
    }
}

impl From<SendError> for Error {
    fn from(err: SendError) -> Self {
        Self::Send(err)
    }
}

impl From<CommandError> for Error {
    fn from(err: CommandError) -> Self {
        match err {
            CommandError::Send(err) => Self::Send(err),
            other => Self::Command(other),
        }
    }
}
