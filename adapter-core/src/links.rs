//! An async adapter's TCP connections: the table the driver keeps, and the task that carries
//! each connection.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use async_channel::{Receiver, Sender, TrySendError};
use futures_lite::FutureExt;
use tracing::{debug, trace};

use crate::Connections;
use crate::limits::{TCP_CONNECT_TIMEOUT, TCP_QUEUE_CAPACITY, TCP_WRITE_TIMEOUT};
use crate::runtime::{Runtime, deadline};
use crate::sockets::Traffic;

/// Bytes read from a connection at a time.
const READ_CHUNK: usize = 16 * 1024;

/// Tells connections apart when one to the same address replaces another.
pub type LinkId = u64;

/// The driver's end of a connection: where its frames go. Dropping it closes the connection
/// once the frames already queued are written.
#[derive(Debug)]
pub(crate) struct Link {
    id: LinkId,
    frames: Sender<Vec<u8>>,
}

impl Link {
    /// The id of the connection's task.
    pub(crate) fn id(&self) -> LinkId {
        self.id
    }

    /// Queues a frame for the connection. Hands it back if the queue is full or the
    /// connection has ended.
    pub(crate) fn write(&self, remote: SocketAddr, frame: Vec<u8>) -> Result<(), Unqueued> {
        match self.frames.try_send(frame) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(frame)) => {
                debug!(%remote, len = frame.len(), "tcp queue full: frame refused");
                Err(Unqueued::Full(frame))
            }
            Err(TrySendError::Closed(frame)) => Err(Unqueued::Ended(frame)),
        }
    }
}

/// A frame a connection's queue did not take.
#[derive(Debug)]
pub(crate) enum Unqueued {
    /// [`TCP_QUEUE_CAPACITY`] frames already wait (a slow peer): the node is to be told.
    Full(Vec<u8>),
    /// The connection has ended: the frame goes on a new one.
    Ended(Vec<u8>),
}

/// The open connections by remote address, each with the id of its task.
#[derive(Debug)]
pub(crate) struct Links {
    table: Connections<Link>,
    next_id: LinkId,
    idle_timeout: Duration,
    max: usize,
}

impl Links {
    /// A table closing connections idle for `idle_timeout`, holding at most `max`.
    pub(crate) fn new(idle_timeout: Duration, max: usize) -> Self {
        Self {
            table: Connections::new(idle_timeout, max),
            next_id: 0,
            idle_timeout,
            max,
        }
    }

    /// Closes every connection.
    pub(crate) fn close_all(&mut self) {
        self.table = Connections::new(self.idle_timeout, self.max);
    }

    /// A new connection: its id, where its frames go (holding `frame` if there is one), and
    /// the channel its task reads them from.
    pub(crate) fn fresh(&mut self, frame: Option<Vec<u8>>) -> (Link, Receiver<Vec<u8>>) {
        self.next_id = self.next_id.wrapping_add(1);
        let (frames, queued) = async_channel::bounded(TCP_QUEUE_CAPACITY);
        if let Some(frame) = frame {
            // A new channel has room; a failure could only drop this one frame.
            let _ = frames.try_send(frame);
        }
        let link = Link {
            id: self.next_id,
            frames,
        };
        (link, queued)
    }

    /// The connection to `remote`, marked as used.
    pub(crate) fn get(&mut self, remote: &SocketAddr) -> Option<&Link> {
        self.table.get(remote, Instant::now()).map(|link| &*link)
    }

    /// Whether `link` is the current connection to `remote`; marks it as used if so.
    pub(crate) fn touch(&mut self, remote: &SocketAddr, link: LinkId) -> bool {
        self.get(remote).is_some_and(|current| current.id == link)
    }

    /// Adds a connection; returns the addresses of those closed to make room.
    pub(crate) fn insert(&mut self, remote: SocketAddr, link: Link) -> Vec<SocketAddr> {
        self.table
            .insert(remote, link, Instant::now())
            .into_iter()
            .map(|(addr, _closed)| addr)
            .collect()
    }

    /// Closes the connection to `remote`; whether there was one.
    pub(crate) fn remove(&mut self, remote: &SocketAddr) -> bool {
        self.table.remove(remote).is_some()
    }

    /// Forgets the connection `link` to `remote` if it is the current one; whether it was.
    pub(crate) fn remove_if(&mut self, remote: &SocketAddr, link: LinkId) -> bool {
        if self.touch(remote, link) {
            self.table.remove(remote);
            true
        } else {
            false
        }
    }

