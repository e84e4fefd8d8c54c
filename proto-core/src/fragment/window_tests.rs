use alloc::collections::BTreeSet;
use alloc::vec::Vec;
use core::time::Duration;

use super::window::{Acked, COMPLETE, INITIAL_WINDOW, MIN_WINDOW, SendWindow, TimedOut};
use crate::rng::CoreRng;
use crate::time::Instant;

fn at(millis: u64) -> Instant {
    Instant::ZERO + Duration::from_millis(millis)
}

/// What a receiver holding `have` acknowledges (as `Partial::progress` does).
fn ack_of(count: u16, have: &BTreeSet<u16>) -> (u16, u64, u16) {
    let next = (0..count)
        .find(|piece| !have.contains(piece))
        .unwrap_or(count);
    if next == count {
        return (COMPLETE, 0, COMPLETE);
    }
    let mut held = 0;
    for bit in 0..64u16 {
        match next.checked_add(1 + bit) {
            Some(piece) if piece < count && have.contains(&piece) => held |= 1 << bit,
            _ => {}
        }
    }
    (next, held, have.last().copied().unwrap_or(0))
}

#[test]
fn a_window_of_pieces_goes_then_waits_for_acknowledgements() {
    let mut window = SendWindow::new(100, 1_100);
    let sent: Vec<u16> = core::iter::from_fn(|| window.next_to_send(at(0))).collect();
    assert_eq!(sent, (0..INITIAL_WINDOW).collect::<Vec<_>>());
    assert_eq!(window.deadline(), Some(at(250)));
    // Four acknowledged: the window grows by four, eight may go.
    assert_eq!(window.on_ack(at(10), 4, 0, 3), Acked::Progress);
    let more: Vec<u16> = core::iter::from_fn(|| window.next_to_send(at(10))).collect();
    assert_eq!(more.len(), 8);
    assert_eq!(
        window.on_ack(at(20), COMPLETE, 0, COMPLETE),
        Acked::Complete
    );
}

#[test]
fn a_hole_below_an_acknowledged_piece_goes_again_at_once_but_once_per_timeout() {
    let mut window = SendWindow::new(10, 1_100);
    while window.next_to_send(at(0)).is_some() {}
    // Piece 2 missing, 3 and 4 held.
    assert_eq!(window.on_ack(at(5), 2, 0b11, 4), Acked::Progress);
    assert_eq!(window.next_to_send(at(5)), Some(2));
    assert_eq!(window.on_ack(at(6), 2, 0b111, 5), Acked::Progress);
    assert_ne!(
        window.next_to_send(at(6)),
        Some(2),
        "not again within the timeout"
    );
}

#[test]
fn silence_sends_the_oldest_pieces_again_halves_the_window_and_gives_up_in_the_end() {
    let mut window = SendWindow::new(1_000, 1_100);
    while window.next_to_send(at(0)).is_some() {}
    assert_eq!(window.on_timeout(at(100)), TimedOut::NotDue);
    assert_eq!(window.on_timeout(at(250)), TimedOut::Retry);
    assert_eq!(window.window(), (INITIAL_WINDOW / 2).max(MIN_WINDOW));
    assert_eq!(window.next_to_send(at(250)), Some(0));
    let mut now = 250;
    let mut outcome = TimedOut::Retry;
    for _ in 0..20 {
        let Some(deadline) = window.deadline() else {
            break;
        };
        now = (deadline - Instant::ZERO).as_millis() as u64;
        outcome = window.on_timeout(at(now));
        if outcome == TimedOut::GiveUp {
            break;
        }
    }
    assert_eq!(outcome, TimedOut::GiveUp);
    assert!(now < 60_000, "given up after {now} ms");
}

#[test]
fn acknowledgements_of_pieces_never_sent_change_nothing() {
    let mut window = SendWindow::new(1_000, 1_100);
    assert_eq!(window.next_to_send(at(0)), Some(0));
    assert_eq!(window.on_ack(at(1), 900, u64::MAX, 990), Acked::Progress);
    assert_eq!(window.in_flight(), 0);
    assert_eq!(
        window.next_to_send(at(1)),
        Some(1),
        "only piece 0 counted as held"
    );
}

/// A sender and a receiver over a link that loses `loss` of the pieces and acknowledgements:
/// every piece arrives in the end, and not many more than once.
fn run_lossy(count: u16, loss_percent: u32, seed: u8) -> (u64, u64) {
    let mut rng = CoreRng::from_seed([seed; 32]);
    let mut window = SendWindow::new(count, 1_100);
    let mut have = BTreeSet::new();
    let mut sent = 0u64;
    let mut now = 0u64;
    let lost = |rng: &mut CoreRng| rng.next_u32() % 100 < loss_percent;
    loop {
        let mut arrived = Vec::new();
        while let Some(piece) = window.next_to_send(at(now)) {
            sent += 1;
            if !lost(&mut rng) {
                arrived.push(piece);
            }
        }
        let mut complete = false;
        for piece in arrived {
            let duplicate = !have.insert(piece);
            let fills_hole = have.last().is_some_and(|highest| piece < *highest);
            if piece % 4 == 3
                || piece + 1 == count
                || fills_hole
                || duplicate
                || have.len() == usize::from(count)
            {
                let (next, held, highest) = ack_of(count, &have);
                if !lost(&mut rng)
                    && window.on_ack(at(now + 1), next, held, highest) == Acked::Complete
                {
                    complete = true;
                }
            }
        }
        if complete {
            return (sent, now);
        }
        now += 1;
        if window.on_timeout(at(now)) == TimedOut::GiveUp {
            panic!(
                "{loss_percent} % loss: gave up, {} of {count} held",
                have.len()
            );
        }
        assert!(
            now < 600_000,
            "{loss_percent} % loss: no end, {} of {count} held",
            have.len()
        );
    }
}

#[test]
fn lossy_links_deliver_every_piece() {
    for (loss, seed) in [(0, 1), (1, 2), (5, 3), (10, 4), (20, 5)] {
        let (sent, millis) = run_lossy(4_000, loss, seed);
        assert!(
            sent < 4_000 * (100 + 4 * u64::from(loss)) / 100 + 500,
            "{loss} % loss: {sent} sent"
        );
        // Zero round-trip time here: the time is the retransmission timeouts waited.
        assert!(millis < 30_000, "{loss} % loss: {millis} ms");
    }
}

#[test]
fn a_late_acknowledgement_never_hides_a_missing_piece() {
    let mut window = SendWindow::new(6, 1_100);
    while window.next_to_send(at(0)).is_some() {}
    // The newer acknowledgement first: all but the last piece held.
    assert_eq!(window.on_ack(at(10), 5, 0, 4), Acked::Progress);
    // Then an older one, overtaken on the way.
    window.on_ack(at(11), 1, 0b101, 4);
    assert!(
        window.deadline().is_some(),
        "the last piece is still unacknowledged"
    );
    let deadline = window.deadline().unwrap();
    assert_eq!(window.on_timeout(deadline), TimedOut::Retry);
    assert_eq!(window.next_to_send(deadline), Some(5));
}
