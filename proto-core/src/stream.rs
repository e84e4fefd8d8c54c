//! EJTP's TCP stream framing: each frame as its length in lowercase hex, a `.`, then the frame
//! (`91.` then 0x91 bytes).
//!
//! The reference puts no bound on the length, so a peer could announce an endless frame or send
//! an endless run of digits. [`StreamDecoder`] bounds both: the prefix may have no more digits
//! than the largest accepted length needs, and the decoder never holds more than one prefix and
//! one largest frame, however much a peer sends.

use alloc::vec::Vec;
use core::fmt;

/// Why a byte stream is not valid EJTP framing. The connection cannot be resynchronised after
/// one: the caller closes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StreamError {
    /// The length prefix is empty, holds a byte other than a lowercase hex digit, has a leading
    /// zero, or has more digits than the largest accepted length needs.
    BadLengthPrefix,
    /// The announced frame is longer than the decoder accepts.
    TooLong {
        /// The announced length (a lower bound if the prefix was refused before it ended).
        len: usize,
        /// The largest length accepted.
        max: usize,
    },
    /// The prefix announces a frame of zero bytes, which no frame type allows.
    EmptyFrame,
}

impl fmt::Display for StreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadLengthPrefix => f.write_str("bad stream frame length prefix"),
            Self::TooLong { len, max } => {
                write!(
                    f,
                    "stream frame of {len} bytes exceeds the {max}-byte limit"
                )
            }
            Self::EmptyFrame => f.write_str("stream frame of zero bytes"),
        }
    }
}

impl core::error::Error for StreamError {}

/// Appends `frame` to `out` with its length prefix.
///
/// An empty `frame` is written as `0.`, which [`StreamDecoder`] refuses: callers send frames,
/// and every frame has at least a type byte.
pub fn write_stream_frame(frame: &[u8], out: &mut Vec<u8>) {
    let len = frame.len();
    let digits = hex_digits(len);
    out.reserve(digits.saturating_add(1).saturating_add(len));
    for place in (0..digits).rev() {
        // Each nibble is at most 15; the shift is below usize::BITS since digits <= BITS / 4.
        let nibble = (len >> (place * 4)) & 0xf;
        out.push(hex_digit(nibble));
    }
    out.push(b'.');
    out.extend_from_slice(frame);
}

/// `frame` with its length prefix, ready to write to a stream.
#[must_use]
pub fn encode_stream_frame(frame: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    write_stream_frame(frame, &mut out);
    out
}

/// Hex digits needed to write `n` (one for zero).
fn hex_digits(n: usize) -> usize {
    let bits = usize::BITS - n.leading_zeros();
    // At most BITS / 4, so the conversion cannot fail; 1 is only reached for n = 0.
    usize::try_from(bits.div_ceil(4)).unwrap_or(1).max(1)
}

fn hex_digit(nibble: usize) -> u8 {
    match u8::try_from(nibble) {
        Ok(n @ 0..=9) => b'0' + n,
        Ok(n @ 10..=15) => b'a' + (n - 10),
        _ => b'?',
    }
}

fn hex_value(byte: u8) -> Option<usize> {
    match byte {
        b'0'..=b'9' => Some(usize::from(byte - b'0')),
        b'a'..=b'f' => Some(usize::from(byte - b'a' + 10)),
        _ => None,
    }
}

/// Splits a byte stream, arriving in chunks of any size, back into frames.
///
/// Memory is bounded by [`StreamDecoder::capacity`]: one longest prefix, its `.`, and one
/// longest frame. [`push`](Self::push) takes only as many bytes as fit and says how many it
/// took; the caller drains frames with [`next_frame`](Self::next_frame) and pushes the rest.
/// When the buffer is full a whole frame is always ready (or the stream is invalid), so this
/// loop always makes progress; [`feed`](Self::feed) runs it for you:
///
/// ```
/// use ejtp_proto::stream::{encode_stream_frame, StreamDecoder};
///
/// let mut decoder = StreamDecoder::new(1024);
/// let mut wire = encode_stream_frame(b"j\0{}");
/// wire.extend(encode_stream_frame(b"j\0[]"));
/// let mut frames = Vec::new();
/// let mut rest = &wire[..];
/// while !rest.is_empty() {
///     let taken = decoder.push(rest);
///     rest = &rest[taken..];
///     while let Some(frame) = decoder.next_frame()? {
///         frames.push(frame);
///     }
/// }
/// assert_eq!(frames, [b"j\0{}".to_vec(), b"j\0[]".to_vec()]);
/// # Ok::<(), ejtp_proto::stream::StreamError>(())
/// ```
///
/// After an error the decoder stays failed, returning the same error, and drops what it held:
/// framing cannot be recovered mid-stream, so the caller closes the connection.
#[derive(Clone, Debug)]
pub struct StreamDecoder {
    max_frame_len: usize,
    max_prefix_digits: usize,
    /// Received bytes; those before `start` belong to frames already returned.
    buf: Vec<u8>,
    /// Where the unread bytes begin. Consumed bytes are dropped on the next push, so returning
    /// many small frames does not shift the buffer once per frame.
    start: usize,
    failed: Option<StreamError>,
}

