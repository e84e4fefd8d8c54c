//! The store-and-forward relay as a sub-machine of the node, in the spirit of EJForward: it
//! holds the frames it would relay to a recipient that asked it to (a mailbox), and hands them
//! over when the recipient shows up.
//!
//! The held frames are the onion's inner `r` frames, sealed end to end for the recipient: the
//! relay can neither read nor forge them, and the recipient checks them as any frame (time
//! window and nonce memory), so a relay that hands a frame over twice delivers it once. Only a
//! request signed by the recipient's key opens, fetches or releases its mailbox, and frames are
//! only ever handed over to an address of the key's holder: one it proved it receives at, or
//! where its own request came from, within the amplification limit (`node/store_forward.rs`).
//!
//! [`Relay`] owns its state (the mailboxes, the timestamp of our own last request, its
//! counters) and never reaches into the node: it is given what it needs (the time, whether an
//! address is the node's own) and returns what should happen (a frame to send, an owner whose
//! frames to hand over, why a request was refused). The node routes those values
//! (`node/store_forward.rs`).

mod asking;
mod request;
mod store;

pub(super) use request::MailboxRequest;
pub(super) use store::HeldFrame;
use store::{Limits, MailboxStore, Refusal};

use crate::address::Address;
use crate::config::Config;
use crate::identity::{NodeId, PublicKey};
use crate::mailbox::MailboxOp;
use crate::node::{Stats, TransportStats};
use crate::time::{Instant, UnixMillis};
use crate::transport::TransportAddr;

/// Why a mailbox request was dropped; the node counts each in its own [`Stats`] field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Dropped {
    /// Mailboxes are off, the request is not for us, it is a replay, it names our own address,
    /// or every mailbox is in use (`dropped_mailbox_request`).
    Refused,
    /// The key or the signature is bad (`dropped_crypto`).
    Crypto,
    /// Its timestamp is outside the clock-skew window (`dropped_stale`).
    Stale,
    /// The op or the address does not parse (`dropped_malformed`).
    Malformed,
}

/// The relay's counters, merged into the node's [`Stats`].
#[derive(Clone, Copy, Debug, Default)]
struct Counters {
    held: u64,
    handed_over: u64,
    dropped_held_overflow: u64,
    dropped_held_expired: u64,
    dropped_mailbox_request: u64,
}

/// The relay side of store-and-forward, and the timestamp rule of our own requests.
///
/// Bounded by [`Config::max_mailboxes`], [`Config::max_held_per_mailbox`],
/// [`Config::max_held_frames`] and [`Config::max_held_bytes`]; frames age out after
/// [`Config::mailbox_hold_time`], mailboxes after [`Config::mailbox_lifetime`].
pub(super) struct Relay {
    store: MailboxStore,
    limits: Limits,
    /// The clock-skew window requests must fall in.
    skew: core::time::Duration,
    /// The timestamp of our last mailbox request: the next one must be later.
    last_request: UnixMillis,
    counters: Counters,
}

impl Relay {
    pub(super) fn new(config: &Config) -> Self {
        Self {
            store: MailboxStore::default(),
            limits: Limits {
                max_mailboxes: config.max_mailboxes,
                per_mailbox: config.max_held_per_mailbox,
                frames: config.max_held_frames,
                bytes: config.max_held_bytes,
                hold_time: config.mailbox_hold_time,
                lifetime: config.mailbox_lifetime.max(config.max_clock_skew),
            },
            skew: config.max_clock_skew,
            last_request: UnixMillis(0),
            counters: Counters::default(),
        }
    }

    // ----- our own requests to a relay -----

    /// The timestamp for our next request at wall time `wall`: requests must be newer than
    /// the last one the relay accepted, so a millisecond is never reused.
    pub(super) fn next_request_timestamp(&self, wall: UnixMillis) -> UnixMillis {
        wall.max(
            self.last_request
                .saturating_add(core::time::Duration::from_millis(1)),
        )
    }

    /// A request stamped `timestamp` left.
    pub(super) fn request_sent(&mut self, timestamp: UnixMillis) {
        self.last_request = timestamp;
    }

    // ----- requests from recipients -----

    /// A mailbox request arrived: checks everything, then does what it asks. Returns the
    /// key of the owner whose held frames are to be handed over now, if any.
    ///
    /// `is_local` says whether an address names this node: the request must be addressed to
    /// us, and must not ask for frames to be handed over to us.
    pub(super) fn on_request(
        &mut self,
        request: &MailboxRequest<'_>,
        now: Instant,
        wall: UnixMillis,
        is_local: &dyn Fn(&Address) -> bool,
    ) -> Result<Option<PublicKey>, Dropped> {
        let result = self.check_and_apply(request, now, wall, is_local);
        if result == Err(Dropped::Refused) {
            self.counters.dropped_mailbox_request += 1;
        }
        result
    }

