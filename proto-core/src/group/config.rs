//! Settings of a [`Group`](super::Group): timeouts, attempt limits and every bound.

use core::time::Duration;

use serde::{Deserialize, Serialize};

/// Settings of a group machine. Every table has a bound here, with its default and its memory
/// cost at the default.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GroupConfig {
    /// How often heartbeats go out: the admitting peer to every member, every member to the
    /// admitting peer. Default 2 s (Pyile's interval).
    #[serde(with = "crate::config::millis")]
    pub heartbeat_interval: Duration,
    /// A member the admitting peer has heard nothing from for this long is removed (and the new
    /// roster pushed); a member that has heard nothing from the admitting peer for this long
    /// reports [`GroupEvent::HostSilent`](super::GroupEvent::HostSilent) and leaves. Default 7 s
    /// (three heartbeats and a margin).
    #[serde(with = "crate::config::millis")]
    pub heartbeat_timeout: Duration,
    /// How often a joiner sends its join again while unanswered (same attempt id, so a retry is
    /// never counted as a second failure). Default 1 s.
    #[serde(with = "crate::config::millis")]
    pub join_retry: Duration,
    /// A join unanswered this long fails with
    /// [`GroupEvent::JoinFailed`](super::GroupEvent::JoinFailed). Default 10 s.
    #[serde(with = "crate::config::millis")]
    pub join_timeout: Duration,
    /// Failed password attempts that ban a peer: the attempt that reaches this number is refused
    /// and bans both the peer id and its address. Default 3.
    pub max_failed_attempts: u32,
    /// How long a ban lasts (wall-clock time, so that it survives a restart). Default 600 s.
    #[serde(with = "crate::config::millis")]
    pub ban_duration: Duration,
    /// Most members, the admitting peer included. Default 64: about 16 KiB of roster (some
    /// 250 bytes a member) plus one liveness entry each.
    pub max_members: usize,
    /// Most bans held. Default 1 024: about 150 KiB. When full, the ban that ends first goes.
    pub max_bans: usize,
    /// Most peers or addresses whose failed attempts are counted. Default 1 024: about 100 KiB.
    /// When full, the least recently failed is forgotten.
    pub max_attempt_records: usize,
    /// Most password checks per second (each costs one slow hash). Joins beyond it are dropped
    /// unanswered; the joiner's retry comes in a later second. Default 8.
    pub max_password_checks_per_second: u32,
    /// Chat message ids remembered to deliver each message at most once. Default 4 096: about
    /// 400 KiB (an id and a sender id each). When full, the oldest is forgotten.
    pub max_seen_messages: usize,
    /// Longest member name, in bytes. Default 32.
    pub max_name_len: usize,
    /// Argon2id memory cost in KiB for the password hash. Default 19 456 (19 MiB, the OWASP
    /// recommendation with `argon2_iterations` 2). Tests use 8.
    pub argon2_memory_kib: u32,
    /// Argon2id iterations. Default 2.
    pub argon2_iterations: u32,
}

impl Default for GroupConfig {
    fn default() -> Self {
        Self {
            heartbeat_interval: Duration::from_secs(2),
            heartbeat_timeout: Duration::from_secs(7),
            join_retry: Duration::from_secs(1),
            join_timeout: Duration::from_secs(10),
            max_failed_attempts: 3,
            ban_duration: Duration::from_secs(600),
            max_members: 64,
            max_bans: 1_024,
            max_attempt_records: 1_024,
            max_password_checks_per_second: 8,
            max_seen_messages: 4_096,
            max_name_len: 32,
            argon2_memory_kib: 19_456,
            argon2_iterations: 2,
        }
    }
}

impl GroupConfig {
    /// The defaults with the cheapest Argon2 cost: for tests and simulations only.
    #[must_use]
    pub fn for_tests() -> Self {
        Self {
            argon2_memory_kib: 8,
            argon2_iterations: 1,
            ..Self::default()
        }
    }
}
