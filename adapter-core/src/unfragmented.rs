//! Datagrams sent with the IP don't-fragment bit: path MTU probes
//! ([`Transmit::dont_fragment`](ejtp_proto::Transmit::dont_fragment)).
//!
//! A probe proves a datagram size only if it crosses the path whole. Without the bit, a router
//! whose next link is smaller fragments it, the fragments are put back together at the far
//! end, and the node would take for its path a size that only crosses in IP fragments, which
//! many real paths drop. So a probe goes out with the bit set.
//!
//! The bit is set for that one send and the socket's mode put back after it: the rest of the
//! node's traffic keeps the system's behaviour, because CJP2P answers to public nodes are as
//! large as those nodes ask for and rely on IP fragmentation.
//!
//! On Linux the socket is switched to `IP_PMTUDISC_PROBE` (`IPV6_PMTUDISC_PROBE` for IPv6),
//! which sets the bit and ignores the kernel's cached path MTU, so a probe is never refused
//! because of an earlier ICMP message (the probe itself is the test) and a forged ICMP message
//! cannot shrink it. A probe larger than the interface's MTU is refused by the kernel with
//! `EMSGSIZE`: the caller treats any error of an unfragmented send as the probe being lost,
//! which is what it is. Elsewhere the datagram is sent as any other (where the OS gives no
//! per-socket switch, the node's probes may cross in fragments, as PROTOCOL.md §21 says).

use std::io;
use std::net::SocketAddr;

/// Sends one datagram through `send` with the don't-fragment bit set on `socket` (bound at
/// `local`) for the duration of the call, then puts the socket's previous mode back.
///
/// If the OS refuses the switch, the datagram is still sent, without the bit (logged at debug
/// level): a probe that crosses in fragments is the protocol's documented fallback, and a
/// probe never sent would leave the path at the safe size forever.
///
/// # Errors
/// What `send` returns: on Linux, `EMSGSIZE` for a datagram larger than the interface's MTU.
///
/// # Examples
/// ```
/// # fn main() -> std::io::Result<()> {
/// use std::net::UdpSocket;
/// use ejtp_adapter_core::unfragmented::send_unfragmented;
///
/// let socket = UdpSocket::bind("127.0.0.1:0")?;
/// let to = socket.local_addr()?;
/// let sent = send_unfragmented(&socket, to, || socket.send_to(b"probe", to))?;
/// assert_eq!(sent, 5);
/// # Ok(())
/// # }
/// ```
#[cfg(target_os = "linux")]
pub fn send_unfragmented<S: std::os::fd::AsFd>(
    socket: &S,
    local: SocketAddr,
    send: impl FnOnce() -> io::Result<usize>,
) -> io::Result<usize> {
    let switched = linux::Probing::start(socket.as_fd(), local);
    if let Err(err) = &switched {
        tracing::debug!(%local, %err, "could not set the don't-fragment bit; probing without it");
    }
    let sent = send();
    if let Ok(probing) = switched {
        probing.end(socket.as_fd(), local);
    }
    sent
}

/// Sends one datagram through `send`: this OS has no per-socket don't-fragment switch the
/// adapters use, so it goes as any other (see the module documentation).
///
/// # Errors
/// What `send` returns.
#[cfg(not(target_os = "linux"))]
pub fn send_unfragmented<S>(
    _socket: &S,
    _local: SocketAddr,
    send: impl FnOnce() -> io::Result<usize>,
) -> io::Result<usize> {
    send()
}

#[cfg(target_os = "linux")]
mod linux {
    use std::io;
    use std::net::SocketAddr;
    use std::os::fd::BorrowedFd;

    use rustix::net::sockopt::{
        Ipv4PathMtuDiscovery, Ipv6PathMtuDiscovery, ip_mtu_discover, ipv6_mtu_discover,
        set_ip_mtu_discover, set_ipv6_mtu_discover,
    };

