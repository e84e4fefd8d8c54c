//! The command line, as clap parses it.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand};
use ejtp_proto::content::ContentId;
use ejtp_proto::{PublicKey, TransportAddr};
use serde_json::Value;

use crate::endpoint::{
    Peer, parse_cjp2p_peer, parse_endpoint, parse_key, parse_peer, parse_socket_addr,
};
use crate::identity_file::DEFAULT_CALLSIGN;
use crate::value::{parse_callsign, parse_json_argument, parse_name};

/// The acknowledgement convention, shared by the help of `run` and `send`.
macro_rules! ack_convention {
    () => {
        "Acknowledgements: `ejtp send` sends its value as a query (docs/PROTOCOL.md section \
         12), and `ejtp run` answers every message with a reply, {\"ack\": \"<message id>\"}: \
         a protocol reply, bound to the exact message by its hash and signed by the recipient's \
         key. `ejtp send` waits for that reply, the acknowledgement (also through relays, with \
         --via: the query goes as an onion, the reply comes back directly)."
    };
}

/// The help after `send`'s options.
const SEND_AFTER_HELP: &str = ack_convention!();

/// The help after `run`'s options: what it prints, how it stops, and the convention.
const RUN_AFTER_HELP: &str = concat!(
    "On start, `ejtp run` prints `listening: <public identity JSON>` for its UDP address (and \
     a second line for TCP): the key and address senders need. Ctrl-C or SIGTERM stops it \
     cleanly, writing the recording if asked.\n\n",
    ack_convention!()
);

/// `ejtp`: a node of an encrypted JSON peer-to-peer transport (EJTP lineage).
#[derive(Debug, Parser)]
#[command(name = "ejtp", version, propagate_version = true)]
pub(crate) struct Cli {
    /// Log more to stderr: -v info (the default of `run`), -vv debug, -vvv trace. RUST_LOG,
    /// when set, decides instead.
    #[arg(short, long, action = ArgAction::Count, global = true)]
    pub(crate) verbose: u8,
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create a new identity file (an ed25519 key pair), readable by you only.
    Keygen(KeygenArgs),
    /// Run a node for an identity until interrupted, answering every message with a reply.
    #[command(after_help = RUN_AFTER_HELP)]
    Run(RunArgs),
    /// Send one JSON value to a node as a query and wait for its reply.
    #[command(after_help = SEND_AFTER_HELP)]
    Send(SendArgs),
    /// Chat in a group: create one with a password, or join one; lines are broadcast.
    #[command(after_help = CHAT_AFTER_HELP)]
    Chat(ChatArgs),
    /// Show the protocol at work: three nodes in this process, narrated step by step.
    Demo,
    /// Replay a recorded scenario file and check that it produces the same outputs.
    Replay(ReplayArgs),
    /// Put files in a shared folder and print their content ids (serve it with `run --share`).
    Share(ShareArgs),
    /// Download a content by id from CJP2P nodes, resuming an interrupted download.
    Fetch(FetchArgs),
}

/// `ejtp share`.
#[derive(Debug, Args)]
pub(crate) struct ShareArgs {
    /// The files to share.
    #[arg(value_name = "PATH", required = true)]
    pub(crate) paths: Vec<PathBuf>,
    /// The shared folder the files are copied into (created if needed).
    #[arg(long, value_name = "DIR", default_value = "shared")]
    pub(crate) dir: PathBuf,
}

/// `ejtp fetch`.
#[derive(Debug, Args)]
pub(crate) struct FetchArgs {
    /// The content id: the SHA-256 of the file, 64 hex digits (as `ejtp share` prints it).
    #[arg(value_name = "ID", value_parser = parse_content_id)]
    pub(crate) id: ContentId,
    /// A CJP2P node that has it, host:port (UDP). Repeatable: all are asked at once.
    #[arg(long = "peer", value_name = "ADDR", required = true, value_parser = parse_socket_addr)]
    pub(crate) peers: Vec<SocketAddr>,
    /// The folder the file goes to; the download in progress lives in DIR/.ejtp-partial, so
    /// running the same command again resumes it.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub(crate) out: PathBuf,
    /// Give up after this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) timeout: u64,
}

fn parse_content_id(text: &str) -> Result<ContentId, String> {
    text.parse()
        .map_err(|_| "expected a content id: 64 hex digits".to_string())
}

