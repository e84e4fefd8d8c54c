//! A node with its clock and recorder: the part of every adapter that is not I/O.

use std::net::SocketAddr;

use ejtp_proto::trace::NodeSpec;
use ejtp_proto::{
    Address, Command, CommandError, CommandOutcome, Input, Instant, Message, MessageId, Node,
    Output, PublicIdentity, PublicKey, QueryOptions, SendError, TransportAddr,
};
use serde_json::Value;

use ejtp_proto::content::{ContentId, DownloadConfig};

use ejtp_proto::replay_journal::ReplayRecord;

use crate::replay_journal::ReplayJournal;
use crate::{Clock, Error, NodeOptions, Recording, SharedDirectory, os_seed};

/// Traffic an adapter received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Inbound {
    /// A UDP datagram.
    Datagram {
        /// Its source.
        from: SocketAddr,
        /// Its bytes.
        data: Vec<u8>,
    },
    /// Bytes read from the TCP connection with `from`.
    Stream {
        /// The connection's remote address.
        from: SocketAddr,
        /// The bytes.
        data: Vec<u8>,
    },
    /// The TCP connection with `from` closed.
    StreamClosed {
        /// The connection's remote address.
        from: SocketAddr,
    },
}

/// A [`Node`], its [`Clock`], and the optional [`Recording`] of everything it is given.
///
/// Every method returns the outputs the node produced, for the adapter to carry out in order:
/// send each [`Transmit`](ejtp_proto::Transmit), hand each event to the application (and close
/// the TCP connection named by an [`TransportEvent::StreamFailed`](ejtp_proto::TransportEvent::StreamFailed)).
pub struct Driver {
    node: Node,
    clock: Clock,
    recording: Option<Recording>,
    /// The shared folder, when [`NodeOptions::share_dir`] names one (the node holds a clone).
    shared: Option<SharedDirectory>,
    /// Its disk thread (downloads' writes, rescans every [`NodeOptions::share_rescan`]),
    /// stopped when the driver is dropped, after the node (and its downloads) is.
    _disk: Option<crate::disk::DiskThread>,
    /// The replay journal, when [`NodeOptions::replay_journal`] names one.
    journal: Option<ReplayJournal>,
}

impl Driver {
    /// Builds the node for `options`, now bound to `udp` and `tcp` (the actual addresses, with
    /// the ports the operating system picked): declares them as the node's addresses, adds the
    /// clients and the default route.
    ///
    /// # Errors
    /// [`Error::Io`] if no seed can be drawn; [`Error::Command`] for a bad callsign.
    pub fn new(
        options: &NodeOptions,
        udp: &[SocketAddr],
        tcp: &[SocketAddr],
    ) -> Result<Self, Error> {
        let seed = match options.seed {
            Some(seed) => seed,
            None => os_seed()?,
        };
        let clock = Clock::start();
        let (start, wall) = (clock.now(), clock.wall_start());
        let config = options
            .config
            .clone()
            .with_replay_journal(options.replay_journal.is_some());
        let node = Node::new(config.clone(), options.identity.clone(), seed, start, wall);
        let recording = options.record_to.as_deref().map(|path| {
            let spec = NodeSpec {
                name: "node".to_string(),
                secret: options.identity.secret_bytes(),
                seed,
                start,
                wall,
                config,
            };
            Recording::new(path, spec)
        });
        let mut node = node;
        let shared = match &options.share_dir {
            Some(dir) => {
                let shared = SharedDirectory::open(dir)?;
                node.content().set_storage(Some(Box::new(shared.clone())));
                Some(shared)
            }
            None => None,
        };
        let disk = match &shared {
            Some(shared) => Some(shared.start_disk(options.share_rescan)?),
            None => None,
        };
        let mut driver = Self {
            node,
            clock,
            recording,
            shared,
            _disk: disk,
            journal: None,
        };
        if let Some(path) = &options.replay_journal {
            // What the node remembered when it stopped; then the file holds what it remembers
            // now, compacted, and takes every first message it accepts from here on.
            if let Some(memory) = ReplayJournal::read(path)? {
                driver.command(Command::RestoreReplayMemory { memory }).0?;
            }
            driver.journal = Some(ReplayJournal::create(path, &driver.node.replay_memory())?);
        }
        // A wildcard-bound socket advertises the interface toward the default route first.
        let toward = options
            .default_route
            .as_ref()
            .and_then(|route| route.location.transport())
            .map(|transport| transport.addr);
        let advertise =
            |bound: &SocketAddr| crate::advertised::advertised_addresses(*bound, toward);
        let addresses: Vec<Address> = udp
            .iter()
            .flat_map(advertise)
            .map(|addr| Address::udp(addr, None))
            .chain(
                tcp.iter()
                    .flat_map(advertise)
                    .map(|addr| Address::tcp(addr, None)),
            )
            .collect();
        driver
            .command(Command::SetDownloadConfig {
                config: options.download,
            })
            .0?;
        for address in addresses {
            driver.command(Command::AddLocalAddress { address }).0?;
        }
        for callsign in &options.clients {
            driver
                .command(Command::AddClient {
                    callsign: callsign.clone(),
                })
                .0?;
        }
        if let Some(route) = &options.default_route {
            driver
                .command(Command::SetDefaultRoute {
                    route: Some(route.clone()),
                })
                .0?;
        }
        Ok(driver)
    }

