//! The transport alone, on a context of its own: streams, admitting sends, handshakes and its
//! next deadline.

use alloc::vec::Vec;

use serde_json::json;

use super::Transport;
use crate::address::Address;
use crate::config::Config;
use crate::error::SendError;
use crate::event::{Event, TransportEvent};
use crate::identity::{Identity, PublicIdentity};
use crate::io::TimerReason;
use crate::node::context::Context;
use crate::node::test_support::test_context;
use crate::stream::encode_stream_frame;
use crate::time::Instant;
use crate::transport::TransportAddr;

fn context(config: Config) -> Context {
    test_context(config)
}

fn tcp(port: u16) -> TransportAddr {
    TransportAddr::tcp(core::net::SocketAddr::from(([127, 0, 0, 1], port)))
}

fn udp(port: u16) -> TransportAddr {
    TransportAddr::udp(core::net::SocketAddr::from(([127, 0, 0, 1], port)))
}

fn peer(port: u16) -> PublicIdentity {
    PublicIdentity {
        name: "bob".into(),
        location: Address::udp(udp(port).addr, Some("bob")),
        key: Identity::from_secret_bytes(&[6; 32]).public_key(),
    }
}

#[test]
fn a_stream_gives_whole_frames_in_any_chunking_and_reports_broken_framing() {
    let mut ctx = context(Config::default());
    let mut transport = Transport::new(&ctx.config, &[1; 32], Instant::ZERO);
    let mut bytes = encode_stream_frame(b"first");
    bytes.extend(encode_stream_frame(b"second"));
    let (head, tail) = bytes.split_at(3);
    let (frames, failed) = transport.read_stream(&mut ctx, tcp(1), head).unwrap();
    assert!(frames.is_empty() && !failed);
    let (frames, failed) = transport.read_stream(&mut ctx, tcp(1), tail).unwrap();
    assert_eq!(frames, [b"first".to_vec(), b"second".to_vec()]);
    assert!(!failed);
    assert!(
        transport.streams.is_empty(),
        "a decoder holding nothing is forgotten"
    );
    let (_, failed) = transport
        .read_stream(&mut ctx, tcp(2), &[0xff; 16])
        .unwrap();
    assert!(failed, "garbage breaks the framing");
}

#[test]
fn streams_past_the_bound_are_refused_with_an_event() {
    let mut ctx = context(Config::default().with_max_streams(1));
    let mut transport = Transport::new(&ctx.config, &[1; 32], Instant::ZERO);
    let partial = encode_stream_frame(b"never finished");
    let partial = partial.get(..4).unwrap();
    assert!(transport.read_stream(&mut ctx, tcp(1), partial).is_some());
    assert!(transport.read_stream(&mut ctx, tcp(2), partial).is_none());
    assert_eq!(ctx.stats.transport.dropped_stream_limit, 1);
    assert_eq!(
        ctx.out.pop_event(),
        Some(Event::Transport(TransportEvent::StreamFailed {
            from: tcp(2)
        }))
    );
}

#[test]
fn a_send_is_admitted_only_from_a_local_client_with_strict_json() {
    let mut ctx = context(Config::default());
    let mut transport = Transport::new(&ctx.config, &[1; 32], Instant::ZERO);
    let to = peer(9001);
    let refused = transport.admit_send(&mut ctx, "alice", &to, &[], json!({"n": 1}));
    assert!(matches!(refused, Err(SendError::UnknownClient(name)) if name == "alice"));
    transport.clients.insert("alice".into());
    let (json, value, local) = transport
        .admit_send(&mut ctx, "alice", &to, &[], json!({"n": 1}))
        .unwrap();
    assert_eq!(json, b"j\0{\"n\":1}", "the `j` frame of its strict JSON");
    assert_eq!(value, json!({"n": 1}));
    assert!(!local, "another node's client");
}

#[test]
fn a_handshake_sets_the_next_deadline_and_a_failed_address_drops_it() {
    let mut ctx = context(Config::default());
    let mut transport = Transport::new(&ctx.config, &[1; 32], Instant::ZERO);
    assert_eq!(transport.next_timeout(&ctx).map(|(_, reason)| reason), None);
    let to = peer(9001);
    transport.start_handshake(&mut ctx, &to, udp(9001), udp(9001));
    let sent: Vec<_> = core::iter::from_fn(|| ctx.out.pop_transmit()).collect();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, udp(9001));
    assert_eq!(
        transport.next_timeout(&ctx),
        Some((
            Instant::ZERO + ctx.config.handshake_timeout,
            TimerReason::HandshakeRetry
        ))
    );
    transport.forget_handshakes_to(udp(9001));
    assert_eq!(transport.next_timeout(&ctx), None);
}
