//! Flow control and retransmission for one message going out in fragments.
//!
//! The receiver acknowledges what it holds (`FragmentAck`, `docs/PROTOCOL.md` section 20):
//! every piece below `next`, and a bitmap of the 64 pieces after `next`. The sender keeps at
//! most a window of pieces unacknowledged, so a message of thousands of fragments never
//! overruns the receiver's socket buffer; pieces the acknowledgements show missing (a hole
//! below one acknowledged) are sent again at once, and a silence of one retransmission
//! timeout sends again what the last acknowledgement showed missing (or, if it showed
//! nothing, the oldest unacknowledged piece). The window grows by one piece for
//! every piece acknowledged (it doubles each round trip, up to its bound) and halves on a
//! timeout, as TCP's slow start and multiplicative decrease do.
//!
//! [`SendWindow`] is pure: it is told the time and the acknowledgements, and answers which
//! piece to send next and when it wants to be woken.

use alloc::collections::{BTreeMap, BTreeSet, VecDeque};
use core::time::Duration;

use crate::time::Instant;

/// Pieces in flight when a send starts.
pub const INITIAL_WINDOW: u16 = 16;
/// Fewest pieces in flight after a timeout.
pub const MIN_WINDOW: u16 = 4;
/// Most bytes of pieces in flight: bounds the window (at 1 200-byte datagrams about 430
/// pieces, at 64 KiB TCP frames 8).
pub const MAX_IN_FLIGHT_BYTES: usize = 512 * 1024;
/// Most pieces from the oldest unacknowledged one to the newest sent. Acknowledgements may
/// show a high piece held while lower ones are still on their way (reordering): the window
/// counts only pieces after the highest held, and this bounds the rest, so that the
/// session's counters in flight stay well inside its replay window (1 024), beyond which a
/// late frame would be refused.
pub const MAX_SPAN: u16 = 512;
/// The retransmission timeout after progress; it doubles on each timeout without progress.
pub const BASE_RTO: Duration = Duration::from_millis(250);
/// The longest retransmission timeout.
pub const MAX_RTO: Duration = Duration::from_secs(4);
/// Timeouts in a row without progress after which the send is given up (about 30 s).
pub const MAX_TIMEOUTS: u8 = 10;
/// The `next` of an acknowledgement that says the whole message arrived.
pub const COMPLETE: u16 = u16::MAX;

/// What an acknowledgement did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Acked {
    /// The whole message arrived: the send is over.
    Complete,
    /// Some pieces were newly acknowledged, or a hole was found to send again.
    Progress,
    /// Nothing new.
    Nothing,
}

/// What a timeout did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimedOut {
    /// Not due yet.
    NotDue,
    /// The oldest unacknowledged pieces are queued to go again.
    Retry,
    /// [`MAX_TIMEOUTS`] in a row without progress: the receiver is gone.
    GiveUp,
}

/// The sender's side of one fragmented message.
#[derive(Clone, Debug)]
pub struct SendWindow {
    count: u16,
    /// Every piece below is acknowledged.
    acked_below: u16,
    /// Pieces at or above `acked_below` acknowledged out of order.
    sacked: BTreeSet<u16>,
    /// The next piece never sent.
    next_new: u16,
    /// The highest piece the receiver said it holds: pieces sent before it have either
    /// arrived or been lost, so they are no longer in flight (the "pipe" of TCP's SACK).
    highest_held: Option<u16>,
    /// Pieces to send again, oldest first.
    resend: VecDeque<u16>,
    /// When each piece queued again was last queued, so an acknowledgement that shows the
    /// same hole does not queue it once more within a timeout.
    resent_at: BTreeMap<u16, Instant>,
    window: u16,
    max_window: u16,
    rto: Duration,
    deadline: Option<Instant>,
    timeouts: u8,
}

impl SendWindow {
    /// A send of `count` pieces of at most `piece_len` bytes each.
    #[must_use]
    pub fn new(count: u16, piece_len: usize) -> Self {
        let max_window = u16::try_from(MAX_IN_FLIGHT_BYTES / piece_len.max(1))
            .unwrap_or(u16::MAX)
            .max(MIN_WINDOW);
        Self {
            count,
            acked_below: 0,
            sacked: BTreeSet::new(),
            next_new: 0,
            highest_held: None,
            resend: VecDeque::new(),
            resent_at: BTreeMap::new(),
            window: INITIAL_WINDOW.min(max_window),
            max_window,
            rto: BASE_RTO,
            deadline: None,
            timeouts: 0,
        }
    }

    /// Pieces in flight: sent after the highest piece the receiver holds (those before it
    /// have arrived or are lost), and not acknowledged.
    #[must_use]
    pub fn in_flight(&self) -> u16 {
        let after = self
            .highest_held
            .map_or(self.acked_below, |highest| highest.saturating_add(1))
            .max(self.acked_below);
        let sacked_after = self.sacked.range(after..).count();
        self.next_new
            .saturating_sub(after)
            .saturating_sub(u16::try_from(sacked_after).unwrap_or(u16::MAX))
    }

    /// The current window, in pieces.
    #[must_use]
    pub fn window(&self) -> u16 {
        self.window
    }

    /// The next piece to send now, if any: one to send again first, then a new one while the
    /// window has room. Arms the retransmission timer.
    pub fn next_to_send(&mut self, now: Instant) -> Option<u16> {
        while let Some(piece) = self.resend.pop_front() {
            if !self.is_acked(piece) {
                self.arm(now);
                return Some(piece);
            }
        }
        if self.may_send_new() {
            let piece = self.next_new;
            self.next_new += 1;
            self.arm(now);
            return Some(piece);
        }
        None
    }

