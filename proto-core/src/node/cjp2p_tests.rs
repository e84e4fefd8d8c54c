//! The CJP2P side of the node, through its public API: discovery, cookies, serving.

use alloc::boxed::Box;
use alloc::string::ToString;
use alloc::vec;
use alloc::vec::Vec;
use core::net::SocketAddr;
use core::time::Duration;

use sha2::{Digest, Sha256};

use crate::FetchEvent;
use crate::cjp2p::{Cjp2pMessage, Cookie, encode_datagram, parse_datagram};
use crate::content::MemoryStore;
use crate::sim::LinkConfig;
use crate::{Config, Event, Identity, Instant, Node, TransportAddr};

use super::test_net::{self, Net, node};

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// Nodes at 127.0.0.1:<port> (each keyed by its port), on the simulated network with 1 ms
/// perfect links.
fn cjp2p_net(ports: &[u16]) -> Net {
    let nodes = ports
        .iter()
        .map(|port| (*port, node(u8::try_from(*port % 200).unwrap())))
        .collect();
    Net::over(nodes, LinkConfig::with_delay(Duration::from_millis(1)))
}

/// The CJP2P messages node `at` was given, with their senders, taken out of `net`'s events.
fn take_cjp2p(net: &mut Net, at: u16) -> Vec<(SocketAddr, Cjp2pMessage)> {
    let mut taken = Vec::new();
    net.events.retain(|(node, event)| match event {
        Event::Cjp2p { from, message, .. } if *node == test_net::addr(at) => {
            taken.push((from.addr, message.clone()));
            false
        }
        _ => true,
    });
    taken
}

#[test]
fn two_nodes_discover_each_other_and_one_serves_a_file_to_the_other() {
    let mut net = cjp2p_net(&[1001, 1002, 1003]);
    let file: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let mut store = MemoryStore::new();
    let id = store.insert(file.clone());
    net.node(1001).cjp2p().set_store(Some(Box::new(store)));

    // 1003 and 1002 both bootstrap from 1001.
    let now = net.now();
    net.node(1003).cjp2p().add_peer(now, addr(1001));
    net.pump();
    net.node(1002).cjp2p().add_peer(now, addr(1001));
    net.pump();
    // Two maintenance rounds: once each has the other's cookie they talk verified, and the
    // seed then lists the peers it has heard from.
    net.run_until(Config::default().cjp2p.maintenance_interval * 2, |_| false);
    net.pump();

    let seed_key = net.node(1001).public_key();
    let leech_view = net.node(1002).cjp2p().peers();
    let seed = leech_view.iter().find(|p| p.addr == addr(1001)).unwrap();
    assert!(seed.heard.is_some() && seed.verified_us && seed.pinned);
    assert_eq!(seed.key, Some(seed_key));
    assert!(seed.key_signed, "the key came in a verified SignedMessage");
    assert!(seed.rtt.is_some(), "the round trip was measured");
    // 1002 learned 1003 from 1001's Peers; nobody lists a node to itself.
    assert!(leech_view.iter().any(|p| p.addr == addr(1003)));
    assert!(leech_view.iter().all(|p| p.addr != addr(1002)));
    for (port, peers) in [
        (1001, net.node(1001).cjp2p().peers()),
        (1003, net.node(1003).cjp2p().peers()),
    ] {
        assert!(peers.iter().all(|p| p.addr != addr(port)));
    }
    let peers_seen = take_cjp2p(&mut net, 1002);
    for (from, message) in &peers_seen {
        if let Cjp2pMessage::Peers { peers } = message {
            // 1001 and, once 1002 verified it and greeted it, 1003.
            assert!([addr(1001), addr(1003)].contains(from), "{from}");
            assert!(!peers.contains(&addr(1002)), "listed to itself");
        }
    }

    // The leech asks for every 4096-byte block; the seed answers exactly.
    let mut rebuilt = vec![0u8; file.len()];
    let blocks = file.len().div_ceil(4096);
    for block in 0..blocks {
        let request = Cjp2pMessage::PleaseSendContent {
            id: id.to_string(),
            offset: (block * 4096) as u64,
            length: 4096,
        };
        let now = net.now();
        net.node(1002)
            .cjp2p()
            .send(now, TransportAddr::udp(addr(1001)), vec![request])
            .unwrap();
    }
    net.pump();
    let mut received = 0;
    for (from, message) in take_cjp2p(&mut net, 1002) {
        if let Cjp2pMessage::Content {
            offset, data, eof, ..
        } = message
        {
            assert_eq!(from, addr(1001));
            assert_eq!(eof, file.len() as u64);
            assert!(data.len() == 4096 || offset as usize + data.len() == file.len());
            rebuilt[offset as usize..offset as usize + data.len()].copy_from_slice(&data);
            received += 1;
        }
    }
    assert_eq!(received, blocks);
    assert_eq!(<[u8; 32]>::from(Sha256::digest(&rebuilt)), id.0);
    assert_eq!(
        net.node(1001).stats().cjp2p.cjp2p_content_served,
        blocks as u64
    );
}

