//! A running node: its addresses, its identity, a handle and its events.

use ejtp_adapter_core::node::AsyncNode;
use ejtp_adapter_core::runner::start;

use crate::runtime::Tokio;
use crate::{Error, NodeOptions};

/// A node running on tokio: bound sockets and a driver task, with a [`Handle`](crate::Handle)
/// to command it and its [`Events`](crate::Events).
///
/// Dropping a `Node` does not stop the driver; [`shutdown`](Self::shutdown) does.
#[derive(Debug)]
pub struct Node {
    inner: AsyncNode,
}

impl Node {
    /// Binds every UDP socket and TCP listener in `options` (IPv4 or IPv6; port 0 picks a free
    /// port), builds the node with the addresses actually bound, and spawns its driver task.
    ///
    /// # Errors
    /// [`Error::Io`] if a socket cannot be bound (a port in use, an address not on this
    /// machine) or no seed can be drawn; [`Error::Command`] for a bad client callsign.
    ///
    /// # Panics
    /// Outside a tokio runtime (with its I/O and time drivers enabled), as tokio does.
    pub async fn bind(options: NodeOptions) -> Result<Self, Error> {
        let (inner, runner) = start(&options, Tokio::default()).await?;
        tokio::spawn(async move {
            // The runner is dropped, and with it every socket, before the answer.
            if let Some(stopped) = runner.run().await {
                stopped.answer();
            }
        });
        Ok(Self { inner })
    }

    ejtp_adapter_core::async_node_methods!(inner);
}
