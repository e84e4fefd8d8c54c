//! The frames a store-and-forward relay holds for recipients that are away.
//!
//! Bounded three ways (frames per mailbox, frames overall, bytes overall); when a bound is
//! passed the oldest frame goes first (the mailbox's own oldest for the per-mailbox bound, the
//! oldest of all for the overall ones). Frames and mailboxes also age out.

use alloc::collections::{BTreeMap, VecDeque};
use alloc::vec::Vec;
use core::time::Duration;

use crate::address::Address;
use crate::identity::NodeId;
use crate::time::{Instant, UnixMillis};
use crate::transport::TransportAddr;

/// The bounds, from [`Config`](crate::Config).
#[derive(Clone, Copy, Debug)]
pub(in crate::node) struct Limits {
    pub(in crate::node) max_mailboxes: usize,
    pub(in crate::node) per_mailbox: usize,
    pub(in crate::node) frames: usize,
    pub(in crate::node) bytes: usize,
    pub(in crate::node) hold_time: Duration,
    pub(in crate::node) lifetime: Duration,
}

/// One frame held, exactly as it would have been sent on.
#[derive(Clone, Debug)]
pub(in crate::node) struct HeldFrame {
    /// Arrival order over the whole store: the smallest is the oldest.
    seq: u64,
    at: Instant,
    pub(in crate::node) frame: Vec<u8>,
}

/// What the relay keeps for one recipient (by its key's id).
#[derive(Clone, Debug)]
pub(in crate::node) struct Mailbox {
    /// The recipient's address without callsign: frames relayed to it are held.
    pub(in crate::node) address: Address,
    /// Where held frames are handed over.
    pub(in crate::node) transport: TransportAddr,
    /// Whether frames are being held (between a hold and a release).
    pub(in crate::node) holding: bool,
    /// The timestamp of the last request accepted: a request must be newer (replays refused).
    last_request: UnixMillis,
    /// The last request accepted, on our clock: the mailbox ends `lifetime` after it.
    active: Instant,
    frames: VecDeque<HeldFrame>,
}

/// Why a request was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(in crate::node) enum Refusal {
    /// Not newer than the last request accepted for that recipient.
    Replay,
    /// `max_mailboxes` are in use.
    Full,
}

#[derive(Debug, Default)]
pub(in crate::node) struct MailboxStore {
    boxes: BTreeMap<NodeId, Mailbox>,
    frames: usize,
    bytes: usize,
    next_seq: u64,
}

impl MailboxStore {
    /// Accepts a signed, fresh request from `owner` for `address` (reached at `transport`),
    /// creating its mailbox if needed.
    pub(in crate::node) fn accept(
        &mut self,
        owner: NodeId,
        address: Address,
        transport: TransportAddr,
        timestamp: UnixMillis,
        now: Instant,
        limits: &Limits,
    ) -> Result<&mut Mailbox, Refusal> {
        if let Some(existing) = self.boxes.get(&owner) {
            if timestamp <= existing.last_request {
                return Err(Refusal::Replay);
            }
        } else if self.boxes.len() >= limits.max_mailboxes {
            return Err(Refusal::Full);
        }
        let mailbox = self.boxes.entry(owner).or_insert_with(|| Mailbox {
            address: address.clone(),
            transport,
            holding: false,
            last_request: timestamp,
            active: now,
            frames: VecDeque::new(),
        });
        mailbox.address = address;
        mailbox.transport = transport;
        mailbox.last_request = timestamp;
        mailbox.active = now;
        Ok(mailbox)
    }

    /// The recipient whose mailbox holds frames for `address` (any callsign), if any.
    pub(in crate::node) fn holding_for(&self, address: &Address) -> Option<NodeId> {
        let address = address.without_callsign();
        self.boxes
            .iter()
            .find(|(_, mailbox)| mailbox.holding && mailbox.address == address)
            .map(|(owner, _)| *owner)
    }

    /// Whether `owner` has a mailbox with frames in it.
    pub(in crate::node) fn has_frames(&self, owner: &NodeId) -> bool {
        self.boxes
            .get(owner)
            .is_some_and(|mailbox| !mailbox.frames.is_empty())
    }

