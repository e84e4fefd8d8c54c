//! Store-and-forward: what a recipient may ask of a relay that holds its frames while it is
//! away (see `docs/PROTOCOL.md`, section 14).

use serde::{Deserialize, Serialize};

/// A recipient's request to a store-and-forward relay
/// ([`Node::request_mailbox`](crate::Node::request_mailbox)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum MailboxOp {
    /// Hold every relayed frame for my address, from now on, until I fetch or release.
    Hold,
    /// Hand over what you hold for me, and keep holding.
    Fetch,
    /// Hand over what you hold for me, and stop holding: I am back.
    Release,
}

impl MailboxOp {
    /// The op byte on the wire.
    #[must_use]
    pub fn to_byte(self) -> u8 {
        match self {
            Self::Hold => 1,
            Self::Fetch => 2,
            Self::Release => 3,
        }
    }

    /// The op of a wire byte, if it is one.
    #[must_use]
    pub fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            1 => Some(Self::Hold),
            2 => Some(Self::Fetch),
            3 => Some(Self::Release),
            _ => None,
        }
    }
}
