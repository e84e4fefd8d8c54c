//! The JSON documents that describe an identity: the public one peers exchange, and the secret
//! file the command-line node keeps.
//!
//! The shape follows EJTP: `{"encryptor":["ed25519","<hex key>"],"location":<address>,
//! "name":"<name>"}`, with `"secret":"<hex seed>"` added in the file. Only the `ed25519`
//! encryptor is spoken; EJTP's others (`rsa`, `aes`, `rotate`) are refused by name. Unknown
//! fields are ignored, as EJTP ignores them, so documents may grow.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::hex_text;
use super::public_key::{KeyError, PublicKey};
use super::secret::Identity;
use crate::address::Address;
use crate::json::{self, JsonError};

/// Longest identity name accepted, in bytes (EJTP names are short, e.g. `"mitzi@lackadaisy.com"`).
pub const MAX_NAME_LEN: usize = 256;

/// The `encryptor` type this implementation speaks.
const ED25519: &str = "ed25519";

/// Why bytes are not an identity document.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdentityError {
    /// Not strict-JSON-parsable text.
    Json(JsonError),
    /// Not an object with a string `name`, an address `location` and a two-element
    /// `encryptor` list.
    Shape,
    /// The encryptor is not `ed25519` (EJTP's `rsa`, `aes` and `rotate` are not spoken).
    UnsupportedEncryptor,
    /// The encryptor's key is not a valid ed25519 public key.
    Key(KeyError),
    /// The name is longer than [`MAX_NAME_LEN`].
    NameTooLong,
    /// An identity file without a `secret`, or whose secret is not 64 lowercase hex digits.
    BadSecret,
    /// An identity file whose secret is not the one of its encryptor's public key.
    SecretMismatch,
}

impl fmt::Display for IdentityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Json(err) => write!(f, "identity is not valid JSON: {err}"),
            Self::Shape => f.write_str("identity must be {\"encryptor\", \"location\", \"name\"}"),
            Self::UnsupportedEncryptor => f.write_str("only the ed25519 encryptor is supported"),
            Self::Key(err) => write!(f, "identity key is invalid: {err}"),
            Self::NameTooLong => write!(f, "identity name longer than {MAX_NAME_LEN} bytes"),
            Self::BadSecret => f.write_str("identity file secret missing or not 64 hex digits"),
            Self::SecretMismatch => f.write_str("identity file secret does not match its key"),
        }
    }
}

impl core::error::Error for IdentityError {}

impl From<JsonError> for IdentityError {
    fn from(err: JsonError) -> Self {
        Self::Json(err)
    }
}

/// An EJTP-style public identity: what a peer needs to reach and authenticate a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicIdentity {
    /// A human-readable name (EJTP uses mail-like names); at most [`MAX_NAME_LEN`] bytes.
    pub name: String,
    /// Where the node is reached.
    pub location: Address,
    /// The node's ed25519 key (the `encryptor`).
    pub key: PublicKey,
}

/// The secret identity file the command-line node writes: the public document plus the seed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdentityFile {
    /// The identity's name.
    pub name: String,
    /// Where the node is reached.
    pub location: Address,
    /// The key pair (its `Debug` hides the secret).
    pub identity: Identity,
}

/// The fields as they arrive, before validation.
#[derive(Deserialize)]
struct Incoming {
    encryptor: Value,
    location: Address,
    name: String,
    #[serde(default)]
    secret: Option<String>,
}

/// The fields as they are written; declared in key order so serde's output is already sorted.
#[derive(Serialize)]
struct Outgoing<'a> {
    encryptor: (&'static str, PublicKey),
    location: &'a Address,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
}

impl Incoming {
    fn from_json_bytes(bytes: &[u8]) -> Result<Self, IdentityError> {
        serde_json::from_value(json::parse_json(bytes)?).map_err(|_| IdentityError::Shape)
    }

    fn into_public(self) -> Result<(PublicIdentity, Option<String>), IdentityError> {
        let key = match self.encryptor.as_array().map(Vec::as_slice) {
            Some([Value::String(kind), key]) if kind == ED25519 => match key {
                Value::String(key) => key.parse().map_err(IdentityError::Key)?,
                _ => return Err(IdentityError::Key(KeyError::Encoding)),
            },
            Some([Value::String(_), _]) => return Err(IdentityError::UnsupportedEncryptor),
            _ => return Err(IdentityError::Shape),
        };
        if self.name.len() > MAX_NAME_LEN {
            return Err(IdentityError::NameTooLong);
        }
        let public = PublicIdentity {
            name: self.name,
            location: self.location,
            key,
        };
        Ok((public, self.secret))
    }