/// `ejtp keygen`.
#[derive(Debug, Args)]
pub(crate) struct KeygenArgs {
    /// Where to write the identity file (it holds the secret key).
    #[arg(long, value_name = "FILE")]
    pub(crate) out: PathBuf,
    /// The identity's name, also its default member name in `ejtp chat`: 1 to 32 printable
    /// ASCII characters, no spaces [default: the callsign].
    #[arg(long, value_parser = parse_name)]
    pub(crate) name: Option<String>,
    /// The callsign of the client the node hosts for this identity.
    #[arg(long, default_value = DEFAULT_CALLSIGN, value_parser = parse_callsign)]
    pub(crate) callsign: String,
    /// Replace FILE if it exists.
    #[arg(long)]
    pub(crate) force: bool,
}

/// `ejtp run`.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// The identity file of the node (see `ejtp keygen`).
    #[arg(long, value_name = "FILE")]
    pub(crate) identity: PathBuf,
    /// The UDP address to listen on, such as 127.0.0.1:7000 (port 0 picks a free one). Peers
    /// are told to answer there, so name a concrete address rather than 0.0.0.0.
    #[arg(long, value_name = "ADDR", value_parser = parse_socket_addr)]
    pub(crate) udp: SocketAddr,
    /// Also listen for TCP at this address.
    #[arg(long, value_name = "ADDR", value_parser = parse_socket_addr)]
    pub(crate) tcp: Option<SocketAddr>,
    /// A known peer, KEY@ADDR (ADDR is host:port, or tcp:host:port); the first one is the
    /// default route for frames this node cannot deliver itself. Repeatable.
    #[arg(long = "peer", value_name = "KEY@ADDR", value_parser = parse_peer)]
    pub(crate) peers: Vec<Peer>,
    /// Record every input and output as a scenario file, written when the node stops (replay
    /// it with `ejtp replay`). The file holds the secret key: record test identities only.
    #[arg(long, value_name = "FILE")]
    pub(crate) record: Option<PathBuf>,
    /// Serve the files of this folder to CJP2P peers on the UDP socket (and download into it).
    #[arg(long, value_name = "DIR")]
    pub(crate) share: Option<PathBuf>,
    /// A CJP2P node to contact from the start (a bootstrap peer: asked for its peers, probed,
    /// and kept in the peer table), such as a public node. ADDR is host:port (UDP), or a host
    /// alone for the conventional CJP2P port, 24254. Repeatable.
    #[arg(long = "cjp2p-peer", value_name = "ADDR", value_parser = parse_cjp2p_peer)]
    pub(crate) cjp2p_peers: Vec<SocketAddr>,
    /// Where the node keeps its replay memory across restarts, so that no first message is
    /// delivered twice and messages held for it while it was down still arrive (default: the
    /// identity file's path with `.replay.jsonl` added).
    #[arg(long, value_name = "FILE", conflicts_with = "no_replay_journal")]
    pub(crate) replay_journal: Option<PathBuf>,
    /// Keep no replay journal: the node then refuses first messages signed before it started.
    #[arg(long)]
    pub(crate) no_replay_journal: bool,
}

/// `ejtp send`.
#[derive(Debug, Args)]
pub(crate) struct SendArgs {
    /// The sender's identity file.
    #[arg(long, value_name = "FILE")]
    pub(crate) identity: PathBuf,
    /// Where the recipient listens: host:port (UDP) or tcp:host:port. Without it, the
    /// recipient is found by its key through the `--peer` nodes (their address records): sent
    /// directly if it can be reached, else through the relay its record names, which
    /// introduces the two so that the next messages can go directly (hole punching).
    #[arg(long, value_name = "ADDR", value_parser = parse_endpoint, required_unless_present = "peers")]
    pub(crate) to: Option<TransportAddr>,
    /// A node of ours to find the recipient through, KEY@ADDR (UDP): the first is also the
    /// node this one stays reachable through while it waits for the reply. Repeatable.
    #[arg(long = "peer", value_name = "KEY@ADDR", value_parser = parse_peer, conflicts_with = "via")]
    pub(crate) peers: Vec<Peer>,
    /// Send the value this many times, one query after another (each waits for its reply),
    /// and print how each reply came: watch a relayed path turn direct.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=10_000), conflicts_with = "no_wait")]
    pub(crate) count: u32,
    /// With `--count`, the pause between one reply and the next query, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(0..=3_600_000))]
    pub(crate) interval_ms: u64,
    /// The recipient's ed25519 public key (64 hex digits, as `ejtp keygen` prints it).
    #[arg(long, value_name = "PUBKEY", value_parser = parse_key)]
    pub(crate) key: PublicKey,
    /// The callsign of the recipient's client.
    #[arg(long, value_name = "NAME", default_value = DEFAULT_CALLSIGN, value_parser = parse_callsign)]
    pub(crate) callsign: String,
    /// Route through this relay, KEY@ADDR (onion routing: each relay opens one layer).
    /// Repeatable; the first is the first hop.
    #[arg(long, value_name = "KEY@ADDR", value_parser = parse_peer)]
    pub(crate) via: Vec<Peer>,
    /// How long to wait for the reply, in seconds: the query's hard timeout.
    #[arg(long, value_name = "SECS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub(crate) timeout: u64,
    /// Send a plain message rather than a query; print the message id and exit.
    #[arg(long)]
    pub(crate) no_wait: bool,
    /// The JSON value to send, such as '{"hello":"world"}' (integers only, no floats), or
    /// @FILE to read it from a file (up to 16 MiB: larger than a datagram, it goes in fragments).
    #[arg(value_name = "JSON", value_parser = parse_json_argument, allow_negative_numbers = true)]
    pub(crate) value: Value,
}

