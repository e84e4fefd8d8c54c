//! A NAT in front of some hosts: endpoint-independent mapping with a choice of filtering
//! (RFC 4787's terms), the model that NAT traversal is designed against.
//!
//! A packet from an inside host to the outside leaves from the host's mapping: one public port
//! per inside address, the same whatever the destination (endpoint-independent mapping, as most
//! home routers and RFC 4787 recommend), so a peer that learns the mapping from one contact can
//! be reached at it by others. Inbound packets to a mapped port reach the inside host only if the
//! filter lets them: any sender (endpoint-independent filtering, a "full cone"), only an address
//! the host has sent to (address-dependent) or only the exact address and port
//! (address-and-port-dependent). Unsolicited packets, and packets to unmapped ports, are dropped.

use alloc::collections::{BTreeMap, BTreeSet};
use core::net::{IpAddr, SocketAddr};

use crate::transport::TransportAddr;

/// Which inbound packets a mapping lets through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filtering {
    /// From anyone, once the mapping exists.
    EndpointIndependent,
    /// From any port of an address the inside host has sent to.
    AddressDependent,
    /// Only from an address and port the inside host has sent to.
    AddressAndPortDependent,
}

/// How a NAT picks the public address of an outgoing packet (RFC 4787's mapping behaviour).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mapping {
    /// One public port per inside address, whatever the destination: what peers learn from one
    /// contact reaches the host from others (hole punching can work).
    EndpointIndependent,
    /// A new public port for every destination address and port (a "symmetric" NAT): what one
    /// peer sees is useless to another (hole punching fails; traffic must be relayed).
    AddressAndPortDependent,
}

/// The first public port a NAT hands out.
pub const FIRST_PUBLIC_PORT: u16 = 40_000;

/// One NAT: its public address, the hosts behind it, its mappings and what they let in.
#[derive(Clone, Debug)]
pub struct Nat {
    public_ip: IpAddr,
    filtering: Filtering,
    mapping: Mapping,
    inside: BTreeSet<TransportAddr>,
    next_port: Option<u16>,
    /// (inside address, destination or, with endpoint-independent mapping, none) to public
    /// address.
    mappings: BTreeMap<(TransportAddr, Option<TransportAddr>), TransportAddr>,
    /// Public address back to inside address.
    reverse: BTreeMap<TransportAddr, TransportAddr>,
    /// (public address, remote) pairs the inside host has sent to.
    contacted: BTreeSet<(TransportAddr, TransportAddr)>,
}

impl Nat {
    /// A NAT with no hosts behind it yet, mapping them to ports of `public_ip`.
    #[must_use]
    pub fn new(public_ip: IpAddr, filtering: Filtering) -> Self {
        Self {
            public_ip,
            filtering,
            mapping: Mapping::EndpointIndependent,
            inside: BTreeSet::new(),
            next_port: Some(FIRST_PUBLIC_PORT),
            mappings: BTreeMap::new(),
            reverse: BTreeMap::new(),
            contacted: BTreeSet::new(),
        }
    }

    /// The same NAT with `mapping` behaviour (endpoint-independent by default).
    #[must_use]
    pub fn with_mapping(mut self, mapping: Mapping) -> Self {
        self.mapping = mapping;
        self
    }

    /// Forgets every mapping, as a router does when its connection tracking is flushed or it
    /// restarts: the next packet out gets a new public port.
    pub fn forget_mappings(&mut self) {
        self.mappings.clear();
        self.reverse.clear();
        self.contacted.clear();
    }

    /// Puts the host at `addr` behind this NAT. Hosts are named by address rather than by IP so
    /// that simulated hosts sharing one IP can sit on different sides.
    pub fn add_inside(&mut self, addr: TransportAddr) {
        self.inside.insert(addr);
    }

    /// Whether `addr` is a host behind this NAT.
    #[must_use]
    pub fn is_inside(&self, addr: &TransportAddr) -> bool {
        self.inside.contains(addr)
    }

    /// Whether `addr` is one of this NAT's public addresses (mapped or not).
    #[must_use]
    pub fn owns(&self, addr: &TransportAddr) -> bool {
        addr.addr.ip() == self.public_ip
    }

