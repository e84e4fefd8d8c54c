//! `ejtp run`: a node that hosts one identity, logs what happens and answers every message
//! with a reply.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use ejtp_proto::{Event, Message, Protection};
use ejtp_proto::{QueryEvent, TransportEvent};
use ejtp_std::{Handle, Node, NodeOptions};

use crate::ack::ack_for;
use crate::args::RunArgs;
use crate::console;
use crate::error::{CliError, node_reason};
use crate::identity_file;

/// How often the loop looks at the stop flag while no event arrives.
const STOP_POLL: Duration = Duration::from_millis(100);

/// Replies waiting to be sent, at most.
const ACK_QUEUE: usize = 1024;

/// Binds the node, prints its `listening:` lines, and serves until Ctrl-C or SIGTERM; then
/// shuts down, which writes the recording if one was asked for.
pub(crate) fn run(args: &RunArgs) -> Result<(), CliError> {
    let file = identity_file::load(&args.identity)?;
    let callsign = identity_file::callsign(&file).to_string();
    let stop = stop_on_signal()?;

    let mut options = NodeOptions::new(file.identity)
        .udp(args.udp)
        .client(&callsign);
    if let Some(tcp) = args.tcp {
        options = options.tcp(tcp);
    }
    if let Some(first) = args.peers.first() {
        options = options.default_route(first.identity("default route"));
    }
    if let Some(path) = &args.record {
        // The recording is written when the node stops: a path that cannot be written would
        // lose the whole run, so it is checked now.
        crate::folder::check_recording(path)?;
        options = options.record_to(path);
    }
    if let Some(dir) = &args.share {
        // Checked first, so that a bad folder is not reported as a socket error.
        std::fs::create_dir_all(dir).map_err(|err| {
            CliError::failure(format!(
                "cannot open the shared folder {}: {}",
                dir.display(),
                crate::error::io_reason(&err)
            ))
        })?;
        crate::folder::check_download_folder(dir, "--share")?;
        options = options.share_dir(dir);
    }
    if !args.no_replay_journal {
        let path = args.replay_journal.clone().unwrap_or_else(|| {
            let mut name = args.identity.as_os_str().to_owned();
            name.push(".replay.jsonl");
            std::path::PathBuf::from(name)
        });
        options = options.replay_journal(path);
    }
    options.config.cjp2p.bootstrap.clone_from(&args.cjp2p_peers);
    for peer in &args.cjp2p_peers {
        if peer.is_ipv4() != args.udp.is_ipv4() {
            tracing::warn!(
                "CJP2P peer {peer} is not of the address family of --udp {}: it cannot be \
                 reached from that socket",
                args.udp
            );
        }
    }
    for addr in std::iter::once(args.udp).chain(args.tcp) {
        if addr.ip().is_unspecified() {
            tracing::info!(
                "{addr} is a wildcard address: this node advertises the interface toward its \
                 first --peer instead, and learns from its peers where they see it"
            );
        }
    }
    let node = Node::bind(options).map_err(|err| match err {
        ejtp_std::Error::Io(_) => CliError::failure(format!(
            "cannot listen on {}: {}",
            listen_list(args.udp, args.tcp),
            node_reason(&err)
        )),
        _ => CliError::failure(format!("cannot start the node: {}", node_reason(&err))),
    })?;

    for (index, peer) in args.peers.iter().enumerate() {
        let role = if index == 0 { " (default route)" } else { "" };
        tracing::info!(
            "known peer {} at {}, node id {}{role}",
            peer.key,
            peer.endpoint,
            peer.key.node_id()
        );
    }
    if let Some(dir) = &args.share {
        tracing::info!("sharing {} with CJP2P peers", dir.display());
    }
    for peer in &args.cjp2p_peers {
        tracing::info!("CJP2P bootstrap peer {peer}");
    }
    console::line(format_args!(
        "listening: {}",
        node.public_identity(&callsign).to_strict_json()
    ))?;
    if let Some(tcp) = node.tcp_identity(&callsign) {
        console::line(format_args!("listening: {}", tcp.to_strict_json()))?;
    }
    tracing::info!(
        "node {} hosting {callsign:?}; Ctrl-C stops it",
        node.node_id()
    );

    let acks = Acknowledger::start(node.handle())?;
    let served = serve(&node, &acks, &stop);

    tracing::info!("stopping");
    let stopped = node
        .shutdown()
        .map_err(|err| CliError::failure(format!("could not stop cleanly: {}", node_reason(&err))));
    acks.stop();
    served.and(stopped)?;
    if let Some(path) = &args.record {
        tracing::info!("recording written to {}", path.display());
    }
    Ok(())
}

/// Logs every event and queues the replies to messages, until the stop flag is raised; logs
/// `relayed N frames for other nodes` whenever that count grows (checked every
/// [`STOP_POLL`]), so that an operator sees what this node carries as a relay.
fn serve(node: &Node, acks: &Acknowledger, stop: &AtomicBool) -> Result<(), CliError> {
    let mut relayed = 0;
    while !stop.load(Ordering::SeqCst) {
        if let Ok(stats) = node.handle().stats() {
            if stats.transport.forwarded > relayed {
                relayed = stats.transport.forwarded;
                tracing::info!("relayed {relayed} frames for other nodes");
            }
        }
        let waited = Instant::now();
        match node.events().recv_timeout(STOP_POLL) {
            Some(event) => on_event(acks, event),
            // Back early without an event: the node may have stopped on its own.
            None if waited.elapsed() < STOP_POLL && node.handle().stats().is_err() => {
                return Err(CliError::failure("the node stopped unexpectedly"));
            }
            None => {}
        }
    }
    Ok(())
}

