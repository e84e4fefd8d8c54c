//! EJTP addresses: `[addrtype, addrdetails, callsign?]`.
//!
//! An address says which transport reaches a node (`udp4`, `udp`, `tcp4`, `tcp`, `local`, or a
//! type this implementation does not speak) and, with a callsign, which client on that node.
//! Addresses are compared by their strict JSON text, as the reference implementation does.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use core::net::{IpAddr, SocketAddr};

use serde_json::Value;

use crate::json::{self, JsonError};
use crate::transport::TransportAddr;

/// Longest address type accepted from the network, in bytes.
pub const MAX_KIND_LEN: usize = 32;
/// Longest callsign accepted from the network, in bytes.
pub const MAX_CALLSIGN_LEN: usize = 64;

/// An EJTP address.
///
/// The list form has one to three elements: the type, then its details (for IP types
/// `[host, port]`, for `local` `null`), then an optional callsign naming a client. A one-element
/// address (`["testing"]`) appears in the reference tests and is kept as is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Address {
    kind: String,
    details: Option<Value>,
    callsign: Option<String>,
}

/// Why bytes are not an [`Address`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AddressError {
    /// Not strict-JSON-parsable text.
    Json(JsonError),
    /// Not a list of one to three elements starting with a string type.
    Shape,
    /// The type or callsign is longer than this implementation accepts.
    TooLong,
}

impl fmt::Display for AddressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Json(err) => write!(f, "address is not valid JSON: {err}"),
            Self::Shape => f.write_str("address must be [type, details, callsign?]"),
            Self::TooLong => f.write_str("address type or callsign too long"),
        }
    }
}

impl core::error::Error for AddressError {}

impl From<JsonError> for AddressError {
    fn from(err: JsonError) -> Self {
        Self::Json(err)
    }
}

impl Address {
    /// The address of a UDP socket (`udp4` for IPv4, `udp` for IPv6, as EJTP names them).
    #[must_use]
    pub fn udp(addr: SocketAddr, callsign: Option<&str>) -> Self {
        let kind = if addr.is_ipv4() { "udp4" } else { "udp" };
        Self::ip(kind, addr, callsign)
    }

    /// The address of a TCP listener (`tcp4` for IPv4, `tcp` for IPv6).
    #[must_use]
    pub fn tcp(addr: SocketAddr, callsign: Option<&str>) -> Self {
        let kind = if addr.is_ipv4() { "tcp4" } else { "tcp" };
        Self::ip(kind, addr, callsign)
    }

    /// The node address (no callsign) of whatever sent from `transport`: where an answer to a
    /// datagram or stream frame goes when we know nothing better.
    #[must_use]
    pub fn from_transport(transport: TransportAddr) -> Self {
        match transport.protocol {
            crate::transport::Protocol::Udp => Self::udp(transport.addr, None),
            crate::transport::Protocol::Tcp => Self::tcp(transport.addr, None),
        }
    }

    /// A `local` address: a client of the node that reads it, reached without a transport.
    #[must_use]
    pub fn local(callsign: &str) -> Self {
        Self {
            kind: "local".to_string(),
            details: Some(Value::Null),
            callsign: Some(callsign.to_string()),
        }
    }

    /// An address of any type, for types this implementation does not speak. Without details
    /// but with a callsign, the details are `null`.
    ///
    /// # Errors
    /// As [`Address::from_value`]: a type or callsign too long, or details holding a float or
    /// nested too deeply (an address must always have a strict JSON form).
    pub fn other(
        kind: &str,
        details: Option<Value>,
        callsign: Option<&str>,
    ) -> Result<Self, AddressError> {
        let mut list = Vec::from([Value::String(kind.to_string())]);
        if details.is_some() || callsign.is_some() {
            list.push(details.unwrap_or(Value::Null));
        }
        if let Some(callsign) = callsign {
            list.push(Value::String(callsign.to_string()));
        }
        Self::from_value(&Value::Array(list))
    }

    fn ip(kind: &str, addr: SocketAddr, callsign: Option<&str>) -> Self {
        let details = Value::Array(Vec::from([
            Value::String(addr.ip().to_string()),
            Value::from(addr.port()),
        ]));
        Self {
            kind: kind.to_string(),
            details: Some(details),
            callsign: callsign.map(str::to_string),
        }
    }

    /// The address type (`udp4`, `tcp`, `local`, ...).
    #[must_use]
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The type-specific details, if the address has any.
    #[must_use]
    pub fn details(&self) -> Option<&Value> {
        self.details.as_ref()
    }

    /// The client's callsign, if the address names one.
    #[must_use]
    pub fn callsign(&self) -> Option<&str> {
        self.callsign.as_deref()
    }

    /// The same address naming the node itself (its "jack") rather than one of its clients.
    #[must_use]
    pub fn without_callsign(&self) -> Self {
        Self {
            callsign: None,
            ..self.clone()
        }
    }