    /// The public address of inside host `inside`, if it has sent anything out yet (with a
    /// symmetric NAT, the first of its mappings).
    #[must_use]
    pub fn mapping(&self, inside: &TransportAddr) -> Option<TransportAddr> {
        self.mappings
            .iter()
            .find(|((from, _), _)| from == inside)
            .map(|(_, public)| *public)
    }

    /// A packet from inside host `from` to `to` goes out: its source as the outside sees it,
    /// allocating a mapping on first use; `None` once the NAT has no ports left.
    pub fn outbound(&mut self, from: TransportAddr, to: TransportAddr) -> Option<TransportAddr> {
        let key = match self.mapping {
            Mapping::EndpointIndependent => (from, None),
            Mapping::AddressAndPortDependent => (from, Some(to)),
        };
        let public = match self.mappings.get(&key) {
            Some(public) => *public,
            None => {
                let port = self.next_port?;
                self.next_port = port.checked_add(1);
                let public = TransportAddr {
                    protocol: from.protocol,
                    addr: SocketAddr::new(self.public_ip, port),
                };
                self.mappings.insert(key, public);
                self.reverse.insert(public, from);
                public
            }
        };
        self.contacted.insert((public, to));
        Some(public)
    }

    /// A packet from `from` reaches public address `to`: the inside host it goes to, or `None`
    /// if no mapping has that address or the filter refuses the sender.
    #[must_use]
    pub fn inbound(&self, from: TransportAddr, to: TransportAddr) -> Option<TransportAddr> {
        let inside = self.reverse.get(&to)?;
        let allowed = match self.filtering {
            Filtering::EndpointIndependent => true,
            Filtering::AddressDependent => self
                .contacted
                .iter()
                .any(|(public, remote)| *public == to && remote.addr.ip() == from.addr.ip()),
            Filtering::AddressAndPortDependent => self.contacted.contains(&(to, from)),
        };
        allowed.then_some(*inside)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(text: &str) -> TransportAddr {
        text.parse().unwrap()
    }

    #[test]
    fn the_mapping_is_the_same_for_every_destination_and_replies_come_back() {
        let mut nat = Nat::new(
            "203.0.113.1".parse().unwrap(),
            Filtering::AddressAndPortDependent,
        );
        let inside = addr("udp:192.168.1.2:5000");
        nat.add_inside(inside);
        let (a, b) = (addr("udp:198.51.100.7:9000"), addr("udp:198.51.100.8:9000"));
        let public = nat.outbound(inside, a).unwrap();
        assert_eq!(public, addr("udp:203.0.113.1:40000"));
        assert_eq!(nat.outbound(inside, b), Some(public));
        assert_eq!(nat.mapping(&inside), Some(public));
        assert_eq!(nat.inbound(a, public), Some(inside));
        // The same address from another port was never contacted.
        assert_eq!(nat.inbound(addr("udp:198.51.100.7:9001"), public), None);
        // Nothing is mapped at another port.
        assert_eq!(nat.inbound(a, addr("udp:203.0.113.1:40001")), None);
    }

    #[test]
    fn filtering_decides_who_may_use_a_mapping() {
        let inside = addr("udp:192.168.1.2:5000");
        let contacted = addr("udp:198.51.100.7:9000");
        let same_host_other_port = addr("udp:198.51.100.7:9001");
        let stranger = addr("udp:198.51.100.99:9000");
        let expect = [
            (Filtering::EndpointIndependent, [true, true, true]),
            (Filtering::AddressDependent, [true, true, false]),
            (Filtering::AddressAndPortDependent, [true, false, false]),
        ];
        for (filtering, allowed) in expect {
            let mut nat = Nat::new("203.0.113.1".parse().unwrap(), filtering);
            nat.add_inside(inside);
            let public = nat.outbound(inside, contacted).unwrap();
            let got = [contacted, same_host_other_port, stranger]
                .map(|from| nat.inbound(from, public).is_some());
            assert_eq!(got, allowed, "{filtering:?}");
        }
    }
}
