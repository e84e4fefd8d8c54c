//! [`Node`]: bind the sockets, start the poll loop's thread, and own the handle and the events.

use std::io;
use std::mem;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::sync::{Arc, mpsc};
use std::thread;

use ejtp_adapter_core::dispatch::Dispatch;
use ejtp_adapter_core::events::EventLoss;
use ejtp_adapter_core::{Driver, Error, NodeOptions};
use ejtp_proto::{Address, MessageId, NodeId, PublicIdentity, PublicKey};
use mio::{Poll, Waker};
use serde_json::Value;

use crate::events::Events;
use crate::handle::Handle;
use crate::limits::{EVENT_CAPACITY, INBOX_CAPACITY, TcpLimits};
use crate::poll_loop::{Loop, WAKER};
use crate::tcp_stats::{TcpCounters, TcpStats};

/// A running node: its sockets, its poll loop's thread, a [`Handle`] to command it and its
/// [`Events`].
///
/// Dropping the node stops it (see [`shutdown`](Self::shutdown)), unless it was
/// [split](Self::split).
#[derive(Debug)]
pub struct Node {
    handle: Handle,
    events: Events,
    udp: Vec<SocketAddr>,
    tcp: Vec<SocketAddr>,
    /// What peers are told (`public_identity`): for a wildcard-bound socket, the interface
    /// toward the default route (see `ejtp_adapter_core::advertised_address`).
    shown: (Option<SocketAddr>, Option<SocketAddr>),
    public_key: PublicKey,
    /// False once the handle has been handed out by `split`.
    stop_on_drop: bool,
}

impl Node {
    /// Binds every UDP socket and TCP listener of `options` (IPv4 or IPv6; port 0 picks a free
    /// port), sets the node up at the addresses actually bound, hosts its clients, and starts
    /// it.
    ///
    /// # Errors
    /// [`Error::Io`] if an address cannot be bound (such as a port in use) or a thread cannot
    /// be started; [`Error::Command`] for an invalid or duplicate client callsign. Nothing is
    /// left bound or running after an error.
    pub fn bind(options: NodeOptions) -> Result<Self, Error> {
        Self::bind_with(options, TcpLimits::default())
    }

    /// Binds and starts a node as [`bind`](Self::bind), its TCP connections held to `limits`
    /// (the per-address bound and the frame timeout; the crate documentation lists every TCP
    /// bound and timer).
    ///
    /// # Errors
    /// As [`bind`](Self::bind).
    pub fn bind_with(options: NodeOptions, limits: TcpLimits) -> Result<Self, Error> {
        let udp_sockets = options
            .udp
            .iter()
            .map(|addr| ejtp_adapter_core::bind_udp_socket(*addr))
            .collect::<io::Result<Vec<_>>>()?;
        let listeners = options
            .tcp
            .iter()
            .map(TcpListener::bind)
            .collect::<io::Result<Vec<_>>>()?;
        let udp = udp_sockets
            .iter()
            .map(UdpSocket::local_addr)
            .collect::<io::Result<Vec<_>>>()?;
        let tcp = listeners
            .iter()
            .map(TcpListener::local_addr)
            .collect::<io::Result<Vec<_>>>()?;
        let udp_sockets = udp
            .iter()
            .zip(udp_sockets)
            .map(|(local, socket)| {
                socket.set_nonblocking(true)?;
                Ok((*local, mio::net::UdpSocket::from_std(socket)))
            })
            .collect::<io::Result<Vec<_>>>()?;
        let listeners = listeners
            .into_iter()
            .map(|listener| {
                listener.set_nonblocking(true)?;
                Ok(mio::net::TcpListener::from_std(listener))
            })
            .collect::<io::Result<Vec<_>>>()?;

        let driver = Driver::new(&options, &udp, &tcp)?;
        let public_key = driver.node().public_key();
        let (events, received) = mpsc::sync_channel(EVENT_CAPACITY);
        let loss = EventLoss::new();
        let lost = loss.total();
        let (requests, requested) = async_channel::bounded(INBOX_CAPACITY);
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let dispatch = Dispatch::new(driver, events, loss);
        let counters = Arc::new(TcpCounters::default());
        // From here on, dropping the loop (on an error) closes whatever was bound.
        let event_loop = Loop::new(
            poll,
            dispatch,
            requested,
            (udp_sockets, listeners),
            &options,
            limits,
            Arc::clone(&counters),
        )?;
        let loop_thread = thread::Builder::new()
            .name("ejtp-loop".to_string())
            .spawn(move || event_loop.run())?;
        tracing::debug!(?udp, ?tcp, "node started");
        let wake = move || {
            if let Err(err) = waker.wake() {
                tracing::warn!(%err, "could not wake the node's poll loop");
            }
        };
        let handle = ejtp_adapter_core::handle::Handle::with_wake(requests, Arc::new(wake));

        let shown = (
            udp.first()
                .map(|bound| ejtp_adapter_core::advertised_address(*bound, &options)),
            tcp.first()
                .map(|bound| ejtp_adapter_core::advertised_address(*bound, &options)),
        );
        Ok(Self {
            handle: Handle::new(handle, loop_thread, counters),
            events: Events::new(received, lost),
            shown,
            udp,
            tcp,
            public_key,
            stop_on_drop: true,
        })
    }

