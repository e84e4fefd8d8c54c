//! `ejtp chat`: an interactive group chat. One peer creates the group with a password and
//! admits the others; lines typed are broadcast to every member, `/msg NAME TEXT` goes to one,
//! `/peers` lists the roster and `/exit` (or the end of standard input) leaves.
//!
//! The group machine ([`ejtp_proto::group::Group`]) runs here, on this thread, on top of the
//! node's ordinary messages for the client `chat`: the adapter needs nothing group-specific.
//! Sends go through a thread of their own, for the reason `run`'s acknowledger gives.

mod bans_file;
mod line;
mod print;

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ejtp_proto::group::{
    Group, GroupConfig, GroupError, GroupEvent, GroupOutput, Refusal, valid_name,
};
use ejtp_proto::{Address, Event, PublicIdentity, UnixMillis};
use ejtp_std::{Handle, Node, NodeOptions};
use serde_json::Value;

use crate::args::ChatArgs;
use crate::console;
use crate::error::{CliError, node_reason};
use crate::identity_file;
use line::Line;

/// The callsign of the group client on every `ejtp chat` node.
pub(crate) const CHAT_CALLSIGN: &str = "chat";

/// Longest wait for a node event before looking at the input and the group's timers again.
const POLL: Duration = Duration::from_millis(50);

/// Sends waiting for the sender thread, at most.
const SEND_QUEUE: usize = 1024;

/// What the loop does after an event or a line.
enum Flow {
    Continue,
    Stop(Result<(), CliError>),
}

/// Starts the node and the group, then chats until `/exit`, the end of input, Ctrl-C, or the
/// group's end.
pub(crate) fn chat(args: &ChatArgs) -> Result<(), CliError> {
    let file = identity_file::load(&args.identity)?;
    let name = args.name.clone().unwrap_or_else(|| file.name.clone());
    let config = GroupConfig {
        max_failed_attempts: args.max_attempts,
        ban_duration: Duration::from_secs(args.ban_secs),
        ..GroupConfig::default()
    };
    if !valid_name(&name, config.max_name_len) {
        return Err(CliError::usage(format!(
            "the member name {name:?} is not usable: give --name with 1 to {} printable \
             characters and no spaces",
            config.max_name_len
        )));
    }
    let stop = crate::run::stop_on_signal()?;
    let node = Node::bind(
        NodeOptions::new(file.identity.clone())
            .udp(args.udp)
            .client(CHAT_CALLSIGN),
    )
    .map_err(|err| {
        CliError::failure(format!(
            "cannot listen on udp {}: {}",
            args.udp,
            node_reason(&err)
        ))
    })?;
    let me = node.public_identity(CHAT_CALLSIGN);
    console::line(format_args!("listening: {}", me.to_strict_json()))?;

    let clock = Clock::start();
    let seed = ejtp_adapter_core::os_seed()
        .map_err(|err| CliError::failure(format!("no OS randomness: {}", node_reason(&err))))?;
    let bans_path = args
        .bans
        .clone()
        .unwrap_or_else(|| bans_file::default_path(&args.identity));
    let mut rename = None;
    let group = if let Some(password) = &args.create {
        let mut group = Group::create(
            config,
            file.identity,
            PublicIdentity { name, ..me },
            password,
            seed,
            clock.now(),
            clock.wall(),
        )
        .map_err(|err| CliError::failure(format!("cannot create the group: {err}")))?;
        group.import_bans(bans_file::load(&bans_path)?);
        group
    } else {
        let (Some(addr), Some(key), Some(password)) = (args.join, args.key, &args.password) else {
            return Err(CliError::usage(
                "give --create PASSWORD, or --join ADDR --key PUBKEY --password PASSWORD",
            ));
        };
        let host = PublicIdentity {
            name: "admitting peer".to_string(),
            location: Address::udp(addr, Some(CHAT_CALLSIGN)),
            key,
        };
        let joining = Joining {
            config,
            me: node.public_key(),
            host,
            password: password.clone(),
        };
        let group = joining
            .join(&name, seed, &clock)
            .map_err(|err| CliError::usage(format!("cannot join: {err}")))?;
        // The default name (the identity's) may be taken: then one with a short form of the
        // key is tried. A name given with --name is the user's choice: it is not changed.
        if args.name.is_none() {
            let unique = unique_name(&name, &node.public_key(), joining.config.max_name_len);
            rename = Some((joining, unique));
        }
        group
    };

    let sender = Sender::start(node.handle())?;
    let input = read_lines()?;
    let mut session = Session {
        group,
        clock,
        sender,
        bans_path,
        pending: VecDeque::new(),
        rename,
    };
    let outcome = session.run(&node, &input, &stop);
    let Session { sender, .. } = session;
    sender.stop();
    // Let the driver put the last frames (a leave) on the wire before it stops.
    thread::sleep(Duration::from_millis(100));
    let stopped = node
        .shutdown()
        .map_err(|err| CliError::failure(format!("could not stop cleanly: {}", node_reason(&err))));
    outcome.and(stopped)
}