    /// The node (for its getters).
    #[must_use]
    pub fn node(&self) -> &Node {
        &self.node
    }

    /// The clock the node runs on.
    #[must_use]
    pub fn clock(&self) -> Clock {
        self.clock
    }

    /// How peers reach client `callsign` here (the first bound address).
    #[must_use]
    pub fn public_identity(&self, callsign: &str) -> PublicIdentity {
        self.node.public_identity(callsign, callsign)
    }

    /// Hands the node received traffic.
    pub fn inbound(&mut self, inbound: Inbound) -> Vec<Output> {
        let now = self.clock.now();
        let input = match inbound {
            Inbound::Datagram { from, data } => Input::Datagram {
                now,
                from: TransportAddr::udp(from),
                data,
            },
            Inbound::Stream { from, data } => Input::StreamData {
                now,
                from: TransportAddr::tcp(from),
                data,
            },
            Inbound::StreamClosed { from } => Input::StreamClosed {
                now,
                from: TransportAddr::tcp(from),
            },
        };
        self.run(input).1
    }

    /// Tells the node that the transmit `payload` to `to` could not be delivered (a failed UDP
    /// send, a TCP connection that could not be opened): it falls back to the peer's next
    /// address or reports the peer unreachable ([`Node::handle_transmit_failed`]).
    pub fn transmit_failed(&mut self, to: TransportAddr, payload: Vec<u8>) -> Vec<Output> {
        let now = self.clock.now();
        self.run(Input::TransmitFailed {
            now,
            to,
            data: payload,
        })
        .1
    }

    /// Sends `value` from the local client `from` to `to`, through `via` if not empty.
    pub fn send(
        &mut self,
        from: &str,
        to: &PublicIdentity,
        via: &[PublicIdentity],
        value: Value,
    ) -> (Result<MessageId, SendError>, Vec<Output>) {
        let now = self.clock.now();
        let command = Command::Send {
            from: from.to_string(),
            to: to.clone(),
            via: via.to_vec(),
            value: value.clone(),
        };
        // The node is driven through its method (which returns the message id); the recording
        // holds the equivalent Input, which replays identically.
        let result = self.node.via(via).send(now, from, to, value);
        let outputs = self.drain();
        let error = result
            .as_ref()
            .err()
            .map(|err| CommandError::Send(err.clone()).to_string());
        if let Some(recording) = &mut self.recording {
            recording.step(Input::Command { now, command }, error, &outputs);
        }
        (result, outputs)
    }

    /// Sends `value` from the local client `from` to `to` as a query
    /// ([`Node::query`]): it ends with [`QueryEvent::Reply`](ejtp_proto::QueryEvent::Reply),
    /// [`QueryEvent::TimedOut`](ejtp_proto::QueryEvent::TimedOut) or
    /// [`QueryEvent::Cancelled`](ejtp_proto::QueryEvent::Cancelled), among the outputs of this
    /// or a later call. Recorded as a [`Command::Query`].
    pub fn query(
        &mut self,
        from: &str,
        to: &PublicIdentity,
        value: Value,
        options: QueryOptions,
    ) -> (Result<MessageId, SendError>, Vec<Output>) {
        self.query_via(from, to, &[], value, options)
    }

