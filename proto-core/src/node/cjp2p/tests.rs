//! The CJP2P side alone, on a context of its own: pinned peers and our own addresses.

use core::net::SocketAddr;

use super::Cjp2pState;
use crate::address::Address;
use crate::config::Config;
use crate::node::context::Context;
use crate::node::test_support::test_context;

fn context() -> Context {
    test_context(Config::default())
}

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

#[test]
fn a_pinned_peer_is_kept_and_probed_at_once() {
    let mut ctx = context();
    let mut cjp2p = Cjp2pState::new(&[1; 32]);
    cjp2p.add_pinned(&mut ctx, addr(24254));
    let peers = cjp2p.peers();
    assert_eq!(peers.len(), 1);
    assert!(peers[0].pinned);
    let probe = ctx.out.pop_transmit().expect("a probe goes out");
    assert_eq!(probe.to.addr, addr(24254));
    assert_eq!(probe.payload.first(), Some(&b'['), "a CJP2P datagram");
    assert!(
        cjp2p.next_maintenance().is_some(),
        "a maintenance round is scheduled"
    );
}

#[test]
fn our_own_addresses_are_never_peers() {
    let mut ctx = context();
    ctx.local_addresses.push(Address::udp(addr(9000), None));
    let mut cjp2p = Cjp2pState::new(&[1; 32]);
    assert!(cjp2p.is_own(&ctx.local_addresses, addr(9000)));
    assert!(!cjp2p.is_own(&ctx.local_addresses, addr(9001)));
    cjp2p.add_pinned(&mut ctx, addr(9000));
    assert!(cjp2p.peers().is_empty());
    assert!(ctx.out.pop_transmit().is_none());
}