    /// The receiver holds every piece below `next`, for each bit `i` set in `held` piece
    /// `next + 1 + i`, and piece `highest` (the highest it holds) ([`COMPLETE`]: all of
    /// them).
    pub fn on_ack(&mut self, now: Instant, next: u16, held: u64, highest: u16) -> Acked {
        if next == COMPLETE || next >= self.count {
            self.acked_below = self.count;
            self.deadline = None;
            return Acked::Complete;
        }
        // Acknowledgements only count for pieces sent; anything else is a confused receiver.
        let next = next.min(self.next_new);
        let before = (self.acked_below, self.sacked.len(), self.highest_held);
        // An acknowledgement may come late, after a newer one (reordering): what it says of
        // pieces already acknowledged is old news, never stored.
        if highest < self.next_new && highest >= next.max(self.acked_below) {
            self.sacked.insert(highest);
            self.highest_held = Some(self.highest_held.map_or(highest, |h| h.max(highest)));
        }
        if next > self.acked_below {
            self.acked_below = next;
            let acked_below = self.acked_below;
            self.sacked.retain(|piece| *piece >= acked_below);
        }
        let mut highest = None;
        for bit in 0..64u16 {
            if held & (1 << bit) == 0 {
                continue;
            }
            let Some(piece) = next
                .checked_add(1 + bit)
                .filter(|piece| *piece < self.next_new)
            else {
                break;
            };
            if piece >= self.acked_below {
                self.sacked.insert(piece);
                highest = Some(piece);
            }
        }
        let newly = usize::from(self.acked_below - before.0) + self.sacked.len();
        let newly = newly.saturating_sub(before.1);
        // A hole below a piece that arrived: lost (or late); send it again now.
        let mut found_hole = false;
        if let Some(highest) = highest {
            for piece in self.acked_below..highest {
                let recently = self
                    .resent_at
                    .get(&piece)
                    .is_some_and(|at| now.saturating_duration_since(*at) < self.rto);
                if !self.sacked.contains(&piece) && !recently {
                    self.resend.push_back(piece);
                    self.resent_at.insert(piece, now);
                    found_hole = true;
                }
            }
        }
        let acked_below = self.acked_below;
        self.resent_at.retain(|piece, _| *piece >= acked_below);
        if newly == 0 && !found_hole && self.highest_held == before.2 {
            return Acked::Nothing;
        }
        let grown = u16::try_from(newly).unwrap_or(u16::MAX);
        self.window = self.window.saturating_add(grown).min(self.max_window);
        self.timeouts = 0;
        self.rto = BASE_RTO;
        // The timer runs while anything sent is unacknowledged, in flight or not: a hole the
        // acknowledgements cannot show yet is found by the timeout.
        self.deadline = self.any_unacked().then(|| now + self.rto);
        Acked::Progress
    }

    /// The retransmission timer: on expiry, queues what the last acknowledgement showed
    /// missing (else the oldest unacknowledged piece) to go again, halves the window and
    /// backs the timer off.
    pub fn on_timeout(&mut self, now: Instant) -> TimedOut {
        match self.deadline {
            Some(deadline) if deadline <= now => {}
            _ => return TimedOut::NotDue,
        }
        self.timeouts = self.timeouts.saturating_add(1);
        if self.timeouts > MAX_TIMEOUTS {
            self.deadline = None;
            return TimedOut::GiveUp;
        }
        self.window = (self.window / 2).max(MIN_WINDOW);
        self.rto = (self.rto * 2).min(MAX_RTO);
        // Again: the pieces the last acknowledgement showed missing (below a piece it held,
        // within its bitmap), else the oldest unacknowledged one (as TCP's timeout resends one
        // segment), whose acknowledgement then shows what else is missing.
        let shown = self
            .highest_held
            .unwrap_or(0)
            .min(self.acked_below.saturating_add(65));
        let mut again: alloc::vec::Vec<u16> = (self.acked_below..shown)
            .filter(|piece| !self.is_acked(*piece))
            .collect();
        if again.is_empty() {
            again.extend((self.acked_below..self.next_new).find(|piece| !self.is_acked(*piece)));
        }
        self.resend.clear();
        for piece in again {
            self.resend.push_back(piece);
            self.resent_at.insert(piece, now);
        }
        self.deadline = Some(now + self.rto);
        TimedOut::Retry
    }

    /// When the retransmission timer fires, if pieces are in flight.
    #[must_use]
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Whether the window lets a piece go now (one to send again, or a new one).
    #[must_use]
    pub fn can_send(&self) -> bool {
        self.resend.iter().any(|piece| !self.is_acked(*piece)) || self.may_send_new()
    }

    /// Whether a new piece may go: one is left, the window has room, and the span from the
    /// oldest unacknowledged piece stays within [`MAX_SPAN`].
    fn may_send_new(&self) -> bool {
        self.next_new < self.count
            && self.in_flight() < self.window
            && self.next_new.saturating_sub(self.acked_below) < MAX_SPAN
    }

    fn any_unacked(&self) -> bool {
        let sent = usize::from(self.next_new.saturating_sub(self.acked_below));
        sent > self.sacked.len()
    }

    fn is_acked(&self, piece: u16) -> bool {
        piece < self.acked_below || self.sacked.contains(&piece)
    }

    fn arm(&mut self, now: Instant) {
        if self.deadline.is_none() {
            self.deadline = Some(now + self.rto);
        }
    }
}