    /// The UDP addresses actually bound, in the order of the options.
    #[must_use]
    pub fn udp_addrs(&self) -> &[SocketAddr] {
        &self.udp
    }

    /// The TCP listeners' addresses actually bound, in the order of the options.
    #[must_use]
    pub fn tcp_addrs(&self) -> &[SocketAddr] {
        &self.tcp
    }

    /// This node's id: the SHA-256 of its public key.
    #[must_use]
    pub fn node_id(&self) -> NodeId {
        self.public_key.node_id()
    }

    /// This node's public key.
    #[must_use]
    pub fn public_key(&self) -> PublicKey {
        self.public_key
    }

    /// How peers reach the local client `callsign` over UDP: located at the first UDP address
    /// (at the first TCP listener if the node has no UDP socket), named `callsign`.
    #[must_use]
    pub fn public_identity(&self, callsign: &str) -> PublicIdentity {
        let location = match self.shown {
            (Some(udp), _) => Address::udp(udp, Some(callsign)),
            (None, Some(tcp)) => Address::tcp(tcp, Some(callsign)),
            (None, None) => Address::local(callsign),
        };
        self.identity_at(callsign, location)
    }

    /// How peers reach the local client `callsign` over TCP: located at the first TCP listener;
    /// `None` if the node listens on none.
    #[must_use]
    pub fn tcp_identity(&self, callsign: &str) -> Option<PublicIdentity> {
        let tcp = self.shown.1?;
        Some(self.identity_at(callsign, Address::tcp(tcp, Some(callsign))))
    }

    fn identity_at(&self, callsign: &str, location: Address) -> PublicIdentity {
        PublicIdentity {
            name: callsign.to_string(),
            location,
            key: self.public_key,
        }
    }

    /// A handle to command the node from any thread (a cheap clone).
    #[must_use]
    pub fn handle(&self) -> Handle {
        self.handle.clone()
    }

    /// Sends `value` from the local client `from` to `to`: [`Handle::send`].
    ///
    /// # Errors
    /// As [`Handle::send`].
    pub fn send(&self, from: &str, to: &PublicIdentity, value: Value) -> Result<MessageId, Error> {
        self.handle.send(from, to, value)
    }

    /// What the node's TCP bounds and timers did: [`Handle::tcp_stats`].
    #[must_use]
    pub fn tcp_stats(&self) -> TcpStats {
        self.handle.tcp_stats()
    }

    /// The node's events.
    #[must_use]
    pub fn events(&self) -> &Events {
        &self.events
    }

    /// Splits the node into its handle and its events, to use on different threads. The node
    /// then runs until [`Handle::shutdown`] is called or the last clone of the handle is
    /// dropped.
    #[must_use]
    pub fn split(mut self) -> (Handle, Events) {
        self.stop_on_drop = false;
        let events = mem::replace(&mut self.events, Events::closed());
        (self.handle.clone(), events)
    }

    /// Stops the node: [`Handle::shutdown`]. When it returns, every thread of the node has
    /// been joined and its sockets are closed.
    ///
    /// # Errors
    /// [`Error::Io`] if the recording cannot be saved.
    pub fn shutdown(mut self) -> Result<(), Error> {
        self.stop_on_drop = false;
        self.handle.shutdown()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if self.stop_on_drop {
            if let Err(err) = self.handle.shutdown() {
                tracing::warn!(%err, "stopping the dropped node failed");
            }
        }
    }
}
