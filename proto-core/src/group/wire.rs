//! Group messages as JSON values: the reserved shape `{"group": KIND, ...}`.
//!
//! Every group message is an ordinary node message (so it is signed by its sender and
//! encrypted to its recipient) whose value is a JSON object with a `"group"` member naming its
//! kind. `docs/PROTOCOL.md` section 17 lists every kind with its fields.

use alloc::string::{String, ToString};

use serde_json::{Map, Value};

use super::roster::{Roster, SignedRoster};

/// The key that marks a value as a group message.
pub const GROUP_KEY: &str = "group";

/// Why a join was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// The password was wrong (and the peer is not banned yet).
    Password,
    /// The peer id or its address is banned.
    Banned,
    /// The group has `max_members` members.
    Full,
    /// Another member already has the name.
    NameTaken,
    /// The name is empty, too long, or not printable.
    BadName,
}

impl Refusal {
    fn as_str(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::Banned => "banned",
            Self::Full => "full",
            Self::NameTaken => "name_taken",
            Self::BadName => "bad_name",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "password" => Self::Password,
            "banned" => Self::Banned,
            "full" => Self::Full,
            "name_taken" => Self::NameTaken,
            "bad_name" => Self::BadName,
            _ => return None,
        })
    }
}

impl core::fmt::Display for Refusal {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::Password => "wrong password",
            Self::Banned => "banned",
            Self::Full => "the group is full",
            Self::NameTaken => "the name is taken",
            Self::BadName => "the name is not valid",
        })
    }
}

/// One group message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum GroupMessage {
    /// Joiner to admitting peer.
    Join {
        attempt: [u8; 16],
        name: String,
        password: String,
    },
    /// Admitting peer to joiner.
    Refused { attempt: [u8; 16], reason: Refusal },
    /// Admitting peer to members: the admission answer and every change.
    Roster(SignedRoster),
    /// Both ways; carries the roster version the sender holds.
    Heartbeat { version: u64 },
    /// Admitting peer to a peer that is not (or no longer) a member.
    NotMember,
    /// Member to admitting peer, or admitting peer to members when it closes the group.
    Leave,
    /// Member to member.
    Chat {
        id: [u8; 16],
        direct: bool,
        body: Value,
    },
}

/// A value marked as a group message that does not decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Malformed;

fn hex_field<const N: usize>(object: &Map<String, Value>, key: &str) -> Result<[u8; N], Malformed> {
    object
        .get(key)
        .and_then(Value::as_str)
        .and_then(|text| crate::hex::decode_array(text).ok())
        .ok_or(Malformed)
}

fn str_field<'a>(object: &'a Map<String, Value>, key: &str) -> Result<&'a str, Malformed> {
    object.get(key).and_then(Value::as_str).ok_or(Malformed)
}

impl GroupMessage {
    /// The message in `value`: `None` if the value is not a group message at all,
    /// `Some(Err)` if it is marked as one but does not decode.
    pub(crate) fn decode(
        value: &Value,
        max_members: usize,
        max_name_len: usize,
    ) -> Option<Result<Self, Malformed>> {
        let object = value.as_object()?;
        let kind = object.get(GROUP_KEY)?;
        Some(Self::decode_kind(object, kind, max_members, max_name_len))
    }

    fn decode_kind(
        object: &Map<String, Value>,
        kind: &Value,
        max_members: usize,
        max_name_len: usize,
    ) -> Result<Self, Malformed> {
        Ok(match kind.as_str().ok_or(Malformed)? {
            "join" => Self::Join {
                attempt: hex_field(object, "attempt")?,
                name: str_field(object, "name")?.to_string(),
                password: str_field(object, "password")?.to_string(),
            },
            "refused" => Self::Refused {
                attempt: hex_field(object, "attempt")?,
                reason: Refusal::parse(str_field(object, "reason")?).ok_or(Malformed)?,
            },
            "roster" => {
                let roster = Roster::from_value(
                    object.get("roster").ok_or(Malformed)?,
                    max_members,
                    max_name_len,
                )
                .map_err(|_| Malformed)?;
                Self::Roster(SignedRoster {
                    roster,
                    signature: hex_field(object, "signature")?,
                })
            }
            "heartbeat" => Self::Heartbeat {
                version: object
                    .get("version")
                    .and_then(Value::as_u64)
                    .ok_or(Malformed)?,
            },
            "not_member" => Self::NotMember,
            "leave" => Self::Leave,
            "chat" => Self::Chat {
                id: hex_field(object, "id")?,
                direct: match str_field(object, "to")? {
                    "all" => false,
                    "you" => true,
                    _ => return Err(Malformed),
                },
                body: object.get("body").cloned().ok_or(Malformed)?,
            },
            _ => return Err(Malformed),
        })
    }