/// Logs an event and queues the reply to a message. Replies to this node's own queries come as
/// [`QueryEvent::Reply`], never as messages, so a reply is never answered.
fn on_event(acks: &Acknowledger, event: Event) {
    match event {
        Event::Message(message) => {
            let path = match message.relayed_by {
                Some(relay) => format!("relayed via {relay}"),
                None => "direct".to_string(),
            };
            tracing::info!(
                "message {} for {:?} from {} at {} ({}, {path}): {}",
                message.id,
                message.to,
                message.from.node_id,
                message.from.address.to_strict_json(),
                protection(message.protection),
                message.value
            );
            acks.queue(message);
        }
        Event::Query(QueryEvent::Reply {
            query,
            message,
            late,
        }) => tracing::info!(
            "reply {} to query {query} from {}{}: {}",
            message.id,
            message.from.node_id,
            if late { " (late)" } else { "" },
            message.value
        ),
        // The sender hears nothing of this, so it is said here: usually a wrong `--callsign`
        // (or a key that belongs to another node) on the sending side.
        Event::Transport(TransportEvent::UnknownClient {
            from,
            callsign,
            message,
        }) => match callsign {
            Some(callsign) => tracing::debug!(
                "dropped message {message} from {from}: no client here has the callsign {callsign:?}"
            ),
            None => tracing::debug!("dropped message {message} from {from}: it names no callsign"),
        },
        // What peers see of this node's address: behind a NAT, its public mapping.
        Event::Transport(TransportEvent::AddressObserved {
            address,
            by,
            agreeing,
            changed_from,
        }) => match changed_from {
            Some(before) => tracing::info!(
                "learned address: {by} now sees this node at {address} (was {before}; \
                 {agreeing} peer(s) agree)"
            ),
            None => tracing::info!(
                "learned address: {by} sees this node at {address} ({agreeing} peer(s) agree)"
            ),
        },
        Event::Transport(TransportEvent::DirectPath { peer, address }) => {
            tracing::info!("direct path: {peer} is reached directly at {address} (hole punched)");
        }
        Event::Transport(TransportEvent::PunchFailed { peer }) => tracing::info!(
            "relayed: no direct path to {peer} opened (a symmetric NAT or a firewall?); its \
             traffic keeps going through the relay"
        ),
        other => tracing::debug!("{other:?}"),
    }
}

/// Sends the replies (acknowledgements) from a thread of their own.
///
/// A send waits for the node's poll loop to carry it out. Sending from the thread that
/// drains events would let a burst of messages fill the node's event queue while that thread
/// waits, and the queue drops events once full. So the event loop only queues replies
/// (dropping them, with a warning, when this queue is full) and this thread sends them.
struct Acknowledger {
    queue: SyncSender<Message>,
    thread: JoinHandle<()>,
}

impl Acknowledger {
    fn start(handle: Handle) -> Result<Self, CliError> {
        let (queue, jobs) = mpsc::sync_channel::<Message>(ACK_QUEUE);
        let thread = thread::Builder::new()
            .name("ejtp-acks".to_string())
            .spawn(move || {
                for message in jobs {
                    acknowledge(&handle, &message);
                }
            })
            .map_err(|err| CliError::failure(format!("cannot start a thread: {err}")))?;
        Ok(Self { queue, thread })
    }

    fn queue(&self, message: Message) {
        let id = message.id;
        if let Err(TrySendError::Full(_)) = self.queue.try_send(message) {
            tracing::warn!("too many replies waiting; {id} not acknowledged");
        }
    }

    /// Waits for the thread (call after the node has stopped, so that no send can block).
    fn stop(self) {
        drop(self.queue);
        if self.thread.join().is_err() {
            tracing::warn!("the acknowledgement thread panicked");
        }
    }
}

/// Answers `message`, from the client it was for, with the reply `{"ack": "<its id>"}`: bound
/// to the message by its hash, so that the sender's query ends with it.
fn acknowledge(handle: &Handle, message: &Message) {
    let id = message.id;
    match handle.reply(&message.to, message, ack_for(id)) {
        Ok(reply) => tracing::debug!("acknowledged {id} with reply {reply}"),
        Err(err) => tracing::warn!(
            "cannot acknowledge {id} to {}: {}",
            message.from.address.to_strict_json(),
            node_reason(&err)
        ),
    }
}

/// How a message was protected, as the log says it.
fn protection(protection: Protection) -> &'static str {
    match protection {
        Protection::Sealed => "sealed",
        Protection::Session => "session",
        Protection::Local => "local",
    }
}

/// A flag that Ctrl-C (SIGINT) or SIGTERM raises.
pub(crate) fn stop_on_signal() -> Result<Arc<AtomicBool>, CliError> {
    let stop = Arc::new(AtomicBool::new(false));
    let raised = Arc::clone(&stop);
    ctrlc::set_handler(move || raised.store(true, Ordering::SeqCst))
        .map_err(|err| CliError::failure(format!("cannot watch for Ctrl-C: {err}")))?;
    Ok(stop)
}

/// "udp 127.0.0.1:7000 and tcp 127.0.0.1:7001", for the bind error.
fn listen_list(udp: SocketAddr, tcp: Option<SocketAddr>) -> String {
    match tcp {
        Some(tcp) => format!("udp {udp} and tcp {tcp}"),
        None => format!("udp {udp}"),
    }
}
