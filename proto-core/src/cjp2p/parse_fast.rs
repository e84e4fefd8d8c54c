//! A fast path for the datagrams nodes exchange most: content requests and answers, cookies.
//!
//! The general parser ([`parse_datagram`](super::parse_datagram)) builds a `serde_json::Value`
//! of the whole datagram first, copying every string, before reading the messages out of it;
//! for a `Content` answer that is tens of kilobytes of base64 copied, then decoded. This reads
//! the exact bytes [`encode_datagram`](super::encode_datagram) writes for the few messages of a
//! transfer, decoding base64 straight from the datagram, and gives up (`None`) at the first
//! byte that is anything else: whitespace, an escape, another field order, a number JSON would
//! read differently, a message it does not know, base64 that does not decode, too many
//! elements. The general parser then reads the datagram as before. So whatever this accepts is
//! a datagram the general parser reads to the same messages, and everything else still goes
//! through the one tolerant path.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use super::base64;
use super::message::{Cjp2pMessage, Cookie};
use super::parse::Parsed;

/// What is left of the datagram to read.
struct Cursor<'a> {
    rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    /// Steps over `literal`, or `None` if the datagram does not continue with it.
    fn eat(&mut self, literal: &[u8]) -> Option<()> {
        self.rest = self.rest.strip_prefix(literal)?;
        Some(())
    }

    /// The raw bytes of a JSON string with no escapes and no control characters.
    fn raw_string(&mut self) -> Option<&'a [u8]> {
        let rest = self.rest.strip_prefix(b"\"")?;
        let end = rest.iter().position(|byte| *byte == b'"')?;
        let (text, after) = rest.split_at_checked(end)?;
        // An escape would make the JSON string differ from its bytes; a control character
        // makes it no JSON at all.
        if text.iter().any(|byte| *byte == b'\\' || *byte < 0x20) {
            return None;
        }
        self.rest = after.get(1..)?;
        Some(text)
    }

    /// The raw bytes between the quotes of a JSON string, found a word at a time and not
    /// checked: for base64, whose decoder refuses every byte outside its alphabet, so an escape
    /// or a control character inside makes the decoding fail and the datagram go to the
    /// general path.
    fn unchecked_string(&mut self) -> Option<&'a [u8]> {
        let rest = self.rest.strip_prefix(b"\"")?;
        let (text, after) = rest.split_at_checked(find_quote(rest)?)?;
        self.rest = after.get(1..)?;
        Some(text)
    }

    /// A JSON string with no escapes, as text.
    fn string(&mut self) -> Option<&'a str> {
        core::str::from_utf8(self.raw_string()?).ok()
    }

    /// A JSON integer that fits a `u64`, written as JSON requires (no sign, no leading zero).
    /// What follows it is checked by the next [`eat`](Self::eat): a fraction or exponent
    /// does not match the `,` or `}` expected there.
    fn number(&mut self) -> Option<u64> {
        let digits = self
            .rest
            .iter()
            .position(|byte| !byte.is_ascii_digit())
            .unwrap_or(self.rest.len());
        let (text, after) = self.rest.split_at_checked(digits)?;
        if text.is_empty() || (text.len() > 1 && text.first() == Some(&b'0')) {
            return None;
        }
        let mut value = 0u64;
        for digit in text {
            value = value
                .checked_mul(10)?
                .checked_add(u64::from(digit - b'0'))?;
        }
        self.rest = after;
        Some(value)
    }
}

/// Where the first `"` in `bytes` is. Eight bytes at a time: base64 text is kilobytes long.
fn find_quote(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    const QUOTES: u64 = ONES * b'"' as u64;
    let mut words = bytes.chunks_exact(8);
    let mut start = 0usize;
    for word in &mut words {
        let word = u64::from_le_bytes(word.try_into().ok()?);
        // A zero byte of `word ^ QUOTES` is a quote. The classic test flags the lowest zero
        // byte exactly (a false flag only appears above a true one), and little-endian order
        // makes the lowest byte the first.
        let spread = word ^ QUOTES;
        let flags = spread.wrapping_sub(ONES) & !spread & HIGHS;
        if flags != 0 {
            return Some(start + (flags.trailing_zeros() / 8) as usize);
        }
        start += 8;
    }
    let tail = words.remainder().iter().position(|byte| *byte == b'"')?;
    Some(start + tail)
}

