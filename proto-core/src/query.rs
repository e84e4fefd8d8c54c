//! How long a query waits for its reply: [`QueryOptions`].

use core::time::Duration;

use serde::{Deserialize, Serialize};

/// Timeouts of one query ([`Node::query`](crate::Node::query)).
///
/// The hard timeout ends the query ([`QueryEvent::TimedOut`](crate::QueryEvent::TimedOut)):
/// its state is freed and a later reply is dropped. The soft timeout, if set and shorter, only
/// says "no answer yet" ([`QueryEvent::SoftTimeout`](crate::QueryEvent::SoftTimeout)): a reply
/// after it is still delivered, marked late.
///
/// With `adaptive`, each timeout is at least the mean plus two standard deviations of the
/// round-trip times measured with that peer (once [`MIN_RTT_SAMPLES`] replies have been
/// timed), capped at [`Config::max_adaptive_timeout`](crate::Config::max_adaptive_timeout):
/// the configured values are floors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QueryOptions {
    /// When the query gives up. Default 30 s.
    #[serde(with = "crate::config::millis")]
    pub hard_timeout: Duration,
    /// When to say "no answer yet", if at all. Default none.
    #[serde(with = "optional_millis")]
    pub soft_timeout: Option<Duration>,
    /// Whether the peer's measured round-trip times may lengthen the timeouts. Default false.
    pub adaptive: bool,
}

/// Replies timed with a peer before its round-trip times shape adaptive timeouts.
pub const MIN_RTT_SAMPLES: usize = 3;

impl Default for QueryOptions {
    fn default() -> Self {
        Self {
            hard_timeout: Duration::from_secs(30),
            soft_timeout: None,
            adaptive: false,
        }
    }
}

/// Optional durations as whole milliseconds or `null`.
mod optional_millis {
    use core::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        duration: &Option<Duration>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match duration {
            Some(duration) => {
                serializer.serialize_u64(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
            }
            None => serializer.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Duration>, D::Error> {
        Option::<u64>::deserialize(deserializer).map(|millis| millis.map(Duration::from_millis))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_round_trip_as_milliseconds() {
        let options = QueryOptions {
            hard_timeout: Duration::from_millis(1_500),
            soft_timeout: Some(Duration::from_millis(200)),
            adaptive: true,
        };
        let text = serde_json::to_string(&options).unwrap();
        assert_eq!(
            text,
            r#"{"hard_timeout":1500,"soft_timeout":200,"adaptive":true}"#
        );
        assert_eq!(
            serde_json::from_str::<QueryOptions>(&text).unwrap(),
            options
        );
        let partial: QueryOptions = serde_json::from_str(r#"{"soft_timeout":null}"#).unwrap();
        assert_eq!(partial, QueryOptions::default());
    }
}
