//! The relay alone, without a node: what it accepts, what it refuses and why, and what it
//! hands over. (`node/store_forward_tests.rs` tests it inside nodes.)

use alloc::string::String;
use core::net::SocketAddr;
use core::time::Duration;

use super::*;
use crate::crypto::mailbox;
use crate::identity::Identity;

const WALL: UnixMillis = UnixMillis(1_700_000_000_000);

fn at(millis: u64) -> Instant {
    Instant::from_millis(millis)
}

fn ours() -> Address {
    Address::udp(SocketAddr::from(([127, 0, 0, 1], 4000)), None)
}

fn theirs() -> Address {
    Address::udp(SocketAddr::from(([127, 0, 0, 1], 5000)), None)
}

fn is_ours(address: &Address) -> bool {
    address.without_callsign() == ours()
}

/// A request from `identity` for `op`, stamped `timestamp`, asking for frames at `address`;
/// returns the request's parts, which [`MailboxRequest`] borrows.
struct Signed {
    header: String,
    recipient: Address,
    key: [u8; 32],
    signature: [u8; 64],
    address: String,
    op: u8,
    timestamp: UnixMillis,
}

impl Signed {
    fn new(identity: &Identity, op: MailboxOp, timestamp: UnixMillis, address: &Address) -> Self {
        let recipient = ours();
        let header = recipient.to_strict_json();
        let address = address.to_strict_json();
        let op = op.to_byte();
        let signature = mailbox::sign(
            identity,
            header.as_bytes(),
            op,
            timestamp,
            address.as_bytes(),
        )
        .unwrap();
        Self {
            header,
            recipient,
            key: *identity.public_key().as_bytes(),
            signature,
            address,
            op,
            timestamp,
        }
    }

    fn request(&self) -> MailboxRequest<'_> {
        MailboxRequest {
            header: self.header.as_bytes(),
            recipient: &self.recipient,
            op: self.op,
            timestamp: self.timestamp,
            key: &self.key,
            signature: &self.signature,
            address: self.address.as_bytes(),
        }
    }
}

/// A node that relays (mailboxes are off by default).
fn relaying() -> Config {
    Config::default().with_max_mailboxes(4)
}

fn stats_of(relay: &Relay) -> Stats {
    let mut stats = Stats::default();
    relay.add_stats(&mut stats);
    stats
}

#[test]
fn a_signed_hold_holds_frames_and_a_fetch_hands_them_over_oldest_first() {
    let mut relay = Relay::new(&relaying());
    let alice = Identity::from_secret_bytes(&[9; 32]);
    let hold = Signed::new(&alice, MailboxOp::Hold, WALL, &theirs());
    assert_eq!(
        relay.on_request(&hold.request(), at(0), WALL, &is_ours),
        Ok(None)
    );
    assert!(relay.hold_if_away(&theirs(), b"first", at(1)));
    assert!(relay.hold_if_away(&theirs(), b"second", at(2)));
    assert!(!relay.hold_if_away(&ours(), b"not away", at(2)));
    assert_eq!(relay.held_frames(), 2);

    let later = UnixMillis(WALL.0 + 10);
    let fetch = Signed::new(&alice, MailboxOp::Fetch, later, &theirs());
    let owner = alice.public_key().node_id();
    assert_eq!(
        relay.on_request(&fetch.request(), at(10), later, &is_ours),
        Ok(Some(alice.public_key()))
    );
    let (to, first) = relay.take_oldest(&owner).unwrap();
    assert_eq!(Some(to), theirs().transport());
    assert_eq!(first.frame, b"first");
    relay.put_back(&owner, first);
    assert_eq!(relay.take_oldest(&owner).unwrap().1.frame, b"first");
    assert_eq!(relay.take_oldest(&owner).unwrap().1.frame, b"second");
    assert!(relay.take_oldest(&owner).is_none());
    assert_eq!(stats_of(&relay).relay.held, 2);
}

#[test]
fn refusals_say_why_and_only_policy_refusals_are_counted_by_the_relay() {
    let mut relay = Relay::new(&relaying());
    let alice = Identity::from_secret_bytes(&[9; 32]);
    let signed = Signed::new(&alice, MailboxOp::Hold, WALL, &theirs());

    let mut forged = Signed::new(&alice, MailboxOp::Hold, WALL, &theirs());
    forged.signature[0] ^= 1;
    assert_eq!(
        relay.on_request(&forged.request(), at(0), WALL, &is_ours),
        Err(Dropped::Crypto)
    );
    let far = UnixMillis(WALL.0 + 3_600_000);
    assert_eq!(
        relay.on_request(&signed.request(), at(0), far, &is_ours),
        Err(Dropped::Stale)
    );
    let to_us = Signed::new(&alice, MailboxOp::Hold, WALL, &ours());
    assert_eq!(
        relay.on_request(&to_us.request(), at(0), WALL, &is_ours),
        Err(Dropped::Refused),
        "frames are never handed over to the relay itself"
    );
    assert_eq!(
        relay.on_request(&signed.request(), at(0), WALL, &|_: &Address| false),
        Err(Dropped::Refused),
        "a request for another node"
    );
    assert_eq!(
        relay.on_request(&signed.request(), at(0), WALL, &is_ours),
        Ok(None)
    );
    assert_eq!(
        relay.on_request(&signed.request(), at(1), WALL, &is_ours),
        Err(Dropped::Refused),
        "a replayed request"
    );
    assert_eq!(stats_of(&relay).relay.dropped_mailbox_request, 3);

    let off = relaying().with_max_mailboxes(0);
    let mut off = Relay::new(&off);
    assert_eq!(
        off.on_request(&signed.request(), at(0), WALL, &is_ours),
        Err(Dropped::Refused)
    );
}

#[test]
fn our_requests_never_reuse_a_millisecond() {
    let mut relay = Relay::new(&relaying());
    let first = relay.next_request_timestamp(WALL);
    assert_eq!(first, WALL);
    relay.request_sent(first);
    assert_eq!(relay.next_request_timestamp(WALL), UnixMillis(WALL.0 + 1));
    assert_eq!(
        relay.next_request_timestamp(UnixMillis(WALL.0 + 50)),
        UnixMillis(WALL.0 + 50)
    );
}

#[test]
fn held_frames_age_out_at_the_relays_own_deadline() {
    let config = relaying().with_mailbox_hold_time(Duration::from_secs(5));
    let mut relay = Relay::new(&config);
    let alice = Identity::from_secret_bytes(&[9; 32]);
    let hold = Signed::new(&alice, MailboxOp::Hold, WALL, &theirs());
    relay
        .on_request(&hold.request(), at(0), WALL, &is_ours)
        .unwrap();
    relay.hold_if_away(&theirs(), b"x", at(1_000));
    assert_eq!(relay.next_timeout(), Some(at(6_000)));
    relay.expire(at(5_999));
    assert_eq!(relay.held_frames(), 1);
    relay.expire(at(6_000));
    assert_eq!(relay.held_frames(), 0);
    assert_eq!(stats_of(&relay).relay.dropped_held_expired, 1);
}