    /// As [`on_request`](Self::on_request), counting what is dropped in `stats` (bad
    /// signatures as crypto failures, replays as stale, garbage as malformed).
    pub(super) fn take_request(
        &mut self,
        request: &MailboxRequest<'_>,
        (now, wall): (Instant, UnixMillis),
        is_local: &dyn Fn(&Address) -> bool,
        stats: &mut TransportStats,
    ) -> Option<PublicKey> {
        match self.on_request(request, now, wall, is_local) {
            Ok(owner) => owner,
            Err(Dropped::Refused) => None,
            Err(Dropped::Crypto) => {
                stats.dropped_crypto += 1;
                None
            }
            Err(Dropped::Stale) => {
                stats.dropped_stale += 1;
                None
            }
            Err(Dropped::Malformed) => {
                stats.dropped_malformed += 1;
                None
            }
        }
    }

    fn check_and_apply(
        &mut self,
        request: &MailboxRequest<'_>,
        now: Instant,
        wall: UnixMillis,
        is_local: &dyn Fn(&Address) -> bool,
    ) -> Result<Option<PublicKey>, Dropped> {
        if self.limits.max_mailboxes == 0 || !is_local(request.recipient) {
            return Err(Dropped::Refused);
        }
        let key = request.verify()?;
        if request.timestamp.saturating_add(self.skew) < wall
            || wall.saturating_add(self.skew) < request.timestamp
        {
            return Err(Dropped::Stale);
        }
        let (Some(op), Ok(address)) = (
            MailboxOp::from_byte(request.op),
            Address::from_json_bytes(request.address),
        ) else {
            return Err(Dropped::Malformed);
        };
        let address = address.without_callsign();
        // Handing over to ourselves (or to nowhere) would loop or lose the frames.
        let transport = address
            .transport()
            .filter(|_| !is_local(&address))
            .ok_or(Dropped::Refused)?;
        let owner = key.node_id();
        let mailbox = self
            .store
            .accept(
                owner,
                address,
                transport,
                request.timestamp,
                now,
                &self.limits,
            )
            .map_err(|refusal| match refusal {
                Refusal::Replay | Refusal::Full => Dropped::Refused,
            })?;
        Ok(match op {
            MailboxOp::Hold => {
                mailbox.holding = true;
                None
            }
            MailboxOp::Fetch => Some(key),
            MailboxOp::Release => {
                mailbox.holding = false;
                Some(key)
            }
        })
    }

    // ----- frames on their way to recipients -----

    /// Holds `frame` (an inner `r` frame on its way to `recipient`) if a mailbox holds for that
    /// address. True if it was held (or dropped trying): the caller must not send it.
    pub(super) fn hold_if_away(&mut self, recipient: &Address, frame: &[u8], now: Instant) -> bool {
        if self.store.len() == 0 {
            return false;
        }
        let Some(owner) = self.store.holding_for(recipient) else {
            return false;
        };
        let dropped = self.store.hold(&owner, frame.to_vec(), now, &self.limits);
        self.counters.held += 1;
        self.counters.dropped_held_overflow += dropped;
        true
    }

    /// Whether frames are held for `owner`, who just showed up authenticated.
    pub(super) fn holds_frames_for(&self, owner: &NodeId) -> bool {
        self.store.has_frames(owner)
    }

    /// The oldest frame held for `owner` and where to hand it over, taken out.
    pub(super) fn take_oldest(&mut self, owner: &NodeId) -> Option<(TransportAddr, HeldFrame)> {
        self.store.pop(owner)
    }

    /// Puts back a frame [`take_oldest`](Self::take_oldest) gave that could not be sent yet.
    pub(super) fn put_back(&mut self, owner: &NodeId, held: HeldFrame) {
        self.store.unpop(owner, held);
    }

    /// A frame [`take_oldest`](Self::take_oldest) gave was handed over.
    pub(super) fn handed_over(&mut self) {
        self.counters.handed_over += 1;
    }

    // ----- time and figures -----

    /// Drops held frames and mailboxes that have aged out.
    pub(super) fn expire(&mut self, now: Instant) {
        self.counters.dropped_held_expired += self.store.expire(now, &self.limits);
    }

    /// When a held frame or a mailbox next ages out.
    pub(super) fn next_timeout(&self) -> Option<Instant> {
        self.store.next_expiry(&self.limits)
    }

    /// Frames held for recipients, in all.
    pub(super) fn held_frames(&self) -> usize {
        self.store.frames_held()
    }

    /// Adds the relay's counters to the node's.
    pub(super) fn add_stats(&self, stats: &mut Stats) {
        let counters = &self.counters;
        stats.relay.held += counters.held;
        stats.relay.handed_over += counters.handed_over;
        stats.relay.dropped_held_overflow += counters.dropped_held_overflow;
        stats.relay.dropped_held_expired += counters.dropped_held_expired;
        stats.relay.dropped_mailbox_request += counters.dropped_mailbox_request;
    }
}

/// What made the relay hand a mailbox over.
#[derive(Clone, Copy, Debug)]
pub(in crate::node) enum Whence {
    /// The owner's signed request, which arrived from this address.
    Asked(TransportAddr),
    /// A frame authenticated by the owner, which arrived from this address (maybe a relay's).
    Heard(TransportAddr),
    /// The owner proved an address.
    Proved,
}

#[cfg(test)]
mod tests;
