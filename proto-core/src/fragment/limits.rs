//! The bounds of a [`Reassembler`](super::Reassembler).

use core::time::Duration;

/// How much a [`Reassembler`](super::Reassembler) holds, and for how long.
///
/// `ReassemblyLimits::default()` suits a node on the open internet; build others from it with
/// the `with_*` setters (the struct is `#[non_exhaustive]`, so bounds added later keep their
/// defaults).
///
/// ```
/// use core::time::Duration;
/// use ejtp_proto::fragment::ReassemblyLimits;
///
/// let limits = ReassemblyLimits::default()
///     .with_max_memory(1 << 20)
///     .with_timeout(Duration::from_secs(5));
/// assert_eq!(limits.max_message_len, 16 << 20);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReassemblyLimits {
    /// Longest message accepted, in bytes: a first fragment declaring more is refused before
    /// anything is stored. Default 16 MiB (15 435 fragments of 1 100-byte plaintexts, a quarter
    /// of what the format can count).
    pub max_message_len: usize,
    /// Most bytes of message data held for all incomplete messages together. Each message
    /// reserves its declared total length when its first fragment arrives, and a message
    /// that would take the sum past this bound is refused, so forged headers cannot make the
    /// reassembler hold more. Default 32 MiB: two messages of the largest size at once.
    /// Bookkeeping comes on top (see [`Reassembler`](super::Reassembler)): at most 8 KiB and
    /// some 100 bytes a message in flight, about 520 KiB at the defaults.
    pub max_memory: usize,
    /// How long an incomplete message is kept after its first fragment arrived; then it is
    /// dropped, never delivered in part. Also how long the key of a completed message is
    /// remembered, to ignore late duplicates. Default 30 s: a 16 MiB message must then arrive
    /// at 4.5 Mbit/s or more, a 1 MiB one at 280 kbit/s.
    pub timeout: Duration,
    /// Most incomplete messages held at once. A first fragment of another message is refused
    /// while it is full (messages already under way keep their room). Default 64.
    pub max_in_flight: usize,
    /// Most keys of completed messages remembered (for [`timeout`](Self::timeout) after they
    /// completed), so that a fragment of a message already delivered is taken for a duplicate
    /// instead of starting the message again. When full the oldest is forgotten. Default 256:
    /// about 20 KiB for small keys (some 80 bytes an entry).
    pub max_remembered: usize,
}

impl Default for ReassemblyLimits {
    fn default() -> Self {
        Self {
            max_message_len: 16 << 20,
            max_memory: 32 << 20,
            timeout: Duration::from_secs(30),
            max_in_flight: 64,
            max_remembered: 256,
        }
    }
}

impl ReassemblyLimits {
    /// Sets [`max_message_len`](Self::max_message_len).
    #[must_use]
    pub fn with_max_message_len(mut self, bytes: usize) -> Self {
        self.max_message_len = bytes;
        self
    }

    /// Sets [`max_memory`](Self::max_memory).
    #[must_use]
    pub fn with_max_memory(mut self, bytes: usize) -> Self {
        self.max_memory = bytes;
        self
    }

    /// Sets [`timeout`](Self::timeout).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets [`max_in_flight`](Self::max_in_flight).
    #[must_use]
    pub fn with_max_in_flight(mut self, messages: usize) -> Self {
        self.max_in_flight = messages;
        self
    }

    /// Sets [`max_remembered`](Self::max_remembered).
    #[must_use]
    pub fn with_max_remembered(mut self, keys: usize) -> Self {
        self.max_remembered = keys;
        self
    }
}