    /// The JSON value sent as a node message.
    pub(crate) fn encode(&self) -> Value {
        let mut object = Map::new();
        let kind = match self {
            Self::Join {
                attempt,
                name,
                password,
            } => {
                object.insert("attempt".into(), hex(attempt));
                object.insert("name".into(), Value::String(name.clone()));
                object.insert("password".into(), Value::String(password.clone()));
                "join"
            }
            Self::Refused { attempt, reason } => {
                object.insert("attempt".into(), hex(attempt));
                object.insert("reason".into(), Value::String(reason.as_str().into()));
                "refused"
            }
            Self::Roster(signed) => {
                object.insert("roster".into(), signed.roster.to_value());
                object.insert("signature".into(), hex(&signed.signature));
                "roster"
            }
            Self::Heartbeat { version } => {
                object.insert("version".into(), Value::from(*version));
                "heartbeat"
            }
            Self::NotMember => "not_member",
            Self::Leave => "leave",
            Self::Chat { id, direct, body } => {
                object.insert("id".into(), hex(id));
                let to = if *direct { "you" } else { "all" };
                object.insert("to".into(), Value::String(to.into()));
                object.insert("body".into(), body.clone());
                "chat"
            }
        };
        object.insert(GROUP_KEY.into(), Value::String(kind.into()));
        Value::Object(object)
    }
}

fn hex(bytes: &[u8]) -> Value {
    Value::String(crate::hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::Address;
    use crate::group::roster::Member;
    use crate::identity::Identity;
    use serde_json::json;

    fn round_trip(message: &GroupMessage) {
        let value = message.encode();
        assert_eq!(
            GroupMessage::decode(&value, 64, 32),
            Some(Ok(message.clone()))
        );
    }

    #[test]
    fn every_kind_round_trips() {
        let host = Identity::from_secret_bytes(&[3; 32]);
        let roster = Roster {
            host: host.public_key(),
            version: 2,
            members: alloc::vec![Member {
                name: "host".into(),
                key: host.public_key(),
                address: Address::local("chat"),
            }],
        };
        for message in [
            GroupMessage::Join {
                attempt: [1; 16],
                name: "bob".into(),
                password: "pw".into(),
            },
            GroupMessage::Refused {
                attempt: [2; 16],
                reason: Refusal::Banned,
            },
            GroupMessage::Roster(roster.sign(&host)),
            GroupMessage::Heartbeat { version: 9 },
            GroupMessage::NotMember,
            GroupMessage::Leave,
            GroupMessage::Chat {
                id: [4; 16],
                direct: true,
                body: json!("hi"),
            },
        ] {
            round_trip(&message);
        }
    }

    #[test]
    fn the_documented_shapes_are_what_goes_out() {
        let value = GroupMessage::Heartbeat { version: 3 }.encode();
        assert_eq!(value, json!({"group": "heartbeat", "version": 3}));
        let value = GroupMessage::Chat {
            id: [0xab; 16],
            direct: false,
            body: json!("hello"),
        }
        .encode();
        assert_eq!(
            value,
            json!({"group": "chat", "id": "ab".repeat(16), "to": "all", "body": "hello"})
        );
    }

    #[test]
    fn values_without_the_marker_are_not_group_messages() {
        assert_eq!(GroupMessage::decode(&json!({"hello": 1}), 64, 32), None);
        assert_eq!(GroupMessage::decode(&json!([1, 2]), 64, 32), None);
    }

    #[test]
    fn marked_values_that_do_not_decode_are_malformed() {
        for value in [
            json!({"group": "nope"}),
            json!({"group": 7}),
            json!({"group": "join", "attempt": "zz", "name": "a", "password": "b"}),
            json!({"group": "heartbeat"}),
            json!({"group": "chat", "id": "00", "to": "all", "body": 1}),
            json!({"group": "refused", "attempt": "00".repeat(16), "reason": "why"}),
            json!({"group": "roster", "roster": {}, "signature": "00"}),
        ] {
            assert_eq!(GroupMessage::decode(&value, 64, 32), Some(Err(Malformed)));
        }
    }
}
