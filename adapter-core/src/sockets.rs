//! Binding an async adapter's sockets, and the tasks that read them for the driver.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use async_channel::Sender;
use tracing::{debug, trace};

use crate::links::LinkId;
use crate::runtime::Runtime;
use crate::{Error, NodeOptions};

/// The largest datagram read: 64 KiB, more than any UDP payload.
const UDP_BUFFER: usize = 64 * 1024;

/// How long the accept loop rests after a failed accept (out of file descriptors, ...).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// What the socket tasks hand the driver; `S` is the runtime's TCP stream.
#[derive(Debug)]
pub enum Traffic<S> {
    /// A datagram arrived on a UDP socket.
    Datagram {
        /// Its source.
        from: SocketAddr,
        /// Its bytes.
        data: Vec<u8>,
    },
    /// A listener accepted a connection.
    Accepted {
        /// The connection.
        stream: S,
        /// Its remote address.
        from: SocketAddr,
    },
    /// Bytes arrived on the connection `link` with `from`.
    Stream {
        /// The connection.
        link: LinkId,
        /// Its remote address.
        from: SocketAddr,
        /// The bytes.
        data: Vec<u8>,
    },
    /// The connection `link` to `from` could not be opened: `frames` were queued on it and are
    /// lost.
    ConnectFailed {
        /// The connection.
        link: LinkId,
        /// Its remote address.
        from: SocketAddr,
        /// The frames that were waiting for it.
        frames: Vec<Vec<u8>>,
    },
    /// The connection `link` with `from` ended (closed by the peer, failed, or never opened).
    Closed {
        /// The connection.
        link: LinkId,
        /// Its remote address.
        from: SocketAddr,
    },
}

/// The sockets of a node, bound, with their actual addresses.
#[derive(Debug)]
pub struct Bound<R: Runtime> {
    pub(crate) udp: Vec<(SocketAddr, R::UdpSocket)>,
    pub(crate) tcp: Vec<(SocketAddr, R::TcpListener)>,
}

impl<R: Runtime> Bound<R> {
    /// Binds every UDP socket and TCP listener `options` names.
    ///
    /// # Errors
    /// [`Error::Io`] if one cannot be bound; those already bound are closed.
    pub async fn bind(options: &NodeOptions) -> Result<Self, Error> {
        let mut udp = Vec::with_capacity(options.udp.len());
        for addr in &options.udp {
            udp.push(R::bind_udp(*addr).await?);
        }
        let mut tcp = Vec::with_capacity(options.tcp.len());
        for addr in &options.tcp {
            tcp.push(R::bind_tcp(*addr).await?);
        }
        Ok(Self { udp, tcp })
    }

    /// The UDP sockets' addresses.
    #[must_use]
    pub fn udp_addrs(&self) -> Vec<SocketAddr> {
        self.udp.iter().map(|(addr, _)| *addr).collect()
    }

    /// The TCP listeners' addresses.
    #[must_use]
    pub fn tcp_addrs(&self) -> Vec<SocketAddr> {
        self.tcp.iter().map(|(addr, _)| *addr).collect()
    }
}

/// Reads datagrams from `socket` for the driver, until the driver is gone.
pub(crate) async fn read_udp<R: Runtime>(
    socket: R::UdpSocket,
    traffic: Sender<Traffic<R::TcpStream>>,
) {
    let mut buffer = vec![0; UDP_BUFFER];
    loop {
        match R::recv_from(&socket, &mut buffer).await {
            Ok((len, from)) => {
                trace!(%from, len, "udp datagram received");
                let data = buffer.get(..len).unwrap_or_default().to_vec();
                if traffic
                    .send(Traffic::Datagram { from, data })
                    .await
                    .is_err()
                {
                    return;
                }
            }
            Err(err) => {
                debug!(%err, "udp receive failed");
                futures_lite::future::yield_now().await;
            }
        }
    }
}

/// Accepts connections on `listener` and hands them to the driver, until the driver is gone.
pub(crate) async fn accept_tcp<R: Runtime>(
    listener: R::TcpListener,
    traffic: Sender<Traffic<R::TcpStream>>,
) {
    loop {
        match R::accept(&listener).await {
            Ok((stream, from)) => {
                trace!(%from, "tcp connection accepted");
                if traffic
                    .send(Traffic::Accepted { stream, from })
                    .await
                    .is_err()
                {
                    return;
                }
            }
            Err(err) => {
                debug!(%err, "tcp accept failed");
                R::sleep_until(Instant::now() + ACCEPT_BACKOFF).await;
            }
        }
    }
}