/// The datagram's messages if it is made only of elements this path knows, exactly as this
/// node writes them; `None` sends it to the general parser.
pub(super) fn parse(bytes: &[u8], max_elements: usize) -> Option<Parsed> {
    let mut cursor = Cursor { rest: bytes };
    cursor.eat(b"[")?;
    let mut messages = Vec::new();
    if cursor.eat(b"]").is_none() {
        loop {
            if messages.len() >= max_elements {
                return None;
            }
            messages.push(element(&mut cursor)?);
            if cursor.eat(b",").is_none() {
                cursor.eat(b"]")?;
                break;
            }
        }
    }
    if !cursor.rest.is_empty() {
        return None;
    }
    Some(Parsed {
        messages,
        skipped: 0,
    })
}

/// One element, `{"Name":{...}}`, of a kind this path knows.
fn element(cursor: &mut Cursor<'_>) -> Option<Cjp2pMessage> {
    cursor.eat(b"{")?;
    let name = cursor.string()?;
    cursor.eat(b":{")?;
    let message = match name {
        "Content" => {
            cursor.eat(b"\"id\":")?;
            let id = cursor.string()?.to_string();
            cursor.eat(b",\"offset\":")?;
            let offset = cursor.number()?;
            cursor.eat(b",\"base64\":")?;
            let data = base64::decode_bytes(cursor.unchecked_string()?).ok()?;
            cursor.eat(b",\"eof\":")?;
            let eof = cursor.number()?;
            Cjp2pMessage::Content {
                id,
                offset,
                data,
                eof,
            }
        }
        "PleaseSendContent" => {
            cursor.eat(b"\"id\":")?;
            let id = cursor.string()?.to_string();
            cursor.eat(b",\"length\":")?;
            let length = cursor.number()?;
            cursor.eat(b",\"offset\":")?;
            let offset = cursor.number()?;
            Cjp2pMessage::PleaseSendContent { id, offset, length }
        }
        "AlwaysReturned" => Cjp2pMessage::AlwaysReturned {
            cookie: Cookie::Text(cookie(cursor)?),
        },
        "PleaseAlwaysReturnThisMessage" => Cjp2pMessage::PleaseAlwaysReturnThisMessage {
            cookie: Cookie::Text(cookie(cursor)?),
        },
        "PleaseReturnThisMessage" => Cjp2pMessage::PleaseReturnThisMessage {
            cookie: cookie(cursor)?,
        },
        "ReturnedMessage" => Cjp2pMessage::ReturnedMessage {
            cookie: cookie(cursor)?,
        },
        "PleaseSendPeers" => Cjp2pMessage::PleaseSendPeers,
        "PleaseListContent" => Cjp2pMessage::PleaseListContent,
        "PleaseListSupportedMessages" => Cjp2pMessage::PleaseListSupportedMessages,
        _ => return None,
    };
    cursor.eat(b"}}")?;
    Some(message)
}

