//! Binding UDP sockets with room for bursts.
//!
//! A node's peers send in bursts: a content source answers a window of requests at once, up to
//! a megabyte and more of 40 KiB datagrams. Linux's default receive buffer (about 208 KiB, a
//! handful of such datagrams once the kernel's own overhead is counted) overflows as soon as
//! the thread reading the socket is not scheduled for a moment, and every datagram lost there
//! costs the download a timeout and a halved congestion window. So every adapter binds its UDP
//! sockets through [`bind_udp_socket`], which asks for [`UDP_SOCKET_BUFFER`] bytes each way.

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

#[cfg(test)]
mod tests {
    use super::*;

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