    /// The same transport location naming the client `callsign`, or the node itself (no
    /// callsign) when there is none.
    #[must_use]
    pub(crate) fn naming(&self, callsign: Option<&str>) -> Self {
        callsign.map_or_else(|| self.clone(), |callsign| self.with_callsign(callsign))
    }

    /// The same transport location naming another client.
    #[must_use]
    pub fn with_callsign(&self, callsign: &str) -> Self {
        let details = self.details.clone().or(Some(Value::Null));
        Self {
            kind: self.kind.clone(),
            details,
            callsign: Some(callsign.to_string()),
        }
    }

    /// The transport address frames for this address are sent to, if its type is one the core
    /// speaks (`udp4`, `udp`, `tcp4`, `tcp`) and its details are a valid `[host, port]`.
    #[must_use]
    pub fn transport(&self) -> Option<TransportAddr> {
        let details = self.details.as_ref()?.as_array()?;
        let [host, port] = details.as_slice() else {
            return None;
        };
        let ip: IpAddr = host.as_str()?.parse().ok()?;
        let port = u16::try_from(port.as_u64()?).ok()?;
        let addr = SocketAddr::new(ip, port);
        match (self.kind.as_str(), ip) {
            ("udp4", IpAddr::V4(_)) | ("udp", IpAddr::V6(_)) => Some(TransportAddr::udp(addr)),
            ("tcp4", IpAddr::V4(_)) | ("tcp", IpAddr::V6(_)) => Some(TransportAddr::tcp(addr)),
            _ => None,
        }
    }

    /// The address as a JSON list.
    #[must_use]
    pub fn to_value(&self) -> Value {
        let mut list = Vec::with_capacity(3);
        list.push(Value::String(self.kind.clone()));
        if let Some(details) = &self.details {
            list.push(details.clone());
            if let Some(callsign) = &self.callsign {
                list.push(Value::String(callsign.clone()));
            }
        }
        Value::Array(list)
    }

    /// The strict JSON text of the address: its identity on the wire and in caches.
    #[must_use]
    pub fn to_strict_json(&self) -> String {
        // An address holds no floats (they are rejected when one is built from a value), so
        // strict encoding cannot fail; fall back to the empty list rather than panic.
        json::to_strict_json(&self.to_value()).unwrap_or_else(|_| String::from("[]"))
    }

    /// Reads an address from a JSON value.
    ///
    /// # Errors
    /// [`AddressError::Shape`] unless the value is a list of one to three elements whose first
    /// is a string and third (if present) a string; [`AddressError::TooLong`] for oversized
    /// parts; [`AddressError::Json`] if the details hold a float.
    pub fn from_value(value: &Value) -> Result<Self, AddressError> {
        let list = value.as_array().ok_or(AddressError::Shape)?;
        let (kind, details, callsign) = match list.as_slice() {
            [kind] => (kind, None, None),
            [kind, details] => (kind, Some(details), None),
            [kind, details, callsign] => (kind, Some(details), Some(callsign)),
            _ => return Err(AddressError::Shape),
        };
        let kind = kind.as_str().ok_or(AddressError::Shape)?;
        let callsign = match callsign {
            Some(callsign) => Some(callsign.as_str().ok_or(AddressError::Shape)?),
            None => None,
        };
        if kind.len() > MAX_KIND_LEN || callsign.is_some_and(|c| c.len() > MAX_CALLSIGN_LEN) {
            return Err(AddressError::TooLong);
        }
        // Check the whole list, not only the details: the depth limit must hold for the list
        // we encode, or a valid-looking address would have no strict JSON.
        json::check_no_floats(value)?;
        Ok(Self {
            kind: kind.to_string(),
            details: details.cloned(),
            callsign: callsign.map(str::to_string),
        })
    }

    /// Reads an address from JSON text, such as a frame header.
    ///
    /// # Errors
    /// As [`Address::from_value`], plus [`AddressError::Json`] for text that is not JSON.
    pub fn from_json_bytes(bytes: &[u8]) -> Result<Self, AddressError> {
        Self::from_value(&json::parse_json(bytes)?)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_strict_json())
    }
}

impl serde::Serialize for Address {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serde::Serialize::serialize(&self.to_value(), serializer)
    }
}

impl<'de> serde::Deserialize<'de> for Address {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Self::from_value(&value).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_nested_to_the_limit_are_refused_so_every_address_has_strict_json() {
        let mut details = Value::Null;
        for _ in 0..json::MAX_DEPTH {
            details = Value::Array(Vec::from([details]));
        }
        let list = Value::Array(Vec::from([Value::String("x".to_string()), details]));
        assert_eq!(
            Address::from_value(&list),
            Err(AddressError::Json(JsonError::TooDeep))
        );
    }

    #[test]
    fn parsed_addresses_re_encode_to_their_strict_json() {
        let text = br#"["udp4",["127.0.0.1",9001],"alice"]"#;
        let address = Address::from_json_bytes(text).unwrap();
        assert_eq!(address.to_strict_json().as_bytes(), text);
        assert_eq!(address.callsign(), Some("alice"));
    }
}
