//! Store-and-forward, in the spirit of EJForward: a relay holds the frames it would relay to a
//! recipient that asked it to (a mailbox), and hands them over when the recipient shows up.
//!
//! The held frames are the onion's inner `r` frames, sealed end to end for the recipient: the
//! relay can neither read nor forge them, and the recipient checks them as any frame (time
//! window and nonce memory), so a relay that hands a frame over twice delivers it once. Only a
//! request signed by the recipient's key opens, fetches or releases its mailbox, and frames are
//! only ever handed over to the address that request signed.

use super::Node;
use super::mailbox_store::{Limits, Refusal};
use crate::address::Address;
use crate::crypto::{body, mailbox};
use crate::error::SendError;
use crate::frame;
use crate::identity::{NodeId, PublicIdentity, PublicKey};
use crate::mailbox::MailboxOp;
use crate::time::{Instant, UnixMillis};

/// A mailbox request as read from an `r` body, before any check.
pub(super) struct MailboxRequest<'a> {
    pub(super) header: &'a [u8],
    pub(super) recipient: &'a Address,
    pub(super) op: u8,
    pub(super) timestamp: UnixMillis,
    pub(super) key: &'a [u8; 32],
    pub(super) signature: &'a [u8; 64],
    pub(super) address: &'a [u8],
}

impl Node {
    /// Asks the store-and-forward relay `relay` to hold the frames it relays to this node
    /// ([`MailboxOp::Hold`]), to hand them over ([`MailboxOp::Fetch`]), or to hand them over
    /// and stop holding ([`MailboxOp::Release`]).
    ///
    /// The request is signed with this node's key and names this node's address of the relay's
    /// address type: the relay hands frames over to that address and no other. Senders reach a
    /// recipient through its mailbox with [`send_via`](Self::send_via) and the relay in `via`.
    ///
    /// # Errors
    /// [`SendError::NoRoute`] if the relay, or this node, has no address that can be sent to;
    /// [`SendError::Blocked`] (with `null`) if the transmit queue is full.
    pub fn request_mailbox(
        &mut self,
        now: Instant,
        relay: &PublicIdentity,
        op: MailboxOp,
    ) -> Result<(), SendError> {
        self.advance(now);
        let transport = relay.location.transport().ok_or(SendError::NoRoute)?;
        let own = self
            .local_addresses
            .iter()
            .find(|address| address.kind() == relay.location.kind())
            .or_else(|| self.local_addresses.first())
            .filter(|address| address.transport().is_some())
            .ok_or(SendError::NoRoute)?
            .to_strict_json();
        let relay_address = relay.location.without_callsign();
        // Requests must be newer than the last one the relay accepted: never reuse a millisecond.
        let timestamp = self.wall_now().max(
            self.last_mailbox_request
                .saturating_add(core::time::Duration::from_millis(1)),
        );
        let op = op.to_byte();
        let signature = mailbox::sign(
            &self.identity,
            relay_address.to_strict_json().as_bytes(),
            op,
            timestamp,
            own.as_bytes(),
        )
        .map_err(SendError::Crypto)?;
        let mut frame = frame::sealed_prefix(&relay_address);
        body::write_mailbox_request(
            &mut frame,
            op,
            timestamp,
            self.public_key.as_bytes(),
            &signature,
            own.as_bytes(),
        );
        if !self.queue_transmit(transport, frame) {
            return Err(SendError::Blocked(serde_json::Value::Null));
        }
        self.last_mailbox_request = timestamp;
        Ok(())
    }

    /// Frames held for recipients, in all.
    #[must_use]
    pub fn held_frames(&self) -> usize {
        self.mailboxes.frames_held()
    }

    pub(super) fn mailbox_limits(&self) -> Limits {
        Limits {
            max_mailboxes: self.config.max_mailboxes,
            per_mailbox: self.config.max_held_per_mailbox,
            frames: self.config.max_held_frames,
            bytes: self.config.max_held_bytes,
            hold_time: self.config.mailbox_hold_time,
            lifetime: self.config.mailbox_lifetime.max(self.config.max_clock_skew),
        }
    }

