//! UDP: the node's sockets in the poll loop, read without waiting and sent to from a socket of
//! the destination's family.

use std::io::ErrorKind;
use std::net::SocketAddr;

use ejtp_adapter_core::udp_socket::{FamilyWarnings, socket_for};
use ejtp_adapter_core::unfragmented::send_unfragmented;
use mio::net::UdpSocket;

/// What sending a datagram came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sending {
    /// Handed to the operating system.
    Handed,
    /// The socket's send buffer was full: lost, as the network may lose it (the node's
    /// retries and timeouts deal with it; telling it the peer's address failed would be
    /// wrong).
    Lost,
    /// It cannot go out (no socket of its family, or an error): the node is to be told.
    Failed,
}

/// The node's UDP sockets, in the order bound.
#[derive(Debug, Default)]
pub(crate) struct UdpSockets {
    sockets: Vec<(SocketAddr, UdpSocket)>,
    /// The destinations named as unreachable for want of a socket of their family.
    no_socket: FamilyWarnings,
}

impl UdpSockets {
    /// Adds a socket bound at `local`.
    pub(crate) fn push(&mut self, local: SocketAddr, socket: UdpSocket) {
        self.sockets.push((local, socket));
    }

    /// The socket at `index`, to register or read.
    pub(crate) fn get_mut(&mut self, index: usize) -> Option<&mut UdpSocket> {
        self.sockets.get_mut(index).map(|(_, socket)| socket)
    }

    /// How many sockets there are.
    pub(crate) fn len(&self) -> usize {
        self.sockets.len()
    }

    /// Closes every socket.
    pub(crate) fn clear(&mut self) {
        self.sockets.clear();
    }

    /// Sends `payload` to `to` from a socket of its IP family
    /// ([`socket_for`](ejtp_adapter_core::udp_socket::socket_for), the rule of every
    /// adapter), without waiting.
    pub(crate) fn send(&mut self, to: SocketAddr, payload: &[u8]) -> Sending {
        let Some((local, socket)) = socket_for(&self.sockets, to) else {
            self.no_socket.no_socket(to);
            return Sending::Failed;
        };
        match socket.send_to(payload, to) {
            Ok(_) => {
                tracing::trace!(%local, %to, len = payload.len(), "datagram sent");
                Sending::Handed
            }
            Err(err) if err.kind() == ErrorKind::WouldBlock => {
                tracing::debug!(%local, %to, "UDP send buffer full; datagram dropped");
                Sending::Lost
            }
            Err(err) => {
                tracing::debug!(%local, %to, %err, "UDP send failed; datagram dropped");
                Sending::Failed
            }
        }
    }

    /// Sends a path MTU probe to `to` with the don't-fragment bit
    /// ([`send_unfragmented`]). A probe that cannot go (too large for the interface, a full
    /// buffer, no socket of its family) is lost, as one the path drops is: the node notices
    /// from the missing answer, and must not take it for the peer's address failing.
    pub(crate) fn send_probe(&mut self, to: SocketAddr, payload: &[u8]) {
        let Some((local, socket)) = socket_for(&self.sockets, to) else {
            tracing::debug!(%to, "no socket of the probe's family: path MTU probe dropped");
            return;
        };
        match send_unfragmented(socket, *local, || socket.send_to(payload, to)) {
            Ok(_) => tracing::trace!(%local, %to, len = payload.len(), "path MTU probe sent"),
            Err(err) => {
                tracing::debug!(%local, %to, len = payload.len(), %err, "path MTU probe not sent");
            }
        }
    }
}
