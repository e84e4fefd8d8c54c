//! The replay memories as a whole: what they hold, to store across a restart, and taking it
//! back.

use alloc::vec::Vec;

use super::Transport;
use crate::node::context::Context;
use crate::time::UnixMillis;

impl Transport {
    /// What the replay memories hold now: their floors and remembered nonces.
    pub(in crate::node) fn replay_memory(&self) -> crate::replay_journal::ReplayMemory {
        use crate::replay_journal::{FirstMessageKind, ReplayRecord};
        let (sealed_floor, sealed) = self.sealed_nonces.snapshot();
        let (signed_floor, signed) = self.signature_nonces.snapshot();
        let records = |kind, entries: Vec<(UnixMillis, [u8; 16])>| {
            entries
                .into_iter()
                .map(move |(timestamp, nonce)| ReplayRecord {
                    kind,
                    nonce,
                    timestamp,
                })
        };
        crate::replay_journal::ReplayMemory {
            sealed_floor,
            signed_floor,
            records: records(FirstMessageKind::Sealed, sealed)
                .chain(records(FirstMessageKind::Signed, signed))
                .collect(),
        }
    }

    /// Takes back a replay memory stored before a restart: its floors replace the start floor,
    /// and its nonces are refused again.
    pub(in crate::node) fn restore_replay_memory(
        &mut self,
        ctx: &Context,
        memory: &crate::replay_journal::ReplayMemory,
    ) {
        use crate::replay_journal::FirstMessageKind;
        let now = ctx.wall_now();
        for kind in [FirstMessageKind::Sealed, FirstMessageKind::Signed] {
            let entries = memory
                .records
                .iter()
                .filter(|record| record.kind == kind)
                .map(|record| (record.timestamp, record.nonce));
            let target = match kind {
                FirstMessageKind::Sealed => &mut self.sealed_nonces,
                FirstMessageKind::Signed => &mut self.signature_nonces,
            };
            target.restore(memory.floor(kind), entries, now);
        }
    }

    /// Refuses first messages signed before a start at `wall`: nothing signed before it is
    /// known not to have been taken already. The floor sits 2 ms below the start: timestamps
    /// are whole milliseconds, and a sender's (its clock's reading at its start plus the time
    /// since, each truncated) can be up to 2 ms behind the true time, so a peer on the same
    /// clock that signs right after this start is not refused.
    pub(in crate::node) fn refuse_signed_before(&mut self, wall: UnixMillis) {
        let floor = UnixMillis(wall.0.saturating_sub(2));
        self.signature_nonces.raise_floor_to(floor);
        self.sealed_nonces.raise_floor_to(floor);
    }
}
