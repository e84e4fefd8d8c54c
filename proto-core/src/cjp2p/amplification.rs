//! The amplification rule: a source that has not proved its address gets small answers.
//!
//! A datagram is *unverified* when it does not return our cookie for its source IP: its source
//! address may be forged, and a large answer would then hit a victim. To it we answer at most
//! three times its own size, ending with our cookie so that a genuine peer can prove itself in
//! its next datagram.

use alloc::vec::Vec;

use super::encode::datagram_len;
use super::message::Cjp2pMessage;

/// How many times the size of an unverified datagram its reply may be.
pub const AMPLIFICATION_FACTOR: usize = 3;
/// Most content bytes in one `Content` sent to an unverified source.
pub const UNVERIFIED_CONTENT_BYTES: usize = 32;
/// Most addresses in one `Peers` sent to an unverified source.
pub const UNVERIFIED_PEERS: usize = 1;
/// Most addresses in one `MaybeTheyHaveSome` sent to an unverified source.
pub const UNVERIFIED_MAYBE_PEERS: usize = 3;
/// Most entries in one `ContentList` sent to an unverified source.
pub const UNVERIFIED_CONTENT_LIST: usize = 1;

/// Shrinks one answer to what an unverified source may get.
pub fn shrink_for_unverified(message: &mut Cjp2pMessage) {
    match message {
        Cjp2pMessage::Content { data, .. } => data.truncate(UNVERIFIED_CONTENT_BYTES),
        Cjp2pMessage::Peers { peers } => peers.truncate(UNVERIFIED_PEERS),
        Cjp2pMessage::MaybeTheyHaveSome { peers, .. } => peers.truncate(UNVERIFIED_MAYBE_PEERS),
        Cjp2pMessage::ContentList { results } => results.truncate(UNVERIFIED_CONTENT_LIST),
        _ => {}
    }
}

/// The reply to an unverified datagram of `request_len` bytes: `echo` (the source's own cookie,
/// if any) first, then the `answers` shrunk, then `our_cookie`; elements are dropped from the
/// end of the answers, then the echo, until the datagram is at most
/// [`AMPLIFICATION_FACTOR`] times `request_len`. If even our cookie alone is too large, the
/// reply is empty: nothing is sent.
#[must_use]
pub fn limit_unverified_reply(
    mut answers: Vec<Cjp2pMessage>,
    echo: Option<Cjp2pMessage>,
    our_cookie: Cjp2pMessage,
    request_len: usize,
) -> Vec<Cjp2pMessage> {
    answers.iter_mut().for_each(shrink_for_unverified);
    let budget = request_len.saturating_mul(AMPLIFICATION_FACTOR);
    let mut reply: Vec<Cjp2pMessage> = echo.into_iter().collect();
    let echo_len = reply.len();
    reply.append(&mut answers);
    reply.push(our_cookie);
    // Drop answers (just before our cookie), then the echo, until the reply fits.
    while datagram_len(&reply) > budget && reply.len() > 1 {
        let before_cookie = reply.len() - 2;
        if before_cookie >= echo_len {
            reply.remove(before_cookie);
        } else {
            reply.remove(0);
        }
    }
    if datagram_len(&reply) > budget {
        reply.clear();
    }
    reply
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cjp2p::encode::encode_datagram;
    use crate::cjp2p::message::Cookie;
    use alloc::string::ToString;
    use alloc::vec;

    fn cookie() -> Cjp2pMessage {
        Cjp2pMessage::PleaseAlwaysReturnThisMessage {
            cookie: Cookie::Text("0123456789abcdef".to_string()),
        }
    }

    #[test]
    fn content_is_cut_to_32_bytes_and_the_reply_ends_with_our_cookie() {
        let answers = vec![Cjp2pMessage::Content {
            id: "ab".repeat(32),
            offset: 0,
            data: vec![7; 4096],
            eof: 10_000,
        }];
        let reply = limit_unverified_reply(answers, None, cookie(), 124);
        assert_eq!(reply.len(), 2);
        assert!(matches!(&reply[0], Cjp2pMessage::Content { data, .. } if data.len() == 32));
        assert_eq!(reply[1], cookie());
        assert!(encode_datagram(&reply).len() <= 3 * 124);
    }

    #[test]
    fn a_tiny_request_gets_nothing_when_even_the_cookie_is_too_large() {
        let reply = limit_unverified_reply(vec![Cjp2pMessage::PleaseSendPeers], None, cookie(), 2);
        assert!(reply.is_empty());
    }
}
