//! `Group::handle_message` fed fuzzed values from an authenticated member (to the admitting
//! peer) and from the admitting peer (to the member), after a real join. The value is the fuzz
//! input read as strict JSON, optionally under the group's key so that it reaches the group's
//! message decoding; then both machines' outputs are drained and their timers run.
#![no_main]

use core::time::Duration;

use libfuzzer_sys::fuzz_target;
use ejtp_proto::group::{GROUP_KEY, Group, GroupConfig, GroupOutput};
use ejtp_proto::json::parse_json;
use ejtp_proto::{
    Address, Identity, Instant, Message, MessageId, Protection, PublicIdentity, Sender,
};
use serde_json::{Map, Value};

use ejtp_fuzz::WALL;

fn public(secret: u8, name: &str, port: u16) -> PublicIdentity {
    PublicIdentity {
        name: name.into(),
        location: Address::udp(([127, 0, 0, 1], port).into(), Some("chat")),
        key: Identity::from_secret_bytes(&[secret; 32]).public_key(),
    }
}

fn message(from: &PublicIdentity, value: Value, id: u8) -> Message {
    Message {
        to: "chat".into(),
        from: Sender {
            key: from.key,
            node_id: from.key.node_id(),
            address: from.location.clone(),
        },
        id: MessageId([id; 16]),
        value,
        sent_at: None,
        protection: Protection::Session,
        relayed_by: None,
    }
}

/// Hands `sender`'s outputs for `receiver_key` to `receiver`; true if there were any.
fn deliver(
    sender: &mut Group,
    from: &PublicIdentity,
    receiver: &mut Group,
    receiver_key: &PublicIdentity,
    now: Instant,
    id: &mut u8,
) -> bool {
    let mut moved = false;
    while let Some(output) = sender.poll_output() {
        moved = true;
        if let GroupOutput::Send { to, value } = output {
            if to.key == receiver_key.key {
                *id = id.wrapping_add(1);
                receiver.handle_message(now, &message(from, value, *id));
            }
        }
    }
    moved
}

/// Delivers the outputs of both machines to each other until neither has any.
fn pump(host: &mut Group, member: &mut Group, people: &[PublicIdentity; 2], now: Instant) {
    let mut id = 100u8;
    for _ in 0..16 {
        let up = deliver(member, &people[1], host, &people[0], now, &mut id);
        let down = deliver(host, &people[0], member, &people[1], now, &mut id);
        if !up && !down {
            return;
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let Ok(fuzzed) = parse_json(rest) else {
        return;
    };
    let people = [public(1, "host", 9001), public(2, "member", 9002)];
    let now = Instant::ZERO;
    let config = GroupConfig::for_tests();
    let Ok(mut host) = Group::create(
        config.clone(),
        Identity::from_secret_bytes(&[1; 32]),
        people[0].clone(),
        "secret",
        [1; 32],
        now,
        WALL,
    ) else {
        return;
    };
    let Ok(mut member) = Group::join(
        config,
        people[1].key,
        "member",
        people[0].clone(),
        "secret",
        [2; 32],
        now,
        WALL,
    ) else {
        return;
    };
    pump(&mut host, &mut member, &people, now);
    assert!(
        member.in_group(),
        "the member joined before the fuzzed message"
    );
    let value = if mode & 1 == 1 {
        let mut wrapped = Map::new();
        wrapped.insert(GROUP_KEY.into(), fuzzed);
        Value::Object(wrapped)
    } else {
        fuzzed
    };
    let later = now + Duration::from_millis(10);
    if mode & 2 == 0 {
        host.handle_message(later, &message(&people[1], value, 1));
    } else {
        member.handle_message(later, &message(&people[0], value, 1));
    }
    pump(&mut host, &mut member, &people, later);
    let end = later + Duration::from_secs(120);
    host.handle_timeout(end);
    member.handle_timeout(end);
    pump(&mut host, &mut member, &people, end);
});
