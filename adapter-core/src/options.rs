//! What an adapter binds and how the node inside it is set up.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use ejtp_proto::content::DownloadConfig;
use ejtp_proto::{Config, Identity, PublicIdentity};

/// How often a node rescans its shared folder unless told otherwise
/// ([`NodeOptions::share_rescan`]).
pub const DEFAULT_SHARE_RESCAN: Duration = Duration::from_secs(5);

/// How to set up a node in an adapter. Build with [`NodeOptions::new`] and the chained setters.
///
/// ```
/// use ejtp_adapter_core::NodeOptions;
/// use ejtp_proto::Identity;
///
/// let options = NodeOptions::new(Identity::from_secret_bytes(&[7; 32]))
///     .udp("127.0.0.1:0".parse().unwrap())
///     .tcp("127.0.0.1:0".parse().unwrap())
///     .client("alice");
/// assert_eq!(options.clients, ["alice"]);
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct NodeOptions {
    /// The node's identity.
    pub identity: Identity,
    /// UDP sockets to bind (port 0 picks a free port). Each becomes a local address of the node,
    /// so bind concrete addresses (such as 127.0.0.1), not wildcards, or peers cannot reply.
    pub udp: Vec<SocketAddr>,
    /// TCP listeners to bind.
    pub tcp: Vec<SocketAddr>,
    /// Local clients to create (callsigns).
    pub clients: Vec<String>,
    /// The core's settings.
    pub config: Config,
    /// The seed of the node's generator; drawn from the operating system when `None`.
    pub seed: Option<[u8; 32]>,
    /// Where frames the node cannot route go.
    pub default_route: Option<PublicIdentity>,
    /// A TCP connection with no traffic for this long is closed. Default 60 s.
    pub tcp_idle_timeout: Duration,
    /// Most TCP connections kept open at once; the least recently used is closed to make room.
    /// Default 256.
    pub max_tcp_connections: usize,
    /// Record every input and output as a scenario file at this path (written when the node
    /// stops). The file holds the node's secret key: record only test identities.
    pub record_to: Option<PathBuf>,
    /// A folder to share with CJP2P peers and to download into ([`SharedDirectory`]): its
    /// files are hashed and served when the node starts, and fetched content lands in it once
    /// verified (in progress under `.ejtp-partial/`). `None`: no content.
    ///
    /// [`SharedDirectory`]: crate::SharedDirectory
    pub share_dir: Option<PathBuf>,
    /// How often the shared folder is rescanned while the node runs, on the folder's disk
    /// thread: files added are hashed and served, files changed (length or modification time) are
    /// re-hashed and no longer served under their old id, files removed are withdrawn. A rescan
    /// only stats the files that did not change. Default 5 s (at least 50 ms); `None`: never (the files found
    /// at start stay served, but a file changed since is still never served under its old id:
    /// every read checks it first).
    pub share_rescan: Option<Duration>,
    /// How downloads behave ([`crate::Content::set_config`](ejtp_proto::Content::set_config)):
    /// windows, retransmission timeouts, and the deadline after which a fetch fails with the
    /// reason for each of its sources. Default [`DownloadConfig::default`] (no deadline: silent
    /// sources are retried with backoff until the application gives up). Set when the node
    /// starts; like the shared folder, it is not part of a recording.
    pub download: DownloadConfig,
    /// A file that keeps the node's replay memory across restarts, so that no first message
    /// is delivered twice, even after a restart, and messages a mailbox held while the node
    /// was down are still delivered ([`ejtp_proto::replay_journal`]): each first message the
    /// node accepts is appended and synced to disk before the application sees it, and the
    /// file is read back and compacted when the node starts. `None` (the default): the node
    /// refuses first messages signed before it started instead
    /// ([`Config::refuse_before_start`](ejtp_proto::Config::refuse_before_start)).
    pub replay_journal: Option<PathBuf>,
}