#[test]
fn maintenance_probes_peers_at_a_bounded_rate_and_forgets_silent_candidates() {
    let mut seed = node(1);
    let config = Config::default().cjp2p;
    let now = Instant::ZERO;
    for port in 2000..2010 {
        // Candidates added by sending to them; nobody answers.
        seed.cjp2p()
            .send(
                now,
                TransportAddr::udp(addr(port)),
                vec![Cjp2pMessage::PleaseSendPeers],
            )
            .unwrap();
    }
    while seed.poll_transmit().is_some() {}
    let timeout = seed.poll_timeout().unwrap();
    assert_eq!(timeout.reason, crate::TimerReason::Cjp2pMaintenance);
    let mut at = timeout.at;
    let mut per_address = alloc::collections::BTreeMap::new();
    for _ in 0..100 {
        seed.handle_timeout(at);
        let mut probes = 0;
        while let Some(transmit) = seed.poll_transmit() {
            let parsed = parse_datagram(&transmit.payload, 16).unwrap();
            assert!(parsed.messages.contains(&Cjp2pMessage::PleaseSendPeers));
            *per_address.entry(transmit.to.addr).or_insert(0usize) += 1;
            probes += 1;
        }
        // A round, or the retries of that round's probes: never more than one round's worth.
        assert!(probes <= config.probes_per_round);
        match seed.poll_timeout() {
            Some(next) => at = next.at,
            None => break,
        }
    }
    assert!(
        seed.cjp2p().peers().is_empty(),
        "silent candidates are forgotten"
    );
    // Each silent address got its probes, each sent at most 1 + retries times, and no more.
    let most = usize::from(config.max_unanswered_probes) * (1 + usize::from(config.probe_retries));
    assert_eq!(per_address.len(), 10);
    assert!(
        per_address.values().all(|sent| *sent <= most),
        "{per_address:?}"
    );
}

/// Runs `node`'s timers up to `until` with nobody answering: the instant of each datagram sent.
fn probes_until(node: &mut Node, until: Instant) -> Vec<Instant> {
    let mut sent = Vec::new();
    while let Some(timeout) = node.poll_timeout().filter(|t| t.at <= until) {
        node.handle_timeout(timeout.at);
        while node.poll_transmit().is_some() {
            sent.push(timeout.at);
        }
    }
    sent
}

#[test]
fn an_unanswered_probe_is_sent_again_with_backoff_until_a_verified_answer() {
    let mut me = node(1);
    let peer = addr(3000);
    let config = Config::default().cjp2p;
    me.cjp2p().add_peer(Instant::ZERO, peer);
    assert!(me.poll_transmit().is_some(), "probed at once");
    // Nobody answers: sent again after 1 s, then 2 s more, then the next round at 5 s.
    let first = config.probe_retry_interval;
    let round = config.maintenance_interval;
    let sent = probes_until(&mut me, Instant::ZERO + round);
    assert_eq!(
        sent,
        [
            Instant::ZERO + first,
            Instant::ZERO + first * 3,
            Instant::ZERO + round
        ]
    );
    // A verified datagram from the peer answers the round's probe: no retry before the next
    // round.
    let ours = Cookie::Text(me.cjp2p().cookie_for(peer.ip()));
    let answer = encode_datagram(&[Cjp2pMessage::AlwaysReturned { cookie: ours }]);
    let answered_at = Instant::ZERO + round + Duration::from_millis(50);
    me.handle_datagram(answered_at, TransportAddr::udp(peer), &answer);
    while me.poll_transmit().is_some() {}
    assert_eq!(
        me.poll_timeout().map(|t| t.at),
        Some(Instant::ZERO + round * 2)
    );
}

