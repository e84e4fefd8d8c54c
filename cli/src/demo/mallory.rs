//! Mallory: a plain UDP socket that alice is told is bob's address, so every datagram alice
//! sends "to bob" passes through Mallory, who can keep it, pass it on, send it twice or alter it
//! (but cannot read it or make a new one: Mallory has no key bob trusts).

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use ejtp_proto::frame::TYPE_SEALED;

/// Mallory's socket.
pub(super) struct Mallory {
    socket: UdpSocket,
}

impl Mallory {
    /// A socket on an ephemeral loopback port.
    pub(super) fn bind() -> io::Result<Self> {
        let socket = UdpSocket::bind(("127.0.0.1", 0))?;
        Ok(Self { socket })
    }

    /// Where Mallory listens.
    pub(super) fn addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// The next `r` frame from `from` that arrives within `timeout` (anything else is ignored).
    pub(super) fn capture(&self, from: SocketAddr, timeout: Duration) -> io::Result<Vec<u8>> {
        let deadline = Instant::now() + timeout;
        let mut buffer = vec![0u8; 65_536];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::Error::new(io::ErrorKind::TimedOut, "nothing came by"));
            }
            self.socket.set_read_timeout(Some(left))?;
            let (len, source) = self.socket.recv_from(&mut buffer)?;
            let datagram = buffer.get(..len).unwrap_or_default();
            // Bob also talks to the address alice's frames came from (he tells her, inside
            // their session, where he sees her): only alice's datagrams are what Mallory wants.
            if source == from && datagram.first() == Some(&TYPE_SEALED) {
                return Ok(datagram.to_vec());
            }
        }
    }

    /// Sends `datagram` to `to`, from Mallory's socket.
    pub(super) fn inject(&self, datagram: &[u8], to: SocketAddr) -> io::Result<()> {
        self.socket.send_to(datagram, to).map(drop)
    }
}
