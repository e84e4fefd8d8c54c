//! [`AsyncNode`]: the application's side of a node running in an async adapter, whatever the
//! runtime: its addresses, its identity, a handle and its events.

use std::net::SocketAddr;

use ejtp_proto::{Address, Event, MessageId, NodeId, PublicIdentity, PublicKey};
use serde_json::Value;

use crate::Error;
use crate::events::Events;
use crate::handle::Handle;

/// A running node as the application sees it: bound addresses, identity, a [`Handle`] to
/// command the driver and its [`Events`]. Each async adapter's `Node` wraps one (see
/// [`async_node_methods!`](crate::async_node_methods)).
///
/// Dropping it does not stop the driver; [`shutdown`](Self::shutdown) does.
#[derive(Debug)]
pub struct AsyncNode {
    handle: Handle,
    events: Events,
    udp: Vec<SocketAddr>,
    tcp: Vec<SocketAddr>,
    /// What peers are told (`public_identity`): the bound addresses unless `advertising`.
    shown_udp: Vec<SocketAddr>,
    shown_tcp: Vec<SocketAddr>,
    public_key: PublicKey,
}

impl AsyncNode {
    /// The node bound at `udp` and `tcp` with key `public_key`, commanded through `handle`,
    /// telling the application what happens through `events`.
    #[must_use]
    pub fn new(
        handle: Handle,
        events: Events,
        udp: Vec<SocketAddr>,
        tcp: Vec<SocketAddr>,
        public_key: PublicKey,
    ) -> Self {
        Self {
            handle,
            events,
            shown_udp: udp.clone(),
            shown_tcp: tcp.clone(),
            udp,
            tcp,
            public_key,
        }
    }

    /// The same node, telling peers to reach it at the addresses `options` advertise for its
    /// sockets (for a wildcard-bound socket, the interface toward the default route; see
    /// [`advertised_address`](crate::advertised_address)) rather than at the bound ones.
    #[must_use]
    pub fn advertising(mut self, options: &crate::NodeOptions) -> Self {
        self.shown_udp = self
            .udp
            .iter()
            .map(|bound| crate::advertised_address(*bound, options))
            .collect();
        self.shown_tcp = self
            .tcp
            .iter()
            .map(|bound| crate::advertised_address(*bound, options))
            .collect();
        self
    }

    /// The bound UDP addresses, in the order of [`NodeOptions::udp`](crate::NodeOptions::udp).
    #[must_use]
    pub fn udp_addrs(&self) -> &[SocketAddr] {
        &self.udp
    }

    /// The bound TCP listener addresses, in the order of
    /// [`NodeOptions::tcp`](crate::NodeOptions::tcp).
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

    /// How peers reach the client `callsign` here over UDP: at the first UDP address (the
    /// first TCP listener if there is no UDP socket).
    #[must_use]
    pub fn public_identity(&self, callsign: &str) -> PublicIdentity {
        let location = self
            .shown_udp
            .first()
            .map(|addr| Address::udp(*addr, Some(callsign)))
            .or_else(|| self.tcp_location(callsign))
            .unwrap_or_else(|| Address::local(callsign));
        self.identity_at(callsign, location)
    }

    /// How peers reach the client `callsign` here over TCP: at the first TCP listener, if
    /// there is one.
    #[must_use]
    pub fn tcp_identity(&self, callsign: &str) -> Option<PublicIdentity> {
        self.tcp_location(callsign)
            .map(|location| self.identity_at(callsign, location))
    }

    /// A handle to command the node from anywhere.
    #[must_use]
    pub fn handle(&self) -> Handle {
        self.handle.clone()
    }

    /// Sends `value` from the local client `from` to `to`, as [`Handle::send`] does.
    ///
    /// # Errors
    /// As [`Handle::send`].
    pub async fn send(
        &self,
        from: &str,
        to: &PublicIdentity,
        value: Value,
    ) -> Result<MessageId, Error> {
        self.handle.send(from, to, value).await
    }

    /// The next event, or `None` once the driver has stopped.
    pub async fn next_event(&mut self) -> Option<Event> {
        self.events.next().await
    }

    /// How many events were dropped, the event channel being full, just before the event
    /// last returned ([`Events::lost`]).
    #[must_use]
    pub fn lost_events(&self) -> u64 {
        self.events.lost()
    }

    /// How many events were dropped since the node started, the event channel being full
    /// ([`Events::lost_total`]).
    #[must_use]
    pub fn lost_events_total(&self) -> u64 {
        self.events.lost_total()
    }

    /// The handle and the events apart, to use from different tasks.
    #[must_use]
    pub fn split(self) -> (Handle, Events) {
        (self.handle, self.events)
    }