#[test]
fn a_peer_heard_before_survives_silent_rounds_until_the_forget_span() {
    let mut me = node(1);
    let peer = addr(3001);
    let config = Config::default().cjp2p;
    // The peer makes contact with a verified datagram: it is in the table, heard, unpinned.
    let ours = Cookie::Text(me.cjp2p().cookie_for(peer.ip()));
    let hello = encode_datagram(&[
        Cjp2pMessage::AlwaysReturned { cookie: ours },
        Cjp2pMessage::PleaseSendPeers,
    ]);
    me.handle_datagram(Instant::ZERO, TransportAddr::udp(peer), &hello);
    while me.poll_transmit().is_some() {}
    assert!(me.cjp2p().peers().iter().any(|p| p.addr == peer));
    // Then silence: far more than `max_unanswered_probes` rounds go unanswered, but within the
    // span the peer stays.
    let span = config.forget_heard_after;
    let rounds = probes_until(&mut me, Instant::ZERO + (span - Duration::from_millis(1)));
    assert!(rounds.len() > usize::from(config.max_unanswered_probes));
    assert!(me.cjp2p().peers().iter().any(|p| p.addr == peer));
    // Past the span, the next round forgets it.
    probes_until(&mut me, Instant::ZERO + span + config.maintenance_interval);
    assert!(me.cjp2p().peers().is_empty(), "{:?}", me.cjp2p().peers());
}

fn reply_to(node: &mut Node, from: SocketAddr, datagram: &[u8]) -> Option<Vec<Cjp2pMessage>> {
    node.handle_datagram(Instant::ZERO, TransportAddr::udp(from), datagram);
    let transmit = node.poll_transmit()?;
    assert!(node.poll_transmit().is_none(), "one reply datagram");
    assert_eq!(transmit.to, TransportAddr::udp(from));
    Some(parse_datagram(&transmit.payload, 64).unwrap().messages)
}

#[test]
fn cookies_verify_sources_and_are_echoed_only_once_verified() {
    let mut seed = node(1);
    let asker = addr(5000);
    let ours = seed.cjp2p().cookie_for(asker.ip());
    // Unverified, offering a cookie: answered, our cookie last, theirs echoed but not stored.
    let request = br#"[{"PleaseAlwaysReturnThisMessage":{"cookie":"theirs"}},{"PleaseReturnThisMessage":{"cookie":"ping"}}]"#;
    let reply = reply_to(&mut seed, asker, request).unwrap();
    assert_eq!(
        reply,
        [
            Cjp2pMessage::AlwaysReturned {
                cookie: Cookie::Text("theirs".into())
            },
            Cjp2pMessage::ReturnedMessage {
                cookie: "ping".into()
            },
            Cjp2pMessage::PleaseAlwaysReturnThisMessage {
                cookie: Cookie::Text(ours.clone())
            },
        ]
    );
    assert!(
        seed.cjp2p().peers().is_empty(),
        "nothing stored from an unverified datagram"
    );
    // A wrong cookie is not verification.
    let wrong =
        br#"[{"AlwaysReturned":{"cookie":"nope"}},{"PleaseReturnThisMessage":{"cookie":"x"}}]"#;
    let reply = reply_to(&mut seed, asker, wrong).unwrap();
    assert!(matches!(
        reply.last(),
        Some(Cjp2pMessage::PleaseAlwaysReturnThisMessage { .. })
    ));
    // Verified: the cookie is stored and echoed first from then on, and ours is not repeated.
    let verified = encode_datagram(&[
        Cjp2pMessage::AlwaysReturned {
            cookie: Cookie::Text(ours),
        },
        Cjp2pMessage::PleaseAlwaysReturnThisMessage {
            cookie: Cookie::Text("theirs".into()),
        },
        Cjp2pMessage::PleaseReturnThisMessage {
            cookie: "ping".into(),
        },
    ]);
    let reply = reply_to(&mut seed, asker, &verified).unwrap();
    assert_eq!(
        reply.first(),
        Some(&Cjp2pMessage::AlwaysReturned {
            cookie: Cookie::Text("theirs".into())
        })
    );
    assert!(
        !reply
            .iter()
            .any(|m| matches!(m, Cjp2pMessage::PleaseAlwaysReturnThisMessage { .. }))
    );
    let later = br#"[{"PleaseReturnThisMessage":{"cookie":"y"}}]"#;
    let reply = reply_to(&mut seed, asker, later).unwrap();
    assert_eq!(
        reply.first(),
        Some(&Cjp2pMessage::AlwaysReturned {
            cookie: Cookie::Text("theirs".into())
        })
    );
}