impl NodeOptions {
    /// Options for a node with `identity`, binding nothing yet.
    #[must_use]
    pub fn new(identity: Identity) -> Self {
        Self {
            identity,
            udp: Vec::new(),
            tcp: Vec::new(),
            clients: Vec::new(),
            config: Config::default(),
            seed: None,
            default_route: None,
            tcp_idle_timeout: Duration::from_secs(60),
            max_tcp_connections: 256,
            record_to: None,
            share_dir: None,
            share_rescan: Some(DEFAULT_SHARE_RESCAN),
            download: DownloadConfig::default(),
            replay_journal: None,
        }
    }

    /// Also bind a UDP socket at `addr`.
    #[must_use]
    pub fn udp(mut self, addr: SocketAddr) -> Self {
        self.udp.push(addr);
        self
    }

    /// Also listen for TCP at `addr`.
    #[must_use]
    pub fn tcp(mut self, addr: SocketAddr) -> Self {
        self.tcp.push(addr);
        self
    }

    /// Also host the client `callsign`.
    #[must_use]
    pub fn client(mut self, callsign: &str) -> Self {
        self.clients.push(callsign.to_string());
        self
    }

    /// Use these core settings.
    #[must_use]
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Seed the node's generator with `seed` (for tests and reproducible recordings).
    #[must_use]
    pub fn seed(mut self, seed: [u8; 32]) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Send frames the node cannot route to `route`.
    #[must_use]
    pub fn default_route(mut self, route: PublicIdentity) -> Self {
        self.default_route = Some(route);
        self
    }

    /// Close TCP connections idle for `timeout`.
    #[must_use]
    pub fn tcp_idle_timeout(mut self, timeout: Duration) -> Self {
        self.tcp_idle_timeout = timeout;
        self
    }

    /// Share the folder `dir` and download into it (see [`NodeOptions::share_dir`]).
    #[must_use]
    pub fn share_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.share_dir = Some(dir.into());
        self
    }

    /// Rescan the shared folder every `every`, or never for `None` (see
    /// [`NodeOptions::share_rescan`]).
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// use ejtp_adapter_core::NodeOptions;
    /// use ejtp_proto::Identity;
    ///
    /// let options = NodeOptions::new(Identity::from_secret_bytes(&[7; 32]))
    ///     .share_dir("shared")
    ///     .share_rescan(Some(Duration::from_secs(1)));
    /// assert_eq!(options.share_rescan, Some(Duration::from_secs(1)));
    /// ```
    #[must_use]
    pub fn share_rescan(mut self, every: Option<Duration>) -> Self {
        self.share_rescan = every;
        self
    }

    /// Set how downloads behave ([`NodeOptions::download`]), for example a deadline after which
    /// a fetch fails and says why for each source:
    ///
    /// ```
    /// use std::time::Duration;
    /// use ejtp_adapter_core::NodeOptions;
    /// use ejtp_proto::Identity;
    /// use ejtp_proto::content::DownloadConfig;
    ///
    /// let options = NodeOptions::new(Identity::from_secret_bytes(&[7; 32])).download_config(
    ///     DownloadConfig { deadline: Some(Duration::from_secs(60)), ..DownloadConfig::default() },
    /// );
    /// assert_eq!(options.download.deadline, Some(Duration::from_secs(60)));
    /// ```
    #[must_use]
    pub fn download_config(mut self, config: DownloadConfig) -> Self {
        self.download = config;
        self
    }

    /// Record the session as a scenario file at `path`.
    #[must_use]
    pub fn record_to(mut self, path: impl Into<PathBuf>) -> Self {
        self.record_to = Some(path.into());
        self
    }

    /// Keep the node's replay memory in the file at `path` ([`Self::replay_journal`]).
    #[must_use]
    pub fn replay_journal(mut self, path: impl Into<PathBuf>) -> Self {
        self.replay_journal = Some(path.into());
        self
    }
}
