//! The member roster: who is in the group, versioned and signed by the admitting peer.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use serde_json::{Map, Value};

use crate::address::Address;
use crate::identity::{Identity, PublicIdentity, PublicKey};
use crate::json;

/// What the admitting peer's signature covers: this prefix, then the strict JSON of the roster.
pub const ROSTER_SIGNING_CONTEXT: &[u8] = b"ejtp-group-roster-v1:";

/// One member of a group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// The name the member chose (unique in the roster).
    pub name: String,
    /// The member's key: what authenticates its messages.
    pub key: PublicKey,
    /// Where the member's group client is reached (the address it signed its join with).
    pub address: Address,
}

impl Member {
    /// The member as a recipient for node sends.
    #[must_use]
    pub fn identity(&self) -> PublicIdentity {
        PublicIdentity {
            name: self.name.clone(),
            location: self.address.clone(),
            key: self.key,
        }
    }
}

/// The roster: the admitting peer, a version that grows with every change, and the members
/// (the admitting peer among them), sorted by key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Roster {
    /// The admitting peer's key.
    pub host: PublicKey,
    /// Grows by one with every change.
    pub version: u64,
    /// The members, sorted by key.
    pub members: Vec<Member>,
}

/// A roster with the admitting peer's ed25519 signature over
/// [`ROSTER_SIGNING_CONTEXT`] followed by [`Roster::to_value`]'s strict JSON.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedRoster {
    /// The roster.
    pub roster: Roster,
    /// The signature.
    pub signature: [u8; 64],
}

/// Why a roster was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RosterError {
    /// Not the documented shape.
    Shape,
    /// The signature does not verify with the host key.
    Signature,
}

impl Roster {
    /// The member with `key`, if any.
    #[must_use]
    pub fn member(&self, key: &PublicKey) -> Option<&Member> {
        self.members.iter().find(|member| member.key == *key)
    }

    /// The member called `name`, if any.
    #[must_use]
    pub fn member_named(&self, name: &str) -> Option<&Member> {
        self.members.iter().find(|member| member.name == name)
    }

    /// Whether `key` is a member.
    #[must_use]
    pub fn contains(&self, key: &PublicKey) -> bool {
        self.member(key).is_some()
    }

    /// `{"host": hex, "members": [{"address", "key", "name"}...], "version": n}`.
    #[must_use]
    pub fn to_value(&self) -> Value {
        let members = self
            .members
            .iter()
            .map(|member| {
                let mut entry = Map::new();
                entry.insert("address".into(), member.address.to_value());
                entry.insert("key".into(), Value::String(member.key.to_string()));
                entry.insert("name".into(), Value::String(member.name.clone()));
                Value::Object(entry)
            })
            .collect();
        let mut object = Map::new();
        object.insert("host".into(), Value::String(self.host.to_string()));
        object.insert("members".into(), Value::Array(members));
        object.insert("version".into(), Value::from(self.version));
        Value::Object(object)
    }

    /// The roster in `value`, checking its shape (members sorted by key, names unique and at
    /// most `max_name_len` bytes, at most `max_members`).
    pub(crate) fn from_value(
        value: &Value,
        max_members: usize,
        max_name_len: usize,
    ) -> Result<Self, RosterError> {
        let object = value.as_object().ok_or(RosterError::Shape)?;
        let host = parse_key(object.get("host"))?;
        let version = object
            .get("version")
            .and_then(Value::as_u64)
            .ok_or(RosterError::Shape)?;
        let list = object
            .get("members")
            .and_then(Value::as_array)
            .ok_or(RosterError::Shape)?;
        if list.len() > max_members || object.len() != 3 {
            return Err(RosterError::Shape);
        }
        let mut members: Vec<Member> = Vec::with_capacity(list.len());
        for entry in list {
            let entry = entry.as_object().ok_or(RosterError::Shape)?;
            let name = entry
                .get("name")
                .and_then(Value::as_str)
                .filter(|name| valid_name(name, max_name_len))
                .ok_or(RosterError::Shape)?;
            let key = parse_key(entry.get("key"))?;
            let address = entry
                .get("address")
                .and_then(|address| Address::from_value(address).ok())
                .ok_or(RosterError::Shape)?;
            if let Some(previous) = members.last() {
                if previous.key.as_bytes() >= key.as_bytes() {
                    return Err(RosterError::Shape);
                }
            }
            if members.iter().any(|member| member.name == name) {
                return Err(RosterError::Shape);
            }
            members.push(Member {
                name: name.to_string(),
                key,
                address,
            });
        }
        Ok(Self {
            host,
            version,
            members,
        })
    }