    /// [`query`](Self::query) through the relays `via`, first hop first
    /// ([`Node::via`]).
    pub fn query_via(
        &mut self,
        from: &str,
        to: &PublicIdentity,
        via: &[PublicIdentity],
        value: Value,
        options: QueryOptions,
    ) -> (Result<MessageId, SendError>, Vec<Output>) {
        let now = self.clock.now();
        let command = Command::Query {
            from: from.to_string(),
            to: to.clone(),
            via: via.to_vec(),
            value: value.clone(),
            options,
        };
        let result = self.node.via(via).query(now, from, to, value, options);
        let outputs = self.drain();
        self.record_sent(now, command, &result, &outputs);
        (result, outputs)
    }

    /// Answers the delivered message `to` from the local client `from` ([`Node::reply`]).
    /// Recorded as a [`Command::Reply`].
    pub fn reply(
        &mut self,
        from: &str,
        to: &Message,
        value: Value,
    ) -> (Result<MessageId, SendError>, Vec<Output>) {
        let now = self.clock.now();
        let command = Command::Reply {
            from: from.to_string(),
            to: Box::new(to.clone()),
            via: Vec::new(),
            value: value.clone(),
        };
        let result = self.node.reply(now, from, to, value);
        let outputs = self.drain();
        self.record_sent(now, command, &result, &outputs);
        (result, outputs)
    }

    /// Sends `value` from the local client `from` to the client `callsign` of the node with
    /// key `peer`, on the best address the routing table knows, or after a lookup
    /// ([`Node::send_to_peer`]). Recorded as a [`Command::SendToPeer`].
    pub fn send_to_peer(
        &mut self,
        from: &str,
        peer: &PublicKey,
        callsign: &str,
        value: Value,
    ) -> (Result<MessageId, SendError>, Vec<Output>) {
        let now = self.clock.now();
        let command = Command::SendToPeer {
            from: from.to_string(),
            peer: *peer,
            callsign: callsign.to_string(),
            value: value.clone(),
        };
        let result = self.node.send_to_peer(now, from, peer, callsign, value);
        let outputs = self.drain();
        self.record_sent(now, command, &result, &outputs);
        (result, outputs)
    }

    /// Tells the routing table that `key` is reached at `address` ([`Routes::add`](ejtp_proto::Routes::add)):
    /// false if the address has no transport the node speaks. Recorded as a
    /// [`Command::AddRoute`].
    pub fn add_route(
        &mut self,
        key: PublicKey,
        address: Address,
        preference: Option<u8>,
    ) -> (bool, Vec<Output>) {
        let now = self.clock.now();
        let stored = self.node.routes().add(now, key, &address, preference);
        let outputs = self.drain();
        if let Some(recording) = &mut self.recording {
            let command = Command::AddRoute {
                key,
                address,
                preference,
            };
            recording.step(Input::Command { now, command }, None, &outputs);
        }
        (stored, outputs)
    }

    /// Cancels the open query `id` ([`Node::cancel_query`]): false if no such query is open.
    /// Recorded as a [`Command::CancelQuery`].
    pub fn cancel_query(&mut self, id: MessageId) -> (bool, Vec<Output>) {
        let now = self.clock.now();
        let cancelled = self.node.cancel_query(now, id);
        let outputs = self.drain();
        if let Some(recording) = &mut self.recording {
            let input = Input::Command {
                now,
                command: Command::CancelQuery { id },
            };
            recording.step(input, None, &outputs);
        }
        (cancelled, outputs)
    }

    /// The longest a query sent with `options` can stay open: its hard timeout, or, if it may
    /// adapt, up to the node's [`Config::max_adaptive_timeout`](ejtp_proto::Config).
    #[must_use]
    pub fn longest_query(&self, options: &QueryOptions) -> std::time::Duration {
        if options.adaptive {
            options
                .hard_timeout
                .max(self.node.config().max_adaptive_timeout)
        } else {
            options.hard_timeout
        }
    }