#[test]
fn bad_signatures_drop_the_inner_messages() {
    let mut seed = node(1);
    let signer = Identity::from_secret_bytes(&[9; 32]);
    let payload_json = r#"[{"PleaseReturnThisMessage":{"cookie":"inner"}}]"#.to_string();
    let good = Cjp2pMessage::SignedMessage {
        key: signer.public_key(),
        signature: signer.sign(payload_json.as_bytes()),
        payload_json: payload_json.clone(),
    };
    let mut forged_signature = signer.sign(payload_json.as_bytes());
    forged_signature[0] ^= 1;
    let forged = Cjp2pMessage::SignedMessage {
        key: signer.public_key(),
        signature: forged_signature,
        payload_json,
    };
    let from = addr(6000);
    let ours = Cookie::Text(seed.cjp2p().cookie_for(from.ip()));
    let verified = |message| {
        encode_datagram(&[
            Cjp2pMessage::AlwaysReturned {
                cookie: ours.clone(),
            },
            message,
        ])
    };
    let reply = reply_to(&mut seed, from, &verified(good)).unwrap();
    assert!(reply.contains(&Cjp2pMessage::ReturnedMessage {
        cookie: "inner".into()
    }));
    let peer = seed
        .cjp2p()
        .peers()
        .into_iter()
        .find(|p| p.addr == from)
        .unwrap();
    assert_eq!(peer.key, Some(signer.public_key()));
    let reply = reply_to(&mut seed, from, &verified(forged)).unwrap_or_default();
    assert!(!reply.contains(&Cjp2pMessage::ReturnedMessage {
        cookie: "inner".into()
    }));
    assert_eq!(seed.stats().cjp2p.cjp2p_bad_signatures, 1);
}

#[test]
fn bad_elements_are_skipped_unknown_ones_surface_and_non_arrays_get_nothing() {
    let mut seed = node(1);
    let from = addr(7000);
    let ours = seed.cjp2p().cookie_for(from.ip());
    let datagram = alloc::format!(
        r#"[{{"AlwaysReturned":{{"cookie":"{ours}"}}}},{{"PleaseSendContent":{{"id":"x","offset":-1,"length":1}}}},{{"Content":null}},"bare",{{"FooBar":{{"x":1}}}},{{"PleaseReturnThisMessage":{{"cookie":"ok","extra":[1]}}}}]"#
    );
    let reply = reply_to(&mut seed, from, datagram.as_bytes()).unwrap();
    assert!(reply.contains(&Cjp2pMessage::ReturnedMessage {
        cookie: "ok".into()
    }));
    assert_eq!(seed.stats().cjp2p.cjp2p_skipped, 3);
    let unknown: Vec<_> = core::iter::from_fn(|| seed.poll_event()).collect();
    assert!(unknown.iter().any(|event| matches!(
        event,
        Event::Cjp2p { message: Cjp2pMessage::Unknown { name, .. }, verified: true, .. } if name == "FooBar"
    )));
    for garbage in [&b"[{\"PleaseSendPeers\":{}"[..], b"[1,", b"[]]"] {
        assert!(reply_to(&mut seed, from, garbage).is_none());
    }
    assert_eq!(seed.stats().cjp2p.cjp2p_dropped, 3);
}

#[test]
fn our_own_address_is_never_kept_in_the_table() {
    let mut me = node(1);
    let myself = addr(8000);
    let now = Instant::ZERO;
    me.cjp2p().add_peer(now, myself);
    // The probe we sent to "a peer" arrives back at us: that address is ours.
    let probe = me.poll_transmit().unwrap();
    me.handle_datagram(now, TransportAddr::udp(myself), &probe.payload);
    assert!(me.cjp2p().peers().iter().all(|p| p.addr != myself));
}

