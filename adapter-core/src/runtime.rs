//! [`Runtime`]: what an async adapter's runtime provides, the only part of an async adapter
//! that differs from one runtime to another: sockets, timers and tasks.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Instant;

/// The sockets, timers and tasks of one async runtime, for the shared
/// [`Runner`](crate::runner::Runner) and socket tasks.
///
/// The associated functions are the runtime's I/O; the methods spawn and stop the node's
/// socket tasks, which the value owns.
pub trait Runtime: Send + 'static {
    /// A bound UDP socket, cheap to clone (the reader task and the driver share it).
    type UdpSocket: Clone + Send + Sync + 'static;
    /// A TCP listener.
    type TcpListener: Send + 'static;
    /// A TCP connection.
    type TcpStream: Send + 'static;
    /// The reading half of a TCP connection.
    type ReadHalf: Send + 'static;
    /// The writing half of a TCP connection.
    type WriteHalf: Send + 'static;

    /// Binds a UDP socket at `addr`; returns it with its actual address.
    fn bind_udp(
        addr: SocketAddr,
    ) -> impl Future<Output = io::Result<(SocketAddr, Self::UdpSocket)>> + Send;

    /// Listens for TCP at `addr`; returns the listener with its actual address.
    fn bind_tcp(
        addr: SocketAddr,
    ) -> impl Future<Output = io::Result<(SocketAddr, Self::TcpListener)>> + Send;

    /// Receives one datagram into `buffer`: its length and source.
    fn recv_from<'a>(
        socket: &'a Self::UdpSocket,
        buffer: &'a mut [u8],
    ) -> impl Future<Output = io::Result<(usize, SocketAddr)>> + Send + 'a;

    /// Sends one datagram to `to`.
    fn send_to<'a>(
        socket: &'a Self::UdpSocket,
        payload: &'a [u8],
        to: SocketAddr,
    ) -> impl Future<Output = io::Result<usize>> + Send + 'a;

    /// Sends one datagram to `to` with the IP don't-fragment bit, without waiting: a path MTU
    /// probe ([`Transmit::dont_fragment`](ejtp_proto::Transmit::dont_fragment)). Through
    /// [`send_unfragmented`](crate::unfragmented::send_unfragmented) on the socket bound at
    /// `local`. A probe the socket has no room for now is lost, as one the path drops is.
    ///
    /// # Errors
    /// Any error of the send, `WouldBlock` and `EMSGSIZE` (larger than the interface) among
    /// them; the runner drops the probe on any of them.
    fn try_send_unfragmented(
        socket: &Self::UdpSocket,
        local: SocketAddr,
        payload: &[u8],
        to: SocketAddr,
    ) -> io::Result<usize>;

    /// Accepts one connection.
    fn accept(
        listener: &Self::TcpListener,
    ) -> impl Future<Output = io::Result<(Self::TcpStream, SocketAddr)>> + Send + '_;

    /// Opens a connection to `remote`.
    fn connect(remote: SocketAddr) -> impl Future<Output = io::Result<Self::TcpStream>> + Send;

    /// Sets `TCP_NODELAY` on a connection.
    ///
    /// # Errors
    /// As the operating system's `setsockopt`.
    fn set_nodelay(stream: &Self::TcpStream) -> io::Result<()>;

    /// Splits a connection into halves that can be used at once.
    fn split(stream: Self::TcpStream) -> (Self::ReadHalf, Self::WriteHalf);

    /// Reads some bytes into `buffer`: how many (0 at the end of the stream).
    fn read<'a>(
        reader: &'a mut Self::ReadHalf,
        buffer: &'a mut [u8],
    ) -> impl Future<Output = io::Result<usize>> + Send + 'a;

    /// Writes all of `data`.
    fn write_all<'a>(
        writer: &'a mut Self::WriteHalf,
        data: &'a [u8],
    ) -> impl Future<Output = io::Result<()>> + Send + 'a;

    /// Closes the writing side (the peer reads the end of the stream).
    fn close(writer: &mut Self::WriteHalf) -> impl Future<Output = io::Result<()>> + Send + '_;

    /// Waits until `at`.
    fn sleep_until(at: Instant) -> impl Future<Output = ()> + Send;

    /// Starts a socket task owned by this value, which cancels it when stopped or dropped.
    fn spawn(&mut self, task: impl Future<Output = ()> + Send + 'static);

    /// Forgets the tasks that have ended. Called after every step of the driver.
    fn reap(&mut self) {}

    /// Cancels every task, closing the sockets they hold.
    fn stop(&mut self) -> impl Future<Output = ()> + Send;
}

/// Runs `future` for at most until `deadline`: `None` if it did not finish in time.
pub async fn deadline<R: Runtime, T>(at: Instant, future: impl Future<Output = T>) -> Option<T> {
    use futures_lite::FutureExt;
    let timer = async {
        R::sleep_until(at).await;
        None
    };
    async { Some(future.await) }.or(timer).await
}