    /// Holds `frame` for `owner`; returns how many older frames were dropped to stay within the
    /// bounds (the new frame itself, if it alone is over the byte bound).
    pub(in crate::node) fn hold(
        &mut self,
        owner: &NodeId,
        frame: Vec<u8>,
        now: Instant,
        limits: &Limits,
    ) -> u64 {
        let Some(mailbox) = self.boxes.get_mut(owner) else {
            return 1;
        };
        if frame.len() > limits.bytes || limits.per_mailbox == 0 || limits.frames == 0 {
            return 1;
        }
        self.frames += 1;
        self.bytes += frame.len();
        mailbox.frames.push_back(HeldFrame {
            seq: self.next_seq,
            at: now,
            frame,
        });
        self.next_seq += 1;
        let mut dropped = 0;
        while mailbox.frames.len() > limits.per_mailbox {
            if let Some(old) = mailbox.frames.pop_front() {
                self.frames -= 1;
                self.bytes -= old.frame.len();
                dropped += 1;
            }
        }
        while self.frames > limits.frames || self.bytes > limits.bytes {
            if !self.drop_oldest() {
                break;
            }
            dropped += 1;
        }
        dropped
    }

    /// Drops the oldest frame of the whole store; false if there is none.
    fn drop_oldest(&mut self) -> bool {
        let oldest = self
            .boxes
            .iter()
            .filter_map(|(owner, mailbox)| mailbox.frames.front().map(|held| (held.seq, *owner)))
            .min();
        let Some((_, owner)) = oldest else {
            return false;
        };
        let Some(held) = self
            .boxes
            .get_mut(&owner)
            .and_then(|mailbox| mailbox.frames.pop_front())
        else {
            return false;
        };
        self.frames -= 1;
        self.bytes -= held.frame.len();
        true
    }

    /// Takes the oldest frame held for `owner`, with where it goes.
    pub(in crate::node) fn pop(&mut self, owner: &NodeId) -> Option<(TransportAddr, HeldFrame)> {
        let mailbox = self.boxes.get_mut(owner)?;
        let held = mailbox.frames.pop_front()?;
        self.frames -= 1;
        self.bytes -= held.frame.len();
        Some((mailbox.transport, held))
    }

    /// Puts a frame [`pop`](Self::pop) took back at the front (it could not be queued).
    pub(in crate::node) fn unpop(&mut self, owner: &NodeId, held: HeldFrame) {
        if let Some(mailbox) = self.boxes.get_mut(owner) {
            self.frames += 1;
            self.bytes += held.frame.len();
            mailbox.frames.push_front(held);
        }
    }

    /// Drops frames held longer than the hold time and mailboxes past their lifetime; returns
    /// how many frames went.
    pub(in crate::node) fn expire(&mut self, now: Instant, limits: &Limits) -> u64 {
        let mut expired = 0u64;
        let (mut frames, mut bytes) = (self.frames, self.bytes);
        self.boxes.retain(|_, mailbox| {
            while mailbox
                .frames
                .front()
                .is_some_and(|held| held.at + limits.hold_time <= now)
            {
                if let Some(old) = mailbox.frames.pop_front() {
                    frames -= 1;
                    bytes -= old.frame.len();
                    expired += 1;
                }
            }
            let alive = mailbox.active + limits.lifetime > now;
            if !alive {
                for old in mailbox.frames.drain(..) {
                    frames -= 1;
                    bytes -= old.frame.len();
                    expired += 1;
                }
            }
            alive
        });
        (self.frames, self.bytes) = (frames, bytes);
        expired
    }

    /// When [`expire`](Self::expire) next has something to do.
    pub(in crate::node) fn next_expiry(&self, limits: &Limits) -> Option<Instant> {
        self.boxes
            .values()
            .flat_map(|mailbox| {
                let frame = mailbox
                    .frames
                    .front()
                    .map(|held| held.at + limits.hold_time);
                [frame, Some(mailbox.active + limits.lifetime)]
            })
            .flatten()
            .min()
    }

    /// Frames held in all.
    pub(in crate::node) fn frames_held(&self) -> usize {
        self.frames
    }

