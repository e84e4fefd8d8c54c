//! The one path of every application command: [`Command`] in, [`CommandOutcome`] out.
//!
//! Adapters, the recorder and the replayer hand commands to [`Node::handle_command`] as data, so
//! that every command is dispatched, recorded and replayed the same way; the typed methods
//! (`send`, `query`, `fetch`, ...) are the same operations for code that drives the core
//! directly.

use super::Node;
use crate::error::CommandError;
use crate::io::{Command, CommandOutcome};
use crate::time::Instant;

impl Node {
    /// An application command, as data: carries it out and says what it did.
    ///
    /// Every command an adapter offers goes through here, including download settings
    /// ([`Command::SetDownloadConfig`]) and cancellations, so a recording of a run holds all
    /// of them and replays. (The content store itself is state the application owns, like a
    /// socket, and is given with [`set_content_storage`](Self::set_content_storage).)
    ///
    /// # Errors
    /// The error of the command.
    ///
    /// # Example
    /// ```
    /// use ejtp_proto::{Command, CommandOutcome, Config, Identity, Instant, Node, UnixMillis};
    ///
    /// let now = Instant::from_micros(0);
    /// let mut node = Node::new(
    ///     Config::default(),
    ///     Identity::from_secret_bytes(&[7; 32]),
    ///     [0; 32],
    ///     now,
    ///     UnixMillis(1_700_000_000_000),
    /// );
    /// let outcome = node.handle_command(now, Command::AddClient { callsign: "alice".into() })?;
    /// assert_eq!(outcome, CommandOutcome::Done);
    /// # Ok::<(), ejtp_proto::CommandError>(())
    /// ```
    pub fn handle_command(
        &mut self,
        now: Instant,
        command: Command,
    ) -> Result<CommandOutcome, CommandError> {
        use CommandOutcome::{Changed, Done, Sent};
        self.advance(now);
        match command {
            Command::AddClient { callsign } => self.add_client(&callsign).map(|()| Done),
            Command::RemoveClient { callsign } => Ok(Changed(self.remove_client(&callsign))),
            Command::AddLocalAddress { address } => self.add_local_address(address).map(|()| Done),
            Command::Send {
                from,
                to,
                via,
                value,
            } => Ok(Sent(self.send_via(now, &from, &to, &via, value)?)),
            Command::SetDefaultRoute { route } => {
                self.set_default_route(route);
                Ok(Done)
            }
            Command::Query {
                from,
                to,
                via,
                value,
                options,
            } => Ok(Sent(self.query_via(now, &from, &to, &via, value, options)?)),
            Command::Reply {
                from,
                to,
                via,
                value,
            } => Ok(Sent(self.reply_via(now, &from, &to, &via, value)?)),
            Command::CancelQuery { id } => Ok(Changed(self.cancel_query(now, id))),
            Command::RequestMailbox { relay, op } => {
                self.request_mailbox(now, &relay, op)?;
                Ok(Done)
            }
            Command::AddRoute {
                key,
                address,
                preference,
            } => Ok(Changed(self.add_route(now, key, &address, preference))),
            Command::SendToPeer {
                from,
                peer,
                callsign,
                value,
            } => Ok(Sent(
                self.send_to_peer(now, &from, &peer, &callsign, value)?,
            )),
            Command::Lookup { peer } => Ok(Changed(self.lookup(now, peer))),
            Command::SetRecordSeq { seq } => {
                self.set_record_seq(seq);
                Ok(Done)
            }
            Command::SendCjp2p { to, messages } => {
                self.send_cjp2p(now, to, messages).map(|()| Done)
            }
            Command::AddCjp2pPeer { addr } => {
                self.add_cjp2p_peer(now, addr);
                Ok(Done)
            }
            Command::Fetch { id, sources } => self.fetch(now, id, sources).map(|()| Done),
            Command::CancelFetch { id } => Ok(Changed(self.cancel_fetch(&id))),
            Command::SetDownloadConfig { config } => {
                self.set_download_config(config);
                Ok(Done)
            }
            Command::RestoreReplayMemory { memory } => {
                self.restore_replay_memory(&memory);
                Ok(Done)
            }
        }
    }
}