    /// Stops the driver: closes every socket, and saves the recording if there is one. Events
    /// not read yet are dropped.
    ///
    /// # Errors
    /// [`Error::Io`] if the recording cannot be saved; [`Error::Closed`] if the driver had
    /// already stopped.
    pub async fn shutdown(self) -> Result<(), Error> {
        let Self { handle, events, .. } = self;
        // Unread events are of no use any more (the driver never waits for them).
        drop(events);
        handle.shutdown().await
    }

    fn tcp_location(&self, callsign: &str) -> Option<Address> {
        self.shown_tcp
            .first()
            .map(|addr| Address::tcp(*addr, Some(callsign)))
    }

    fn identity_at(&self, callsign: &str, location: Address) -> PublicIdentity {
        PublicIdentity {
            name: callsign.to_string(),
            location,
            key: self.public_key,
        }
    }
}

/// The methods of an async adapter's `Node`, for a struct whose field `$inner` is an
/// [`AsyncNode`]: each does what the [`AsyncNode`] method of the same name does. Written once
/// here so that every async adapter's `Node` has the same API, with its own type in rustdoc.
#[macro_export]
macro_rules! async_node_methods {
    ($inner:ident) => {
        /// The bound UDP addresses, in the order of [`NodeOptions::udp`](crate::NodeOptions::udp).
        #[must_use]
        pub fn udp_addrs(&self) -> &[::std::net::SocketAddr] {
            self.$inner.udp_addrs()
        }

        /// The bound TCP listener addresses, in the order of
        /// [`NodeOptions::tcp`](crate::NodeOptions::tcp).
        #[must_use]
        pub fn tcp_addrs(&self) -> &[::std::net::SocketAddr] {
            self.$inner.tcp_addrs()
        }

        /// This node's id: the SHA-256 of its public key.
        #[must_use]
        pub fn node_id(&self) -> $crate::__proto_core::NodeId {
            self.$inner.node_id()
        }

        /// This node's public key.
        #[must_use]
        pub fn public_key(&self) -> $crate::__proto_core::PublicKey {
            self.$inner.public_key()
        }

        /// How peers reach the client `callsign` here over UDP: at the first UDP address (the
        /// first TCP listener if there is no UDP socket).
        #[must_use]
        pub fn public_identity(&self, callsign: &str) -> $crate::__proto_core::PublicIdentity {
            self.$inner.public_identity(callsign)
        }

        /// How peers reach the client `callsign` here over TCP: at the first TCP listener, if
        /// there is one.
        #[must_use]
        pub fn tcp_identity(
            &self,
            callsign: &str,
        ) -> ::std::option::Option<$crate::__proto_core::PublicIdentity> {
            self.$inner.tcp_identity(callsign)
        }

        /// A handle to command the node from anywhere.
        #[must_use]
        pub fn handle(&self) -> $crate::handle::Handle {
            self.$inner.handle()
        }

        /// Sends `value` from the local client `from` to `to`, as
        /// [`Handle::send`](crate::Handle::send) does.
        ///
        /// # Errors
        /// As [`Handle::send`](crate::Handle::send).
        pub async fn send(
            &self,
            from: &str,
            to: &$crate::__proto_core::PublicIdentity,
            value: $crate::__serde_json::Value,
        ) -> ::std::result::Result<$crate::__proto_core::MessageId, $crate::Error> {
            self.$inner.send(from, to, value).await
        }

        /// The next event, or `None` once the driver has stopped.
        pub async fn next_event(&mut self) -> ::std::option::Option<$crate::__proto_core::Event> {
            self.$inner.next_event().await
        }

        /// How many events were dropped, the event channel being full, just before the event
        /// last returned ([`Events::lost`](crate::Events::lost)).
        #[must_use]
        pub fn lost_events(&self) -> u64 {
            self.$inner.lost_events()
        }

        /// How many events were dropped since the node started, the event channel being full
        /// ([`Events::lost_total`](crate::Events::lost_total)).
        #[must_use]
        pub fn lost_events_total(&self) -> u64 {
            self.$inner.lost_events_total()
        }

        /// The handle and the events apart, to use from different tasks.
        #[must_use]
        pub fn split(self) -> ($crate::handle::Handle, $crate::events::Events) {
            self.$inner.split()
        }

        /// Stops the driver: closes every socket, and saves the recording if there is one.
        /// Events not read yet are dropped.
        ///
        /// # Errors
        /// [`Error::Io`](crate::Error::Io) if the recording cannot be saved;
        /// [`Error::Closed`](crate::Error::Closed) if the driver had already stopped.
        pub async fn shutdown(self) -> ::std::result::Result<(), $crate::Error> {
            self.$inner.shutdown().await
        }
    };
}
