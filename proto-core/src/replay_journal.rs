//! What a node must keep across restarts so that no first message is delivered twice.
//!
//! A single (sealed or signed) frame is refused as a replay while its nonce is in the node's
//! [`NonceMemory`](crate::replay::NonceMemory). That memory lives in RAM, so two rules keep a
//! restart from reopening the window (`docs/PROTOCOL.md` §8, "Replay protection across
//! restarts"):
//!
//! - A node starts with its memories' floor at its start time: a first message signed before
//!   the node started is refused. That is always safe, but it also refuses what a mailbox held
//!   for the node while it was down, and messages from peers whose clocks lag, right after the
//!   start.
//! - With [`Config::replay_journal`](crate::Config::replay_journal) on, the node emits an
//!   [`Output::Remember`](crate::Output::Remember) for each first message it accepts, *before*
//!   the message's event. The adapter writes it to storage before it hands the application the
//!   event. At the next start the adapter gives the node back what it stored
//!   ([`Command::RestoreReplayMemory`](crate::Command::RestoreReplayMemory)): the floors go back
//!   to where they were, the nonces are remembered again, and held and lagging messages are
//!   delivered once.

use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use crate::time::UnixMillis;

/// Which memory a nonce belongs to: HPKE-sealed and signed single frames have one each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FirstMessageKind {
    /// An HPKE-sealed single frame (its nonce is the first 16 bytes of its encapsulated key).
    Sealed,
    /// A signed single frame (its nonce is the signature blob's).
    Signed,
}

/// One accepted first message, as a node must remember it to refuse its replay.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ReplayRecord {
    /// Which memory it belongs to.
    pub kind: FirstMessageKind,
    /// Its nonce.
    #[serde(with = "nonce_hex")]
    pub nonce: [u8; 16],
    /// The time it was signed at (its sender's clock).
    pub timestamp: UnixMillis,
}

/// A node's replay memories, as [`Node::replay_memory`](crate::Node::replay_memory) gives them
/// and [`Command::RestoreReplayMemory`](crate::Command::RestoreReplayMemory) takes them back.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplayMemory {
    /// The sealed memory's floor: sealed first messages signed at or before it are refused.
    pub sealed_floor: Option<UnixMillis>,
    /// The signed memory's floor.
    pub signed_floor: Option<UnixMillis>,
    /// The nonces remembered, oldest first within each kind.
    pub records: Vec<ReplayRecord>,
}

impl ReplayMemory {
    /// The floor of `kind`'s memory.
    #[must_use]
    pub fn floor(&self, kind: FirstMessageKind) -> Option<UnixMillis> {
        match kind {
            FirstMessageKind::Sealed => self.sealed_floor,
            FirstMessageKind::Signed => self.signed_floor,
        }
    }
}

/// Nonces as 32 lowercase hex digits.
mod nonce_hex {
    use alloc::string::String;

    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub(super) fn serialize<S: Serializer>(
        nonce: &[u8; 16],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&crate::hex::encode(nonce))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<[u8; 16], D::Error> {
        let text = String::deserialize(deserializer)?;
        crate::hex::decode_array(&text).map_err(|_| D::Error::custom("a nonce is 32 hex digits"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_through_json() {
        let record = ReplayRecord {
            kind: FirstMessageKind::Sealed,
            nonce: [0xab; 16],
            timestamp: UnixMillis(1_700_000_000_123),
        };
        let text = serde_json::to_string(&record).unwrap();
        assert_eq!(
            text,
            r#"{"kind":"sealed","nonce":"abababababababababababababababab","timestamp":1700000000123}"#
        );
        assert_eq!(serde_json::from_str::<ReplayRecord>(&text).unwrap(), record);
        for bad in [
            r#"{"kind":"sealed","nonce":"abab","timestamp":1}"#,
            r#"{"kind":"other","nonce":"abababababababababababababababab","timestamp":1}"#,
        ] {
            assert!(serde_json::from_str::<ReplayRecord>(bad).is_err(), "{bad}");
        }
    }
}