    /// Mailboxes in use.
    pub(in crate::node) fn len(&self) -> usize {
        self.boxes.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            max_mailboxes: 2,
            per_mailbox: 3,
            frames: 4,
            bytes: 1000,
            hold_time: Duration::from_secs(10),
            lifetime: Duration::from_secs(100),
        }
    }

    fn owner(byte: u8) -> NodeId {
        crate::identity::Identity::from_secret_bytes(&[byte; 32])
            .public_key()
            .node_id()
    }

    fn address(port: u16) -> (Address, TransportAddr) {
        let socket = core::net::SocketAddr::from(([127, 0, 0, 1], port));
        (Address::udp(socket, None), TransportAddr::udp(socket))
    }

    fn open(store: &mut MailboxStore, byte: u8, port: u16, at: u64) -> Result<(), Refusal> {
        let (address, transport) = address(port);
        store
            .accept(
                owner(byte),
                address,
                transport,
                UnixMillis(at),
                Instant::ZERO,
                &limits(),
            )
            .map(|mailbox| mailbox.holding = true)
    }

    #[test]
    fn requests_must_be_newer_than_the_last_and_mailboxes_are_bounded() {
        let mut store = MailboxStore::default();
        assert_eq!(open(&mut store, 1, 1, 5), Ok(()));
        assert_eq!(open(&mut store, 1, 1, 5), Err(Refusal::Replay));
        assert_eq!(open(&mut store, 1, 1, 4), Err(Refusal::Replay));
        assert_eq!(open(&mut store, 1, 1, 6), Ok(()));
        assert_eq!(open(&mut store, 2, 2, 1), Ok(()));
        assert_eq!(open(&mut store, 3, 3, 1), Err(Refusal::Full));
        assert_eq!(store.len(), 2);
    }

    #[test]
    fn the_oldest_frames_go_first_per_mailbox_and_overall() {
        let mut store = MailboxStore::default();
        open(&mut store, 1, 1, 1).unwrap();
        open(&mut store, 2, 2, 1).unwrap();
        let (one, two) = (owner(1), owner(2));
        let mut dropped = 0;
        for n in 0..4u8 {
            dropped += store.hold(&one, alloc::vec![n], Instant::ZERO, &limits());
        }
        assert_eq!(dropped, 1, "three a mailbox");
        dropped += store.hold(&two, alloc::vec![10], Instant::ZERO, &limits());
        dropped += store.hold(&two, alloc::vec![11], Instant::ZERO, &limits());
        assert_eq!(
            dropped, 2,
            "four overall: frame 1 of the first mailbox went"
        );
        assert_eq!(store.frames_held(), 4);
        let held: Vec<u8> = core::iter::from_fn(|| store.pop(&one))
            .map(|(_, held)| held.frame[0])
            .collect();
        assert_eq!(held, [2, 3]);
        assert_eq!(store.frames_held(), 2);
    }

    #[test]
    fn frames_and_mailboxes_age_out() {
        let mut store = MailboxStore::default();
        open(&mut store, 1, 1, 1).unwrap();
        store.hold(&owner(1), alloc::vec![1], Instant::ZERO, &limits());
        store.hold(
            &owner(1),
            alloc::vec![2],
            Instant::from_millis(5_000),
            &limits(),
        );
        assert_eq!(
            store.next_expiry(&limits()),
            Some(Instant::from_millis(10_000))
        );
        assert_eq!(store.expire(Instant::from_millis(10_000), &limits()), 1);
        assert_eq!(store.frames_held(), 1);
        assert_eq!(store.expire(Instant::from_millis(100_000), &limits()), 1);
        assert_eq!(store.len(), 0);
        assert_eq!(store.frames_held(), 0);
        assert_eq!(store.next_expiry(&limits()), None);
    }

    #[test]
    fn held_frames_go_to_the_mailbox_holding_the_address_whatever_the_callsign() {
        let mut store = MailboxStore::default();
        open(&mut store, 1, 7, 1).unwrap();
        let (address, _) = address(7);
        assert_eq!(
            store.holding_for(&address.with_callsign("bob")),
            Some(owner(1))
        );
        assert_eq!(store.holding_for(&self::address(8).0), None);
    }
}
