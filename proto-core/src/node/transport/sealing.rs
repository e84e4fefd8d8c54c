//! The transport's side of sending: which client may send, signed and sealed frames, frames on a
//! session (whole or in fragments), onion layers for the default route, and fresh session
//! indexes.

use super::Transport;
use crate::address::Address;
use crate::content::BlockRequest;
use crate::crypto::body;
use crate::crypto::proof::SenderProof;
use crate::crypto::sealed;
use crate::crypto::session::SESSION_OVERHEAD;
use crate::crypto::signature::SignatureBlob;
use crate::error::SendError;
use crate::event::MessageId;
use crate::frame::{self, FrameError};
use crate::identity::{PublicIdentity, PublicKey};
use crate::json::JsonError;
use crate::node::context::Context;
use crate::node::downloads::session_request;
use crate::node::lookups::{TAG_LEN, transmit_tag};
use crate::transport::TransportAddr;
use alloc::vec::Vec;
use serde_json::Value;

impl Transport {
    /// Sends `request` in the confirmed session with `key`. False when the frame could not be
    /// sealed: the request then goes as CJP2P.
    pub(in crate::node) fn send_in_session(
        &mut self,
        ctx: &mut Context,
        key: &PublicKey,
        request: &BlockRequest,
    ) -> bool {
        let location = Address::from_transport(request.to);
        let Some(frame) =
            self.seal_session_plaintext(ctx, key, &location, &session_request(request))
        else {
            return false;
        };
        if self.queue_transmit(ctx, request.to, frame) {
            ctx.stats.fetch.session_content_requests += 1;
        } else {
            // A full queue: the download's timer asks again.
            ctx.stats.fetch.download_requests_dropped += 1;
        }
        true
    }

    /// Seals `plaintext` for the session with `peer` and queues it to `to` (in datagrams
    /// that fit the path). False if it could not be sealed or the queue refused a datagram.
    pub(in crate::node) fn send_session_plaintext(
        &mut self,
        ctx: &mut Context,
        peer: &PublicKey,
        to: TransportAddr,
        plaintext: &[u8],
    ) -> bool {
        let location = Address::from_transport(to);
        let Some(frames) = self.seal_session_datagrams(ctx, peer, &location, plaintext, to, false)
        else {
            return false;
        };
        let mut queued = true;
        for frame in frames {
            queued &= self.queue_transmit(ctx, to, frame);
        }
        queued
    }

    /// The JSON bytes of `value`, if `from` is a local client and the value is strict JSON.
    pub(in crate::node) fn check_sendable(
        &self,
        from: &str,
        value: &Value,
    ) -> Result<Vec<u8>, SendError> {
        if !self.clients.contains(from) {
            return Err(SendError::UnknownClient(from.into()));
        }
        frame::encode_json(value).map_err(|err| match err {
            FrameError::Json(err) => SendError::InvalidValue(err),
            _ => SendError::InvalidValue(JsonError::Syntax),
        })
    }

    /// Queues the datagrams of one message for `destination` (under the amplification limit if
    /// it is not the `given` address but one the peer was only observed at). Returns where they
    /// went and the first one's tag, by which a failed transmit is matched to the message.
    pub(in crate::node) fn queue_datagrams(
        &mut self,
        ctx: &mut Context,
        peer: &crate::identity::NodeId,
        given: Option<TransportAddr>,
        destination: TransportAddr,
        frames: Vec<Vec<u8>>,
    ) -> (TransportAddr, [u8; TAG_LEN]) {
        self.throttling.take(destination, ctx.now);
        let tag = frames
            .first()
            .map_or([0; TAG_LEN], |frame| transmit_tag(frame));
        let observed = given.is_some_and(|given| given != destination);
        for frame in frames {
            self.queue_on_path(ctx, peer, destination, frame, observed);
        }
        (destination, tag)
    }

    /// Our address for client `from`, on the transport type the recipient uses if we have one;
    /// a specific address before a wildcard one (which names no host: the recipient answers
    /// where our frames come from instead).
    pub(in crate::node) fn sender_address(
        &self,
        ctx: &Context,
        from: &str,
        recipient: &Address,
    ) -> Address {
        let specific = |address: &&Address| {
            address
                .transport()
                .is_none_or(|transport| !transport.is_unspecified())
        };
        let same_kind = |address: &&Address| address.kind() == recipient.kind();
        let chosen = ctx
            .local_addresses
            .iter()
            .find(|address| same_kind(address) && specific(address))
            .or_else(|| ctx.local_addresses.iter().find(same_kind));
        chosen.or_else(|| ctx.local_addresses.first()).map_or_else(
            || Address::local(from),
            |address| address.with_callsign(from),
        )
    }

    /// `S(sender)[J]` signed for `recipient` with a fresh timestamp and the message nonce.
    pub(in crate::node) fn signed_frame(
        &self,
        ctx: &Context,
        recipient: &Address,
        sender: &Address,
        id: MessageId,
        json: &[u8],
        reference: Option<[u8; 32]>,
    ) -> Result<Vec<u8>, SendError> {
        let (recipient, sender_json) = (recipient.to_strict_json(), sender.to_strict_json());
        let (recipient, sender_json) = (recipient.as_bytes(), sender_json.as_bytes());
        let proof = match reference {
            None => SignatureBlob::sign(
                &ctx.identity,
                recipient,
                sender_json,
                ctx.wall_now(),
                id.0,
                json,
            )
            .map(SenderProof::Signed),
            Some(reference) => SignatureBlob::sign_reply(
                &ctx.identity,
                recipient,
                sender_json,
                ctx.wall_now(),
                id.0,
                json,
                &reference,
            )
            .map(|blob| SenderProof::SignedReply { blob, reference }),
        }
        .map_err(SendError::Crypto)?;
        frame::encode_signed(sender, &proof.to_bytes(), json).map_err(|_| SendError::TooLarge {
            len: json.len(),
            max: ctx.config.max_frame_len,
        })
    }

