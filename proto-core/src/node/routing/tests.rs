//! Routing alone, on a context of its own: publishing our record, failed transmits, its next
//! deadline.

use alloc::vec;
use alloc::vec::Vec;
use core::time::Duration;

use super::Routing;
use crate::address::Address;
use crate::config::Config;
use crate::event::MessageId;
use crate::identity::{Identity, NodeId};
use crate::io::TimerReason;
use crate::node::context::Context;
use crate::node::lookups::PendingMessage;
use crate::node::test_support::test_context;
use crate::time::Instant;
use crate::transport::TransportAddr;

use crate::node::test_support::WALL;

fn context() -> Context {
    test_context(Config::default())
}

fn at(ms: u64) -> Instant {
    Instant::ZERO + Duration::from_millis(ms)
}

fn udp(port: u16) -> TransportAddr {
    TransportAddr::udp(core::net::SocketAddr::from(([127, 0, 0, 1], port)))
}

/// Our record, signed for one address.
fn our_record(routing: &mut Routing, ctx: &Context) -> Vec<u8> {
    let address = Address::udp(udp(9000).addr, None);
    routing
        .own_record(ctx, vec![address].into_iter())
        .expect("an address makes a record")
}

#[test]
fn a_published_record_goes_again_each_second_until_acknowledged() {
    let mut ctx = context();
    let mut routing = Routing::new(&ctx.config, WALL);
    let record = our_record(&mut routing, &ctx);
    assert_eq!(
        routing.record_to_publish(&mut ctx, Some(record.clone())),
        Some(record.clone())
    );
    assert_eq!(
        routing.record_to_publish(&mut ctx, Some(record.clone())),
        None,
        "waits a second"
    );
    assert_eq!(routing.next_publish_retry(true), Some(at(1000)));
    assert_eq!(
        routing.next_publish_retry(false),
        None,
        "no retry without the route's session"
    );
    ctx.advance(at(1000));
    assert_eq!(
        routing.record_to_publish(&mut ctx, Some(record.clone())),
        Some(record.clone())
    );
    let seq = routing
        .own_record
        .as_ref()
        .map(|record| record.seq)
        .unwrap();
    routing.on_publish_ack(false, seq);
    assert!(
        routing.next_publish_retry(true).is_some(),
        "only the default route's ack counts"
    );
    routing.on_publish_ack(true, seq);
    assert_eq!(routing.next_publish_retry(true), None);
    ctx.advance(at(5000));
    assert_eq!(
        routing.record_to_publish(&mut ctx, Some(record)),
        None,
        "acknowledged"
    );
    assert_eq!(ctx.stats.routing.records_published, 2);
}

#[test]
fn an_unacknowledged_record_stops_after_its_tries_and_a_vanished_one_is_forgotten() {
    let mut ctx = context();
    let mut routing = Routing::new(&ctx.config, WALL);
    let record = our_record(&mut routing, &ctx);
    let mut sent = 0;
    for second in 0..20 {
        ctx.advance(at(second * 1000));
        if routing
            .record_to_publish(&mut ctx, Some(record.clone()))
            .is_some()
        {
            sent += 1;
        }
    }
    assert_eq!(sent, 8, "at most eight tries per record");
    assert_eq!(routing.next_publish_retry(true), None);
    assert_eq!(routing.record_to_publish(&mut ctx, None), None);
    assert!(routing.published_record.is_none());
}

#[test]
fn a_failed_transmit_hands_back_the_message_it_carried_and_strands_its_peer() {
    let mut ctx = context();
    let mut routing = Routing::new(&ctx.config, WALL);
    let peer = Identity::from_secret_bytes(&[6; 32]).public_key();
    let no_sessions = |_: &NodeId| false;
    let address = Address::udp(udp(9001).addr, None);
    assert!(routing.learn(&ctx, peer, &address, (None, false), &no_sessions));
    let message = PendingMessage {
        id: MessageId([1; 16]),
        from: "alice".into(),
        key: peer,
        callsign: Some("bob".into()),
        json: b"{}".to_vec(),
        reference: None,
    };
    routing.remember_sent(&ctx, message, udp(9001), [7; 16]);
    ctx.advance(at(100));
    let failure = routing.on_transmit_failed(&mut ctx, udp(9001), &[7; 16]);
    assert_eq!(
        failure.resend.map(|message| message.id),
        Some(MessageId([1; 16]))
    );
    assert_eq!(failure.waiting, None);
    assert_eq!(failure.peers, [peer.node_id()]);
    assert!(
        routing.is_stranded(&ctx, &peer.node_id()),
        "its one address failed"
    );
    assert_eq!(ctx.stats.routing.transmits_failed, 1);
    // The same report again names no message: it was handed back once.
    let again = routing.on_transmit_failed(&mut ctx, udp(9001), &[7; 16]);
    assert!(again.resend.is_none());
}

#[test]
fn the_next_deadline_is_the_earliest_of_lookups_and_the_publish_retry() {
    let mut ctx = context();
    let mut routing = Routing::new(&ctx.config, WALL);
    assert_eq!(routing.next_timeout(true), None);
    let record = our_record(&mut routing, &ctx);
    routing.record_to_publish(&mut ctx, Some(record));
    assert_eq!(
        routing.next_timeout(true),
        Some((at(1000), TimerReason::Keepalive))
    );
    assert_eq!(routing.next_timeout(false), None);
}
