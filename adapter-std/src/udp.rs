//! UDP: a reader thread per socket, and sending from a socket of the destination's family.

use std::io::{self, ErrorKind};
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::SyncSender;
use std::thread::{self, JoinHandle};

use ejtp_adapter_core::udp_socket::{FamilyWarnings, socket_for};

use crate::inbox::Item;
use crate::limits::{ERROR_PAUSE, UDP_BUFFER_LEN, UDP_POLL_INTERVAL};
use crate::wake;

/// The node's UDP sockets (the driver thread's handles; each reader has its own clone).
#[derive(Debug, Default)]
pub(crate) struct UdpSockets {
    sockets: Vec<(SocketAddr, UdpSocket)>,
    /// The destinations named as unreachable for want of a socket of their family.
    no_socket: FamilyWarnings,
}

impl UdpSockets {
    /// Starts the reader thread of `socket`, bound at `local`, and keeps the socket to send
    /// from.
    pub(crate) fn start(
        &mut self,
        local: SocketAddr,
        socket: UdpSocket,
        inbox: SyncSender<Item>,
        stopping: Arc<AtomicBool>,
    ) -> io::Result<JoinHandle<()>> {
        socket.set_read_timeout(Some(UDP_POLL_INTERVAL))?;
        let reader = socket.try_clone()?;
        let thread = thread::Builder::new()
            .name(format!("ejtp-udp {local}"))
            .spawn(move || read_loop(&reader, &inbox, &stopping))?;
        self.sockets.push((local, socket));
        Ok(thread)
    }

    /// Sends `payload` to `to` from a socket of its IP family
    /// ([`socket_for`](ejtp_adapter_core::udp_socket::socket_for), the rule of every adapter). With
    /// no socket of that family the destination is named in a warning (once) and the datagram
    /// is lost; a failed send is logged at debug level.
    ///
    /// Returns false if the datagram could not be sent (the node is then told).
    pub(crate) fn send(&mut self, to: SocketAddr, payload: &[u8]) -> bool {
        let Some((local, socket)) = socket_for(&self.sockets, to) else {
            self.no_socket.no_socket(to);
            return false;
        };
        match socket.send_to(payload, to) {
            Ok(_) => {
                tracing::trace!(%local, %to, len = payload.len(), "datagram sent");
                true
            }
            Err(err) => {
                tracing::debug!(%local, %to, %err, "UDP send failed; datagram dropped");
                false
            }
        }
    }

    /// Wakes every reader blocked in `recv_from` with an empty datagram to its own socket.
    pub(crate) fn wake_readers(&self) {
        for (local, socket) in &self.sockets {
            if let Err(err) = socket.send_to(&[], wake::reachable(*local)) {
                tracing::debug!(%local, %err, "could not wake a UDP reader; it wakes on its poll");
            }
        }
    }
}

/// Reads datagrams into the inbox until the node stops.
fn read_loop(socket: &UdpSocket, inbox: &SyncSender<Item>, stopping: &AtomicBool) {
    let mut buffer = vec![0u8; UDP_BUFFER_LEN];
    loop {
        let received = socket.recv_from(&mut buffer);
        if stopping.load(Ordering::SeqCst) {
            return;
        }
        match received {
            Ok((len, from)) => {
                let data = buffer.get(..len).unwrap_or_default().to_vec();
                if inbox.send(Item::Datagram { from, data }).is_err() {
                    return; // the driver has stopped
                }
            }
            Err(err)
                if matches!(
                    err.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) => {}
            Err(err) => {
                // Such as an ICMP "port unreachable" reported on the socket: not fatal.
                tracing::debug!(%err, "UDP receive failed");
                thread::sleep(ERROR_PAUSE);
            }
        }
    }
}