    fn into_file(self) -> Result<IdentityFile, IdentityError> {
        let (public, secret) = self.into_public()?;
        let secret = secret
            .as_deref()
            .and_then(hex_text::parse_lower::<32>)
            .ok_or(IdentityError::BadSecret)?;
        let identity = Identity::from_secret_bytes(&secret);
        if identity.public_key() != public.key {
            return Err(IdentityError::SecretMismatch);
        }
        Ok(IdentityFile {
            name: public.name,
            location: public.location,
            identity,
        })
    }
}

impl Outgoing<'_> {
    fn to_value(&self) -> Value {
        let mut map = Map::new();
        map.insert(
            "encryptor".to_string(),
            Value::Array(Vec::from([
                Value::String(ED25519.to_string()),
                Value::String(self.encryptor.1.to_string()),
            ])),
        );
        map.insert("location".to_string(), self.location.to_value());
        map.insert("name".to_string(), Value::String(self.name.to_string()));
        if let Some(secret) = &self.secret {
            map.insert("secret".to_string(), Value::String(secret.clone()));
        }
        Value::Object(map)
    }

    fn to_strict_json(&self) -> String {
        // An identity holds no floats (addresses refuse them) and nests three levels at most,
        // so strict encoding cannot fail; fall back to an empty string rather than panic.
        json::to_strict_json(&self.to_value()).unwrap_or_default()
    }
}

impl PublicIdentity {
    fn outgoing(&self) -> Outgoing<'_> {
        Outgoing {
            encryptor: (ED25519, self.key),
            location: &self.location,
            name: &self.name,
            secret: None,
        }
    }

    /// The strict JSON text of the document (sorted keys, ASCII only): what is published and
    /// what signatures over an identity cover.
    #[must_use]
    pub fn to_strict_json(&self) -> String {
        self.outgoing().to_strict_json()
    }

    /// Reads a public identity from JSON text (an identity file also reads, without its secret).
    ///
    /// # Errors
    /// [`IdentityError`] for text that is not such a document.
    pub fn from_json_bytes(bytes: &[u8]) -> Result<Self, IdentityError> {
        Incoming::from_json_bytes(bytes)?
            .into_public()
            .map(|(public, _)| public)
    }
}

impl IdentityFile {
    fn outgoing(&self) -> Outgoing<'_> {
        Outgoing {
            encryptor: (ED25519, self.identity.public_key()),
            location: &self.location,
            name: &self.name,
            secret: Some(crate::hex::encode(&self.identity.secret_bytes())),
        }
    }

    /// The strict JSON text of the file, secret included: for writing to disk, never to a peer.
    #[must_use]
    pub fn to_strict_json(&self) -> String {
        self.outgoing().to_strict_json()
    }

    /// Reads an identity file, checking that its secret is the one of its public key (so a file
    /// edited by hand cannot make the node sign as someone it is not).
    ///
    /// # Errors
    /// [`IdentityError`]; [`IdentityError::BadSecret`] without a well-formed secret,
    /// [`IdentityError::SecretMismatch`] if it does not match the key.
    pub fn from_json_bytes(bytes: &[u8]) -> Result<Self, IdentityError> {
        Incoming::from_json_bytes(bytes)?.into_file()
    }

    /// The public document to publish.
    #[must_use]
    pub fn public(&self) -> PublicIdentity {
        PublicIdentity {
            name: self.name.clone(),
            location: self.location.clone(),
            key: self.identity.public_key(),
        }
    }
}

impl Serialize for PublicIdentity {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.outgoing().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for PublicIdentity {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Incoming::deserialize(deserializer)?
            .into_public()
            .map(|(public, _)| public)
            .map_err(serde::de::Error::custom)
    }
}

impl Serialize for IdentityFile {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.outgoing().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for IdentityFile {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Incoming::deserialize(deserializer)?
            .into_file()
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::SocketAddr;

    fn file() -> IdentityFile {
        let addr: SocketAddr = "127.0.0.1:9001".parse().unwrap();
        IdentityFile {
            name: "mitzi@lackadaisy.com".to_string(),
            location: Address::udp(addr, Some("mitzi")),
            identity: Identity::from_secret_bytes(&[7; 32]),
        }
    }

    #[test]
    fn public_identity_has_the_ejtp_shape_in_strict_json() {
        let public = file().public();
        let key = public.key;
        assert_eq!(
            public.to_strict_json(),
            alloc::format!(
                r#"{{"encryptor":["ed25519","{key}"],"location":["udp4",["127.0.0.1",9001],"mitzi"],"name":"mitzi@lackadaisy.com"}}"#
            )
        );
    }