/// The body `{"cookie":"<text>"}` after its opening brace, up to its closing one.
fn cookie(cursor: &mut Cursor<'_>) -> Option<String> {
    cursor.eat(b"\"cookie\":")?;
    Some(cursor.string()?.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cjp2p::encode_datagram;
    use crate::cjp2p::parse::{parse_datagram, parse_general};
    use alloc::vec;
    use proptest::prelude::*;

    fn content(id: &str, data: &[u8]) -> Cjp2pMessage {
        Cjp2pMessage::Content {
            id: id.to_string(),
            offset: 4096,
            data: data.to_vec(),
            eof: 1 << 40,
        }
    }

    proptest! {
        /// The word-at-a-time search finds what a byte-at-a-time one finds.
        #[test]
        fn quotes_are_found_where_they_are(
            bytes in prop::collection::vec(prop_oneof![1 => Just(b'"'), 12 => any::<u8>()], 0..40),
        ) {
            prop_assert_eq!(find_quote(&bytes), bytes.iter().position(|b| *b == b'"'));
        }
    }

    #[test]
    fn a_transfer_datagram_takes_the_fast_path() {
        let messages = vec![
            Cjp2pMessage::AlwaysReturned {
                cookie: Cookie::Text("0123456789abcdef".to_string()),
            },
            content(&"ab".repeat(32), &[7; 4096]),
            Cjp2pMessage::PleaseSendContent {
                id: "ab".repeat(32),
                offset: 0,
                length: 40_960,
            },
            Cjp2pMessage::PleaseSendPeers,
        ];
        let datagram = encode_datagram(&messages);
        let parsed = parse(&datagram, 16).unwrap();
        assert_eq!(parsed.messages, messages);
        assert_eq!(parse(b"[]", 16).unwrap().messages, []);
    }

    #[test]
    fn anything_unexpected_goes_to_the_general_path() {
        for datagram in [
            &br#"[{"Content":{"id":"a","offset":01,"base64":"","eof":1}}]"#[..],
            br#"[{"Content":{"id":"a","offset":1.0,"base64":"","eof":1}}]"#,
            br#"[{"Content":{"id":"a","offset":18446744073709551616,"base64":"","eof":1}}]"#,
            br#"[{"Content":{"id":"a","offset":-1,"base64":"","eof":1}}]"#,
            br#"[{"Content":{"id":"a","offset":1,"base64":"Zg\/=","eof":1}}]"#,
            br#"[{"Content":{"id":"a","offset":1,"base64":"Z","eof":1}}]"#,
            br#"[{"Content":{"id":"\u0061","offset":1,"base64":"","eof":1}}]"#,
            br#"[{"Content":{"offset":1,"id":"a","base64":"","eof":1}}]"#,
            br#"[{"Content":{"id":"a","offset":1,"base64":"","eof":1,"x":2}}]"#,
            br#"[{"Content":{"id":"a","offset":1,"base64":"","eof":1}} ]"#,
            br#"[{"Content":{"id":"a","offset":1,"base64":"","eof":1}}] "#,
            br#"[{"Content":{"id":"a","offset":1,"base64":"","eof":1}},]"#,
            br#"[{"Peers":{"peers":[]}}]"#,
            br#"[{"AlwaysReturned":{"cookie":{"x":1}}}]"#,
            b"[",
            b"",
        ] {
            assert_eq!(
                parse(datagram, 16),
                None,
                "{}",
                String::from_utf8_lossy(datagram)
            );
        }
        // Over the element bound: the general path says why.
        let datagram = encode_datagram(&[
            Cjp2pMessage::PleaseSendPeers,
            Cjp2pMessage::PleaseListContent,
        ]);
        assert_eq!(parse(&datagram, 1), None);
        assert!(parse_datagram(&datagram, 1).is_err());
    }

    /// Text the fast path takes, and text it must hand over (escapes, controls, quotes).
    fn text() -> impl Strategy<Value = String> {
        prop_oneof!["[0-9a-f]{0,64}", ".{0,6}", "[a\"\\\\\u{1}\u{7f}é/]{0,4}",]
    }

    fn message() -> impl Strategy<Value = Cjp2pMessage> {
        let number = prop_oneof![any::<u64>(), 0..10u64];
        prop_oneof![
            (
                text(),
                number.clone(),
                prop::collection::vec(any::<u8>(), 0..40),
                number.clone()
            )
                .prop_map(|(id, offset, data, eof)| Cjp2pMessage::Content {
                    id,
                    offset,
                    data,
                    eof
                }),
            (text(), number.clone(), number).prop_map(|(id, offset, length)| {
                Cjp2pMessage::PleaseSendContent { id, offset, length }
            }),
            text().prop_map(|t| Cjp2pMessage::AlwaysReturned {
                cookie: Cookie::Text(t)
            }),
            text().prop_map(|t| Cjp2pMessage::PleaseAlwaysReturnThisMessage {
                cookie: Cookie::Text(t)
            }),
            text().prop_map(|cookie| Cjp2pMessage::PleaseReturnThisMessage { cookie }),
            text().prop_map(|cookie| Cjp2pMessage::ReturnedMessage { cookie }),
            Just(Cjp2pMessage::PleaseSendPeers),
            Just(Cjp2pMessage::PleaseListContent),
            Just(Cjp2pMessage::PleaseListSupportedMessages),
            Just(Cjp2pMessage::Peers { peers: vec![] }),
            Just(Cjp2pMessage::AlwaysReturned {
                cookie: Cookie::Json(serde_json::json!([1]))
            }),
        ]
    }

    /// A change to a datagram: a byte replaced, inserted or removed, at a position anywhere or
    /// just after a `:` or `,` (where values and names start, where one byte most often
    /// changes what JSON reads).
    #[derive(Clone, Debug)]
    struct Edit {
        kind: u8,
        at: usize,
        anchored: bool,
        byte: u8,
    }

    fn edit() -> impl Strategy<Value = Edit> {
        let byte = prop_oneof![
            2 => Just(b'0'),
            3 => prop::sample::select(b"-.eE\\\" ".to_vec()),
            2 => prop::sample::select(b"[]{},:123456789=AZaz+/".to_vec()),
            1 => any::<u8>(),
        ];
        (0..3u8, any::<usize>(), any::<bool>(), byte).prop_map(|(kind, at, anchored, byte)| Edit {
            kind,
            at,
            anchored,
            byte,
        })
    }

    fn apply(datagram: &mut Vec<u8>, edit: &Edit) {
        let anchors: Vec<usize> = datagram
            .iter()
            .enumerate()
            .filter(|(_, b)| b":,".contains(b))
            .map(|(i, _)| i + 1)
            .collect();
        let len = datagram.len();
        let at = match (edit.anchored, anchors.len()) {
            (true, n) if n > 0 => anchors[edit.at % n],
            _ => edit.at % (len + 1),
        };
        match edit.kind {
            0 if at < len => datagram[at] = edit.byte,
            1 => datagram.insert(at, edit.byte),
            2 if at < len => {
                datagram.remove(at);
            }
            _ => {}
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        /// On datagrams of arbitrary messages, the fast path (when it answers) and the whole
        /// parser give what the general path gives, and transfer datagrams do take it.
        #[test]
        fn encoded_messages_parse_alike(
            messages in prop::collection::vec(message(), 0..6),
            max in 0usize..8,
        ) {
            let datagram = encode_datagram(&messages);
            let general = parse_general(&datagram, max);
            if let Some(fast) = parse(&datagram, max) {
                prop_assert_eq!(&Ok(fast), &general);
            }
            prop_assert_eq!(parse_datagram(&datagram, max), general);
            let plain = messages.iter().all(|m| match m {
                Cjp2pMessage::Content { id, .. } | Cjp2pMessage::PleaseSendContent { id, .. } => {
                    id.bytes().all(|b| b.is_ascii_alphanumeric())
                }
                _ => false,
            });
            if plain && messages.len() <= max {
                prop_assert!(parse(&datagram, max).is_some());
            }
        }

        /// The same after edits that break the exact form in every way one byte can: the
        /// fast path never accepts what the general path reads differently or refuses.
        #[test]
        fn edited_datagrams_parse_alike(
            messages in prop::collection::vec(message(), 1..4),
            edits in prop::collection::vec(edit(), 1..4),
        ) {
            let mut datagram = encode_datagram(&messages);
            for edit in &edits {
                apply(&mut datagram, edit);
            }
            let general = parse_general(&datagram, 8);
            if let Some(fast) = parse(&datagram, 8) {
                prop_assert_eq!(&Ok(fast), &general);
            }
            prop_assert_eq!(parse_datagram(&datagram, 8), general);
        }

        /// And on arbitrary bytes, behind a `[` or not.
        #[test]
        fn arbitrary_bytes_parse_alike(mut data in prop::collection::vec(any::<u8>(), 0..256), bracket in any::<bool>()) {
            if bracket {
                data.insert(0, b'[');
            }
            prop_assert_eq!(parse_datagram(&data, 8), parse_general(&data, 8));
        }
    }
}
