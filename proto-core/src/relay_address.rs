//! Relay addresses: "reach me through that node of ours".
//!
//! A node behind a NAT that cannot be reached directly can still be reached through a node it
//! keeps a session with (its default route): that node forwards onion layers to the address
//! it sees the first node at, which the NAT lets through because the session keeps the
//! mapping open. A relay address names all three:
//!
//! ```text
//! ["relay", [relay key (64 hex digits), relay address, target address], callsign?]
//! ```
//!
//! The relay and target addresses are UDP or TCP node addresses (no callsign). A sender wraps
//! the frame for the target in one sealed layer for the relay; the relay opens its layer and
//! sends the inner frame to the target address, so the relay can neither read nor forge what
//! it carries (`docs/PROTOCOL.md` section 22). A node lists its relay addresses in its signed
//! address record and signs one as its sender address when it sends through a relay, so that
//! answers come back the same way.
//!
//! ```
//! use ejtp_proto::relay_address::RelayAddress;
//! use ejtp_proto::{Identity, TransportAddr};
//!
//! let relay = Identity::from_secret_bytes(&[1; 32]).public_key();
//! let address = RelayAddress {
//!     relay,
//!     relay_at: TransportAddr::udp("203.0.113.1:7000".parse().unwrap()),
//!     target: TransportAddr::udp("203.0.113.20:40001".parse().unwrap()),
//! };
//! let ejtp = address.to_address(Some("chat"));
//! assert_eq!(ejtp.kind(), "relay");
//! assert_eq!(RelayAddress::from_address(&ejtp), Some(address));
//! ```

use alloc::string::ToString;
use alloc::vec::Vec;

use serde_json::Value;

use crate::address::Address;
use crate::identity::PublicKey;
use crate::transport::TransportAddr;

/// The EJTP address type of a relay address.
pub const RELAY_KIND: &str = "relay";

/// A node reached through one of our relays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct RelayAddress {
    /// The relay's key: the sender seals the outer layer for it.
    pub relay: PublicKey,
    /// Where the relay listens.
    pub relay_at: TransportAddr,
    /// Where the relay sees the target node (behind a NAT, its mapping toward the relay): the
    /// address the inner frame is sealed to and the relay sends it on to.
    pub target: TransportAddr,
}

impl RelayAddress {
    /// The EJTP address, naming client `callsign` of the target node if given.
    #[must_use]
    pub fn to_address(&self, callsign: Option<&str>) -> Address {
        let details = Value::Array(Vec::from([
            Value::String(self.relay.to_string()),
            Address::from_transport(self.relay_at).to_value(),
            Address::from_transport(self.target).to_value(),
        ]));
        // Built from valid parts (no floats, a short type), so this cannot fail; an address
        // that names no transport is the fallback rather than a panic.
        Address::other(RELAY_KIND, Some(details), callsign)
            .unwrap_or_else(|_| Address::from_transport(self.target))
    }

    /// Reads a relay address; None for any other address or malformed details.
    #[must_use]
    pub fn from_address(address: &Address) -> Option<Self> {
        if address.kind() != RELAY_KIND {
            return None;
        }
        let details = address.details()?.as_array()?;
        let [key, relay_at, target] = details.as_slice() else {
            return None;
        };
        let key: [u8; 32] = crate::hex::decode_array(key.as_str()?).ok()?;
        let relay = PublicKey::from_bytes(&key).ok()?;
        let transport = |value: &Value| {
            Address::from_value(value)
                .ok()
                .filter(|address| address.callsign().is_none())
                .and_then(|address| address.transport())
                .filter(|transport| !transport.is_unspecified())
        };
        Some(Self {
            relay,
            relay_at: transport(relay_at)?,
            target: transport(target)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Identity;
    use proptest::prelude::*;

    fn sample() -> RelayAddress {
        RelayAddress {
            relay: Identity::from_secret_bytes(&[3; 32]).public_key(),
            relay_at: TransportAddr::udp("203.0.113.1:7000".parse().unwrap()),
            target: TransportAddr::tcp("[2001:db8::1]:9".parse().unwrap()),
        }
    }

    #[test]
    fn the_json_form_is_the_documented_one() {
        let relay = sample();
        let text = relay.to_address(None).to_strict_json();
        assert_eq!(
            text,
            alloc::format!(
                "[\"relay\",[\"{}\",[\"udp4\",[\"203.0.113.1\",7000]],[\"tcp\",[\"2001:db8::1\",9]]]]",
                relay.relay
            )
        );
        assert_eq!(
            RelayAddress::from_address(&Address::from_json_bytes(text.as_bytes()).unwrap()),
            Some(relay)
        );
    }

    #[test]
    fn other_addresses_and_bad_details_are_not_relay_addresses() {
        let relay = sample();
        let udp = Address::from_transport(relay.target);
        assert_eq!(RelayAddress::from_address(&udp), None);
        for bad in [
            "[\"relay\"]",
            "[\"relay\",null]",
            "[\"relay\",[\"00\",[\"udp4\",[\"203.0.113.1\",7000]],[\"udp4\",[\"203.0.113.1\",7000]]]]",
            "[\"relay\",[1,2,3]]",
        ] {
            let address = Address::from_json_bytes(bad.as_bytes()).unwrap();
            assert_eq!(RelayAddress::from_address(&address), None, "{bad}");
        }
        // A wildcard target names no host.
        let wildcard = RelayAddress {
            target: TransportAddr::udp("0.0.0.0:1".parse().unwrap()),
            ..relay
        };
        assert_eq!(RelayAddress::from_address(&wildcard.to_address(None)), None);
    }

    proptest! {
        #[test]
        fn any_address_reads_without_panicking(text in ".{0,200}") {
            if let Ok(address) = Address::from_json_bytes(text.as_bytes()) {
                let _ = RelayAddress::from_address(&address);
            }
        }

        #[test]
        fn relay_addresses_round_trip(port in 1u16.., seed in any::<[u8; 32]>(), callsign in "[a-z]{0,8}") {
            let relay = RelayAddress {
                relay: Identity::from_secret_bytes(&seed).public_key(),
                relay_at: TransportAddr::udp(core::net::SocketAddr::from(([203, 0, 113, 1], port))),
                target: TransportAddr::udp(core::net::SocketAddr::from(([198, 51, 100, 7], port))),
            };
            let callsign = (!callsign.is_empty()).then_some(callsign.as_str());
            let address = relay.to_address(callsign);
            prop_assert_eq!(address.callsign(), callsign);
            prop_assert_eq!(RelayAddress::from_address(&address), Some(relay));
        }
    }
}