impl StreamDecoder {
    /// A decoder accepting frames of 1 to `max_frame_len` bytes.
    #[must_use]
    pub fn new(max_frame_len: usize) -> Self {
        Self {
            max_frame_len,
            max_prefix_digits: hex_digits(max_frame_len),
            buf: Vec::new(),
            start: 0,
            failed: None,
        }
    }

    /// The longest frame accepted.
    #[must_use]
    pub const fn max_frame_len(&self) -> usize {
        self.max_frame_len
    }

    /// The most bytes the decoder ever buffers: a longest prefix, its `.` and a longest frame.
    #[must_use]
    pub const fn capacity(&self) -> usize {
        self.max_prefix_digits
            .saturating_add(1)
            .saturating_add(self.max_frame_len)
    }

    /// Bytes received and not yet returned as frames.
    #[must_use]
    pub fn buffered_len(&self) -> usize {
        self.buf.len().saturating_sub(self.start)
    }

    /// The error the stream failed with, if it has.
    #[must_use]
    pub const fn error(&self) -> Option<StreamError> {
        self.failed
    }

    /// Buffers as much of `data` as fits within [`capacity`](Self::capacity) and returns how
    /// many bytes it took. Push the rest after draining frames with
    /// [`next_frame`](Self::next_frame).
    ///
    /// Once the decoder has failed, everything is taken and dropped, so a caller's loop ends
    /// and the error surfaces from `next_frame`.
    #[must_use = "bytes past the returned count were not buffered: push them after next_frame"]
    pub fn push(&mut self, data: &[u8]) -> usize {
        if self.failed.is_some() {
            return data.len();
        }
        let consumed = self.start.min(self.buf.len());
        self.buf.drain(..consumed);
        self.start = 0;
        let room = self.capacity().saturating_sub(self.buf.len());
        let taken = data.get(..room).unwrap_or(data);
        self.reserve(taken.len());
        self.buf.extend_from_slice(taken);
        taken.len()
    }

    /// Grows the buffer geometrically (as `Vec` would) but never past the capacity, so the
    /// allocation, not only the length, stays within the bound.
    fn reserve(&mut self, additional: usize) {
        let needed = self.buf.len().saturating_add(additional);
        if needed > self.buf.capacity() {
            let target = needed
                .max(self.buf.capacity().saturating_mul(2))
                .min(self.capacity())
                .max(needed);
            self.buf
                .reserve_exact(target.saturating_sub(self.buf.len()));
        }
    }

    /// The next complete frame, `Ok(None)` if more bytes are needed.
    ///
    /// # Errors
    /// [`StreamError`] if the buffered bytes are not valid framing; every later call returns
    /// the same error.
    pub fn next_frame(&mut self) -> Result<Option<Vec<u8>>, StreamError> {
        if let Some(err) = self.failed {
            return Err(err);
        }
        match self.parse() {
            Ok(Some((prefix_len, frame_len))) => {
                let end = self
                    .start
                    .saturating_add(prefix_len)
                    .saturating_add(frame_len);
                let frame = self
                    .buf
                    .get(self.start.saturating_add(prefix_len)..end)
                    .map(<[u8]>::to_vec);
                self.start = end;
                if self.start >= self.buf.len() {
                    self.buf.clear();
                    self.start = 0;
                }
                Ok(frame)
            }
            Ok(None) => Ok(None),
            Err(err) => {
                self.failed = Some(err);
                // Nothing buffered will ever be read: give the memory back now.
                self.buf = Vec::new();
                self.start = 0;
                Err(err)
            }
        }
    }