    /// A socket switched to probing mode, with the mode to put back.
    #[derive(Clone, Copy, Debug)]
    pub(super) enum Probing {
        /// An IPv4 socket, and its mode before.
        V4(Ipv4PathMtuDiscovery),
        /// An IPv6 socket, and its mode before.
        V6(Ipv6PathMtuDiscovery),
    }

    impl Probing {
        /// Switches the socket bound at `local` to probing mode.
        pub(super) fn start(fd: BorrowedFd<'_>, local: SocketAddr) -> io::Result<Self> {
            if local.is_ipv4() {
                let before = ip_mtu_discover(fd)?;
                set_ip_mtu_discover(fd, Ipv4PathMtuDiscovery::PROBE)?;
                Ok(Self::V4(before))
            } else {
                let before = ipv6_mtu_discover(fd)?;
                set_ipv6_mtu_discover(fd, Ipv6PathMtuDiscovery::PROBE)?;
                Ok(Self::V6(before))
            }
        }

        /// Puts the socket's mode back. A failure is warned about: the socket would keep the
        /// bit on everything it sends, and large CJP2P answers would be refused.
        pub(super) fn end(self, fd: BorrowedFd<'_>, local: SocketAddr) {
            let restored = match self {
                Self::V4(before) => set_ip_mtu_discover(fd, before),
                Self::V6(before) => set_ipv6_mtu_discover(fd, before),
            };
            if let Err(err) = restored {
                tracing::warn!(
                    %local,
                    %err,
                    "could not clear the don't-fragment bit after a path MTU probe; datagrams \
                     larger than the path's MTU may now be refused"
                );
            }
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::net::UdpSocket;

    use rustix::net::sockopt::{
        Ipv4PathMtuDiscovery, Ipv6PathMtuDiscovery, ip_mtu_discover, ipv6_mtu_discover,
        set_ip_mtu_discover,
    };

    use super::send_unfragmented;

    #[test]
    fn the_bit_is_set_for_the_send_and_the_mode_put_back_after() {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        set_ip_mtu_discover(&socket, Ipv4PathMtuDiscovery::DONT).unwrap();
        let to = socket.local_addr().unwrap();
        let mut during = None;
        let sent = send_unfragmented(&socket, to, || {
            during = Some(ip_mtu_discover(&socket).unwrap());
            socket.send_to(b"probe", to)
        })
        .unwrap();
        assert_eq!(sent, 5);
        assert_eq!(during, Some(Ipv4PathMtuDiscovery::PROBE));
        assert_eq!(
            ip_mtu_discover(&socket).unwrap(),
            Ipv4PathMtuDiscovery::DONT
        );
        let mut buf = [0; 16];
        assert_eq!(socket.recv_from(&mut buf).unwrap().0, 5);
    }

    #[test]
    fn ipv6_sockets_use_the_ipv6_switch() {
        let Ok(socket) = UdpSocket::bind("[::1]:0") else {
            eprintln!("skipped: no IPv6 loopback here");
            return;
        };
        let before = ipv6_mtu_discover(&socket).unwrap();
        let to = socket.local_addr().unwrap();
        let mut during = None;
        send_unfragmented(&socket, to, || {
            during = Some(ipv6_mtu_discover(&socket).unwrap());
            socket.send_to(b"probe", to)
        })
        .unwrap();
        assert_eq!(during, Some(Ipv6PathMtuDiscovery::PROBE));
        assert_eq!(ipv6_mtu_discover(&socket).unwrap(), before);
    }

    #[test]
    fn an_error_of_the_send_is_returned_and_the_mode_still_put_back() {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let before = ip_mtu_discover(&socket).unwrap();
        let local = socket.local_addr().unwrap();
        let failed = send_unfragmented(&socket, local, || Err(std::io::Error::other("refused")));
        assert_eq!(failed.unwrap_err().to_string(), "refused");
        assert_eq!(ip_mtu_discover(&socket).unwrap(), before);
    }
}
