//! Who a node is: an ed25519 key pair, its id, and the JSON documents that describe it.
//!
//! A node's [`Identity`] is its ed25519 signing key. Peers know it by its [`PublicKey`] and, more
//! compactly, by its [`NodeId`] (the SHA-256 of the public key). The same key pair, mapped to its
//! Montgomery form, is the X25519 key that HPKE seals single frames to and that Noise uses as the
//! static key of a session, so one published key is all a peer needs.
//!
//! [`PublicIdentity`] is the EJTP-style JSON document (`name`, `location`, `encryptor`) that peers
//! exchange; [`IdentityFile`] adds the secret and is what the command-line node writes to disk.

mod document;
mod hex_text;
mod node_id;
mod public_key;
mod secret;

pub use document::{IdentityError, IdentityFile, MAX_NAME_LEN, PublicIdentity};
pub use node_id::{NodeId, NodeIdParseError};
pub use public_key::{KeyError, PublicKey};
pub use secret::Identity;