    /// How many queries may be open at once
    /// ([`Config::max_open_queries`](ejtp_proto::Config)).
    #[must_use]
    pub fn max_open_queries(&self) -> usize {
        self.node.config().max_open_queries
    }

    /// Records a command that sent a message (a query or a reply), with its result and
    /// outputs.
    fn record_sent(
        &mut self,
        now: Instant,
        command: Command,
        result: &Result<MessageId, SendError>,
        outputs: &[Output],
    ) {
        if let Some(recording) = &mut self.recording {
            let error = result
                .as_ref()
                .err()
                .map(|err| CommandError::Send(err.clone()).to_string());
            recording.step(Input::Command { now, command }, error, outputs);
        }
    }

    /// Gives the node a command, records it, and returns what it did with the outputs: the one
    /// path every command can take ([`Node::handle_command`]).
    pub fn command(
        &mut self,
        command: Command,
    ) -> (Result<CommandOutcome, CommandError>, Vec<Output>) {
        let now = self.clock.now();
        // Only a recording needs the command afterwards.
        let recorded = self.recording.is_some().then(|| command.clone());
        let result = self.node.handle_command(now, command);
        let outputs = self.drain();
        if let (Some(recording), Some(command)) = (&mut self.recording, recorded) {
            let error = result.as_ref().err().map(ToString::to_string);
            recording.step(Input::Command { now, command }, error, &outputs);
        }
        (result, outputs)
    }

    /// Stops downloading `id` ([`Content::cancel`](ejtp_proto::Content::cancel)); returns whether it was downloading.
    /// Recorded as a [`Command::CancelFetch`].
    pub fn cancel_fetch(&mut self, id: ContentId) -> (bool, Vec<Output>) {
        let (result, outputs) = self.command(Command::CancelFetch { id });
        (result.is_ok_and(CommandOutcome::changed), outputs)
    }

    /// Sets how downloads started from now on behave ([`Content::set_config`](ejtp_proto::Content::set_config)).
    /// Recorded as a [`Command::SetDownloadConfig`].
    pub fn set_download_config(&mut self, config: DownloadConfig) -> Vec<Output> {
        self.command(Command::SetDownloadConfig { config }).1
    }

    /// Starts downloading `id` from the CJP2P nodes at `sources` into the shared folder
    /// ([`Content::fetch`](ejtp_proto::Content::fetch)); it ends with `FetchEvent::Completed` or `FetchEvent::Failed`
    /// among the outputs of this or a later call.
    pub fn fetch(
        &mut self,
        id: ContentId,
        sources: &[SocketAddr],
    ) -> (Result<(), CommandError>, Vec<Output>) {
        let sources = sources
            .iter()
            .map(|addr| TransportAddr::udp(*addr))
            .collect();
        let (result, outputs) = self.command(Command::Fetch { id, sources });
        (result.map(|_done| ()), outputs)
    }

    /// Hashes the file at `path` and shares it from where it is.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read, or when the node has no shared folder.
    pub fn share(&mut self, path: &std::path::Path) -> Result<ContentId, Error> {
        let shared = self.shared.as_ref().ok_or_else(no_shared_folder)?;
        Ok(shared.share(path)?)
    }

    /// Where the content `id` is in the shared folder, once shared or downloaded.
    #[must_use]
    pub fn content_path(&self, id: &ContentId) -> Option<std::path::PathBuf> {
        self.shared.as_ref()?.path_of(id)
    }

    /// `outcome` with the path of a completed download filled in.
    #[must_use]
    pub fn with_path(&self, outcome: crate::FetchOutcome) -> crate::FetchOutcome {
        match outcome {
            crate::FetchOutcome::Completed { id, len, .. } => crate::FetchOutcome::Completed {
                id,
                len,
                path: self.content_path(&id),
            },
            other => other,
        }
    }

    /// Lets the node do what is due now.
    pub fn timeout(&mut self) -> Vec<Output> {
        let now = self.clock.now();
        self.run(Input::Timeout { now }).1
    }

    /// When the node next wants [`timeout`](Self::timeout) called.
    #[must_use]
    pub fn next_deadline(&self) -> Option<std::time::Instant> {
        self.node
            .poll_timeout()
            .map(|timeout| self.clock.to_std(timeout.at))
    }

