//! A running node: its addresses, its identity, a handle and its events.

use std::future::Future;
use std::sync::Arc;

use ejtp_adapter_core::node::AsyncNode;
use ejtp_adapter_core::runner::start;
use smol::Executor;

use crate::runtime::Smol;
use crate::{Error, NodeOptions};

/// A node running on smol (or any executor): bound sockets and a driver, with a
/// [`Handle`](crate::Handle) to command it and its [`Events`](crate::Events).
///
/// Dropping a `Node` does not stop the driver; [`shutdown`](Self::shutdown) does.
#[derive(Debug)]
pub struct Node {
    inner: AsyncNode,
}

impl Node {
    /// Binds every UDP socket and TCP listener in `options` (IPv4 or IPv6; port 0 picks a free
    /// port), builds the node with the addresses actually bound, and spawns its driver with
    /// [`smol::spawn`].
    ///
    /// # Errors
    /// [`Error::Io`] if a socket cannot be bound (a port in use, an address not on this
    /// machine) or no seed can be drawn; [`Error::Command`] for a bad client callsign.
    pub async fn bind(options: NodeOptions) -> Result<Self, Error> {
        let (node, driver) = Self::bind_detached(options).await?;
        smol::spawn(driver).detach();
        Ok(node)
    }

    /// Binds as [`bind`](Self::bind) does, but returns the driver as a future instead of
    /// spawning it: run it on any executor (`async_std::task::spawn`, a thread's `block_on`,
    /// ...). It needs nothing from smol's executor: the socket tasks run on an executor inside
    /// the future. Nothing happens until it is polled; it completes after a
    /// [`shutdown`](Self::shutdown), and dropping it stops the node.
    ///
    /// ```
    /// # fn main() -> Result<(), ejtp_smol::Error> {
    /// use ejtp_smol::{Node, NodeOptions};
    /// use ejtp_proto::Identity;
    ///
    /// let options = NodeOptions::new(Identity::from_secret_bytes(&[3; 32]))
    ///     .udp("127.0.0.1:0".parse().unwrap());
    /// futures_lite::future::block_on(async {
    ///     let (node, driver) = Node::bind_detached(options).await?;
    ///     let stop = async {
    ///         let stats = node.handle().stats().await?;
    ///         assert_eq!(stats.queries.delivered, 0);
    ///         node.shutdown().await
    ///     };
    ///     // Run the driver alongside the code that uses the node.
    ///     let (stopped, ()) = futures_lite::future::zip(stop, driver).await;
    ///     stopped
    /// })
    /// # }
    /// ```
    ///
    /// # Errors
    /// As [`bind`](Self::bind).
    pub async fn bind_detached(
        options: NodeOptions,
    ) -> Result<(Self, impl Future<Output = ()> + Send + 'static), Error> {
        let executor = Arc::new(Executor::new());
        let (inner, runner) = start(&options, Smol::new(Arc::clone(&executor))).await?;
        let driver = async move {
            let stopped = executor.run(runner.run()).await;
            // The last reference: dropping it drops every socket task, closing their sockets.
            drop(executor);
            if let Some(stopped) = stopped {
                stopped.answer();
            }
        };
        Ok((Self { inner }, driver))
    }

    ejtp_adapter_core::async_node_methods!(inner);
}
