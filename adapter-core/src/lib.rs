//! What every runtime adapter of [`ejtp_proto`] shares, so that each adapter is only the code
//! its runtime makes different: sockets, tasks and timers.
//!
//! - [`Clock`]: the process's monotonic and wall clocks, turned into the core's time types.
//! - [`os_seed`]: 32 bytes from the operating system for the node's generator.
//! - [`NodeOptions`]: what to bind, which clients to host, which settings to use.
//! - [`Driver`]: a [`Node`](ejtp_proto::Node) with its clock and an optional recorder. The
//!   adapter hands it [`Inbound`] traffic and commands and carries out the outputs it returns.
//! - [`Connections`]: the TCP connection table: opened on demand, reused, closed when idle.
//! - [`store::DirectoryStore`]: a shared folder as the core's content store, and the partial
//!   downloads on their way into it (resumable, moved in only once verified).
//! - [`SharedDirectory`]: that store as the node and the adapter share it, kept current while
//!   the node runs (rescanned on the folder's disk thread, which also writes the downloads; a
//!   changed file is never served under its old id).
//! - [`QueryOutcome`] and [`QueryWaiters`]: how a query ended, and the driver's table of the
//!   applications waiting for theirs (every adapter's `Handle::query`).
//!
//! For every adapter, the blocking one included:
//!
//! - [`dispatch`]: the one dispatch of commands ([`request::Request`]) and events, and the
//!   promise of when a command is answered;
//! - [`handle`]: the one [`Handle`](handle::Handle) (the blocking adapter blocks on it).
//!
//! And for the async adapters (tokio, smol), everything but the runtime itself, written once
//! over the [`Runtime`](runtime::Runtime) trait each of them implements:
//!
//! - [`runner`]: the driver loop, the output dispatch and the TCP connections' bookkeeping;
//! - [`links`] and [`sockets`]: the tasks that carry connections and read sockets;
//! - [`handle`], [`request`], [`events`], [`node`]: the application's side (commands with
//!   their reply channels, the event stream, the node's addresses and identity);
//! - [`limits`]: the bounds of their queues and waits.
//!
//! An adapter's loop, whatever the runtime:
//!
//! ```text
//! wait for: inbound traffic, an application command, or driver.next_deadline()
//! outputs = driver.inbound(..) / driver.send(..) / driver.timeout()
//! for output in outputs: transmit on a socket (opening a TCP connection if needed),
//!                        or hand the event to the application
//! ```

mod advertised;
pub use advertised::advertised_address;
mod clock;
mod connections;
mod disk;
mod driver;
mod error;
mod fetch;
mod folder;
mod options;
mod query;
mod recording;
pub mod replay_journal;
mod rescan;
mod shared_dir;

pub mod dispatch;
pub mod events;
pub mod handle;
pub mod limits;
pub mod links;
pub mod node;
pub mod request;
pub mod runner;
pub mod runtime;
pub mod shared_files;
pub mod sockets;
pub mod store;
pub mod udp_socket;
pub mod unfragmented;

#[doc(hidden)]
pub use ejtp_proto as __proto_core;
#[doc(hidden)]
pub use serde_json as __serde_json;

pub use clock::Clock;
pub use connections::Connections;
pub use driver::{Driver, Inbound};
pub use ejtp_proto::QueryOptions;
pub use error::Error;
pub use fetch::{FetchOutcome, FetchWaiters};
pub use options::{DEFAULT_SHARE_RESCAN, NodeOptions};
pub use query::{QueryOutcome, QueryWaiters};
pub use recording::Recording;
pub use shared_dir::SharedDirectory;
pub use udp_socket::{UDP_SOCKET_BUFFER, bind_udp_socket};

/// 32 random bytes from the operating system, to seed a node's generator.
///
/// # Errors
/// [`Error::Io`] if the operating system has no randomness to give.
pub fn os_seed() -> Result<[u8; 32], Error> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|err| Error::Io(std::io::Error::other(err.to_string())))?;
    Ok(seed)
}
