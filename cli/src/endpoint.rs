//! Addresses and peers as they are typed on the command line.
//!
//! An endpoint is `host:port` (UDP), `udp:host:port` or `tcp:host:port`; the host is an IP
//! address (`[::1]` for IPv6) or a name to resolve. A peer is `KEY@ENDPOINT`, with the peer's
//! ed25519 public key in hex.

use std::net::{SocketAddr, ToSocketAddrs};

use ejtp_proto::identity::KeyError;
use ejtp_proto::{Address, Protocol, PublicIdentity, PublicKey, TransportAddr};

/// What an endpoint looks like, for error messages.
const ENDPOINT_FORM: &str = "expected host:port (UDP) or tcp:host:port, such as 127.0.0.1:7000";

/// Parses an endpoint: `host:port` or `udp:host:port` for UDP, `tcp:host:port` for TCP.
pub(crate) fn parse_endpoint(text: &str) -> Result<TransportAddr, String> {
    let (protocol, rest) = if let Some(rest) = text.strip_prefix("tcp:") {
        (Protocol::Tcp, rest)
    } else if let Some(rest) = text.strip_prefix("udp:") {
        (Protocol::Udp, rest)
    } else {
        (Protocol::Udp, text)
    };
    let addr = parse_socket_addr(rest).map_err(|_| ENDPOINT_FORM.to_string())?;
    Ok(TransportAddr { protocol, addr })
}

/// Parses `host:port`: an IP socket address, or a name that resolves to one (the first answer).
pub(crate) fn parse_socket_addr(text: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = text.parse() {
        return Ok(addr);
    }
    // Only something shaped like host:port is worth a resolver call.
    let resolvable = text
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
    resolvable
        .then(|| text.to_socket_addrs().ok()?.next())
        .flatten()
        .ok_or_else(|| "expected host:port, such as 127.0.0.1:7000 or [::1]:7000".to_string())
}

/// The port CJP2P nodes conventionally listen on (UDP).
pub(crate) const CJP2P_PORT: u16 = 24254;

/// Parses a CJP2P peer: `host:port`, or a host alone (an IP address, `[::1]`, or a name) for
/// [`CJP2P_PORT`]. Text with a colon that is no IP address must end in a port: it is not
/// looked up as a name.
pub(crate) fn parse_cjp2p_peer(text: &str) -> Result<SocketAddr, String> {
    let form = || {
        format!(
            "expected host:port or a host alone (for port {CJP2P_PORT}), such as \
             127.0.0.1:{CJP2P_PORT} or 127.0.0.1"
        )
    };
    let bare = text
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or(text);
    if let Ok(ip) = bare.parse::<std::net::IpAddr>() {
        return Ok(SocketAddr::new(ip, CJP2P_PORT));
    }
    if text.contains(':') {
        return parse_socket_addr(text).map_err(|_| form());
    }
    if text.is_empty() {
        return Err(form());
    }
    (text, CJP2P_PORT)
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .ok_or_else(|| format!("cannot resolve {text:?}: {}", form()))
}

/// Parses a hex ed25519 public key.
pub(crate) fn parse_key(text: &str) -> Result<PublicKey, String> {
    text.parse().map_err(|err| match err {
        KeyError::Encoding => "expected an ed25519 public key: 64 lowercase hex digits".to_string(),
        other => format!("not a usable ed25519 public key: {other}"),
    })
}

/// A peer named on the command line: its key and where it listens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Peer {
    /// The peer's ed25519 key.
    pub(crate) key: PublicKey,
    /// Where the peer listens.
    pub(crate) endpoint: TransportAddr,
}

impl Peer {
    /// The peer as a public identity addressing the node itself (no callsign).
    pub(crate) fn identity(&self, name: &str) -> PublicIdentity {
        PublicIdentity {
            name: name.to_string(),
            location: address_of(self.endpoint, None),
            key: self.key,
        }
    }
}

/// Parses `KEY@ENDPOINT`.
pub(crate) fn parse_peer(text: &str) -> Result<Peer, String> {
    let Some((key, endpoint)) = text.split_once('@') else {
        return Err(
            "expected KEY@ADDR: a hex ed25519 key, '@', then host:port or tcp:host:port"
                .to_string(),
        );
    };
    Ok(Peer {
        key: parse_key(key)?,
        endpoint: parse_endpoint(endpoint)?,
    })
}

/// The EJTP address of an endpoint, naming the client `callsign` (or the node itself).
pub(crate) fn address_of(endpoint: TransportAddr, callsign: Option<&str>) -> Address {
    match endpoint.protocol {
        Protocol::Udp => Address::udp(endpoint.addr, callsign),
        Protocol::Tcp => Address::tcp(endpoint.addr, callsign),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> PublicKey {
        ejtp_proto::Identity::from_secret_bytes(&[1; 32]).public_key()
    }

    #[test]
    fn endpoints_default_to_udp_and_take_a_tcp_prefix() {
        let udp = parse_endpoint("127.0.0.1:7000").unwrap();
        assert_eq!(udp, "udp:127.0.0.1:7000".parse().unwrap());
        let tcp = parse_endpoint("tcp:[::1]:7000").unwrap();
        assert_eq!(tcp, "tcp:[::1]:7000".parse().unwrap());
        assert_eq!(
            parse_endpoint("udp:127.0.0.1:1").unwrap().protocol,
            Protocol::Udp
        );
    }

    #[test]
    fn malformed_endpoints_are_refused_with_the_expected_form() {
        for text in [
            "",
            "7000",
            "127.0.0.1",
            "127.0.0.1:99999",
            "tcp:",
            "quic:1.2.3.4:5",
        ] {
            let err = parse_endpoint(text).unwrap_err();
            assert!(err.contains("host:port"), "{text}: {err}");
        }
    }

    #[test]
    fn cjp2p_peers_default_to_the_conventional_port() {
        assert_eq!(
            parse_cjp2p_peer("127.0.0.1:7000"),
            Ok("127.0.0.1:7000".parse().unwrap())
        );
        assert_eq!(
            parse_cjp2p_peer("127.0.0.1"),
            Ok("127.0.0.1:24254".parse().unwrap())
        );
        assert_eq!(
            parse_cjp2p_peer("[::1]"),
            Ok("[::1]:24254".parse().unwrap())
        );
        assert_eq!(parse_cjp2p_peer("::1"), Ok("[::1]:24254".parse().unwrap()));
        for bad in ["", "127.0.0.1:notaport", "127.0.0.1:99999"] {
            assert!(
                parse_cjp2p_peer(bad).unwrap_err().contains("host:port"),
                "{bad}"
            );
        }
    }

    #[test]
    fn peers_are_a_key_at_an_endpoint() {
        let peer = parse_peer(&format!("{}@tcp:127.0.0.1:9", key())).unwrap();
        assert_eq!(peer.key, key());
        assert_eq!(peer.endpoint, "tcp:127.0.0.1:9".parse().unwrap());
        let identity = peer.identity("relay");
        assert_eq!(identity.location.kind(), "tcp4");
        assert_eq!(identity.location.callsign(), None);
        assert!(parse_peer("127.0.0.1:9").is_err());
        assert!(
            parse_peer("abcd@127.0.0.1:9")
                .unwrap_err()
                .contains("ed25519")
        );
    }
}
