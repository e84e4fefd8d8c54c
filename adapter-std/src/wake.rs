//! Waking threads blocked in `accept` or `recv_from` when the node stops.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::time::Duration;

/// How long a wake-up connection to our own listener may take (it is on this host).
const WAKE_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// An address that reaches a socket bound at `local`: itself, or the loopback address of its
/// family if it is bound to the wildcard address.
pub(crate) fn reachable(local: SocketAddr) -> SocketAddr {
    let ip = match local.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, local.port())
}

/// Wakes the thread blocked in `accept` on the listener at `local` by connecting to it.
pub(crate) fn wake_listener(local: SocketAddr) {
    if let Err(err) = TcpStream::connect_timeout(&reachable(local), WAKE_CONNECT_TIMEOUT) {
        tracing::debug!(%local, %err, "could not wake a TCP accept thread");
    }
}
