//! Tokio's sockets, timers and tasks, for adapter-core's shared driver.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use ejtp_adapter_core::runtime::Runtime;
use ejtp_adapter_core::unfragmented::send_unfragmented;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::task::JoinSet;
use tracing::warn;

/// The node's socket tasks, on the tokio runtime the node was bound in.
#[derive(Debug, Default)]
pub(crate) struct Tokio {
    /// Every socket task: dropping the set aborts them, closing their sockets.
    tasks: JoinSet<()>,
}

impl Runtime for Tokio {
    type UdpSocket = Arc<UdpSocket>;
    type TcpListener = TcpListener;
    type TcpStream = TcpStream;
    type ReadHalf = OwnedReadHalf;
    type WriteHalf = OwnedWriteHalf;

    async fn bind_udp(addr: SocketAddr) -> io::Result<(SocketAddr, Arc<UdpSocket>)> {
        let socket = ejtp_adapter_core::bind_udp_socket(addr)?;
        socket.set_nonblocking(true)?;
        let socket = UdpSocket::from_std(socket)?;
        Ok((socket.local_addr()?, Arc::new(socket)))
    }

    async fn bind_tcp(addr: SocketAddr) -> io::Result<(SocketAddr, TcpListener)> {
        let listener = TcpListener::bind(addr).await?;
        Ok((listener.local_addr()?, listener))
    }

    fn recv_from<'a>(
        socket: &'a Arc<UdpSocket>,
        buffer: &'a mut [u8],
    ) -> impl Future<Output = io::Result<(usize, SocketAddr)>> + Send + 'a {
        socket.recv_from(buffer)
    }

    fn send_to<'a>(
        socket: &'a Arc<UdpSocket>,
        payload: &'a [u8],
        to: SocketAddr,
    ) -> impl Future<Output = io::Result<usize>> + Send + 'a {
        socket.send_to(payload, to)
    }

    fn try_send_unfragmented(
        socket: &Arc<UdpSocket>,
        local: SocketAddr,
        payload: &[u8],
        to: SocketAddr,
    ) -> io::Result<usize> {
        send_unfragmented(socket.as_ref(), local, || socket.try_send_to(payload, to))
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

    fn split(stream: TcpStream) -> (OwnedReadHalf, OwnedWriteHalf) {
        stream.into_split()
    }

    fn read<'a>(
        reader: &'a mut OwnedReadHalf,
        buffer: &'a mut [u8],
    ) -> impl Future<Output = io::Result<usize>> + Send + 'a {
        reader.read(buffer)
    }

    fn write_all<'a>(
        writer: &'a mut OwnedWriteHalf,
        data: &'a [u8],
    ) -> impl Future<Output = io::Result<()>> + Send + 'a {
        writer.write_all(data)
    }

    fn close(writer: &mut OwnedWriteHalf) -> impl Future<Output = io::Result<()>> + Send + '_ {
        writer.shutdown()
    }

    async fn sleep_until(at: Instant) {
        tokio::time::sleep_until(at.into()).await;
    }

    fn spawn(&mut self, task: impl Future<Output = ()> + Send + 'static) {
        self.tasks.spawn(task);
    }

    fn reap(&mut self) {
        while let Some(ended) = self.tasks.try_join_next() {
            if let Err(err) = ended {
                if err.is_panic() {
                    warn!(%err, "a socket task panicked");
                }
            }
        }
    }

    async fn stop(&mut self) {
        self.tasks.shutdown().await;
    }
}
