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
    // Sized once: content datagrams are tens of kilobytes, and growing a buffer that size
    // copies it several times over.
    let mut out = Bytes(Vec::with_capacity(datagram_len(messages)));
    out.text("[");
    for (i, message) in messages.iter().enumerate() {
        if i > 0 {
            out.text(",");
        }
        write_element_to(message, &mut out);
    }
    out.text("]");
    out.0
}

/// The length in bytes of one element as [`encode_datagram`] writes it (counted, not written:
/// a `Content` element's base64 is not produced to be measured).
#[must_use]
pub fn element_len(message: &Cjp2pMessage) -> usize {
    let mut counter = Counter(0);
    write_element_to(message, &mut counter);
    counter.0
}

/// The length of the datagram holding `messages`: brackets, elements and commas.
#[must_use]
pub fn datagram_len(messages: &[Cjp2pMessage]) -> usize {
    let elements: usize = messages.iter().map(element_len).sum();
    2 + elements + messages.len().saturating_sub(1)
}

/// Appends one element, `{"Name":{...}}`, to `out`.
pub fn write_element(message: &Cjp2pMessage, out: &mut String) {
    write_element_to(message, out);
}

/// Where an element is written: text, bytes, or only counted. One writer serves all three so
/// that the length [`element_len`] gives is the length [`encode_datagram`] writes.
trait Sink: Write {
    /// Appends text.
    fn text(&mut self, text: &str);
    /// Appends the padded base64 of `bytes`.
    fn base64(&mut self, bytes: &[u8]);
}

impl Sink for String {
    fn text(&mut self, text: &str) {
        self.push_str(text);
    }
    fn base64(&mut self, bytes: &[u8]) {
        base64::encode_into(bytes, self);
    }
}

/// A datagram being built as bytes: base64 is written in place, never checked as text.
struct Bytes(Vec<u8>);

impl Write for Bytes {
    fn write_str(&mut self, text: &str) -> core::fmt::Result {
        self.0.extend_from_slice(text.as_bytes());
        Ok(())
    }
}

impl Sink for Bytes {
    fn text(&mut self, text: &str) {
        self.0.extend_from_slice(text.as_bytes());
    }
    fn base64(&mut self, bytes: &[u8]) {
        base64::encode_to_vec(bytes, &mut self.0);
    }
}

/// Counts the bytes an element would take.
struct Counter(usize);

impl Write for Counter {
    fn write_str(&mut self, text: &str) -> core::fmt::Result {
        self.0 = self.0.saturating_add(text.len());
        Ok(())
    }
}

impl Sink for Counter {
    fn text(&mut self, text: &str) {
        self.0 = self.0.saturating_add(text.len());
    }
    fn base64(&mut self, bytes: &[u8]) {
        self.0 = self.0.saturating_add(base64::encoded_len(bytes.len()));
    }
}

fn write_element_to<S: Sink>(message: &Cjp2pMessage, out: &mut S) {
    out.text("{");
    write_str_to(message.name(), out);
    out.text(":");
    match message {
        Cjp2pMessage::PleaseSendPeers
        | Cjp2pMessage::PleaseListContent
        | Cjp2pMessage::PleaseListSupportedMessages => out.text("{}"),
        Cjp2pMessage::Peers { peers } => {
            out.text("{\"peers\":");
            write_addresses(peers, out);
            out.text("}");
        }
        Cjp2pMessage::PleaseReturnThisMessage { cookie }
        | Cjp2pMessage::ReturnedMessage { cookie } => {
            out.text("{\"cookie\":");
            write_str_to(cookie, out);
            out.text("}");
        }
        Cjp2pMessage::PleaseAlwaysReturnThisMessage { cookie }
        | Cjp2pMessage::AlwaysReturned { cookie } => match cookie {
            Cookie::Text(text) => {
                out.text("{\"cookie\":");
                write_str_to(text, out);
                out.text("}");
            }
            Cookie::Json(value) => write_value(value, out),
        },
        Cjp2pMessage::PleaseSendContent { id, offset, length } => {
            out.text("{\"id\":");
            write_str_to(id, out);
            let _ = write!(out, ",\"length\":{length},\"offset\":{offset}}}");
        }
        Cjp2pMessage::Content {
            id,
            offset,
            data,
            eof,
        } => {
            out.text("{\"id\":");
            write_str_to(id, out);
            let _ = write!(out, ",\"offset\":{offset},\"base64\":\"");
            out.base64(data);
            let _ = write!(out, "\",\"eof\":{eof}}}");
        }
        Cjp2pMessage::MaybeTheyHaveSome { id, peers } => {
            out.text("{\"id\":");
            write_str_to(id, out);
            out.text(",\"peers\":");
            write_addresses(peers, out);
            out.text("}");
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
            out.base64(signature);
            out.text("\",\"payload_json\":");
            write_str_to(payload_json, out);
            out.text("}");
        }
        Cjp2pMessage::ContentList { results } => {
            out.text("{\"results\":[");
            for (i, (id, size)) in results.iter().enumerate() {
                if i > 0 {
                    out.text(",");
                }
                out.text("[");
                write_str_to(id, out);
                let _ = write!(out, ",{size}]");
            }
            out.text("]}");
        }
        Cjp2pMessage::SupportedMessages { schema } => {
            out.text("{\"schema\":");
            write_value(schema, out);
            out.text("}");
        }
        Cjp2pMessage::EjtpSessions { max_request } => {
            let _ = write!(out, "{{\"max_request\":{max_request}}}");
        }
        Cjp2pMessage::Unknown { body, .. } => out.text(body.as_str()),
    }
    out.text("}");
}