/// The help after `chat`'s options.
const CHAT_AFTER_HELP: &str = "Type a line to send it to every member; `/msg NAME TEXT` sends to \
     one member, `/peers` lists the members, `/exit` (or the end of standard input) leaves. \
     Standard input may be a pipe. The group client is the callsign `chat` on every node. The \
     password goes only to the admitting peer's key, inside an encrypted message; the \
     admitting peer keeps only a salted Argon2id hash of it. Bans are stored in --bans \
     (default: the identity file's path with `.bans.json` added) and survive a restart.";

/// `ejtp chat`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("mode").required(true).args(["create", "join"])))]
pub(crate) struct ChatArgs {
    /// The identity file of the node (see `ejtp keygen`).
    #[arg(long, value_name = "FILE")]
    pub(crate) identity: PathBuf,
    /// The UDP address to listen on, such as 127.0.0.1:7000 (port 0 picks a free one).
    #[arg(long, value_name = "ADDR", value_parser = parse_socket_addr)]
    pub(crate) udp: SocketAddr,
    /// Create a group with this password: you become its admitting peer.
    #[arg(long, value_name = "PASSWORD", conflicts_with_all = ["join", "key", "password"])]
    pub(crate) create: Option<String>,
    /// Join the group whose admitting peer listens at ADDR (UDP host:port).
    #[arg(long, value_name = "ADDR", value_parser = parse_socket_addr, requires_all = ["key", "password"])]
    pub(crate) join: Option<SocketAddr>,
    /// The admitting peer's ed25519 public key (64 hex digits).
    #[arg(long, value_name = "PUBKEY", value_parser = parse_key, requires = "join")]
    pub(crate) key: Option<PublicKey>,
    /// The group's password.
    #[arg(long, value_name = "PASSWORD", requires = "join")]
    pub(crate) password: Option<String>,
    /// Your name in the group [default: the identity's name].
    #[arg(long, value_name = "NAME")]
    pub(crate) name: Option<String>,
    /// Where the admitting peer stores its bans [default: IDENTITY.bans.json].
    #[arg(long, value_name = "FILE")]
    pub(crate) bans: Option<PathBuf>,
    /// Admitting peer: failed password attempts that ban a peer and its address.
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) max_attempts: u32,
    /// Admitting peer: how long a ban lasts, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 600)]
    pub(crate) ban_secs: u64,
}

/// `ejtp replay`.
#[derive(Debug, Args)]
pub(crate) struct ReplayArgs {
    /// The scenario file (such as one written by `ejtp run --record`).
    #[arg(value_name = "FILE")]
    pub(crate) file: PathBuf,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn cjp2p_peers_are_repeatable_and_take_the_conventional_port_by_default() {
        let cli = Cli::try_parse_from([
            "ejtp",
            "run",
            "--identity",
            "id.json",
            "--udp",
            "127.0.0.1:0",
            "--cjp2p-peer",
            "127.0.0.1:9000",
            "--cjp2p-peer",
            "127.0.0.1",
            "--cjp2p-peer",
            "::1",
        ])
        .unwrap();
        let Command::Run(run) = cli.command else {
            panic!("not run")
        };
        let expected: Vec<SocketAddr> = ["127.0.0.1:9000", "127.0.0.1:24254", "[::1]:24254"]
            .iter()
            .map(|text| text.parse().unwrap())
            .collect();
        assert_eq!(run.cjp2p_peers, expected);
    }

    #[test]
    fn send_takes_negative_numbers_as_values() {
        let key = ejtp_proto::Identity::from_secret_bytes(&[1; 32]).public_key();
        let cli = Cli::try_parse_from([
            "ejtp",
            "send",
            "--identity",
            "id.json",
            "--to",
            "127.0.0.1:9",
            "--key",
            &key.to_string(),
            "-5",
        ])
        .unwrap();
        let Command::Send(send) = cli.command else {
            panic!("not send")
        };
        assert_eq!(send.value, serde_json::json!(-5));
        assert_eq!(send.callsign, "ejtp");
        assert_eq!(send.timeout, 5);
    }
}
