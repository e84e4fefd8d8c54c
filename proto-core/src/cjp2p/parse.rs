//! Reading CJP2P datagrams: tolerant per element, strict about bounds.
//!
//! A datagram that is not a JSON array is an error (the public node does not answer it). Inside
//! the array, an element that does not parse (unknown shape, float or negative integer, missing
//! field, `null` body) is skipped and counted, and the others are still handled. Unknown fields
//! are ignored. Unknown message names are kept as [`Cjp2pMessage::Unknown`].

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use core::net::SocketAddr;

use alloc::collections::BTreeMap;

use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::base64;
use super::message::{Cjp2pMessage, Cookie};
use super::raw_json::RawJson;
use crate::identity::PublicKey;

/// Largest datagram parsed, in bytes: the public node's receive buffer.
pub const MAX_DATAGRAM_LEN: usize = 65_536;

/// Deepest JSON nesting accepted in a datagram (the array is level 1). The public node's own
/// schema, the deepest thing seen on the wire, nests 8 levels.
pub const MAX_DEPTH: usize = 32;

/// Why a datagram was not read at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Cjp2pError {
    /// Longer than [`MAX_DATAGRAM_LEN`].
    TooLarge,
    /// Not one well-formed JSON value.
    NotJson,
    /// JSON, but not an array.
    NotArray,
    /// More elements than the configured maximum.
    TooManyElements,
    /// Nested deeper than [`MAX_DEPTH`].
    TooDeep,
}

impl fmt::Display for Cjp2pError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::TooLarge => "CJP2P datagram too large",
            Self::NotJson => "CJP2P datagram is not JSON",
            Self::NotArray => "CJP2P datagram is not a JSON array",
            Self::TooManyElements => "CJP2P datagram has too many elements",
            Self::TooDeep => "CJP2P datagram nests too deeply",
        })
    }
}

impl core::error::Error for Cjp2pError {}

/// A datagram read: the messages that parsed, in order, and how many elements did not.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    /// The messages, in datagram order.
    pub messages: Vec<Cjp2pMessage>,
    /// Elements skipped because they did not parse.
    pub skipped: usize,
}

/// Reads one datagram of at most `max_elements` elements.
///
/// # Errors
/// [`Cjp2pError`] when the datagram as a whole cannot be read; bad elements are not errors.
pub fn parse_datagram(bytes: &[u8], max_elements: usize) -> Result<Parsed, Cjp2pError> {
    if bytes.len() > MAX_DATAGRAM_LEN {
        return Err(Cjp2pError::TooLarge);
    }
    // The datagrams of a transfer, exactly as nodes write them, without building a JSON tree;
    // anything else (or anything unexpected in them) is read by the general path below.
    if let Some(parsed) = super::parse_fast::parse(bytes, max_elements) {
        return Ok(parsed);
    }
    parse_general(bytes, max_elements)
}

/// [`parse_datagram`] without its fast path for transfer datagrams: every datagram read through
/// a JSON tree. Gives the same result as [`parse_datagram`] on every input (the tests check it
/// on arbitrary ones); it is here so that they can.
///
/// # Errors
/// As [`parse_datagram`].
pub fn parse_general(bytes: &[u8], max_elements: usize) -> Result<Parsed, Cjp2pError> {
    if bytes.len() > MAX_DATAGRAM_LEN {
        return Err(Cjp2pError::TooLarge);
    }
    // serde_json stops at 128 levels by itself, so this cannot overflow the stack; the tighter
    // depth bound below is what this protocol needs.
    let value: Value = serde_json::from_slice(bytes).map_err(|_| Cjp2pError::NotJson)?;
    let Value::Array(elements) = value else {
        return Err(Cjp2pError::NotArray);
    };
    if elements.len() > max_elements {
        return Err(Cjp2pError::TooManyElements);
    }
    if elements.iter().any(|element| too_deep(element, 2)) {
        return Err(Cjp2pError::TooDeep);
    }
    let mut parsed = Parsed::default();
    // The elements' text, read only once an unknown message needs its body kept exactly.
    let mut texts: Option<Vec<&RawValue>> = None;
    for (index, element) in elements.iter().enumerate() {
        match parse_element(element) {
            Some(mut message) => {
                if let Cjp2pMessage::Unknown { body, .. } = &mut message {
                    // `bytes` parsed as an array of values above, so this parse succeeds too.
                    let texts = texts
                        .get_or_insert_with(|| serde_json::from_slice(bytes).unwrap_or_default());
                    if let Some(exact) = texts.get(index).and_then(|text| body_as_sent(text)) {
                        *body = exact;
                    }
                }
                parsed.messages.push(message);
            }
            None => parsed.skipped += 1,
        }
    }
    Ok(parsed)
}

/// The body of a one-key element, as the text that arrived: read through a `Value`, numbers
/// and spacing would be re-encoded. On repeated keys the last wins, as in a `Value`.
fn body_as_sent(element: &RawValue) -> Option<RawJson> {
    let fields: BTreeMap<String, &RawValue> = serde_json::from_str(element.get()).ok()?;
    let (_, body) = fields.into_iter().next_back()?;
    Some(RawJson::from_raw(body))
}

/// Reads one element given as JSON text, keeping an unknown message's body exactly as
/// written; `None` if it does not parse.
#[must_use]
pub fn parse_raw_element(element: &RawValue) -> Option<Cjp2pMessage> {
    let value: Value = serde_json::from_str(element.get()).ok()?;
    if too_deep(&value, 2) {
        return None;
    }
    match parse_element(&value)? {
        Cjp2pMessage::Unknown { name, .. } => Some(Cjp2pMessage::Unknown {
            name,
            body: body_as_sent(element)?,
        }),
        message => Some(message),
    }
}

