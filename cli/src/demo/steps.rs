//! The demo's steps. Each sends something, checks what arrived (and what the nodes counted),
//! and says in one line what it checked, or what went wrong.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use adapter_std::QueryOutcome;
use proto_core::{Address, Event, Protection, PublicIdentity, QueryOptions, Stats};
use serde_json::{Value, json};

use super::Cast;
use super::member::{Member, WAIT};
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
    ("alice sends bob a message over TCP.", over_tcp),
    (
        "alice sends bob a message through the relay, wrapped in two sealed layers (onion \
         routing): the relay can open only the outer one.",
        through_the_relay,
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
        "A swarm download over CJP2P: two new nodes share the same file from their folders; \
         a third fetches it from both at once, block by block.",
        super::swarm::swarm_download,
    ),
];

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
            Event::SessionEstablished { peer } if *peer == bob => Some(()),
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
    }
}

fn over_tcp(cast: &mut Cast) -> Result<String, String> {
    let tcp = cast
        .bob
        .node
        .tcp_identity(cast.bob.name)
        .ok_or("bob has no TCP address")?;
    let before = cast.bob.stats()?.stream_frames_received;
    let value = json!({"over": "tcp"});
    cast.alice.send(&tcp, &[], value.clone())?;
    let message = received(&mut cast.bob, &value)?;
    from_key(&message, &cast.alice)?;
    let after = cast.bob.stats()?.stream_frames_received;
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
    if after.forwarded <= before.forwarded {
        return Err("bob got it, but the relay did not forward it".to_string());
    }
    if after.delivered != before.delivered || cast.relay.has_messages() {
        return Err("the relay had a message delivered to it".to_string());
    }
    Ok(format!(
        "bob got {value} from alice's key; the relay forwarded {} frame and had nothing \
         delivered to it: the inner layer was sealed to bob's key",
        after.forwarded - before.forwarded
    ))
}

fn replayed_datagram(cast: &mut Cast) -> Result<String, String> {
    let value = json!({"pay": 10});
    let datagram = through_mallory(cast, &value)?;
    let bob = bob_udp(cast)?;
    let before = cast.bob.stats()?.dropped_replay;
    inject(cast, &datagram, bob)?;
    received(&mut cast.bob, &value)?;
    inject(cast, &datagram, bob)?;
    let after = counted(&cast.bob, |stats| stats.dropped_replay, before)?;
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
    let before = cast.bob.stats()?.dropped_crypto;
    inject(cast, &datagram, bob)?;
    let after = counted(&cast.bob, |stats| stats.dropped_crypto, before)?;
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
    cast.mallory
        .capture(WAIT)
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
fn received(member: &mut Member, value: &Value) -> Result<proto_core::Message, String> {
    member
        .message(value, WAIT)
        .ok_or_else(|| format!("{} got nothing within {} s", member.name, WAIT.as_secs()))
}

/// Checks that `message` was sent with `sender`'s key.
fn from_key(message: &proto_core::Message, sender: &Member) -> Result<(), String> {
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
