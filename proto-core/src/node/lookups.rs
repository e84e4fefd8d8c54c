//! State kept for routing: lookups in flight, messages waiting for a lookup, and recent
//! messages kept to be re-sent when their transmit fails. Each is bounded by `Config`.

use alloc::collections::{BTreeMap, VecDeque};
use alloc::string::String;
use alloc::vec::Vec;

use crate::event::MessageId;
use crate::identity::{NodeId, PublicKey};
use crate::time::Instant;
use crate::transport::TransportAddr;

/// A message as it can be sent again: same id, same JSON, same reply reference.
#[derive(Clone, Debug)]
pub(crate) struct PendingMessage {
    pub(crate) id: MessageId,
    pub(crate) from: String,
    pub(crate) key: PublicKey,
    /// The recipient client on the peer's node.
    pub(crate) callsign: Option<String>,
    pub(crate) json: Vec<u8>,
    pub(crate) reference: Option<[u8; 32]>,
}

/// A message sent directly, remembered for `resend_window`.
#[derive(Clone, Debug)]
pub(crate) struct SentMessage {
    pub(crate) message: PendingMessage,
    pub(crate) transport: TransportAddr,
    /// The last bytes of the transmit: an AEAD tag, unique to this transmit, by which a failure
    /// report names it.
    pub(crate) tag: [u8; TAG_LEN],
    pub(crate) at: Instant,
}

/// Bytes of a transmit's tail kept to recognise it.
pub(crate) const TAG_LEN: usize = 16;

/// The last [`TAG_LEN`] bytes of a transmit (zeros for a shorter one).
pub(crate) fn transmit_tag(payload: &[u8]) -> [u8; TAG_LEN] {
    let mut tag = [0; TAG_LEN];
    if let Some(tail) = payload
        .len()
        .checked_sub(TAG_LEN)
        .and_then(|at| payload.get(at..))
    {
        tag.copy_from_slice(tail);
    }
    tag
}

/// The most recent direct messages, oldest first.
#[derive(Default)]
pub(crate) struct ResendLog {
    sent: VecDeque<SentMessage>,
}

impl ResendLog {
    pub(crate) fn push(&mut self, sent: SentMessage, capacity: usize) {
        if capacity == 0 {
            return;
        }
        while self.sent.len() >= capacity {
            self.sent.pop_front();
        }
        self.sent.push_back(sent);
    }

    /// Takes the message whose transmit to `transport` ended with `tag`, if it was sent at or
    /// after `since`; forgets those sent before `since`.
    pub(crate) fn take_failed(
        &mut self,
        transport: TransportAddr,
        tag: &[u8; TAG_LEN],
        since: Instant,
    ) -> Option<PendingMessage> {
        self.sent.retain(|sent| sent.at >= since);
        let index = self
            .sent
            .iter()
            .position(|sent| sent.transport == transport && sent.tag == *tag)?;
        self.sent.remove(index).map(|sent| sent.message)
    }
}

/// One lookup in flight.
#[derive(Clone, Debug)]
pub(crate) struct Lookup {
    /// The id the current round of requests carries.
    pub(crate) request_id: [u8; 16],
    /// Peers asked so far, in every round.
    pub(crate) asked: Vec<NodeId>,
    pub(crate) deadline: Instant,
    pub(crate) attempts_left: u8,
    /// The seq of the newest record accepted in this lookup: the lookup then stays open until
    /// its deadline only to take newer answers.
    pub(crate) found: Option<u64>,
}

/// Lookups in flight, by target and by request id.
#[derive(Default)]
pub(crate) struct LookupTable {
    pub(crate) by_target: BTreeMap<NodeId, Lookup>,
    pub(crate) by_request: BTreeMap<[u8; 16], NodeId>,
}

impl LookupTable {
    pub(crate) fn len(&self) -> usize {
        self.by_target.len()
    }

    pub(crate) fn insert(&mut self, target: NodeId, lookup: Lookup) {
        self.by_request.insert(lookup.request_id, target);
        if let Some(old) = self.by_target.insert(target, lookup) {
            self.by_request.remove(&old.request_id);
        }
    }

    pub(crate) fn remove(&mut self, target: &NodeId) -> Option<Lookup> {
        let lookup = self.by_target.remove(target)?;
        self.by_request.remove(&lookup.request_id);
        Some(lookup)
    }

    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.by_target.values().map(|lookup| lookup.deadline).min()
    }

    /// The targets whose deadline has come, in id order.
    pub(crate) fn due(&self, now: Instant) -> Vec<NodeId> {
        self.by_target
            .iter()
            .filter(|(_, lookup)| lookup.deadline <= now)
            .map(|(target, _)| *target)
            .collect()
    }
}

/// Messages waiting for a lookup of their recipient, oldest first.
#[derive(Default)]
pub(crate) struct WaitingMessages {
    waiting: VecDeque<PendingMessage>,
}

impl WaitingMessages {
    pub(crate) fn len(&self) -> usize {
        self.waiting.len()
    }

    pub(crate) fn push(&mut self, message: PendingMessage) {
        self.waiting.push_back(message);
    }

    /// Takes the messages for `peer`, oldest first.
    pub(crate) fn take_for(&mut self, peer: &NodeId) -> Vec<PendingMessage> {
        let mut taken = Vec::new();
        self.waiting.retain(|message| {
            if message.key.node_id() == *peer {
                taken.push(message.clone());
                false
            } else {
                true
            }
        });
        taken
    }
}
