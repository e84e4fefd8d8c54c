//! Hostile input to a group machine: whatever a peer sends the group client, the machine
//! never panics, never delivers it from a non-member, and a member's roster only changes to one
//! the admitting peer signed.

use ejtp_proto::group::{Group, GroupConfig, GroupOutput};
use ejtp_proto::json::parse_json;
use ejtp_proto::{
    Address, Identity, Instant, Message, MessageId, Protection, PublicIdentity, Sender, UnixMillis,
};
use proptest::prelude::*;
use serde_json::{Value, json};

const WALL: UnixMillis = UnixMillis(1_700_000_000_000);

fn public(byte: u8) -> PublicIdentity {
    PublicIdentity {
        name: format!("m{byte}"),
        location: Address::local("chat"),
        key: Identity::from_secret_bytes(&[byte; 32]).public_key(),
    }
}

fn message(from: u8, value: Value) -> Message {
    let key = Identity::from_secret_bytes(&[from; 32]).public_key();
    Message {
        to: "chat".into(),
        from: Sender {
            key,
            node_id: key.node_id(),
            address: Address::local("chat"),
        },
        id: MessageId([0; 16]),
        value,
        sent_at: None,
        protection: Protection::Sealed,
        relayed_by: None,
    }
}

fn host() -> Group {
    Group::create(
        GroupConfig::for_tests(),
        Identity::from_secret_bytes(&[1; 32]),
        public(1),
        "pw",
        [1; 32],
        Instant::ZERO,
        WALL,
    )
    .unwrap()
}

fn member() -> Group {
    Group::join(
        GroupConfig::for_tests(),
        public(2).key,
        "m2",
        public(1),
        "pw",
        [2; 32],
        Instant::ZERO,
        WALL,
    )
    .unwrap()
}

/// JSON values shaped like group messages, with arbitrary kinds and fields.
fn group_like() -> impl Strategy<Value = Value> {
    let kind = prop_oneof![
        Just("join".to_string()),
        Just("refused".to_string()),
        Just("roster".to_string()),
        Just("heartbeat".to_string()),
        Just("not_member".to_string()),
        Just("leave".to_string()),
        Just("chat".to_string()),
        "[a-z]{0,8}",
    ];
    let field = prop_oneof![
        Just(json!(null)),
        any::<u64>().prop_map(Value::from),
        "[0-9a-f]{0,130}".prop_map(Value::from),
        Just(json!({"host": "00", "members": [], "version": 1})),
        Just(json!([])),
    ];
    (
        kind,
        proptest::collection::btree_map("[a-z]{1,9}", field, 0..5),
    )
        .prop_map(|(kind, fields)| {
            let mut object: serde_json::Map<String, Value> = fields.into_iter().collect();
            object.insert("group".into(), Value::String(kind));
            Value::Object(object)
        })
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_break_a_group_machine(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let Ok(value) = parse_json(&bytes) else { return Ok(()) };
        for mut group in [host(), member()] {
            group.handle_message(Instant::ZERO, &message(3, value.clone()));
            group.handle_timeout(Instant::from_millis(5_000));
            while group.poll_output().is_some() {}
        }
    }

    #[test]
    fn group_shaped_values_from_strangers_are_never_delivered(values in proptest::collection::vec(group_like(), 1..8)) {
        let mut host = host();
        let mut member = member();
        while member.poll_output().is_some() {}
        while host.poll_output().is_some() {}
        for value in values {
            // From a stranger to both; and to the member as if from the admitting peer.
            prop_assert!(host.handle_message(Instant::ZERO, &message(3, value.clone())));
            prop_assert!(member.handle_message(Instant::ZERO, &message(3, value.clone())));
            prop_assert!(member.handle_message(Instant::ZERO, &message(1, value)));
        }
        for group in [&mut host, &mut member] {
            while let Some(output) = group.poll_output() {
                if let GroupOutput::Event(event) = output {
                    prop_assert!(
                        !matches!(event, ejtp_proto::group::GroupEvent::Message { .. }),
                        "delivered {event:?}"
                    );
                }
            }
        }
        // No forged roster was taken: the member never got in, the host's roster is its own.
        prop_assert!(member.roster().is_none());
        prop_assert_eq!(host.roster().map(|roster| roster.members.len()), Some(1));
    }
}