    #[test]
    fn public_identity_round_trips_through_json_and_serde() {
        let mut public = file().public();
        public.name = "caf\u{e9} \u{1f600}".to_string();
        let text = public.to_strict_json();
        assert!(text.is_ascii());
        assert_eq!(
            PublicIdentity::from_json_bytes(text.as_bytes()),
            Ok(public.clone())
        );
        let serde_text = serde_json::to_string(&public).unwrap();
        assert_eq!(
            serde_json::from_str::<PublicIdentity>(&serde_text).unwrap(),
            public
        );
        assert_eq!(
            serde_json::from_str::<Value>(&serde_text).unwrap(),
            serde_json::from_str::<Value>(&text).unwrap()
        );
    }

    #[test]
    fn identity_file_round_trips_and_carries_the_secret() {
        let file = file();
        let text = file.to_strict_json();
        let secret = crate::hex::encode(&[7; 32]);
        assert!(text.ends_with(&alloc::format!(r#","secret":"{secret}"}}"#)));
        assert_eq!(
            IdentityFile::from_json_bytes(text.as_bytes()),
            Ok(file.clone())
        );
        let serde_text = serde_json::to_string(&file).unwrap();
        assert_eq!(
            serde_json::from_str::<IdentityFile>(&serde_text).unwrap(),
            file
        );
        // The public reader accepts the file and drops the secret.
        assert_eq!(
            PublicIdentity::from_json_bytes(text.as_bytes()),
            Ok(file.public())
        );
    }

    #[test]
    fn identity_file_with_another_secret_is_refused() {
        let file = file();
        let other = crate::hex::encode(&[8; 32]);
        let text = file
            .to_strict_json()
            .replace(&crate::hex::encode(&[7; 32]), &other);
        assert_eq!(
            IdentityFile::from_json_bytes(text.as_bytes()),
            Err(IdentityError::SecretMismatch)
        );
    }

    #[test]
    fn identity_file_without_a_good_secret_is_refused() {
        let public = file().public().to_strict_json();
        assert_eq!(
            IdentityFile::from_json_bytes(public.as_bytes()),
            Err(IdentityError::BadSecret)
        );
        let mut file = file();
        file.identity = Identity::from_secret_bytes(&[0xab; 32]);
        let upper = file
            .to_strict_json()
            .replace(&"ab".repeat(32), &"AB".repeat(32));
        assert_eq!(
            IdentityFile::from_json_bytes(upper.as_bytes()),
            Err(IdentityError::BadSecret)
        );
    }

    #[test]
    fn other_encryptors_and_bad_shapes_are_refused() {
        let cases: [(&str, IdentityError); 8] = [
            (
                r#"{"encryptor":["rotate",3],"location":["local",null,"a"],"name":"a"}"#,
                IdentityError::UnsupportedEncryptor,
            ),
            (
                r#"{"encryptor":["rsa","-----BEGIN"],"location":["local",null,"a"],"name":"a"}"#,
                IdentityError::UnsupportedEncryptor,
            ),
            (
                r#"{"encryptor":["ed25519",7],"location":["local",null,"a"],"name":"a"}"#,
                IdentityError::Key(KeyError::Encoding),
            ),
            (
                r#"{"encryptor":["ed25519","00"],"location":["local",null,"a"],"name":"a"}"#,
                IdentityError::Key(KeyError::Encoding),
            ),
            (
                r#"{"encryptor":["ed25519"],"location":["local",null,"a"],"name":"a"}"#,
                IdentityError::Shape,
            ),
            (
                r#"{"encryptor":["ed25519","00"],"location":"here","name":"a"}"#,
                IdentityError::Shape,
            ),
            (r#"[1,2,3]"#, IdentityError::Shape),
            (
                r#"{"encryptor":1.5}"#,
                IdentityError::Json(JsonError::Float),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(
                PublicIdentity::from_json_bytes(text.as_bytes()),
                Err(expected),
                "{text}"
            );
        }
    }

    #[test]
    fn overlong_names_are_refused() {
        let mut public = file().public();
        public.name = "n".repeat(MAX_NAME_LEN + 1);
        let text = public.to_strict_json();
        assert_eq!(
            PublicIdentity::from_json_bytes(text.as_bytes()),
            Err(IdentityError::NameTooLong)
        );
        public.name = "n".repeat(MAX_NAME_LEN);
        let text = public.to_strict_json();
        assert!(PublicIdentity::from_json_bytes(text.as_bytes()).is_ok());
    }

    #[test]
    fn unknown_fields_are_ignored_like_ejtp_does() {
        let public = file().public();
        let key = public.key;
        let text = alloc::format!(
            r#"{{ "name": "mitzi@lackadaisy.com", "comment": "hi",
                 "location": ["udp4", ["127.0.0.1", 9001], "mitzi"],
                 "encryptor": ["ed25519", "{key}"] }}"#
        );
        assert_eq!(PublicIdentity::from_json_bytes(text.as_bytes()), Ok(public));
    }
}
