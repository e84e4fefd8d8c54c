//! async-io's sockets and timers, and an executor of the driver's own, for adapter-core's
//! shared driver.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use ejtp_adapter_core::runtime::Runtime;
use ejtp_adapter_core::unfragmented::send_unfragmented;
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use smol::net::{TcpListener, TcpStream, UdpSocket};
use smol::{Executor, Timer};

/// The node's socket tasks, on an executor that lives inside the driver future: dropping the
/// executor cancels them, closing their sockets.
#[derive(Debug)]
pub(crate) struct Smol {
    executor: Arc<Executor<'static>>,
}

impl Smol {
    /// Socket tasks on `executor`.
    pub(crate) fn new(executor: Arc<Executor<'static>>) -> Self {
        Self { executor }
    }
}

impl Runtime for Smol {
    type UdpSocket = UdpSocket;
    type TcpListener = TcpListener;
    type TcpStream = TcpStream;
    type ReadHalf = TcpStream;
    type WriteHalf = TcpStream;

    async fn bind_udp(addr: SocketAddr) -> io::Result<(SocketAddr, UdpSocket)> {
        let socket = UdpSocket::try_from(ejtp_adapter_core::bind_udp_socket(addr)?)?;
        Ok((socket.local_addr()?, socket))
    }

    async fn bind_tcp(addr: SocketAddr) -> io::Result<(SocketAddr, TcpListener)> {
        let listener = TcpListener::bind(addr).await?;
        Ok((listener.local_addr()?, listener))
    }

    fn recv_from<'a>(
        socket: &'a UdpSocket,
        buffer: &'a mut [u8],
    ) -> impl Future<Output = io::Result<(usize, SocketAddr)>> + Send + 'a {
        socket.recv_from(buffer)
    }

    fn send_to<'a>(
        socket: &'a UdpSocket,
        payload: &'a [u8],
        to: SocketAddr,
    ) -> impl Future<Output = io::Result<usize>> + Send + 'a {
        socket.send_to(payload, to)
    }

    fn try_send_unfragmented(
        socket: &UdpSocket,
        local: SocketAddr,
        payload: &[u8],
        to: SocketAddr,
    ) -> io::Result<usize> {
        // One poll of the send, so that a full send buffer drops the probe instead of
        // waiting with the bit still set.
        send_unfragmented(socket, local, || {
            futures_lite::future::block_on(futures_lite::future::poll_once(
                socket.send_to(payload, to),
            ))
            .unwrap_or_else(|| Err(io::ErrorKind::WouldBlock.into()))
        })
    }

    fn accept(
        listener: &TcpListener,
    ) -> impl Future<Output = io::Result<(TcpStream, SocketAddr)>> + Send + '_ {
        listener.accept()
    }

    fn connect(remote: SocketAddr) -> impl Future<Output = io::Result<TcpStream>> + Send {
        TcpStream::connect(remote)
    }

    fn set_nodelay(stream: &TcpStream) -> io::Result<()> {
        stream.set_nodelay(true)
    }

    fn split(stream: TcpStream) -> (TcpStream, TcpStream) {
        (stream.clone(), stream)
    }

    fn read<'a>(
        reader: &'a mut TcpStream,
        buffer: &'a mut [u8],
    ) -> impl Future<Output = io::Result<usize>> + Send + 'a {
        reader.read(buffer)
    }

    fn write_all<'a>(
        writer: &'a mut TcpStream,
        data: &'a [u8],
    ) -> impl Future<Output = io::Result<()>> + Send + 'a {
        writer.write_all(data)
    }

    fn close(writer: &mut TcpStream) -> impl Future<Output = io::Result<()>> + Send + '_ {
        writer.close()
    }

    async fn sleep_until(at: Instant) {
        Timer::at(at).await;
    }

    fn spawn(&mut self, task: impl Future<Output = ()> + Send + 'static) {
        // Owned by the executor, which cancels it when the driver stops.
        self.executor.spawn(task).detach();
    }

    async fn stop(&mut self) {
        // The tasks are cancelled as the driver future drops the executor, before it answers
        // the shutdown.
    }
}
