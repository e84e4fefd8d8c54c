//! Encoding and queueing a message: in the session if there is one, else signed and sealed
//! in onion layers, or held until the session is up when it would not fit.

use serde_json::Value;

use super::Transport;
use crate::address::Address;
use crate::error::SendError;
use crate::event::MessageId;
use crate::identity::PublicIdentity;
use crate::node::context::Context;
use crate::node::large_messages::HeldForSession;
use crate::node::lookups::{TAG_LEN, transmit_tag};
use crate::transport::TransportAddr;

/// A message on its way out, as the application gave it.
#[derive(Clone, Copy)]
pub(in crate::node) struct Outgoing<'a> {
    /// Its id.
    pub(in crate::node) id: MessageId,
    /// The local client sending it.
    pub(in crate::node) from: &'a str,
    /// Its recipient.
    pub(in crate::node) to: &'a PublicIdentity,
    /// The relays it goes through, first hop first.
    pub(in crate::node) via: &'a [PublicIdentity],
    /// Its strict JSON.
    pub(in crate::node) json: &'a [u8],
    /// The query it replies to, if any.
    pub(in crate::node) reference: Option<[u8; 32]>,
}

impl Transport {
    /// Encodes `message` for its recipient (through its relays) and queues it: in the session
    /// with the recipient if there is one (in fragments if it does not fit in a datagram), else
    /// signed and sealed (held for the session if that would not fit); each relay adds a
    /// sealed layer. `sender` is the address we sign (else our address toward the
    /// recipient's transport); `path` is where the first hop is reached, as the routing table
    /// chose it for the first hop's signed address (`None` if it named no transport).
    pub(in crate::node) fn transmit_through(
        &mut self,
        ctx: &mut Context,
        message: &Outgoing<'_>,
        sender: Option<Address>,
        path: Option<TransportAddr>,
    ) -> Result<(TransportAddr, [u8; TAG_LEN]), SendError> {
        let Outgoing {
            id,
            from,
            to,
            via,
            json,
            reference,
        } = *message;
        let sender = sender.unwrap_or_else(|| self.sender_address(ctx, from, &to.location));
        let direct = via.is_empty() && ctx.config.sessions;
        let first_hop = via.first().unwrap_or(to);
        let given = first_hop.location.transport();
        if let (true, Some(path)) = (direct, path) {
            if json.len() > ctx.config.max_message_len {
                return Err(SendError::TooLarge {
                    len: json.len(),
                    max: ctx.config.max_message_len,
                });
            }
            let observed = given != Some(path);
            if let Some(frames) =
                self.seal_in_session(ctx, to, &sender, json, (id, reference), (path, observed))
            {
                return Ok(self.queue_datagrams(ctx, &to.key.node_id(), given, path, frames));
            }
            // Far too large to seal for one datagram: wait for the session, sealing nothing.
            if self.needs_session(ctx, to, path, json.len()) {
                self.hold_for_session(ctx, message, Some(path))?;
                return Ok((path, [0; TAG_LEN]));
            }
        }
        let signed = self.signed_frame(ctx, &to.location, &sender, id, json, reference)?;
        let mut onion = self.seal_layer(ctx, &to.location, &to.key, 0, &signed)?;
        for relay in via.iter().rev() {
            onion = self.seal_layer(ctx, &relay.location, &relay.key, 0, &onion)?;
        }
        let (destination, onion) = match path {
            Some(path) => (path, onion),
            None => self
                .wrap_for_default_route(ctx, 0, &onion)
                .ok_or(SendError::NoRoute)??,
        };
        // The peer signed this address while sending from elsewhere, and the address has not
        // proved it receives: what the claim does not cover waits for the handshake, whose
        // answer from there is the proof (`node/paths/claims.rs`). If no handshake can start,
        // the send goes on and the limit decides.
        if direct
            && given == Some(destination)
            && self
                .paths
                .claim_room(&to.key.node_id(), destination)
                .is_some_and(|room| room < onion.len() as u64)
            && self.hold_for_session(ctx, message, path).is_ok()
        {
            return Ok((destination, transmit_tag(&onion)));
        }
        if direct && path.is_some() && self.needs_session(ctx, to, destination, onion.len()) {
            self.hold_for_session(ctx, message, path)?;
            return Ok((destination, transmit_tag(&onion)));
        }
        if onion.len() > ctx.config.max_frame_len {
            return Err(SendError::TooLarge {
                len: onion.len(),
                max: ctx.config.max_frame_len,
            });
        }
        // The handshake goes first: a peer that restarted and still holds an old session with
        // us learns from it to stop using that session before it answers this message.
        if direct && !self.has_session(&to.key.node_id()) {
            if let Some(transport) = to.location.transport() {
                self.start_handshake(ctx, to, transport, path.unwrap_or(transport));
            }
        }
        // Not heard straight from the peer yet, but its last signed message came from
        // elsewhere: from behind a NAT (its handshake lost or late), or through a relay, which
        // drops what it cannot open. A copy goes there too, under the amplification limit.
        if direct && given == Some(destination) {
            let lifetime = ctx.config.observed_path_lifetime;
            if let Some(source) = self
                .paths
                .signed_source(&to.key.node_id(), ctx.now, lifetime)
                .filter(|source| *source != destination)
            {
                self.queue_to_observed(ctx, source, onion.clone());
            }
        }
        Ok(self.queue_datagrams(
            ctx,
            &first_hop.key.node_id(),
            given,
            destination,
            alloc::vec![onion],
        ))
    }

    /// Holds message `id` until the session with `to` is up, starting the handshake.
    pub(in crate::node) fn hold_for_session(
        &mut self,
        ctx: &mut Context,
        message: &Outgoing<'_>,
        path: Option<TransportAddr>,
    ) -> Result<(), SendError> {
        let Outgoing {
            id,
            from,
            to,
            json,
            reference,
            ..
        } = *message;
        if json.len() > ctx.config.max_message_len {
            return Err(SendError::TooLarge {
                len: json.len(),
                max: ctx.config.max_message_len,
            });
        }
        let peer = to.key.node_id();
        // The peer started a session with us and waits for our answer on it (a reply to its
        // query, say): waiting for its first frame could be forever, so use the session now.
        if self.sessions.confirm_answered(&peer) {
            let direct = Outgoing {
                via: &[],
                ..*message
            };
            return self.transmit_through(ctx, &direct, None, path).map(|_| ());
        }
        if let Some(transport) = to.location.transport() {
            self.start_handshake(ctx, to, transport, path.unwrap_or(transport));
        }
        if !self.sessions.handshake_pending(&peer) {
            // No handshake could start (the tables are full, or handshakes are off): nothing
            // would ever send this message.
            return Err(SendError::TooLarge {
                len: json.len(),
                max: ctx.config.max_datagram_size,
            });
        }
        let held = HeldForSession {
            id,
            from: from.into(),
            to: to.clone(),
            json: json.to_vec(),
            reference,
        };
        if !self
            .awaiting_session
            .hold(peer, held, ctx.config.max_waiting_messages)
        {
            return Err(SendError::Blocked(Value::Null));
        }
        ctx.stats.transport.held_for_session += 1;
        Ok(())
    }
}