    /// Closes the connections idle at `now`; returns their addresses.
    pub(crate) fn expire(&mut self, now: Instant) -> Vec<SocketAddr> {
        self.table
            .expire(now)
            .into_iter()
            .map(|(addr, _closed)| addr)
            .collect()
    }

    /// When the next connection becomes idle.
    pub(crate) fn next_expiry(&self) -> Option<Instant> {
        self.table.next_expiry()
    }
}

/// Carries one connection: connects first if `stream` is `None`, then writes `frames` to it
/// and hands what it reads to the driver, until the peer closes it, a read or write fails (or
/// a write stalls for [`TCP_WRITE_TIMEOUT`]), or the driver drops the [`Link`] and the queued
/// frames are written. Always ends by telling the driver [`Traffic::Closed`].
pub(crate) async fn run_link<R: Runtime>(
    link: LinkId,
    remote: SocketAddr,
    stream: Option<R::TcpStream>,
    frames: Receiver<Vec<u8>>,
    traffic: Sender<Traffic<R::TcpStream>>,
) {
    let stream = match stream {
        Some(stream) => Some(stream),
        None => connect::<R>(remote).await,
    };
    if let Some(stream) = stream {
        carry::<R>(link, remote, stream, frames, &traffic).await;
    } else {
        // Tell the node which frames were lost, so that it can try the peer's next address.
        let lost: Vec<Vec<u8>> = std::iter::from_fn(|| frames.try_recv().ok()).collect();
        if !lost.is_empty() {
            let failed = Traffic::ConnectFailed {
                link,
                from: remote,
                frames: lost,
            };
            let _ = traffic.send(failed).await;
        }
    }
    // Ignored by the driver if it closed the connection itself.
    let _ = traffic.send(Traffic::Closed { link, from: remote }).await;
}

async fn connect<R: Runtime>(remote: SocketAddr) -> Option<R::TcpStream> {
    let give_up = Instant::now() + TCP_CONNECT_TIMEOUT;
    match deadline::<R, _>(give_up, R::connect(remote)).await {
        Some(Ok(stream)) => {
            debug!(%remote, "tcp connection opened");
            Some(stream)
        }
        Some(Err(err)) => {
            debug!(%remote, %err, "tcp connect failed: frames dropped");
            None
        }
        None => {
            debug!(%remote, "tcp connect timed out: frames dropped");
            None
        }
    }
}

async fn carry<R: Runtime>(
    link: LinkId,
    remote: SocketAddr,
    stream: R::TcpStream,
    frames: Receiver<Vec<u8>>,
    traffic: &Sender<Traffic<R::TcpStream>>,
) {
    if let Err(err) = R::set_nodelay(&stream) {
        trace!(%remote, %err, "cannot set TCP_NODELAY");
    }
    let (mut reader, mut writer) = R::split(stream);
    let read = async {
        let mut buffer = vec![0; READ_CHUNK];
        loop {
            match R::read(&mut reader, &mut buffer).await {
                Ok(0) => {
                    debug!(%remote, "tcp connection closed by the peer");
                    return;
                }
                Ok(len) => {
                    trace!(%remote, len, "tcp bytes received");
                    let data = buffer.get(..len).unwrap_or_default().to_vec();
                    let chunk = Traffic::Stream {
                        link,
                        from: remote,
                        data,
                    };
                    if traffic.send(chunk).await.is_err() {
                        return;
                    }
                }
                Err(err) => {
                    debug!(%remote, %err, "tcp read failed: connection closed");
                    return;
                }
            }
        }
    };
    let write = async {
        while let Ok(frame) = frames.recv().await {
            let stall = Instant::now() + TCP_WRITE_TIMEOUT;
            match deadline::<R, _>(stall, R::write_all(&mut writer, &frame)).await {
                Some(Ok(())) => trace!(%remote, len = frame.len(), "tcp frame sent"),
                Some(Err(err)) => {
                    debug!(%remote, %err, "tcp write failed: frame dropped, connection closed");
                    return;
                }
                None => {
                    debug!(%remote, "tcp write stalled: frame dropped, connection closed");
                    return;
                }
            }
        }
        // The driver closed the connection and every queued frame is written.
        let _ = R::close(&mut writer).await;
    };
    read.or(write).await;
}