fn too_deep(value: &Value, depth: usize) -> bool {
    if depth > MAX_DEPTH {
        return true;
    }
    match value {
        Value::Array(items) => items.iter().any(|item| too_deep(item, depth + 1)),
        Value::Object(map) => map.values().any(|item| too_deep(item, depth + 1)),
        _ => false,
    }
}

/// Reads one element (`{"Name":{...}}`), or `None` if it does not parse.
#[must_use]
pub fn parse_element(element: &Value) -> Option<Cjp2pMessage> {
    let Value::Object(map) = element else {
        return None;
    };
    let mut entries = map.iter();
    let (name, body) = entries.next()?;
    if entries.next().is_some() {
        return None;
    }
    parse_body(name, body)
}

fn parse_body(name: &str, body: &Value) -> Option<Cjp2pMessage> {
    let message = match name {
        "PleaseSendPeers" => {
            body.as_object()?;
            Cjp2pMessage::PleaseSendPeers
        }
        "Peers" => Cjp2pMessage::Peers {
            peers: addresses(body.as_object()?.get("peers")?)?,
        },
        "PleaseReturnThisMessage" => Cjp2pMessage::PleaseReturnThisMessage {
            cookie: string(body.as_object()?, "cookie")?,
        },
        "ReturnedMessage" => Cjp2pMessage::ReturnedMessage {
            cookie: string(body.as_object()?, "cookie")?,
        },
        "PleaseAlwaysReturnThisMessage" => Cjp2pMessage::PleaseAlwaysReturnThisMessage {
            cookie: cookie(body)?,
        },
        "AlwaysReturned" => Cjp2pMessage::AlwaysReturned {
            cookie: cookie(body)?,
        },
        "PleaseSendContent" => {
            let fields = body.as_object()?;
            Cjp2pMessage::PleaseSendContent {
                id: string(fields, "id")?,
                offset: fields.get("offset")?.as_u64()?,
                length: fields.get("length")?.as_u64()?,
            }
        }
        "Content" => {
            let fields = body.as_object()?;
            Cjp2pMessage::Content {
                id: string(fields, "id")?,
                offset: fields.get("offset")?.as_u64()?,
                data: base64::decode(fields.get("base64")?.as_str()?).ok()?,
                eof: fields.get("eof")?.as_u64()?,
            }
        }
        "MaybeTheyHaveSome" => {
            let fields = body.as_object()?;
            Cjp2pMessage::MaybeTheyHaveSome {
                id: string(fields, "id")?,
                peers: addresses(fields.get("peers")?)?,
            }
        }
        "MyPublicKey" => Cjp2pMessage::MyPublicKey {
            key: key(body.as_object()?, "ed25519h")?,
        },
        "SignedMessage" => {
            let fields = body.as_object()?;
            let signature = base64::decode(fields.get("signature")?.as_str()?).ok()?;
            Cjp2pMessage::SignedMessage {
                key: key(fields, "ed25519")?,
                signature: signature.try_into().ok()?,
                payload_json: string(fields, "payload_json")?,
            }
        }
        "PleaseListContent" => {
            body.as_object()?;
            Cjp2pMessage::PleaseListContent
        }
        "ContentList" => Cjp2pMessage::ContentList {
            results: content_list(body.as_object()?.get("results")?)?,
        },
        "PleaseListSupportedMessages" => {
            body.as_object()?;
            Cjp2pMessage::PleaseListSupportedMessages
        }
        "SupportedMessages" => Cjp2pMessage::SupportedMessages {
            schema: body.as_object()?.get("schema")?.clone(),
        },
        "EjtpSessions" => Cjp2pMessage::EjtpSessions {
            max_request: body.as_object()?.get("max_request")?.as_u64()?,
        },
        _ => Cjp2pMessage::Unknown {
            name: name.to_string(),
            body: RawJson::from(body),
        },
    };
    Some(message)
}

fn string(fields: &Map<String, Value>, name: &str) -> Option<String> {
    fields.get(name)?.as_str().map(ToString::to_string)
}

fn key(fields: &Map<String, Value>, name: &str) -> Option<PublicKey> {
    fields.get(name)?.as_str()?.parse().ok()
}

/// A list of address strings. Entries that are strings but not socket addresses (a host name,
/// garbage) are left out rather than failing the element: the rest are still useful.
fn addresses(value: &Value) -> Option<Vec<SocketAddr>> {
    let mut out = Vec::new();
    for item in value.as_array()? {
        if let Ok(addr) = item.as_str()?.parse::<SocketAddr>() {
            out.push(addr);
        }
    }
    Some(out)
}

fn content_list(value: &Value) -> Option<Vec<(String, u64)>> {
    value
        .as_array()?
        .iter()
        .map(|entry| match entry.as_array()?.as_slice() {
            [id, size] => Some((id.as_str()?.to_string(), size.as_u64()?)),
            _ => None,
        })
        .collect()
}

fn cookie(body: &Value) -> Option<Cookie> {
    if let Some(text) = body
        .as_object()
        .and_then(|fields| fields.get("cookie"))
        .and_then(Value::as_str)
    {
        return Some(Cookie::Text(text.to_string()));
    }
    match body {
        Value::Null => None,
        other => Some(Cookie::Json(other.clone())),
    }
}
