//! The CJP2P messages as typed values.

use alloc::string::String;
use alloc::vec::Vec;
use core::net::SocketAddr;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use super::RawJson;
use crate::identity::PublicKey;

/// The cookie of `PleaseAlwaysReturnThisMessage` and `AlwaysReturned`.
///
/// The running public node sends and accepts only `{"cookie":"<text>"}`; the protocol's README
/// shows the cookie as arbitrary JSON. Both are accepted; this node sends the object form.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Cookie {
    /// `{"cookie":"<text>"}`: the form this node sends.
    Text(String),
    /// Any other JSON body (not `null`), echoed back as it came.
    Json(Value),
}

impl Cookie {
    /// The cookie's text, if it has the object form.
    #[must_use]
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Self::Text(text) => Some(text),
            Self::Json(_) => None,
        }
    }
}

/// One CJP2P message: one element of a datagram's JSON array.
///
/// Each variant is one row of the message table in `docs/PROTOCOL.md` section 15, named as on
/// the wire. Messages this node does not know are kept as [`Cjp2pMessage::Unknown`] so the
/// application can see them. Serialised with serde, a message is its wire form
/// (`{"Name":{...}}`), so events and commands carry the same JSON as the network.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Cjp2pMessage {
    /// `PleaseSendPeers {}`: asks for `Peers`.
    PleaseSendPeers,
    /// `Peers {"peers":["ip:port",...]}`: candidate peers.
    Peers {
        /// The addresses (entries that are not socket addresses are left out when parsing).
        peers: Vec<SocketAddr>,
    },
    /// `PleaseReturnThisMessage {"cookie":s}`: asks for `ReturnedMessage` with the same cookie.
    PleaseReturnThisMessage {
        /// Opaque text.
        cookie: String,
    },
    /// `ReturnedMessage {"cookie":s}`: the answer to `PleaseReturnThisMessage`.
    ReturnedMessage {
        /// The cookie that was asked to be returned.
        cookie: String,
    },
    /// `PleaseAlwaysReturnThisMessage`: echo this cookie in every later datagram to the sender.
    PleaseAlwaysReturnThisMessage {
        /// The sender's cookie.
        cookie: Cookie,
    },
    /// `AlwaysReturned`: the echo of the receiver's cookie, proof that the sender gets our
    /// datagrams at its address.
    AlwaysReturned {
        /// The cookie echoed.
        cookie: Cookie,
    },
    /// `PleaseSendContent {"id":s,"length":n,"offset":n}`: asks for bytes `[offset,
    /// offset+length)` of a content.
    PleaseSendContent {
        /// The content id as sent (usually 64 lowercase hex digits).
        id: String,
        /// First byte asked for.
        offset: u64,
        /// Bytes asked for.
        length: u64,
    },
    /// `Content {"id":s,"offset":n,"base64":s,"eof":n}`: bytes of a content.
    Content {
        /// The content id.
        id: String,
        /// Where `data` starts.
        offset: u64,
        /// The bytes (base64 on the wire); empty past the end.
        data: Vec<u8>,
        /// The total length of the content.
        eof: u64,
    },
    /// `MaybeTheyHaveSome {"id":s,"peers":[...]}`: other addresses that may hold a content.
    MaybeTheyHaveSome {
        /// The content id.
        id: String,
        /// The addresses.
        peers: Vec<SocketAddr>,
    },
    /// `MyPublicKey {"ed25519h":hex}`: the sender's ed25519 key (a claim, not a proof).
    MyPublicKey {
        /// The key.
        key: PublicKey,
    },
    /// `SignedMessage {"ed25519":hex,"signature":b64,"payload_json":s}`: a message array signed
    /// with `key` over the exact UTF-8 of `payload_json`.
    SignedMessage {
        /// The signer's key.
        key: PublicKey,
        /// The ed25519 signature.
        signature: [u8; 64],
        /// The signed text: itself a JSON message array.
        payload_json: String,
    },
    /// `PleaseListContent {}`: asks for `ContentList`.
    PleaseListContent,
    /// `ContentList {"results":[[id,size],...]}`: what the sender shares.
    ContentList {
        /// Content ids and their lengths.
        results: Vec<(String, u64)>,
    },
    /// `PleaseListSupportedMessages {}`: asks for `SupportedMessages`.
    PleaseListSupportedMessages,
    /// `SupportedMessages {"schema":{...}}`: a JSON Schema of the messages the sender handles.
    SupportedMessages {
        /// The schema.
        schema: Value,
    },
    /// `EjtpSessions {"max_request":n}`: the sender is one of our nodes. It accepts EJTP Noise
    /// sessions at this address with the key of its `MyPublicKey`, and content requests (CJP2P
    /// or in a session) of up to `max_request` bytes. Public CJP2P nodes skip it as unknown.
    EjtpSessions {
        /// The most content bytes the sender answers one request with.
        max_request: u64,
    },
    /// A message this node does not know (`EncryptedMessages`, `ChatMessage`, ...): kept so
    /// the application can see it.
    Unknown {
        /// The message name (the element's one key).
        name: String,
        /// Its body, byte for byte as it came (passed on exactly: see [`RawJson`]).
        body: RawJson,
    },
}

impl Cjp2pMessage {
    /// The message's name on the wire.
    #[must_use]
    pub fn name(&self) -> &str {
        match self {
            Self::PleaseSendPeers => "PleaseSendPeers",
            Self::Peers { .. } => "Peers",
            Self::PleaseReturnThisMessage { .. } => "PleaseReturnThisMessage",
            Self::ReturnedMessage { .. } => "ReturnedMessage",
            Self::PleaseAlwaysReturnThisMessage { .. } => "PleaseAlwaysReturnThisMessage",
            Self::AlwaysReturned { .. } => "AlwaysReturned",
            Self::PleaseSendContent { .. } => "PleaseSendContent",
            Self::Content { .. } => "Content",
            Self::MaybeTheyHaveSome { .. } => "MaybeTheyHaveSome",
            Self::MyPublicKey { .. } => "MyPublicKey",
            Self::SignedMessage { .. } => "SignedMessage",
            Self::PleaseListContent => "PleaseListContent",
            Self::ContentList { .. } => "ContentList",
            Self::PleaseListSupportedMessages => "PleaseListSupportedMessages",
            Self::SupportedMessages { .. } => "SupportedMessages",
            Self::EjtpSessions { .. } => "EjtpSessions",
            Self::Unknown { name, .. } => name,
        }
    }
}

impl Serialize for Cjp2pMessage {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut text = String::new();
        super::encode::write_element(self, &mut text);
        if matches!(self, Self::Unknown { .. }) {
            // A body we do not read must come back exactly as it came, and a JSON tree would
            // not keep it so (large integers become floats, spacing and key order change,
            // also inside the buffering of tagged enums such as `Event`): it is written as a
            // string holding the element's text. Known messages are objects, so the two
            // cannot be confused.
            return serializer.serialize_str(&text);
        }
        let value: Value = serde_json::from_str(&text).map_err(serde::ser::Error::custom)?;
        value.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Cjp2pMessage {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let parsed = match Value::deserialize(deserializer)? {
            Value::String(text) => serde_json::from_str::<&RawValue>(&text)
                .ok()
                .and_then(super::parse::parse_raw_element),
            value => super::parse::parse_element(&value),
        };
        parsed.ok_or_else(|| serde::de::Error::custom("not a CJP2P message"))
    }
}
