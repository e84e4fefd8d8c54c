//! The demo's steps. Each sends something, checks what arrived (and what the nodes counted),
//! and says in one line what it checked, or what went wrong.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ejtp_proto::{
    Address, Config, Event, MailboxOp, Protection, PublicIdentity, QueryOptions, Stats,
};
use ejtp_proto::{QueryEvent, TransportEvent};
use ejtp_std::QueryOutcome;
use serde_json::{Value, json};

use super::Cast;
use super::member::{self, Member, WAIT};
use super::scratch::Scratch;
use crate::error::node_reason;

/// A step: what it shows, and the code that shows it.
pub(super) type Step = (&'static str, fn(&mut Cast) -> Result<String, String>);

/// The steps, in order.
pub(super) const STEPS: &[Step] = &[
    (
        "alice sends bob a first message: signed by alice, sealed with HPKE to bob's key. \
         Alice also starts a Noise handshake with bob.",
        first_message,
    ),
    (
        "Once the handshake is done, alice's next message travels inside the Noise session.",
        session_message,
    ),
    (
        "bob answers, to the address alice signed as hers.",
        bob_answers,
    ),
    (
        "alice asks bob a query and gets a reply bound to it.",
        query_answered,
    ),
    (
        "alice asks bob another query with a soft timeout of 300 ms; bob takes longer to \
         answer, but less than the hard timeout.",
        soft_timeout_then_late_reply,
    ),
    ("alice sends bob a message over TCP.", over_tcp),
    (
        "alice sends bob a message through the relay, wrapped in two sealed layers (onion \
         routing): the relay can open only the outer one.",
        through_the_relay,
    ),
    (
        "Store-and-forward: carol asks the relay to hold her frames and goes down; alice sends \
         her a message through the relay; carol starts again (her replay journal tells her \
         what she took before) and asks for it.",
        store_and_forward,
    ),
    (
        "Mallory sits on the path: alice was told bob is at Mallory's address. Mallory passes \
         a datagram of alice's on to bob, then sends bob the same bytes again.",
        replayed_datagram,
    ),
    (
        "Mallory changes one byte of alice's next datagram before passing it on.",
        tampered_datagram,
    ),
    (
        "dave, a new node, knows only the relay. He sends to bob by his key alone: his lookup \
         through the relay returns bob's signed address record, and the message goes to bob.",
        found_by_lookup,
    ),
    (
        "A group of four more nodes: erin creates it with a password; frank and grace join. \
         The password travels only sealed to erin's key, and erin keeps only an Argon2id hash.",
        super::group::group_forms,
    ),
    (
        "trudy guesses the group password twice; two failures is the limit.",
        super::group::wrong_password_and_ban,
    ),
    (
        "frank broadcasts to the group; grace sends erin a direct message.",
        super::group::broadcast_and_direct,
    ),
    (
        "grace goes silent: her heartbeats stop.",
        super::group::member_times_out,
    ),
    (
        "A swarm download over CJP2P: peggy and victor share the same file from their \
         folders; walter fetches it from both at once, block by block.",
        super::swarm::swarm_download,
    ),
];

/// The nodes the steps below start, in order: carol (store-and-forward, started twice with
/// one identity) and dave (the lookup).
pub(super) const LATER: [&str; 2] = ["carol", "dave"];

/// How long to watch for a message that should not come.
const QUIET: Duration = Duration::from_millis(300);

fn first_message(cast: &mut Cast) -> Result<String, String> {
    let value = json!({"hello": "bob"});
    cast.alice
        .send(&cast.bob.udp_identity(), &[], value.clone())?;
    let message = received(&mut cast.bob, &value)?;
    from_key(&message, &cast.alice)?;
    if message.protection != Protection::Sealed {
        return Err(format!(
            "it arrived {}, not sealed",
            protection(message.protection)
        ));
    }
    cast.alice_as_bob_saw_her = Some(PublicIdentity {
        name: "alice".to_string(),
        location: message.from.address.clone(),
        key: message.from.key,
    });
    Ok(format!(
        "bob got {value} from alice's key, {}",
        protection(message.protection)
    ))
}

fn session_message(cast: &mut Cast) -> Result<String, String> {
    let bob = cast.bob.node.node_id();
    let started = Instant::now();
    cast.alice
        .wait_for(WAIT, |event| match event {
            Event::Transport(TransportEvent::SessionEstablished { peer }) if *peer == bob => {
                Some(())
            }
            _ => None,
        })
        .ok_or_else(|| format!("no Noise session with bob within {} s", WAIT.as_secs()))?;
    let value = json!({"again": 2});
    cast.alice
        .send(&cast.bob.udp_identity(), &[], value.clone())?;
    let message = received(&mut cast.bob, &value)?;
    from_key(&message, &cast.alice)?;
    if message.protection != Protection::Session {
        return Err(format!(
            "it arrived {}, not in the session",
            protection(message.protection)
        ));
    }
    Ok(format!(
        "session ready (waited {} ms); bob got {value} {}: one AEAD per frame, forward secret",
        started.elapsed().as_millis(),
        protection(message.protection)
    ))
}

fn bob_answers(cast: &mut Cast) -> Result<String, String> {
    let alice = cast
        .alice_as_bob_saw_her
        .clone()
        .ok_or("bob has no address for alice (the first step failed)")?;
    let value = json!({"hi": "alice"});
    cast.bob.send(&alice, &[], value.clone())?;
    let message = received(&mut cast.alice, &value)?;
    from_key(&message, &cast.bob)?;
    Ok(format!(
        "alice got {value} from bob's key, {}",
        protection(message.protection)
    ))
}

fn query_answered(cast: &mut Cast) -> Result<String, String> {
    let question = json!({"question": "time?"});
    let answer = json!({"answer": "tea time"});
    let to = cast.bob.udp_identity();
    let handle = cast.alice.node.handle();
    let options = QueryOptions {
        hard_timeout: WAIT,
        ..QueryOptions::default()
    };
    // Alice's query blocks until it ends, so she asks from a thread of her own.
    let asked = question.clone();
    let asking = std::thread::Builder::new()
        .name("demo-query".to_string())
        .spawn(move || handle.query("alice", &to, asked, options))
        .map_err(|err| format!("cannot start a thread: {err}"))?;
    let message = received(&mut cast.bob, &question);
    let replied = message.and_then(|message| {
        cast.bob
            .node
            .handle()
            .reply(cast.bob.name, &message, answer.clone())
            .map_err(|err| format!("bob could not reply: {}", node_reason(&err)))
    });
    // Joined whatever happened: the query ends by its hard timeout at the latest.
    let outcome = asking
        .join()
        .map_err(|_| "alice's query thread panicked".to_string())?
        .map_err(|err| format!("alice could not ask: {}", node_reason(&err)))?;
    replied?;
    match outcome {
        QueryOutcome::Reply { message, .. } => {
            from_key(&message, &cast.bob)?;
            if message.value != answer {
                return Err(format!("the reply was {}, not {answer}", message.value));
            }
            Ok(format!(
                "alice's query ended with bob's reply {answer}, signed by bob's key and bound to \
                 the query by its hash"
            ))
        }
        QueryOutcome::TimedOut => Err(format!("no reply within {} s", WAIT.as_secs())),
        QueryOutcome::Cancelled => Err("the query was cancelled".to_string()),
        QueryOutcome::Unreachable => Err("the peer is unreachable".to_string()),
        other => Err(format!("the query ended otherwise: {other:?}")),
    }
}

fn soft_timeout_then_late_reply(cast: &mut Cast) -> Result<String, String> {
    let soft = Duration::from_millis(300);
    let question = json!({"question": "slow?"});
    let answer = json!({"answer": "late, but here"});
    let options = QueryOptions {
        hard_timeout: WAIT,
        soft_timeout: Some(soft),
        adaptive: false,
    };
    let started = Instant::now();
    let id = cast
        .alice
        .node
        .handle()
        .start_query(
            cast.alice.name,
            &cast.bob.udp_identity(),
            question.clone(),
            options,
        )
        .map_err(|err| format!("alice could not ask: {}", node_reason(&err)))?;
    let message = received(&mut cast.bob, &question)?;
    // Bob answers only once alice has been told there is no answer yet.
    cast.alice
        .wait_for(WAIT, |event| match event {
            Event::Query(QueryEvent::SoftTimeout { query }) if *query == id => Some(()),
            _ => None,
        })
        .ok_or("alice was not told of the soft timeout")?;
    let soft_at = started.elapsed();
    cast.bob
        .node
        .handle()
        .reply(cast.bob.name, &message, answer.clone())
        .map_err(|err| format!("bob could not reply: {}", node_reason(&err)))?;
    let (reply, late) = cast
        .alice
        .wait_for(WAIT, |event| match event {
            Event::Query(QueryEvent::Reply {
                query,
                message,
                late,
            }) if *query == id => Some((message.clone(), *late)),
            _ => None,
        })
        .ok_or_else(|| format!("no reply within the {} s hard timeout", WAIT.as_secs()))?;
    from_key(&reply, &cast.bob)?;
    if reply.value != answer || !late {
        return Err(format!("the reply was {} (late: {late})", reply.value));
    }
    Ok(format!(
        "soft timeout after {} ms (the query stayed open); bob's reply came {} ms in, before \
         the {} s hard timeout, and was delivered marked late",
        soft_at.as_millis(),
        started.elapsed().as_millis(),
        WAIT.as_secs()
    ))
}

fn store_and_forward(cast: &mut Cast) -> Result<String, String> {
    let identity = member::new_identity().map_err(|err| err.to_string())?;
    let loopback = ([127, 0, 0, 1], 0).into();
    // Carol keeps a replay journal, as `ejtp run` does: a node that starts without one refuses
    // every first message signed before its start (a replay it cannot rule out), and what the
    // relay held for her was signed while she was down.
    let scratch = Scratch::new("carol")?;
    std::fs::create_dir_all(scratch.path())
        .map_err(|err| format!("cannot create {}: {err}", scratch.path().display()))?;
    let journal = scratch.path().join("carol.replay.jsonl");
    let start = |udp| {
        Member::start_with(
            "carol",
            false,
            identity.clone(),
            Config::default(),
            udp,
            Some(&journal),
        )
        .map_err(|err| err.to_string())
    };
    let relay = cast.relay.udp_identity();
    let carol = start(loopback)?;
    let (carol_id, carol_udp) = (carol.udp_identity(), carol.udp_addr()?);
    let ask = |carol: &Member, op| {
        carol
            .node
            .handle()
            .request_mailbox(&relay, op)
            .map_err(|err| format!("carol could not ask the relay: {}", node_reason(&err)))
    };
    let before = cast.relay.stats()?;
    ask(&carol, MailboxOp::Hold)?;
    // The request is one loopback datagram; give the relay a moment before carol goes.
    std::thread::sleep(Duration::from_millis(200));
    carol.stop()?;

    let value = json!({"for": "carol", "while": "away"});
    cast.alice
        .send(&carol_id, std::slice::from_ref(&relay), value.clone())?;
    let held = counted(&cast.relay, |stats| stats.relay.held, before.relay.held)?;

    let mut carol = start(carol_udp)?;
    ask(&carol, MailboxOp::Release)?;
    let message = received(&mut carol, &value);
    carol.stop()?;
    let message = message?;
    from_key(&message, &cast.alice)?;
    let after = cast.relay.stats()?;
    if after.queries.delivered != before.queries.delivered {
        return Err("the relay had a message delivered to it".to_string());
    }
    Ok(format!(
        "the relay held alice's message while carol was down (held {} → {held}) and handed it \
         over when she came back and asked (handed over {} → {}); carol got {value} from \
         alice's key, still sealed to her own",
        before.relay.held, before.relay.handed_over, after.relay.handed_over
    ))
}

fn over_tcp(cast: &mut Cast) -> Result<String, String> {
    let tcp = cast
        .bob
        .node
        .tcp_identity(cast.bob.name)
        .ok_or("bob has no TCP address")?;
    let before = cast.bob.stats()?.transport.stream_frames_received;
    let value = json!({"over": "tcp"});
    cast.alice.send(&tcp, &[], value.clone())?;
    let message = received(&mut cast.bob, &value)?;
    from_key(&message, &cast.alice)?;
    let after = cast.bob.stats()?.transport.stream_frames_received;
    if after <= before {
        return Err("bob got it, but not from a TCP stream".to_string());
    }
    Ok(format!(
        "bob got {value} from a TCP stream (frames read from streams: {before} → {after})"
    ))
}

fn through_the_relay(cast: &mut Cast) -> Result<String, String> {
    let before = cast.relay.stats()?;
    let value = json!({"via": "relay"});
    let relay = cast.relay.udp_identity();
    cast.alice
        .send(&cast.bob.udp_identity(), &[relay], value.clone())?;
    let message = received(&mut cast.bob, &value)?;
    from_key(&message, &cast.alice)?;
    let after = cast.relay.stats()?;
    if after.transport.forwarded <= before.transport.forwarded {
        return Err("bob got it, but the relay did not forward it".to_string());
    }
    if after.queries.delivered != before.queries.delivered || cast.relay.has_messages() {
        return Err("the relay had a message delivered to it".to_string());
    }
    Ok(format!(
        "bob got {value} from alice's key; the relay forwarded {} frame and had nothing \
         delivered to it: the inner layer was sealed to bob's key",
        after.transport.forwarded - before.transport.forwarded
    ))
}

fn replayed_datagram(cast: &mut Cast) -> Result<String, String> {
    let value = json!({"pay": 10});
    let datagram = through_mallory(cast, &value)?;
    let bob = bob_udp(cast)?;
    let before = cast.bob.stats()?.transport.dropped_replay;
    inject(cast, &datagram, bob)?;
    received(&mut cast.bob, &value)?;
    inject(cast, &datagram, bob)?;
    let after = counted(&cast.bob, |stats| stats.transport.dropped_replay, before)?;
    if cast.bob.message(&value, QUIET).is_some() {
        return Err("bob took the copy too".to_string());
    }
    Ok(format!(
        "bob took the datagram once and refused the copy (dropped as a replay: {before} → \
         {after})"
    ))
}

fn tampered_datagram(cast: &mut Cast) -> Result<String, String> {
    let value = json!({"pay": 20});
    let mut datagram = through_mallory(cast, &value)?;
    if let Some(last) = datagram.last_mut() {
        *last ^= 0x01;
    }
    let bob = bob_udp(cast)?;
    let before = cast.bob.stats()?.transport.dropped_crypto;
    inject(cast, &datagram, bob)?;
    let after = counted(&cast.bob, |stats| stats.transport.dropped_crypto, before)?;
    if cast.bob.message(&value, QUIET).is_some() {
        return Err("bob took the altered datagram".to_string());
    }
    Ok(format!(
        "bob refused it: it failed authentication (dropped_crypto {before} → {after}) and \
         nothing was delivered"
    ))
}

/// Has alice send `value` to bob's key at Mallory's address, and returns what Mallory caught.
fn through_mallory(cast: &mut Cast, value: &Value) -> Result<Vec<u8>, String> {
    let mallory = cast
        .mallory
        .addr()
        .map_err(|err| format!("Mallory has no address: {err}"))?;
    let bob_at_mallory = PublicIdentity {
        name: "bob".to_string(),
        location: Address::udp(mallory, Some(cast.bob.name)),
        key: cast.bob.node.public_key(),
    };
    cast.alice.send(&bob_at_mallory, &[], value.clone())?;
    let alice = cast
        .alice
        .node
        .udp_addrs()
        .first()
        .copied()
        .ok_or_else(|| "alice has no UDP address".to_string())?;
    cast.mallory
        .capture(alice, WAIT)
        .map_err(|err| format!("Mallory caught nothing: {err}"))
}

fn inject(cast: &Cast, datagram: &[u8], to: SocketAddr) -> Result<(), String> {
    cast.mallory
        .inject(datagram, to)
        .map_err(|err| format!("Mallory could not send: {err}"))
}

fn bob_udp(cast: &Cast) -> Result<SocketAddr, String> {
    cast.bob
        .node
        .udp_addrs()
        .first()
        .copied()
        .ok_or_else(|| "bob has no UDP address".to_string())
}

/// The message with `value` at `member`, or why not.
fn received(member: &mut Member, value: &Value) -> Result<ejtp_proto::Message, String> {
    member
        .message(value, WAIT)
        .ok_or_else(|| format!("{} got nothing within {} s", member.name, WAIT.as_secs()))
}

/// Checks that `message` was sent with `sender`'s key.
fn from_key(message: &ejtp_proto::Message, sender: &Member) -> Result<(), String> {
    if message.from.key == sender.node.public_key() {
        Ok(())
    } else {
        Err(format!(
            "it arrived, but from key {} rather than {}'s",
            message.from.key, sender.name
        ))
    }
}

/// Waits until `counter` of `member`'s stats passes `before`; returns the new count.
fn counted(member: &Member, counter: fn(&Stats) -> u64, before: u64) -> Result<u64, String> {
    let deadline = Instant::now() + WAIT;
    loop {
        let now = counter(&member.stats()?);
        if now > before {
            return Ok(now);
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "{} did not count it as refused within {} s",
                member.name,
                WAIT.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// How a message was protected, in words.
fn protection(protection: Protection) -> &'static str {
    match protection {
        Protection::Sealed => "sealed with HPKE",
        Protection::Session => "inside the Noise session",
        Protection::Local => "without leaving the process",
    }
}

fn found_by_lookup(cast: &mut Cast) -> Result<String, String> {
    let bob_id = cast.bob.node.node_id();
    // The relay learns bob's address and fetches his signed record from him.
    cast.relay.add_route_to(&cast.bob)?;
    cast.relay
        .peer_found(bob_id)
        .ok_or("the relay got no address record from bob")?;
    let mut dave = Member::start("dave", false).map_err(|err| err.to_string())?;
    let outcome = dave_sends_to_bob(cast, &mut dave);
    let stopped = dave.stop();
    let checked = outcome?;
    stopped.map(|()| checked)
}

fn dave_sends_to_bob(cast: &mut Cast, dave: &mut Member) -> Result<String, String> {
    dave.add_route_to(&cast.relay)?;
    let value = json!({"hello": "bob", "from": "dave, who only knew the relay"});
    dave.send_to_peer(&cast.bob.node.public_key(), "bob", value.clone())?;
    let record_seq = dave
        .peer_found(cast.bob.node.node_id())
        .ok_or("dave's lookup of bob found no address record")?;
    let message = received(&mut cast.bob, &value)?;
    from_key(&message, dave)?;
    Ok(format!(
        "dave found bob's address in his signed record (seq {record_seq}) through the relay; \
         bob got his message"
    ))
}
