//! The network as a whole: NAT translation both ways, routes, and faults seen through `send`.

use core::time::Duration;

use super::*;
use crate::rng::CoreRng;
use crate::time::Instant;
use crate::transport::TransportAddr;

fn addr(text: &str) -> TransportAddr {
    text.parse().unwrap()
}

fn network(link: LinkConfig) -> Network<u32> {
    Network::new(CoreRng::from_seed([9; 32]), link)
}

#[test]
fn a_nat_rewrites_the_source_maps_replies_back_and_drops_the_unsolicited() {
    let mut net = network(LinkConfig::with_delay(Duration::from_millis(5)));
    let (inside, peer, stranger) = (
        addr("udp:192.168.1.2:5000"),
        addr("udp:198.51.100.7:9000"),
        addr("udp:198.51.100.99:9000"),
    );
    for host in [inside, peer, stranger] {
        net.attach(host);
    }
    let mut nat = Nat::new(
        "203.0.113.1".parse().unwrap(),
        Filtering::AddressAndPortDependent,
    );
    nat.add_inside(inside);
    let index = net.add_nat(nat);

    // Before the inside host sends, nothing is mapped: inbound packets go nowhere.
    let public = addr("udp:203.0.113.1:40000");
    assert_eq!(net.send(peer, public, 0, 10), Fate::Dropped(Dropped::Nat));

    let Fate::Sent { from, to, copies } = net.send(inside, peer, 1, 10) else {
        panic!("not sent");
    };
    assert_eq!((from, to, copies), (public, peer, 1));
    assert_eq!(net.nat(index).unwrap().mapping(&inside), Some(public));
    let packet = net.pop_due(Instant::from_millis(5)).unwrap();
    assert_eq!((packet.from, packet.to, packet.body), (public, peer, 1));
    assert_eq!(net.now(), Instant::from_millis(5));

    // The reply to the public address reaches the inside host, from the peer.
    net.send(peer, public, 2, 10);
    let packet = net.pop_due(Instant::from_millis(10)).unwrap();
    assert_eq!((packet.from, packet.to, packet.body), (peer, inside, 2));

    // A host the inside one never contacted is filtered.
    assert_eq!(
        net.send(stranger, public, 3, 10),
        Fate::Dropped(Dropped::Nat)
    );
    // And nobody outside reaches the inside address itself.
    assert_eq!(net.send(peer, inside, 4, 10), Fate::Dropped(Dropped::Nat));
    assert_eq!(net.stats().nat_refused, 3);
    assert_eq!(net.pop_due(Instant::from_millis(100)), None);
}

#[test]
fn packets_to_nobody_have_no_route_and_draw_nothing() {
    let lossy = LinkConfig {
        loss: Loss::Random(0.5),
        ..LinkConfig::PERFECT
    };
    let mut net = network(lossy);
    net.attach(addr("udp:10.0.0.1:1"));
    assert_eq!(
        net.send(addr("udp:10.0.0.1:1"), addr("udp:10.0.0.2:1"), 0, 1),
        Fate::Dropped(Dropped::NoRoute)
    );
    assert_eq!(net.rng().next_u64(), CoreRng::from_seed([9; 32]).next_u64());
}

#[test]
fn burst_loss_through_the_network_loses_runs_of_packets() {
    let link = LinkConfig {
        loss: Loss::GilbertElliott(GilbertElliott::bursts(0.2, 8.0)),
        ..LinkConfig::PERFECT
    };
    let mut net = network(LinkConfig::PERFECT);
    let (a, b) = (addr("udp:10.0.0.1:1"), addr("udp:10.0.0.2:1"));
    net.attach(b);
    net.set_link(a, b, link);
    let fates: alloc::vec::Vec<bool> = (0..100_000)
        .map(|n| matches!(net.send(a, b, n, 100), Fate::Sent { .. }))
        .collect();
    let lost = fates.iter().filter(|sent| !**sent).count();
    let bursts = fates.windows(2).filter(|w| w[0] && !w[1]).count();
    let rate = lost as f64 / 100_000.0;
    let burst = lost as f64 / bursts as f64;
    assert!((rate - 0.2).abs() < 0.02, "rate {rate}");
    assert!((burst - 8.0).abs() < 1.0, "burst {burst}");
    assert_eq!(net.stats().lost, lost as u64);
    // The other direction keeps the default, perfect link.
    net.attach(a);
    assert!((0..1000).all(|n| matches!(net.send(b, a, n, 100), Fate::Sent { .. })));
}

#[test]
fn a_rate_limited_link_delivers_in_order_no_faster_than_its_rate() {
    let link = LinkConfig {
        rate: Some(100_000),
        queue_limit: Some(50),
        ..LinkConfig::with_delay(Duration::from_millis(1))
    };
    let mut net = network(link);
    let (a, b) = (addr("udp:10.0.0.1:1"), addr("udp:10.0.0.2:1"));
    net.attach(b);
    for n in 0..100 {
        net.send(a, b, n, 1000);
    }
    assert_eq!(net.stats().queue_full, 50);
    let mut delivered = alloc::vec::Vec::new();
    while let Some(packet) = net.pop_due(Instant::from_millis(251)) {
        delivered.push(packet.body);
    }
    // 100 kB/s: 25 packets of 1000 bytes in 250 ms, then 1 ms of latency.
    assert_eq!(delivered, (0..25).collect::<alloc::vec::Vec<_>>());
    assert_eq!(net.now(), Instant::from_millis(251));
}

#[test]
fn dropping_what_is_in_flight_takes_only_those_packets_and_draws_nothing() {
    let mut net = network(LinkConfig::with_delay(Duration::from_millis(5)));
    let (a, b, c) = (
        addr("udp:10.0.0.1:1"),
        addr("udp:10.0.0.2:1"),
        addr("udp:10.0.0.3:1"),
    );
    for host in [a, b, c] {
        net.attach(host);
    }
    net.send(a, b, 1, 10);
    net.send(b, c, 2, 10);
    net.send(c, a, 3, 10);
    // Host b goes down: what it sent and what was coming to it are gone.
    let gone = net.drop_in_flight(|packet| packet.from == b || packet.to == b);
    assert_eq!(gone, 2);
    assert_eq!(net.in_flight(), 1);
    let packet = net.pop_due(Instant::from_millis(5)).unwrap();
    assert_eq!((packet.from, packet.to, packet.body), (c, a, 3));
    assert_eq!(net.rng().next_u64(), CoreRng::from_seed([9; 32]).next_u64());
}
