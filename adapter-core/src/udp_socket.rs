//! Binding UDP sockets with room for bursts.
//!
//! A node's peers send in bursts: a content source answers a window of requests at once, up to
//! a megabyte and more of 40 KiB datagrams. Linux's default receive buffer (about 208 KiB, a
//! handful of such datagrams once the kernel's own overhead is counted) overflows as soon as
//! the thread reading the socket is not scheduled for a moment, and every datagram lost there
//! costs the download a timeout and a halved congestion window. So every adapter binds its UDP
//! sockets through [`bind_udp_socket`], which asks for [`UDP_SOCKET_BUFFER`] bytes each way.
//!
//! A datagram leaves from a socket of its destination's address family ([`socket_for`], the
//! same rule in every adapter). A node with no socket of that family cannot reach the
//! destination at all: the adapter tells the node (a failed transmit) and warns, naming the
//! destination, through [`FamilyWarnings`].

use std::collections::BTreeSet;
use std::io;
use std::net::{SocketAddr, UdpSocket};

use socket2::{Domain, Protocol, Socket, Type};

/// The receive and send buffer each UDP socket asks for. The system may grant less (on Linux,
/// at most `net.core.rmem_max` / `net.core.wmem_max`); the socket works either way.
pub const UDP_SOCKET_BUFFER: usize = 4 << 20;

/// Binds a blocking UDP socket at `addr`, with buffers of [`UDP_SOCKET_BUFFER`] bytes where
/// the system allows.
///
/// # Errors
/// When the socket cannot be created or bound (an address in use, say). A buffer size the
/// system refuses is not an error: the socket keeps the size the system gives it.
pub fn bind_udp_socket(addr: SocketAddr) -> io::Result<UdpSocket> {
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    for (what, result) in [
        ("receive", socket.set_recv_buffer_size(UDP_SOCKET_BUFFER)),
        ("send", socket.set_send_buffer_size(UDP_SOCKET_BUFFER)),
    ] {
        if let Err(err) = result {
            tracing::debug!(%addr, %err, "the system refused a larger UDP {what} buffer");
        }
    }
    // Linux grants less than asked without an error, up to `net.core.rmem_max`.
    if let Ok(granted) = socket.recv_buffer_size() {
        if granted < UDP_SOCKET_BUFFER {
            tracing::debug!(
                %addr,
                granted,
                wanted = UDP_SOCKET_BUFFER,
                "smaller UDP receive buffer than asked; bursts may be lost \
                 (on Linux, raise net.core.rmem_max)"
            );
        }
    }
    socket.bind(&addr.into())?;
    Ok(socket.into())
}

/// The socket to send to `to` from: the first of its address family, preferring a loopback
/// socket for a loopback destination and another for any other destination. `None` when the
/// node has no socket of that family.
pub fn socket_for<S>(sockets: &[(SocketAddr, S)], to: SocketAddr) -> Option<&(SocketAddr, S)> {
    let mut family = sockets
        .iter()
        .filter(|(local, _)| local.is_ipv4() == to.is_ipv4());
    let same_scope =
        (family.clone()).find(|(local, _)| local.ip().is_loopback() == to.ip().is_loopback());
    same_scope.or_else(|| family.next())
}

/// The destinations already warned about as unreachable for want of a socket of their family,
/// so that a peer asked again and again is named once, not once a datagram.
///
/// Bounded: at most [`FamilyWarnings::MAX`] destinations are remembered; past that the memory
/// starts again (a destination may then be named a second time).
#[derive(Debug, Default)]
pub struct FamilyWarnings {
    warned: BTreeSet<SocketAddr>,
}

impl FamilyWarnings {
    /// The most destinations remembered.
    pub const MAX: usize = 256;

    /// No socket of `to`'s family: warns naming `to` the first time, logs at debug level after.
    pub fn no_socket(&mut self, to: SocketAddr) {
        if self.warned.len() >= Self::MAX {
            self.warned.clear();
        }
        let family = if to.is_ipv4() { "IPv4" } else { "IPv6" };
        if self.warned.insert(to) {
            tracing::warn!(
                %to,
                "{to} cannot be reached: the node has no {family} UDP socket \
                 (bind one with NodeOptions::udp)"
            );
        } else {
            tracing::debug!(%to, "no {family} UDP socket: datagram dropped");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datagrams_leave_from_a_socket_of_the_destinations_family_and_scope() {
        let sockets: Vec<(SocketAddr, &str)> = vec![
            ("127.0.0.1:1".parse().unwrap(), "loopback v4"),
            ("192.0.2.1:1".parse().unwrap(), "documentation v4"),
            ("[::1]:1".parse().unwrap(), "loopback v6"),
        ];
        let pick = |to: &str| socket_for(&sockets, to.parse().unwrap()).map(|(_, name)| *name);
        assert_eq!(pick("127.0.0.1:9"), Some("loopback v4"));
        assert_eq!(pick("198.51.100.7:9"), Some("documentation v4"));
        assert_eq!(pick("[::1]:9"), Some("loopback v6"));
        assert_eq!(
            pick("[2001:db8::1]:9"),
            Some("loopback v6"),
            "the only v6 socket"
        );
        assert_eq!(socket_for(&sockets[..2], "[::1]:9".parse().unwrap()), None);
    }

    #[test]
    fn each_unreachable_destination_is_remembered_within_the_bound() {
        let mut warnings = FamilyWarnings::default();
        for port in 0..(FamilyWarnings::MAX as u16 + 10) {
            warnings.no_socket(SocketAddr::from(([127, 0, 0, 1], port)));
            warnings.no_socket(SocketAddr::from(([127, 0, 0, 1], port)));
            assert!(warnings.warned.len() <= FamilyWarnings::MAX);
        }
    }

    #[test]
    fn binds_with_a_larger_receive_buffer_where_allowed() {
        let socket = bind_udp_socket("127.0.0.1:0".parse().unwrap()).unwrap();
        let local = socket.local_addr().unwrap();
        assert!(local.ip().is_loopback() && local.port() != 0);
        let granted = Socket::from(socket.try_clone().unwrap())
            .recv_buffer_size()
            .unwrap();
        let default = Socket::new(Domain::IPV4, Type::DGRAM, None)
            .unwrap()
            .recv_buffer_size()
            .unwrap();
        // Never less than the system's default; more wherever the system allows more.
        assert!(granted >= default, "{granted} < {default}");
        socket.send_to(b"x", local).unwrap();
        let mut buffer = [0u8; 4];
        assert_eq!(socket.recv_from(&mut buffer).unwrap(), (1, local));
    }

    #[test]
    fn an_address_in_use_is_an_error() {
        let first = bind_udp_socket("127.0.0.1:0".parse().unwrap()).unwrap();
        let taken = first.local_addr().unwrap();
        assert!(bind_udp_socket(taken).is_err());
    }
}