/// What a join needs, kept to join again under another name.
struct Joining {
    config: GroupConfig,
    me: ejtp_proto::PublicKey,
    host: PublicIdentity,
    password: String,
}

impl Joining {
    fn join(&self, name: &str, seed: [u8; 32], clock: &Clock) -> Result<Group, GroupError> {
        Group::join(
            self.config.clone(),
            self.me,
            name,
            self.host.clone(),
            &self.password,
            seed,
            clock.now(),
            clock.wall(),
        )
    }
}

/// `name` with the first eight hex digits of `key` added (`ejtp-1a2b3c4d`), shortened to fit
/// `max_len`: a default member name that two identities of the same name do not share.
fn unique_name(name: &str, key: &ejtp_proto::PublicKey, max_len: usize) -> String {
    let key = key.to_string();
    let suffix = format!("-{}", key.get(..8).unwrap_or(&key));
    // Member names are ASCII, so any byte length is a character boundary.
    let keep = max_len.saturating_sub(suffix.len()).min(name.len());
    format!("{}{suffix}", name.get(..keep).unwrap_or_default())
}

/// The running chat.
struct Session {
    group: Group,
    clock: Clock,
    sender: Sender,
    bans_path: PathBuf,
    /// Lines read while not in the group (yet), in order; `None` is the end of input. They
    /// are acted on once the join completes, so that piped input is not lost to the wait.
    pending: VecDeque<Option<String>>,
    /// How to join again, and under which name, if the default name is taken.
    rename: Option<(Joining, String)>,
}

impl Session {
    fn run(
        &mut self,
        node: &Node,
        input: &Receiver<Option<String>>,
        stop: &AtomicBool,
    ) -> Result<(), CliError> {
        loop {
            if let Flow::Stop(outcome) = self.drain()? {
                return outcome;
            }
            if stop.load(Ordering::SeqCst) {
                self.leave()?;
                return Ok(());
            }
            let now = self.clock.now();
            let wait = self
                .group
                .poll_timeout()
                .map_or(POLL, |at| (at - now).min(POLL));
            if let Some(Event::Message(message)) = node.events().recv_timeout(wait) {
                if message.to == CHAT_CALLSIGN
                    && !self.group.handle_message(self.clock.now(), &message)
                {
                    tracing::debug!("not a group message from {}", message.from.node_id);
                }
            }
            self.pending.extend(input.try_iter());
            // Out of the group (joining, or joining again), lines wait; in it, they are acted
            // on in order, the end of input last: it leaves, as /exit does.
            while self.group.in_group() {
                let Some(line) = self.pending.pop_front() else {
                    break;
                };
                let Some(line) = line else {
                    self.leave()?;
                    return Ok(());
                };
                if let Flow::Stop(outcome) = self.on_line(&line)? {
                    return outcome;
                }
            }
            let now = self.clock.now();
            if self.group.poll_timeout().is_some_and(|at| at <= now) {
                self.group.handle_timeout(now);
            }
        }
    }

    /// Carries out the group's outputs; stops on an event that ends the chat.
    fn drain(&mut self) -> Result<Flow, CliError> {
        while let Some(output) = self.group.poll_output() {
            match output {
                GroupOutput::Send { to, value } => self.sender.queue(to, value),
                GroupOutput::Event(event) => {
                    if let Flow::Stop(outcome) = self.on_event(&event)? {
                        return Ok(Flow::Stop(outcome));
                    }
                }
                _ => {}
            }
        }
        Ok(Flow::Continue)
    }

    fn on_event(&mut self, event: &GroupEvent) -> Result<Flow, CliError> {
        print::event(event, self.group.is_host())?;
        match event {
            GroupEvent::JoinRefused {
                reason: Refusal::NameTaken,
            } => {
                if let Some((joining, name)) = self.rename.take() {
                    print::warning(format_args!(
                        "the name is taken in this group; joining as {name} (choose one with \
                         --name)"
                    ));
                    let seed = ejtp_adapter_core::os_seed().map_err(|err| {
                        CliError::failure(format!("no OS randomness: {}", node_reason(&err)))
                    })?;
                    self.group = joining
                        .join(&name, seed, &self.clock)
                        .map_err(|err| CliError::failure(format!("cannot join: {err}")))?;
                    return Ok(Flow::Continue);
                }
                return Ok(Flow::Stop(Err(CliError::failure(
                    "join refused: the name is taken (choose another with --name)",
                ))));
            }
            GroupEvent::JoinRefused { reason } => {
                return Ok(Flow::Stop(Err(CliError::failure(format!(
                    "join refused: {reason}"
                )))));
            }
            GroupEvent::JoinFailed => {
                return Ok(Flow::Stop(Err(CliError::failure(
                    "no answer from the admitting peer",
                ))));
            }
            GroupEvent::HostLeft => return Ok(Flow::Stop(Ok(()))),
            GroupEvent::HostSilent | GroupEvent::Removed => {
                // Out of the group, but the admitting peer may still admit us: try once more.
                let now = self.clock.now();
                let _ = self.group.rejoin(now);
            }
            GroupEvent::Banned { .. } => {
                bans_file::store(&self.bans_path, &self.group.bans())?;
            }
            _ => {}
        }
        Ok(Flow::Continue)
    }