    /// The bytes the admitting peer signs.
    #[must_use]
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut bytes = ROSTER_SIGNING_CONTEXT.to_vec();
        // The roster holds no floats and is shallow: its strict JSON always exists.
        let text = json::to_strict_json(&self.to_value()).unwrap_or_default();
        bytes.extend_from_slice(text.as_bytes());
        bytes
    }

    /// Signs the roster with the admitting peer's identity.
    #[must_use]
    pub fn sign(self, host: &Identity) -> SignedRoster {
        let signature = host.sign(&self.signed_bytes());
        SignedRoster {
            roster: self,
            signature,
        }
    }
}

impl SignedRoster {
    /// Checks the signature against the roster's own host key.
    pub(crate) fn verify(&self) -> Result<(), RosterError> {
        self.roster
            .host
            .verify(&self.roster.signed_bytes(), &self.signature)
            .map_err(|_| RosterError::Signature)
    }
}

/// Whether `name` is acceptable as a member name: 1 to `max_len` bytes of printable ASCII
/// other than space (so that `/msg NAME TEXT` can always name it).
#[must_use]
pub fn valid_name(name: &str, max_len: usize) -> bool {
    !name.is_empty() && name.len() <= max_len && name.bytes().all(|b| b.is_ascii_graphic())
}

fn parse_key(value: Option<&Value>) -> Result<PublicKey, RosterError> {
    value
        .and_then(Value::as_str)
        .and_then(|text| text.parse().ok())
        .ok_or(RosterError::Shape)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(byte: u8, name: &str) -> Member {
        Member {
            name: name.into(),
            key: Identity::from_secret_bytes(&[byte; 32]).public_key(),
            address: Address::local("chat"),
        }
    }

    fn roster(host: &Identity) -> Roster {
        let mut members = alloc::vec![member(1, "host"), member(2, "bob"), member(3, "carol")];
        members.sort_by(|a, b| a.key.as_bytes().cmp(b.key.as_bytes()));
        Roster {
            host: host.public_key(),
            version: 4,
            members,
        }
    }

    #[test]
    fn a_signed_roster_verifies_and_round_trips() {
        let host = Identity::from_secret_bytes(&[1; 32]);
        let signed = roster(&host).sign(&host);
        assert_eq!(signed.verify(), Ok(()));
        let back = Roster::from_value(&signed.roster.to_value(), 64, 32).unwrap();
        assert_eq!(back, signed.roster);
    }

    #[test]
    fn a_changed_roster_no_longer_verifies() {
        let host = Identity::from_secret_bytes(&[1; 32]);
        let mut signed = roster(&host).sign(&host);
        signed.roster.version += 1;
        assert_eq!(signed.verify(), Err(RosterError::Signature));
        let mut signed = roster(&host).sign(&host);
        signed.roster.members.pop();
        assert_eq!(signed.verify(), Err(RosterError::Signature));
    }

    #[test]
    fn a_roster_signed_by_another_key_is_refused() {
        let host = Identity::from_secret_bytes(&[1; 32]);
        let forger = Identity::from_secret_bytes(&[9; 32]);
        let signed = roster(&host).sign(&forger);
        assert_eq!(signed.verify(), Err(RosterError::Signature));
    }

    #[test]
    fn unsorted_or_duplicate_members_are_refused() {
        let host = Identity::from_secret_bytes(&[1; 32]);
        let mut unsorted = roster(&host);
        unsorted.members.reverse();
        assert_eq!(
            Roster::from_value(&unsorted.to_value(), 64, 32),
            Err(RosterError::Shape)
        );
        let mut twice = roster(&host);
        if let Some(last) = twice.members.last_mut() {
            last.name = "host".into();
        }
        assert_eq!(
            Roster::from_value(&twice.to_value(), 64, 32),
            Err(RosterError::Shape)
        );
        assert_eq!(
            Roster::from_value(&roster(&host).to_value(), 2, 32),
            Err(RosterError::Shape)
        );
    }

    #[test]
    fn names_are_printable_words() {
        assert!(valid_name("alice", 32));
        assert!(!valid_name("", 32));
        assert!(!valid_name("a b", 32));
        assert!(!valid_name("toolong", 3));
        assert!(!valid_name("caf\u{e9}", 32));
    }
}
