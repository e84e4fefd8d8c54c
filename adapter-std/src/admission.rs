//! Who gets a TCP connection once the bounds are reached: an address with its share of the
//! table already gets no more (the newest is refused), and a full table makes room by closing
//! its idlest connection (see [`crate::limits`] for why each).

use std::net::{IpAddr, SocketAddr};

use ejtp_adapter_core::Connections;

use crate::tcp::Conn;

/// Whether `ip` already has `max` connections, accepted and opened together. An IPv4 address
/// seen as IPv6 (`::ffff:a.b.c.d`, as a dual-stack listener reports it) counts as itself.
pub(crate) fn at_ip_limit(connections: &Connections<Conn>, ip: IpAddr, max: usize) -> bool {
    let ip = ip.to_canonical();
    connections
        .iter()
        .filter(|(remote, _)| remote.ip().to_canonical() == ip)
        .take(max)
        .count()
        >= max
}

/// The connection to close to make room: the one whose last complete frame, either way, is
/// oldest.
pub(crate) fn idlest(connections: &Connections<Conn>) -> Option<SocketAddr> {
    connections
        .iter()
        .min_by_key(|(_, conn)| conn.last_frame())
        .map(|(remote, _)| *remote)
}