    /// The recording so far, if the node records.
    #[must_use]
    pub fn recording(&self) -> Option<&Recording> {
        self.recording.as_ref()
    }

    /// Saves the recording, if the node records. Call when the node stops.
    ///
    /// # Errors
    /// [`Error::Io`] if the file cannot be written.
    pub fn save_recording(&self) -> Result<(), Error> {
        self.recording.as_ref().map_or(Ok(()), Recording::save)
    }

    /// The core's clock now.
    #[must_use]
    pub fn now(&self) -> Instant {
        self.clock.now()
    }

    fn run(&mut self, input: Input) -> (Result<(), CommandError>, Vec<Output>) {
        // Only a recording needs the input afterwards: a received datagram is not copied
        // otherwise.
        let recorded = self.recording.is_some().then(|| input.clone());
        let result = self.node.handle_input(input);
        let outputs = self.drain();
        if let (Some(recording), Some(input)) = (&mut self.recording, recorded) {
            recording.step(
                input,
                result.as_ref().err().map(ToString::to_string),
                &outputs,
            );
        }
        (result, outputs)
    }

    fn drain(&mut self) -> Vec<Output> {
        let mut outputs: Vec<Output> = std::iter::from_fn(|| self.node.poll_output()).collect();
        self.remember(&mut outputs);
        outputs
    }

    /// Stores the first messages the node accepted before their events leave the driver.
    fn remember(&mut self, outputs: &mut Vec<Output>) {
        let Some(journal) = &mut self.journal else {
            return;
        };
        let records: Vec<ReplayRecord> = outputs
            .iter()
            .filter_map(|output| match output {
                Output::Remember(record) => Some(*record),
                _ => None,
            })
            .collect();
        if records.is_empty() {
            return;
        }
        if let Err(err) = journal.append(&records) {
            // Unstored, a message could be delivered again after a restart: it is not
            // delivered now (at most once, as a lost datagram would be).
            tracing::warn!(
                "replay journal not written ({err}): {} messages withheld",
                records.len()
            );
            outputs.retain(|output| {
                !matches!(
                    output,
                    Output::Event(
                        ejtp_proto::Event::Message(_)
                            | ejtp_proto::Event::Query(ejtp_proto::QueryEvent::Reply { .. })
                    )
                )
            });
            return;
        }
        if journal.wants_compaction() {
            let memory = self.node.replay_memory();
            if let Err(err) = journal.compact(&memory) {
                tracing::warn!("replay journal not compacted: {err}");
            }
        }
    }
}

fn no_shared_folder() -> Error {
    Error::Io(std::io::Error::new(
        std::io::ErrorKind::NotFound,
        "the node has no shared folder (NodeOptions::share_dir)",
    ))
}

#[cfg(test)]
mod tests {
    use ejtp_proto::{Event, Identity};
    use ejtp_proto::{QueryEvent, TransportEvent};
    use serde_json::json;

    use super::*;