    /// Feeds `data` through [`push`](Self::push) and [`next_frame`](Self::next_frame), handing
    /// each complete frame to `on_frame`: the whole chunk is consumed with bounded buffering.
    ///
    /// # Errors
    /// [`StreamError`] as soon as the framing is invalid; frames before the error have been
    /// handed over.
    pub fn feed(
        &mut self,
        data: &[u8],
        mut on_frame: impl FnMut(Vec<u8>),
    ) -> Result<(), StreamError> {
        let mut rest = data;
        loop {
            let taken = self.push(rest);
            rest = rest.get(taken..).unwrap_or_default();
            while let Some(frame) = self.next_frame()? {
                on_frame(frame);
            }
            if rest.is_empty() {
                return Ok(());
            }
        }
    }

    /// Reads the prefix of the unread bytes: `Some((prefix length with its '.', frame length))`
    /// once the frame is complete, `None` while bytes are missing.
    fn parse(&self) -> Result<Option<(usize, usize)>, StreamError> {
        let pending = self.buf.get(self.start..).unwrap_or_default();
        let mut len: usize = 0;
        for (index, &byte) in pending.iter().enumerate() {
            if byte == b'.' {
                if index == 0 {
                    return Err(StreamError::BadLengthPrefix);
                }
                if len == 0 {
                    return Err(StreamError::EmptyFrame);
                }
                let prefix_len = index.saturating_add(1);
                let complete = pending.len().saturating_sub(prefix_len) >= len;
                return Ok(complete.then_some((prefix_len, len)));
            }
            if index >= self.max_prefix_digits {
                return Err(StreamError::BadLengthPrefix);
            }
            let digit = hex_value(byte).ok_or(StreamError::BadLengthPrefix)?;
            if index > 0 && len == 0 {
                // A leading zero: the reference never writes one, and one spelling per length
                // keeps the framing canonical.
                return Err(StreamError::BadLengthPrefix);
            }
            len = len
                .checked_mul(16)
                .and_then(|shifted| shifted.checked_add(digit))
                .ok_or(StreamError::BadLengthPrefix)?;
            if len > self.max_frame_len {
                // More digits only make it longer: refuse now rather than wait for the '.'.
                return Err(StreamError::TooLong {
                    len,
                    max: self.max_frame_len,
                });
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn decode_all(decoder: &mut StreamDecoder, wire: &[u8]) -> Result<Vec<Vec<u8>>, StreamError> {
        let mut frames = Vec::new();
        decoder.feed(wire, |frame| frames.push(frame))?;
        Ok(frames)
    }

    #[test]
    fn prefix_is_lowercase_hex_length_and_a_dot() {
        assert_eq!(encode_stream_frame(b"abc"), b"3.abc");
        assert_eq!(encode_stream_frame(&[b'x'; 0x91])[..3], *b"91.");
        assert_eq!(encode_stream_frame(&[b'x'; 0xabc])[..4], *b"abc.");
        assert_eq!(encode_stream_frame(b""), b"0.");
        let mut out = b"1.a".to_vec();
        write_stream_frame(b"bc", &mut out);
        assert_eq!(out, b"1.a2.bc");
    }

    #[test]
    fn frames_split_across_single_byte_pushes_are_reassembled() {
        let mut wire = encode_stream_frame(b"first frame");
        wire.extend(encode_stream_frame(&[7u8; 300]));
        let mut decoder = StreamDecoder::new(1024);
        let mut frames = Vec::new();
        for byte in &wire {
            assert_eq!(decoder.push(core::slice::from_ref(byte)), 1);
            while let Some(frame) = decoder.next_frame().unwrap() {
                frames.push(frame);
            }
        }
        assert_eq!(frames, [b"first frame".to_vec(), vec![7u8; 300]]);
        assert_eq!(decoder.buffered_len(), 0);
    }

    #[test]
    fn incomplete_frame_waits_for_more_bytes() {
        let mut decoder = StreamDecoder::new(1024);
        assert_eq!(decoder.push(b"5.ab"), 4);
        assert_eq!(decoder.next_frame(), Ok(None));
        assert_eq!(decoder.buffered_len(), 4);
        assert_eq!(decoder.push(b"cde6"), 4);
        assert_eq!(decoder.next_frame(), Ok(Some(b"abcde".to_vec())));
        assert_eq!(decoder.next_frame(), Ok(None));
        assert_eq!(decoder.buffered_len(), 1);
    }

    #[test]
    fn bad_prefixes_are_refused() {
        for wire in [
            &b".abc"[..],
            b"x.abc",
            b"-1.a",
            b" 1.a",
            b"1 .a",
            b"A.aaaaaaaaaa",
            b"01.a",
            b"00",
        ] {
            let mut decoder = StreamDecoder::new(1024);
            assert_eq!(
                decode_all(&mut decoder, wire),
                Err(StreamError::BadLengthPrefix),
                "{wire:?}"
            );
        }
    }

    #[test]
    fn zero_length_frames_are_refused() {
        let mut decoder = StreamDecoder::new(1024);
        assert_eq!(
            decode_all(&mut decoder, b"0."),
            Err(StreamError::EmptyFrame)
        );
    }

    #[test]
    fn more_digits_than_the_limit_needs_are_refused_before_the_dot() {
        // 0x400 needs three digits, so a fourth is refused without waiting for a '.'.
        let mut decoder = StreamDecoder::new(0x400);
        assert_eq!(decoder.push(b"100"), 3);
        assert_eq!(decoder.next_frame(), Ok(None));
        assert_eq!(decoder.push(b"0"), 1);
        assert_eq!(decoder.next_frame(), Err(StreamError::BadLengthPrefix));
    }

    #[test]
    fn lengths_over_the_limit_are_refused_without_waiting_for_the_frame() {
        let mut decoder = StreamDecoder::new(0x100);
        assert_eq!(decoder.push(b"101"), 3);
        assert_eq!(
            decoder.next_frame(),
            Err(StreamError::TooLong {
                len: 0x101,
                max: 0x100
            })
        );
        let mut exact = StreamDecoder::new(0x100);
        let frame = vec![1u8; 0x100];
        assert_eq!(
            decode_all(&mut exact, &encode_stream_frame(&frame)),
            Ok(vec![frame])
        );
    }

    #[test]
    fn failed_decoder_stays_failed_and_drops_its_buffer() {
        let mut decoder = StreamDecoder::new(64);
        assert_eq!(decoder.push(b"zz"), 2);
        assert_eq!(decoder.next_frame(), Err(StreamError::BadLengthPrefix));
        assert_eq!(decoder.buffered_len(), 0);
        assert_eq!(decoder.push(b"3.abc"), 5);
        assert_eq!(decoder.buffered_len(), 0);
        assert_eq!(decoder.next_frame(), Err(StreamError::BadLengthPrefix));
        assert_eq!(decoder.error(), Some(StreamError::BadLengthPrefix));
    }

    #[test]
    fn push_never_buffers_more_than_the_capacity() {
        let mut decoder = StreamDecoder::new(0x100);
        assert_eq!(decoder.capacity(), 3 + 1 + 0x100);
        let flood = vec![b'a'; 10_000];
        let mut wire = b"100.".to_vec();
        wire.extend_from_slice(&flood);
        let taken = decoder.push(&wire);
        assert_eq!(taken, decoder.capacity());
        assert_eq!(decoder.buffered_len(), decoder.capacity());
        assert!(decoder.buf.capacity() <= decoder.capacity());
        assert_eq!(decoder.push(&wire[taken..]), 0);
        assert_eq!(decoder.next_frame(), Ok(Some(vec![b'a'; 0x100])));
    }

    #[test]
    fn one_chunk_of_many_small_frames_larger_than_the_capacity_is_fully_decoded() {
        let mut wire = Vec::new();
        for i in 0..1000u16 {
            write_stream_frame(&i.to_be_bytes(), &mut wire);
        }
        let mut decoder = StreamDecoder::new(16);
        assert!(wire.len() > 100 * decoder.capacity());
        let frames = decode_all(&mut decoder, &wire).unwrap();
        assert_eq!(frames.len(), 1000);
        assert!(
            frames
                .iter()
                .zip(0u16..)
                .all(|(f, i)| *f == i.to_be_bytes())
        );
    }

    #[test]
    fn largest_limit_does_not_overflow() {
        let mut decoder = StreamDecoder::new(usize::MAX);
        assert_eq!(decoder.capacity(), usize::MAX);
        assert_eq!(decode_all(&mut decoder, b"2.ab"), Ok(vec![b"ab".to_vec()]));
        let mut long = vec![b'f'; hex_digits(usize::MAX)];
        long.push(b'f');
        assert_eq!(
            decode_all(&mut decoder, &long),
            Err(StreamError::BadLengthPrefix)
        );
    }
}
