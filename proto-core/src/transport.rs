//! Where bytes go: a transport protocol and a socket address.

use core::fmt;
use core::net::SocketAddr;
use core::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The transports the core emits frames for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// One frame per datagram.
    Udp,
    /// A byte stream carrying hex-length-prefixed frames (see [`crate::stream`]).
    Tcp,
}

/// A transport address: the protocol and the remote socket address.
///
/// Every [`Transmit`](crate::Transmit) names one; every received datagram or stream chunk comes
/// from one. Serialised as `"udp:127.0.0.1:9001"` or `"tcp:[::1]:9001"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TransportAddr {
    /// UDP or TCP.
    pub protocol: Protocol,
    /// The remote socket address.
    pub addr: SocketAddr,
}

impl TransportAddr {
    /// A UDP address.
    #[must_use]
    pub const fn udp(addr: SocketAddr) -> Self {
        Self {
            protocol: Protocol::Udp,
            addr,
        }
    }

    /// A TCP address.
    #[must_use]
    pub const fn tcp(addr: SocketAddr) -> Self {
        Self {
            protocol: Protocol::Tcp,
            addr,
        }
    }

    /// Whether this names no one host: the wildcard IP (`0.0.0.0`, `::`) or port 0. A socket
    /// can be bound to such an address, but nothing can be sent to it (on Linux `0.0.0.0`
    /// even means this host), so the node never sends there or learns it as a route.
    #[must_use]
    pub fn is_unspecified(&self) -> bool {
        self.addr.ip().is_unspecified() || self.addr.port() == 0
    }
}

impl fmt::Display for TransportAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let protocol = match self.protocol {
            Protocol::Udp => "udp",
            Protocol::Tcp => "tcp",
        };
        write!(f, "{protocol}:{}", self.addr)
    }
}

/// Why a string is not a [`TransportAddr`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransportAddrParseError;

impl fmt::Display for TransportAddrParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("expected a transport address such as udp:127.0.0.1:9001 or tcp:[::1]:9001")
    }
}

impl core::error::Error for TransportAddrParseError {}

impl FromStr for TransportAddr {
    type Err = TransportAddrParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (protocol, addr) = s.split_once(':').ok_or(TransportAddrParseError)?;
        let protocol = match protocol {
            "udp" => Protocol::Udp,
            "tcp" => Protocol::Tcp,
            _ => return Err(TransportAddrParseError),
        };
        let addr = SocketAddr::from_str(addr).map_err(|_| TransportAddrParseError)?;
        Ok(Self { protocol, addr })
    }
}

impl Serialize for TransportAddr {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TransportAddr {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = alloc::string::String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn transport_addresses_round_trip_through_text() {
        for text in ["udp:127.0.0.1:9001", "tcp:[::1]:80"] {
            let parsed: TransportAddr = text.parse().unwrap();
            assert_eq!(parsed.to_string(), text);
        }
        assert!("quic:127.0.0.1:1".parse::<TransportAddr>().is_err());
        assert!("udp:nowhere".parse::<TransportAddr>().is_err());
    }
}
