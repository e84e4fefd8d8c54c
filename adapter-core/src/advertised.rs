//! The addresses a node advertises for the sockets it bound.
//!
//! A socket bound to the wildcard (`0.0.0.0:P`, `[::]:P`) receives on every interface, but the
//! wildcard names no host: a peer can send nothing to it (on Linux `0.0.0.0` even means the
//! peer itself). So for such a socket the node advertises the address of the interface its
//! traffic to its default route leaves from, found the way the OS routes it (a UDP `connect`
//! sends nothing), and keeps the wildcard only so that it knows frames addressed to any of
//! its IPs on that port are its own. Peers learn the rest, its NAT mappings, from where they
//! see its frames come from (`Node::reflexive_addresses`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};

/// The local addresses to declare for a socket bound to `bound`, the specific one first:
/// `bound` itself if it names an IP; else the interface address toward `toward` (if the OS
/// has a route there) and then the wildcard.
#[must_use]
pub(crate) fn advertised_addresses(
    bound: SocketAddr,
    toward: Option<SocketAddr>,
) -> Vec<SocketAddr> {
    if !bound.ip().is_unspecified() {
        return vec![bound];
    }
    let interface = toward
        .filter(|peer| peer.is_ipv4() == bound.is_ipv4())
        .and_then(interface_toward)
        .filter(|ip| !ip.is_unspecified())
        .map(|ip| SocketAddr::new(ip, bound.port()));
    interface.into_iter().chain([bound]).collect()
}

/// The address peers are told to reach a socket bound to `bound` at: `bound` itself if it
/// names an IP, else the interface address toward the default route of `options` (the
/// wildcard if there is no default route, or no route to it).
#[must_use]
pub fn advertised_address(bound: SocketAddr, options: &crate::NodeOptions) -> SocketAddr {
    let toward = options
        .default_route
        .as_ref()
        .and_then(|route| route.location.transport())
        .map(|transport| transport.addr);
    advertised_addresses(bound, toward)
        .first()
        .copied()
        .unwrap_or(bound)
}

/// The IP of the interface the OS would send to `peer` from; nothing is sent.
fn interface_toward(peer: SocketAddr) -> Option<IpAddr> {
    let any: IpAddr = if peer.is_ipv4() {
        Ipv4Addr::UNSPECIFIED.into()
    } else {
        Ipv6Addr::UNSPECIFIED.into()
    };
    let probe = UdpSocket::bind((any, 0)).ok()?;
    probe.connect(peer).ok()?;
    probe.local_addr().ok().map(|local| local.ip())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_specific_address_is_advertised_as_bound() {
        let bound: SocketAddr = "127.0.0.1:7000".parse().unwrap();
        assert_eq!(advertised_addresses(bound, None), vec![bound]);
    }

    #[test]
    fn a_wildcard_is_advertised_as_the_interface_toward_the_peer_then_itself() {
        let bound: SocketAddr = "0.0.0.0:7000".parse().unwrap();
        let peer: SocketAddr = "127.0.0.1:9".parse().unwrap();
        assert_eq!(
            advertised_addresses(bound, Some(peer)),
            vec!["127.0.0.1:7000".parse().unwrap(), bound]
        );
        assert_eq!(advertised_addresses(bound, None), vec![bound]);
    }
}