    fn on_line(&mut self, text: &str) -> Result<Flow, CliError> {
        let now = self.clock.now();
        let result = match line::parse(text) {
            Line::Empty => Ok(()),
            Line::Broadcast(text) => self.group.broadcast(now, Value::String(text)).map(drop),
            Line::Direct { to, text } => self.group.direct(now, &to, Value::String(text)).map(drop),
            Line::Peers => {
                print::peers(self.group.roster())?;
                Ok(())
            }
            Line::Exit => {
                self.leave()?;
                return Ok(Flow::Stop(Ok(())));
            }
            Line::Unknown(line) => {
                print::warning(format_args!(
                    "{line:?} is not a command: type text, /msg NAME TEXT, /peers or /exit"
                ));
                Ok(())
            }
        };
        if let Err(err) = result {
            print::warning(err);
        }
        Ok(Flow::Continue)
    }

    /// Leaves the group (the admitting peer closes it) and hands the last sends over.
    fn leave(&mut self) -> Result<(), CliError> {
        let now = self.clock.now();
        self.group.leave(now);
        self.drain().map(drop)
    }
}

/// The chat's clocks: a monotonic one for the group machine, and the wall clock for bans.
struct Clock {
    start: std::time::Instant,
}

impl Clock {
    fn start() -> Self {
        Self {
            start: std::time::Instant::now(),
        }
    }

    fn now(&self) -> ejtp_proto::Instant {
        let micros = u64::try_from(self.start.elapsed().as_micros()).unwrap_or(u64::MAX);
        ejtp_proto::Instant::from_micros(micros)
    }

    fn wall(&self) -> UnixMillis {
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        UnixMillis(u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX))
    }
}

/// Standard input, line by line, on a thread; `None` marks its end.
fn read_lines() -> Result<Receiver<Option<String>>, CliError> {
    let (lines, received) = mpsc::channel();
    thread::Builder::new()
        .name("ejtp-stdin".to_string())
        .spawn(move || {
            for line in std::io::stdin().lines() {
                let Ok(line) = line else { break };
                if lines.send(Some(line)).is_err() {
                    return;
                }
            }
            let _ = lines.send(None);
        })
        .map_err(|err| CliError::failure(format!("cannot start a thread: {err}")))?;
    Ok(received)
}

/// Sends group messages from a thread of its own.
struct Sender {
    queue: SyncSender<(PublicIdentity, Value)>,
    thread: JoinHandle<()>,
}

impl Sender {
    fn start(handle: Handle) -> Result<Self, CliError> {
        let (queue, jobs) = mpsc::sync_channel::<(PublicIdentity, Value)>(SEND_QUEUE);
        let thread = thread::Builder::new()
            .name("ejtp-chat-send".to_string())
            .spawn(move || {
                for (to, value) in jobs {
                    if let Err(err) = handle.send(CHAT_CALLSIGN, &to, value) {
                        tracing::warn!(
                            "cannot send to {}: {}",
                            to.location.to_strict_json(),
                            node_reason(&err)
                        );
                    }
                }
            })
            .map_err(|err| CliError::failure(format!("cannot start a thread: {err}")))?;
        Ok(Self { queue, thread })
    }

    fn queue(&self, to: PublicIdentity, value: Value) {
        if let Err(TrySendError::Full(_)) = self.queue.try_send((to, value)) {
            tracing::warn!("too many sends waiting; one group message dropped");
        }
    }

    /// Waits until every queued send was handed to the node.
    fn stop(self) {
        drop(self.queue);
        if self.thread.join().is_err() {
            tracing::warn!("the send thread panicked");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unique_name_adds_a_short_key_and_stays_within_the_limit() {
        let key = ejtp_proto::Identity::from_secret_bytes(&[1; 32]).public_key();
        let short = key.to_string()[..8].to_string();
        assert_eq!(unique_name("ejtp", &key, 32), format!("ejtp-{short}"));
        let long = unique_name(&"n".repeat(32), &key, 32);
        assert_eq!(long.len(), 32);
        assert!(long.ends_with(&short));
        assert!(valid_name(&long, 32));
    }
}
