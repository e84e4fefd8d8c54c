//! Writing CJP2P datagrams exactly as the public node writes and accepts them.
//!
//! Field names and order follow the public node (`Content` is `id, offset, base64, eof`;
//! `PleaseSendContent` is `id, length, offset`), integers are plain decimal, base64 is standard
//! and padded, addresses are `ip:port` or `[v6]:port`, keys 64 lowercase hex digits. No
//! whitespace. Text is written as UTF-8 with only the escapes JSON requires.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;
use core::net::SocketAddr;

use serde_json::Value;

use super::base64;
use super::message::{Cjp2pMessage, Cookie};

/// The datagram (a JSON array) holding `messages` in order.
#[must_use]
pub fn encode_datagram(messages: &[Cjp2pMessage]) -> Vec<u8> {
    let mut out = String::from("[");
    for (i, message) in messages.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_element(message, &mut out);
    }
    out.push(']');
    out.into_bytes()
}

/// The length in bytes of one element as [`encode_datagram`] writes it.
#[must_use]
pub fn element_len(message: &Cjp2pMessage) -> usize {
    let mut out = String::new();
    write_element(message, &mut out);
    out.len()
}

/// The length of the datagram holding `messages`: brackets, elements and commas.
#[must_use]
pub fn datagram_len(messages: &[Cjp2pMessage]) -> usize {
    let elements: usize = messages.iter().map(element_len).sum();
    2 + elements + messages.len().saturating_sub(1)
}

/// Appends one element, `{"Name":{...}}`, to `out`.
pub fn write_element(message: &Cjp2pMessage, out: &mut String) {
    out.push('{');
    write_str(message.name(), out);
    out.push(':');
    match message {
        Cjp2pMessage::PleaseSendPeers
        | Cjp2pMessage::PleaseListContent
        | Cjp2pMessage::PleaseListSupportedMessages => out.push_str("{}"),
        Cjp2pMessage::Peers { peers } => {
            out.push_str("{\"peers\":");
            write_addresses(peers, out);
            out.push('}');
        }
        Cjp2pMessage::PleaseReturnThisMessage { cookie }
        | Cjp2pMessage::ReturnedMessage { cookie } => {
            out.push_str("{\"cookie\":");
            write_str(cookie, out);
            out.push('}');
        }
        Cjp2pMessage::PleaseAlwaysReturnThisMessage { cookie }
        | Cjp2pMessage::AlwaysReturned { cookie } => match cookie {
            Cookie::Text(text) => {
                out.push_str("{\"cookie\":");
                write_str(text, out);
                out.push('}');
            }
            Cookie::Json(value) => write_value(value, out),
        },
        Cjp2pMessage::PleaseSendContent { id, offset, length } => {
            out.push_str("{\"id\":");
            write_str(id, out);
            let _ = write!(out, ",\"length\":{length},\"offset\":{offset}}}");
        }
        Cjp2pMessage::Content {
            id,
            offset,
            data,
            eof,
        } => {
            out.push_str("{\"id\":");
            write_str(id, out);
            let _ = write!(out, ",\"offset\":{offset},\"base64\":\"");
            base64::encode_into(data, out);
            let _ = write!(out, "\",\"eof\":{eof}}}");
        }
        Cjp2pMessage::MaybeTheyHaveSome { id, peers } => {
            out.push_str("{\"id\":");
            write_str(id, out);
            out.push_str(",\"peers\":");
            write_addresses(peers, out);
            out.push('}');
        }
        Cjp2pMessage::MyPublicKey { key } => {
            let _ = write!(out, "{{\"ed25519h\":\"{key}\"}}");
        }
        Cjp2pMessage::SignedMessage {
            key,
            signature,
            payload_json,
        } => {
            let _ = write!(out, "{{\"ed25519\":\"{key}\",\"signature\":\"");
            base64::encode_into(signature, out);
            out.push_str("\",\"payload_json\":");
            write_str(payload_json, out);
            out.push('}');
        }
        Cjp2pMessage::ContentList { results } => {
            out.push_str("{\"results\":[");
            for (i, (id, size)) in results.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push('[');
                write_str(id, out);
                let _ = write!(out, ",{size}]");
            }
            out.push_str("]}");
        }
        Cjp2pMessage::SupportedMessages { schema } => {
            out.push_str("{\"schema\":");
            write_value(schema, out);
            out.push('}');
        }
        Cjp2pMessage::EjtpSessions { max_request } => {
            let _ = write!(out, "{{\"max_request\":{max_request}}}");
        }
        Cjp2pMessage::Unknown { body, .. } => write_value(body, out),
    }
    out.push('}');
}

fn write_addresses(peers: &[SocketAddr], out: &mut String) {
    out.push('[');
    for (i, peer) in peers.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        // `SocketAddr` displays as `ip:port` and `[v6]:port`: the wire form. No escaping needed.
        let _ = write!(out, "\"{peer}\"");
    }
    out.push(']');
}

fn write_value(value: &Value, out: &mut String) {
    // A `Value` always serialises; "null" is only a fallback that cannot be reached.
    match serde_json::to_string(value) {
        Ok(text) => out.push_str(&text),
        Err(_) => out.push_str("null"),
    }
}

/// Writes `text` as a JSON string: quotes, backslashes and control characters escaped.
pub fn write_str(text: &str, out: &mut String) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}
