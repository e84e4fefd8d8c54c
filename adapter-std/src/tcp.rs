//! TCP: accept threads, a reader thread per connection, and the driver's end of a connection.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::SyncSender;
use std::thread::{self, JoinHandle};

use crate::inbox::{ConnId, Item};
use crate::limits::{ERROR_PAUSE, TCP_CONNECT_TIMEOUT, TCP_READ_CHUNK, TCP_WRITE_TIMEOUT};

/// The driver thread's end of an open connection. Dropping it shuts the connection down, which
/// also ends its reader thread.
#[derive(Debug)]
pub(crate) struct Conn {
    id: ConnId,
    stream: TcpStream,
}

impl Conn {
    /// This connection's id.
    pub(crate) fn id(&self) -> ConnId {
        self.id
    }

    /// Writes already framed stream bytes.
    pub(crate) fn write(&self, payload: &[u8]) -> io::Result<()> {
        (&self.stream).write_all(payload)
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        // The reader holds a clone of the socket, so dropping ours alone would not close it.
        if let Err(err) = self.stream.shutdown(Shutdown::Both) {
            if err.kind() != ErrorKind::NotConnected {
                tracing::debug!(%err, "TCP shutdown failed");
            }
        }
    }
}

/// Opens a connection to `to`, within [`TCP_CONNECT_TIMEOUT`].
pub(crate) fn connect(to: SocketAddr) -> io::Result<TcpStream> {
    TcpStream::connect_timeout(&to, TCP_CONNECT_TIMEOUT)
}

/// Sets `stream` up, starts its reader thread, and returns the driver's end of it.
pub(crate) fn start_reader(
    id: ConnId,
    from: SocketAddr,
    stream: TcpStream,
    inbox: SyncSender<Item>,
) -> io::Result<(Conn, JoinHandle<()>)> {
    if let Err(err) = stream.set_nodelay(true) {
        tracing::debug!(%from, %err, "could not disable Nagle's algorithm");
    }
    stream.set_write_timeout(Some(TCP_WRITE_TIMEOUT))?;
    let mut reader = stream.try_clone()?;
    let thread = thread::Builder::new()
        .name(format!("ejtp-tcp {from}"))
        .spawn(move || read_loop(id, from, &mut reader, &inbox))?;
    Ok((Conn { id, stream }, thread))
}

/// Reads the connection into the inbox until it ends (the peer closed it, it failed, or the
/// driver shut it down), then says so.
fn read_loop(conn: ConnId, from: SocketAddr, stream: &mut TcpStream, inbox: &SyncSender<Item>) {
    let mut buffer = vec![0u8; TCP_READ_CHUNK];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(len) => {
                let data = buffer.get(..len).unwrap_or_default().to_vec();
                if inbox.send(Item::Stream { conn, from, data }).is_err() {
                    return; // the driver has stopped
                }
            }
            Err(err) if err.kind() == ErrorKind::Interrupted => {}
            Err(err) => {
                tracing::debug!(%from, %err, "TCP read failed");
                break;
            }
        }
    }
    // Nothing to do if the driver has stopped.
    let _ = inbox.send(Item::StreamEnded { conn, from });
}

/// Starts the thread that accepts connections on `listener` (bound at `local`) and hands them
/// to the driver.
pub(crate) fn start_acceptor(
    local: SocketAddr,
    listener: TcpListener,
    inbox: SyncSender<Item>,
    stopping: Arc<AtomicBool>,
) -> io::Result<JoinHandle<()>> {
    thread::Builder::new()
        .name(format!("ejtp-accept {local}"))
        .spawn(move || accept_loop(&listener, &inbox, &stopping))
}

fn accept_loop(listener: &TcpListener, inbox: &SyncSender<Item>, stopping: &AtomicBool) {
    loop {
        let accepted = listener.accept();
        if stopping.load(Ordering::SeqCst) {
            return;
        }
        match accepted {
            Ok((stream, from)) => {
                tracing::debug!(%from, "TCP connection accepted");
                if inbox.send(Item::Accepted { from, stream }).is_err() {
                    return; // the driver has stopped
                }
            }
            Err(err) if err.kind() == ErrorKind::Interrupted => {}
            Err(err) => {
                // Such as running out of file descriptors: wait a little rather than spin.
                tracing::debug!(%err, "TCP accept failed");
                thread::sleep(ERROR_PAUSE);
            }
        }
    }
}
