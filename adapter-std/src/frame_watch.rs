//! Where the frames of a TCP stream begin and end, as far as the poll loop needs to know for its
//! timers: when the frame now arriving began, and whether one has completed.
//!
//! The node decodes the stream itself ([`ejtp_proto::stream::StreamDecoder`], which holds the
//! bytes); this only follows the length prefixes and skips the bodies, so it holds a few
//! integers, whatever the peer sends. It refuses nothing the decoder accepts (the same
//! lowercase hex, no leading zero, at most the node's `max_frame_len`), so refusing a stream
//! here never cuts one the node would have taken.

use std::time::Instant;

/// Why a stream's framing cannot be followed: the connection is closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BadFraming {
    /// The prefix announces a frame longer than the node accepts (the bytes announced so far
    /// already make it longer, so the rest is not waited for).
    Oversized,
    /// The prefix is not a length: a byte other than a lowercase hex digit, a leading zero, or
    /// no digit before its `.`.
    Malformed,
}

#[derive(Clone, Copy, Debug)]
enum State {
    /// Reading a length prefix: the length its digits say so far, and whether it has any.
    Prefix { len: usize, digits: bool },
    /// Skipping a frame's body: the bytes still to come.
    Body { left: usize },
}

/// Follows the frames arriving on one connection.
#[derive(Clone, Debug)]
pub(crate) struct FrameWatch {
    max_len: usize,
    state: State,
    /// When the first byte of the frame still arriving came, if one is.
    started: Option<Instant>,
}

impl FrameWatch {
    /// A watch for frames of at most `max_len` bytes (the node's `max_frame_len`).
    pub(crate) fn new(max_len: usize) -> Self {
        Self {
            max_len,
            state: State::Prefix {
                len: 0,
                digits: false,
            },
            started: None,
        }
    }

    /// When the frame still arriving began: `None` between frames.
    pub(crate) fn started(&self) -> Option<Instant> {
        self.started
    }

    /// Follows `data`, which arrived at `now`, and returns how many frames it completed.
    ///
    /// # Errors
    /// When the framing is bad: close the connection.
    pub(crate) fn observe(&mut self, data: &[u8], now: Instant) -> Result<usize, BadFraming> {
        let mut rest = data;
        let mut completed = 0;
        while !rest.is_empty() {
            if self.started.is_none() {
                self.started = Some(now);
            }
            match &mut self.state {
                State::Prefix { len, digits } => {
                    let Some((&byte, tail)) = rest.split_first() else {
                        break;
                    };
                    rest = tail;
                    if byte == b'.' {
                        if *len == 0 {
                            return Err(BadFraming::Malformed);
                        }
                        self.state = State::Body { left: *len };
                        continue;
                    }
                    let digit = hex_value(byte).ok_or(BadFraming::Malformed)?;
                    if *digits && *len == 0 {
                        return Err(BadFraming::Malformed);
                    }
                    *len = len
                        .checked_mul(16)
                        .and_then(|shifted| shifted.checked_add(digit))
                        .ok_or(BadFraming::Oversized)?;
                    *digits = true;
                    if *len > self.max_len {
                        return Err(BadFraming::Oversized);
                    }
                }
                State::Body { left } => {
                    let skipped = (*left).min(rest.len());
                    *left -= skipped;
                    rest = rest.get(skipped..).unwrap_or_default();
                    if *left == 0 {
                        completed += 1;
                        self.state = State::Prefix {
                            len: 0,
                            digits: false,
                        };
                        self.started = None;
                    }
                }
            }
        }
        Ok(completed)
    }
}

fn hex_value(byte: u8) -> Option<usize> {
    match byte {
        b'0'..=b'9' => Some(usize::from(byte - b'0')),
        b'a'..=b'f' => Some(usize::from(byte - b'a' + 10)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use ejtp_proto::stream::{StreamDecoder, encode_stream_frame};

    use super::*;

    #[test]
    fn frames_in_any_chunking_are_counted_and_timed_from_their_first_byte() {
        let mut wire = encode_stream_frame(b"j\0{}");
        wire.extend(encode_stream_frame(&[7; 300]));
        let start = Instant::now();
        let mut watch = FrameWatch::new(1024);
        let mut completed = 0;
        for (n, byte) in wire.iter().enumerate() {
            let at = start + Duration::from_millis(n as u64);
            completed += watch.observe(&[*byte], at).unwrap();
            if n == 0 {
                assert_eq!(watch.started(), Some(start));
            }
            if n == 6 {
                // "4.j\0{}" is 6 bytes: the second frame began with this one.
                assert_eq!(completed, 1);
                assert_eq!(watch.started(), Some(at));
            }
        }
        assert_eq!(completed, 2);
        assert_eq!(watch.started(), None, "between frames");
        assert_eq!(watch.observe(&wire, start).unwrap(), 2, "all at once");
    }

    #[test]
    fn a_length_beyond_the_limit_is_refused_at_the_first_digit_that_passes_it() {
        let mut watch = FrameWatch::new(0xffff);
        // 4 GiB announced: refused at its fifth digit, long before the `.`.
        assert_eq!(watch.observe(b"1000", Instant::now()), Ok(0));
        assert_eq!(
            watch.observe(b"0", Instant::now()),
            Err(BadFraming::Oversized)
        );
        let endless = [b'f'; 64];
        assert_eq!(
            FrameWatch::new(usize::MAX).observe(&endless, Instant::now()),
            Err(BadFraming::Oversized)
        );
    }

    #[test]
    fn it_refuses_only_what_the_node_refuses_too() {
        for wire in [&b"."[..], b"0.", b"01.x", b"A.x", b"3x"] {
            let watched = FrameWatch::new(1024).observe(wire, Instant::now());
            assert_eq!(watched, Err(BadFraming::Malformed), "{wire:?}");
            let mut decoder = StreamDecoder::new(1024);
            assert!(decoder.feed(wire, |_| {}).is_err(), "{wire:?}");
        }
        let mut decoder = StreamDecoder::new(1024);
        assert!(decoder.feed(b"401.", |_| {}).is_err());
        assert_eq!(
            FrameWatch::new(1024).observe(b"401.", Instant::now()),
            Err(BadFraming::Oversized)
        );
        assert_eq!(
            FrameWatch::new(1024).observe(b"400.", Instant::now()),
            Ok(0)
        );
    }
}