    fn loopback(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn a_recorded_session_replays_byte_for_byte() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alice.json");
        let options = NodeOptions::new(Identity::from_secret_bytes(&[1; 32]))
            .client("alice")
            .record_to(&path);
        let mut alice = Driver::new(&options, &[loopback(9001)], &[]).unwrap();
        let bob = NodeOptions::new(Identity::from_secret_bytes(&[2; 32])).client("bob");
        let mut bob = Driver::new(&bob, &[loopback(9002)], &[]).unwrap();

        let (id, outputs) = alice.send(
            "alice",
            &bob.public_identity("bob"),
            &[],
            json!({"recorded": true}),
        );
        id.unwrap();
        for output in outputs {
            if let Output::Transmit(transmit) = output {
                for event in bob.inbound(Inbound::Datagram {
                    from: loopback(9001),
                    data: transmit.payload,
                }) {
                    if let Output::Transmit(reply) = event {
                        alice.inbound(Inbound::Datagram {
                            from: loopback(9002),
                            data: reply.payload,
                        });
                    }
                }
            }
        }
        assert!(alice.node().has_session(&bob.node().node_id()));
        alice.timeout();
        alice.save_recording().unwrap();

        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "the recording holds a secret key");
        }
        let scenario = Recording::load(&path).unwrap();
        assert!(scenario.steps.len() >= 5, "{} steps", scenario.steps.len());
        scenario.replay().unwrap();
        let established = scenario
            .steps
            .iter()
            .flat_map(|step| &step.outputs)
            .any(|output| {
                matches!(
                    output,
                    Output::Event(Event::Transport(TransportEvent::SessionEstablished { .. }))
                )
            });
        assert!(
            established,
            "the recording holds the handshake's completion"
        );
    }

    /// Hands every datagram in `outputs` to `to` (sent from `from`), and what that produces
    /// back, until nothing is left; returns the events either side produced.
    fn pump(
        outputs: Vec<Output>,
        (a, a_port): (&mut Driver, u16),
        (b, b_port): (&mut Driver, u16),
    ) -> Vec<Event> {
        let mut events = Vec::new();
        let mut pending = vec![(outputs, true)];
        while let Some((outputs, to_b)) = pending.pop() {
            for output in outputs {
                match output {
                    Output::Transmit(transmit) => {
                        let (target, from) = if to_b {
                            (&mut *b, a_port)
                        } else {
                            (&mut *a, b_port)
                        };
                        let more = target.inbound(Inbound::Datagram {
                            from: loopback(from),
                            data: transmit.payload,
                        });
                        pending.push((more, !to_b));
                    }
                    Output::Event(event) => events.push(event),
                    _ => {}
                }
            }
        }
        events
    }

    #[test]
    fn recorded_queries_replies_and_cancellations_replay() {
        let dir = tempfile::tempdir().unwrap();
        let (alice_path, bob_path) = (dir.path().join("alice.json"), dir.path().join("bob.json"));
        let options = NodeOptions::new(Identity::from_secret_bytes(&[1; 32]))
            .client("alice")
            .record_to(&alice_path);
        let mut alice = Driver::new(&options, &[loopback(9001)], &[]).unwrap();
        let options = NodeOptions::new(Identity::from_secret_bytes(&[2; 32]))
            .client("bob")
            .record_to(&bob_path);
        let mut bob = Driver::new(&options, &[loopback(9002)], &[]).unwrap();
        let to = bob.public_identity("bob");

        let (query, outputs) = alice.query("alice", &to, json!("q"), QueryOptions::default());
        let query = query.unwrap();
        let events = pump(outputs, (&mut alice, 9001), (&mut bob, 9002));
        let asked = events
            .into_iter()
            .find_map(|event| match event {
                Event::Message(message) if message.id == query => Some(message),
                _ => None,
            })
            .expect("bob got the query");
        let (reply, outputs) = bob.reply("bob", &asked, json!("a"));
        reply.unwrap();
        let events = pump(outputs, (&mut bob, 9002), (&mut alice, 9001));
        assert!(events.iter().any(|event| matches!(
            event,
            Event::Query(QueryEvent::Reply { query: id, message, late: false }) if *id == query && message.value == json!("a")
        )));

        let (other, _) = alice.query("alice", &to, json!("q2"), QueryOptions::default());
        let (cancelled, outputs) = alice.cancel_query(other.unwrap());
        assert!(cancelled);
        assert!(outputs.iter().any(|output| matches!(
            output,
            Output::Event(Event::Query(QueryEvent::Cancelled { .. }))
        )));
        assert!(!alice.cancel_query(query).0, "already answered");
        let options = QueryOptions {
            adaptive: true,
            ..QueryOptions::default()
        };
        assert_eq!(
            alice.longest_query(&options),
            std::time::Duration::from_secs(3_600)
        );

        for (driver, path) in [(&alice, &alice_path), (&bob, &bob_path)] {
            driver.save_recording().unwrap();
            Recording::load(path).unwrap().replay().unwrap();
        }
    }

    #[test]
    fn unknown_clients_are_a_send_error() {
        let options = NodeOptions::new(Identity::from_secret_bytes(&[1; 32]));
        let mut alice = Driver::new(&options, &[loopback(9001)], &[]).unwrap();
        let me = alice.public_identity("x");
        let (result, outputs) = alice.send("nobody", &me, &[], json!(1));
        assert_eq!(result, Err(SendError::UnknownClient("nobody".into())));
        assert!(outputs.is_empty());
    }
}