    /// `R(recipient)[plaintext]` sealed to `key` with HPKE.
    pub(in crate::node) fn seal_layer(
        &mut self,
        ctx: &mut Context,
        recipient: &Address,
        key: &PublicKey,
        hops: u8,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, SendError> {
        let mut frame = frame::sealed_prefix(recipient);
        let timestamp = ctx.wall_now();
        let aad_len = body::write_sealed_aad_part(&mut frame, hops, timestamp);
        let (enc, ciphertext) = sealed::seal(
            &mut ctx.rng,
            key,
            frame.get(..aad_len).unwrap_or_default(),
            plaintext,
        )
        .map_err(SendError::Crypto)?;
        frame.extend_from_slice(&enc);
        frame.extend_from_slice(&ciphertext);
        Ok(frame)
    }

    /// `R(to)[S(sender)[J]]` on the confirmed session with `to`, if there is one, for the
    /// message `id` (answering `reference`, for a reply), as the datagrams to send to `path` (fragments if it does not fit in one; `observed` if `path`
    /// is an address the peer was only seen at). The `s` frame carries only the message nonce:
    /// the session authenticates the sender.
    pub(in crate::node) fn seal_in_session(
        &mut self,
        ctx: &mut Context,
        to: &PublicIdentity,
        sender: &Address,
        json: &[u8],
        (id, reference): (MessageId, Option<[u8; 32]>),
        (path, observed): (TransportAddr, bool),
    ) -> Option<Vec<Vec<u8>>> {
        let proof = match reference {
            None => SenderProof::Session { nonce: id.0 },
            Some(reference) => SenderProof::SessionReply {
                nonce: id.0,
                reference,
            },
        };
        if !self.has_session(&to.key.node_id()) {
            return None;
        }
        let inner = frame::encode_signed(sender, &proof.to_bytes(), json).ok()?;
        self.seal_session_datagrams(ctx, &to.key, &to.location, &inner, path, observed)
    }

    /// `R(recipient)[plaintext]` on the confirmed session with `key`, if there is one.
    pub(in crate::node) fn seal_session_plaintext(
        &mut self,
        ctx: &mut Context,
        key: &PublicKey,
        recipient: &Address,
        plaintext: &[u8],
    ) -> Option<Vec<u8>> {
        self.seal_session_after(ctx, key, &frame::sealed_prefix(recipient), plaintext)
    }

    /// As [`seal_session_plaintext`](Self::seal_session_plaintext), with the frame's
    /// `r || header || NUL` already built (a fragmented send builds it once for all pieces).
    pub(in crate::node) fn seal_session_after(
        &mut self,
        ctx: &mut Context,
        key: &PublicKey,
        prefix: &[u8],
        plaintext: &[u8],
    ) -> Option<Vec<u8>> {
        let now = ctx.now;
        let (_, entry) = self.sessions.sending_session(&key.node_id())?;
        if entry.peer != *key {
            return None;
        }
        let epoch = entry.session.send_epoch();
        let counter = entry.session.next_send_counter(now, plaintext.len()).ok()?;
        if entry.session.send_epoch() != epoch {
            ctx.stats.transport.session_rekeys += 1;
        }
        let mut frame = Vec::with_capacity(
            prefix.len() + body::SESSION_HEADER_LEN + plaintext.len() + SESSION_OVERHEAD,
        );
        frame.extend_from_slice(prefix);
        body::write_session_header(&mut frame, 0, entry.remote_index, counter);
        let aad = frame.clone();
        entry
            .session
            .seal(counter, &aad, plaintext, &mut frame)
            .ok()?;
        entry.last_used = now;
        entry.last_sent = now;
        if !crate::path_message::is_path_message(plaintext) {
            entry.last_activity = now;
        }
        Some(frame)
    }

    /// Wraps `frame` in a layer sealed to the default route, one hop further than `hops`.
    /// `None` if there is no default route; `Some(Err)` if it cannot be reached or sealed to.
    pub(in crate::node) fn wrap_for_default_route(
        &mut self,
        ctx: &mut Context,
        hops: u8,
        frame: &[u8],
    ) -> Option<Result<(TransportAddr, Vec<u8>), SendError>> {
        let route = self.default_route.clone()?;
        let Some(transport) = route.location.transport() else {
            return Some(Err(SendError::NoRoute));
        };
        let hops = hops.saturating_add(1);
        Some(
            self.seal_layer(ctx, &route.location, &route.key, hops, frame)
                .map(|wrapped| (transport, wrapped)),
        )
    }

    /// A random session index not in use (zero is never used, so it can mean "none" in logs).
    pub(in crate::node) fn fresh_index(&mut self, ctx: &mut Context) -> Option<u32> {
        (0..16)
            .map(|_| ctx.rng.next_u32())
            .find(|&index| index != 0 && self.sessions.index_free(index))
    }
}