fn write_addresses<S: Sink>(peers: &[SocketAddr], out: &mut S) {
    out.text("[");
    for (i, peer) in peers.iter().enumerate() {
        if i > 0 {
            out.text(",");
        }
        // `SocketAddr` displays as `ip:port` and `[v6]:port`: the wire form. No escaping needed.
        let _ = write!(out, "\"{peer}\"");
    }
    out.text("]");
}

fn write_value<S: Sink>(value: &Value, out: &mut S) {
    // A `Value` always serialises; "null" is only a fallback that cannot be reached.
    match serde_json::to_string(value) {
        Ok(text) => out.text(&text),
        Err(_) => out.text("null"),
    }
}

/// Writes `text` as a JSON string: quotes, backslashes and control characters escaped.
pub fn write_str(text: &str, out: &mut String) {
    write_str_to(text, out);
}

fn write_str_to<S: Sink>(text: &str, out: &mut S) {
    out.text("\"");
    // Runs of characters that need no escape are written whole.
    let mut rest = text;
    while let Some(at) = rest.find(|c: char| c == '"' || c == '\\' || u32::from(c) < 0x20) {
        let Some((plain, escaped)) = rest.split_at_checked(at) else {
            break;
        };
        out.text(plain);
        let mut chars = escaped.chars();
        match chars.next() {
            Some('"') => out.text("\\\""),
            Some('\\') => out.text("\\\\"),
            Some('\n') => out.text("\\n"),
            Some('\r') => out.text("\\r"),
            Some('\t') => out.text("\\t"),
            Some(c) => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            None => {}
        }
        rest = chars.as_str();
    }
    out.text(rest);
    out.text("\"");
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The first, character-at-a-time definition of [`write_str`].
    fn simple_write_str(text: &str, out: &mut String) {
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

    #[test]
    fn escapes_what_json_requires() {
        let mut out = String::new();
        write_str("a\"b\\c\nd\u{1}é", &mut out);
        assert_eq!(out, "\"a\\\"b\\\\c\\nd\\u0001é\"");
        assert_eq!(
            serde_json::from_str::<String>(&out).unwrap(),
            "a\"b\\c\nd\u{1}é"
        );
    }

    proptest! {
        /// Escaping by runs writes what escaping character by character wrote.
        #[test]
        fn escaping_matches_the_simple_definition(text in any::<String>()) {
            let (mut fast, mut simple) = (String::from("x"), String::from("x"));
            write_str(&text, &mut fast);
            simple_write_str(&text, &mut simple);
            prop_assert_eq!(fast, simple);
        }

        /// A content element written as bytes, as text and counted agree, and parse back.
        #[test]
        fn content_is_written_alike_everywhere(
            id in any::<String>(),
            offset in any::<u64>(),
            data in prop::collection::vec(any::<u8>(), 0..300),
            eof in any::<u64>(),
        ) {
            let message = Cjp2pMessage::Content { id, offset, data, eof };
            let mut text = String::new();
            write_element(&message, &mut text);
            let datagram = encode_datagram(core::slice::from_ref(&message));
            prop_assert_eq!(datagram.get(1..datagram.len() - 1), Some(text.as_bytes()));
            prop_assert_eq!(element_len(&message), text.len());
            prop_assert_eq!(datagram_len(core::slice::from_ref(&message)), datagram.len());
        }
    }
}