    /// A mailbox request arrived: check everything, then do what it asks.
    pub(super) fn on_mailbox_request(&mut self, request: &MailboxRequest<'_>) {
        if self.config.max_mailboxes == 0 || !self.is_local(request.recipient) {
            self.stats.dropped_mailbox_request += 1;
            return;
        }
        let Ok(key) = PublicKey::from_bytes(request.key) else {
            self.stats.dropped_crypto += 1;
            return;
        };
        if mailbox::verify(
            &key,
            request.header,
            request.op,
            request.timestamp,
            request.address,
            request.signature,
        )
        .is_err()
        {
            self.stats.dropped_crypto += 1;
            return;
        }
        let wall = self.wall_now();
        let skew = self.config.max_clock_skew;
        if request.timestamp.saturating_add(skew) < wall
            || wall.saturating_add(skew) < request.timestamp
        {
            self.stats.dropped_stale += 1;
            return;
        }
        let (Some(op), Ok(address)) = (
            MailboxOp::from_byte(request.op),
            Address::from_json_bytes(request.address),
        ) else {
            self.stats.dropped_malformed += 1;
            return;
        };
        let address = address.without_callsign();
        let Some(transport) = address.transport().filter(|_| !self.is_local(&address)) else {
            // Handing over to ourselves (or to nowhere) would loop or lose the frames.
            self.stats.dropped_mailbox_request += 1;
            return;
        };
        let owner = key.node_id();
        let limits = self.mailbox_limits();
        let now = self.now;
        let mailbox =
            match self
                .mailboxes
                .accept(owner, address, transport, request.timestamp, now, &limits)
            {
                Ok(mailbox) => mailbox,
                Err(Refusal::Replay | Refusal::Full) => {
                    self.stats.dropped_mailbox_request += 1;
                    return;
                }
            };
        match op {
            MailboxOp::Hold => mailbox.holding = true,
            MailboxOp::Fetch => self.hand_over(&owner),
            MailboxOp::Release => {
                mailbox.holding = false;
                self.hand_over(&owner);
            }
        }
    }

    /// Holds `frame` (an inner `r` frame on its way to `recipient`) if a mailbox holds for that
    /// address. True if it was held (or dropped trying): the caller must not send it.
    pub(super) fn hold_if_away(&mut self, recipient: &Address, frame: &[u8]) -> bool {
        if self.mailboxes.len() == 0 {
            return false;
        }
        let Some(owner) = self.mailboxes.holding_for(recipient) else {
            return false;
        };
        let limits = self.mailbox_limits();
        let dropped = self
            .mailboxes
            .hold(&owner, frame.to_vec(), self.now, &limits);
        self.stats.held += 1;
        self.stats.dropped_held_overflow += dropped;
        true
    }

    /// An authenticated frame from `key` reached us: if we hold frames for it, it is back.
    pub(super) fn on_authenticated(&mut self, key: &PublicKey) {
        let owner = key.node_id();
        if self.mailboxes.has_frames(&owner) {
            self.hand_over(&owner);
        }
    }

    /// Sends everything held for `owner` to its mailbox's address, oldest first, as far as
    /// the transmit queue has room (the rest stays held). Not throttled: the recipient asked
    /// for it, and it is at most `max_held_per_mailbox` frames.
    fn hand_over(&mut self, owner: &NodeId) {
        while let Some((transport, held)) = self.mailboxes.pop(owner) {
            if self.transmits.len() >= self.config.max_queued_transmits {
                self.mailboxes.unpop(owner, held);
                return;
            }
            if self.queue_transmit(transport, held.frame) {
                self.stats.handed_over += 1;
            }
        }
    }

    /// Drops held frames and mailboxes that have aged out.
    pub(super) fn expire_mailboxes(&mut self) {
        let limits = self.mailbox_limits();
        self.stats.dropped_held_expired += self.mailboxes.expire(self.now, &limits);
    }

    /// When a held frame or a mailbox next ages out.
    pub(super) fn next_mailbox_expiry(&self) -> Option<Instant> {
        self.mailboxes.next_expiry(&self.mailbox_limits())
    }
}