#[test]
fn a_datagram_buys_at_most_two_signature_checks() {
    let mut seed = node(1);
    let signer = Identity::from_secret_bytes(&[9; 32]);
    let signed = Cjp2pMessage::SignedMessage {
        key: signer.public_key(),
        signature: signer.sign(b"[]"),
        payload_json: "[]".into(),
    };
    let datagram = encode_datagram(&vec![signed; 10]);
    seed.handle_datagram(Instant::ZERO, TransportAddr::udp(addr(6500)), &datagram);
    assert_eq!(seed.stats().cjp2p.cjp2p_skipped, 8);
}

#[test]
fn cjp2p_events_and_commands_round_trip_through_json() {
    let message = Cjp2pMessage::Content {
        id: "ab".repeat(32),
        offset: 4096,
        data: vec![1, 2, 3],
        eof: 10_000,
    };
    let event = Event::Cjp2p {
        from: TransportAddr::udp(addr(1)),
        verified: true,
        message: message.clone(),
    };
    let text = serde_json::to_string(&event).unwrap();
    assert!(
        text.contains(r#""message":{"Content":{"base64":"AQID""#),
        "{text}"
    );
    assert_eq!(serde_json::from_str::<Event>(&text).unwrap(), event);
    let command = crate::Command::SendCjp2p {
        to: TransportAddr::udp(addr(2)),
        messages: vec![message, Cjp2pMessage::PleaseSendPeers],
    };
    let text = serde_json::to_string(&command).unwrap();
    assert_eq!(
        serde_json::from_str::<crate::Command>(&text).unwrap(),
        command
    );
}

/// Two nodes that never met: the cookie exchange rides on the first requests, and the answers
/// after it are verified, so a fetch completes without any timer firing. (A node used to stop
/// offering its cookie once the peer returned it in kind, before the peer had stored it; the
/// peer then answered every request unverified and the fetch waited for its retry timer.)
#[test]
fn a_first_fetch_needs_no_retry_timer() {
    use crate::content::MemoryPartialStore;

    let content: Vec<u8> = (0..20_000u32).map(|i| (i % 253) as u8).collect();
    let seeder = test_net::seeder(1, &content);
    let id = crate::content::ContentId::of(&content);
    let mut fetcher = node(2);
    fetcher
        .content()
        .set_storage(Some(Box::new(MemoryPartialStore::new())));
    // Links without latency: the clock never moves, so no timer can be due.
    let mut net = Net::over(vec![(1, seeder), (2, fetcher)], LinkConfig::PERFECT);
    net.node(2)
        .content()
        .fetch(Instant::ZERO, id, vec![test_net::addr(1)])
        .unwrap();
    net.pump();
    assert_eq!(net.now(), Instant::ZERO);
    let completed = net.events.iter().any(|(at, event)| {
        *at == test_net::addr(2)
            && matches!(
                event,
                Event::Fetch(FetchEvent::Completed { len: 20_000, .. })
            )
    });
    assert!(completed);
    assert_eq!(net.node(2).stats().fetch.download_unverified, 0);
}

#[test]
fn a_verified_reply_carries_our_announcement_once() {
    let mut seed = node(1);
    let from = addr(6100);
    let ours = Cookie::Text(seed.cjp2p().cookie_for(from.ip()));
    // The peer's first verified datagram: it is greeted, and it also asks for peers, which
    // is answered with the announcement too. One datagram says who we are once.
    let datagram = encode_datagram(&[
        Cjp2pMessage::AlwaysReturned { cookie: ours },
        Cjp2pMessage::PleaseAlwaysReturnThisMessage {
            cookie: Cookie::Text("theirs".into()),
        },
        Cjp2pMessage::PleaseSendPeers,
    ]);
    let reply = reply_to(&mut seed, from, &datagram).unwrap();
    let count = |name: &str| reply.iter().filter(|m| m.name() == name).count();
    assert_eq!(count("MyPublicKey"), 1, "{reply:?}");
    assert_eq!(count("SignedMessage"), 1, "{reply:?}");
    assert!(count("EjtpSessions") <= 1, "{reply:?}");
    assert_eq!(count("Peers"), 1, "{reply:?}");
    // The greeting's questions are still asked.
    assert_eq!(count("PleaseSendPeers"), 1, "{reply:?}");
    assert_eq!(count("PleaseReturnThisMessage"), 1, "{reply:?}");
}
