//! The transport's checks of a signed frame's sender: its proof (a signature, or the session
//! it came on), its freshness, and the message it makes for a local client.

use serde_json::Value;

use super::Transport;
use super::opening::SealedOrSigned;
use crate::address::Address;
use crate::crypto::proof::SenderProof;
use crate::event::TransportEvent;
use crate::event::{Event, Message, MessageId, Protection, Sender};
use crate::frame::{self, Frame};
use crate::identity::PublicKey;
use crate::node::context::Context;
use crate::time::UnixMillis;
use crate::transport::TransportAddr;

/// A signed frame `S(sender)[payload]` as it opened.
pub(in crate::node) struct SignedFrame<'a> {
    /// The strict JSON header of the `r` frame that held it: what signatures must name.
    pub(in crate::node) recipient_header: &'a [u8],
    pub(in crate::node) sender_header: &'a [u8],
    pub(in crate::node) proof: &'a [u8],
    pub(in crate::node) payload: &'a [u8],
    /// The peer whose session authenticated the layer, if it came on a session.
    pub(in crate::node) session_peer: Option<PublicKey>,
}

/// Who a signed frame is from, as its proof shows.
pub(in crate::node) struct ProvedSender {
    pub(in crate::node) key: PublicKey,
    pub(in crate::node) id: MessageId,
    pub(in crate::node) sent_at: Option<UnixMillis>,
    pub(in crate::node) protection: Protection,
    /// The reference of the message it answers, for a reply.
    pub(in crate::node) reference: Option<[u8; 32]>,
}

impl Transport {
    /// Checks the sender proof of `signed`: a signature over the frame (fresh, its nonce never
    /// seen), or the session it came on. Who sent it, or `None` (counted).
    pub(in crate::node) fn check_sender(
        &mut self,
        ctx: &mut Context,
        signed: &SignedFrame<'_>,
    ) -> Option<ProvedSender> {
        let Ok(proof) = SenderProof::from_bytes(signed.proof) else {
            ctx.stats.transport.dropped_malformed += 1;
            return None;
        };
        let reference = match proof {
            SenderProof::SignedReply { reference, .. }
            | SenderProof::SessionReply { reference, .. } => Some(reference),
            SenderProof::Signed(_) | SenderProof::Session { .. } => None,
        };
        let (key, id, sent_at, protection) = match proof {
            SenderProof::Signed(blob) | SenderProof::SignedReply { blob, .. } => {
                let verified = match reference {
                    None => blob.verify(
                        signed.recipient_header,
                        signed.sender_header,
                        signed.payload,
                    ),
                    Some(reference) => blob.verify_reply(
                        signed.recipient_header,
                        signed.sender_header,
                        signed.payload,
                        &reference,
                    ),
                };
                if verified.is_err() {
                    ctx.stats.transport.dropped_crypto += 1;
                    return None;
                }
                if !self.check_fresh(ctx, SealedOrSigned::Signed, blob.nonce, blob.timestamp) {
                    return None;
                }
                let protection = if signed.session_peer.is_some() {
                    Protection::Session
                } else {
                    Protection::Sealed
                };
                (
                    blob.key,
                    MessageId(blob.nonce),
                    Some(blob.timestamp),
                    protection,
                )
            }
            SenderProof::Session { nonce } | SenderProof::SessionReply { nonce, .. } => {
                match signed.session_peer {
                    // The session's counter window already refused replays of this frame.
                    Some(peer) => (peer, MessageId(nonce), None, Protection::Session),
                    None => {
                        ctx.stats.transport.dropped_unauthenticated += 1;
                        return None;
                    }
                }
            }
        };
        Some(ProvedSender {
            key,
            id,
            sent_at,
            protection,
            reference,
        })
    }

    /// The message `value` from `proved` (at `sender`, arrived from `from`) makes for the
    /// client `recipient` names; `None` if no such client is here
    /// ([`TransportEvent::UnknownClient`]).
    pub(in crate::node) fn addressed_message(
        &self,
        ctx: &mut Context,
        from: TransportAddr,
        recipient: &Address,
        sender: &Address,
        proved: ProvedSender,
        value: Value,
    ) -> Option<Message> {
        let ProvedSender {
            key,
            id,
            sent_at,
            protection,
            ..
        } = proved;
        let Some(callsign) = recipient
            .callsign()
            .filter(|callsign| self.clients.contains(*callsign))
        else {
            ctx.stats.queries.dropped_unknown_client += 1;
            let callsign = recipient
                .callsign()
                .map(|named| truncated(named, TransportEvent::MAX_UNKNOWN_CALLSIGN).into());
            ctx.push_event(Event::Transport(TransportEvent::UnknownClient {
                from: key.node_id(),
                callsign,
                message: id,
            }));
            return None;
        };
        // A frame on a session came straight from the peer (its proof is then `Session`);
        // any other may have come through a session peer that relays for the sender.
        let relayed_by = match protection {
            Protection::Session => None,
            Protection::Sealed | Protection::Local => self.relayed_by(from, &key),
        };
        Some(Message {
            to: callsign.into(),
            from: Sender {
                key,
                node_id: key.node_id(),
                address: sender.clone(),
            },
            id,
            value,
            sent_at,
            protection,
            relayed_by,
        })
    }

    /// An authenticated frame of `len` bytes from `key`, which signed `address` as its own,
    /// came from `from`: a claim on the signed address worth what this frame was (what we send
    /// the peer there is bounded by it until the address proves it receives), and on UDP, the
    /// source its signed messages come from.
    pub(in crate::node) fn note_signed_arrival(
        &mut self,
        ctx: &Context,
        key: &PublicKey,
        address: &Address,
        from: TransportAddr,
        len: usize,
    ) {
        if let Some(signed) = address.transport() {
            self.paths
                .on_claimed(key.node_id(), signed, from, len, ctx.now);
        }
        if from.protocol == crate::transport::Protocol::Udp {
            self.paths.note_signed_source(key.node_id(), from, ctx.now);
        }
    }
}

/// The JSON value a signed frame carries in its `j` payload; `None` (counted) if it is not
/// one.
pub(in crate::node) fn json_payload(ctx: &mut Context, payload: &[u8]) -> Option<Value> {
    match frame::decode(payload) {
        Ok(frame @ Frame::Json { .. }) => match frame.json_value() {
            Some(Ok(value)) => Some(value),
            _ => {
                ctx.stats.transport.dropped_malformed += 1;
                None
            }
        },
        _ => {
            ctx.stats.transport.dropped_malformed += 1;
            None
        }
    }
}

/// The longest prefix of `text` of at most `max` bytes that ends on a character boundary.
fn truncated(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or_default()
}
