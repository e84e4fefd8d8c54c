//! What answers one of our downloads: CJP2P messages, taken from the stream the application
//! would otherwise see, and content bytes from our own nodes' sessions, fed to the download
//! they answer.

use alloc::vec::Vec;
use core::str::FromStr;

use super::Downloads;
use crate::cjp2p::Cjp2pMessage;
use crate::content::ContentId;
use crate::node::FetchStats;
use crate::node::context::Context;
use crate::time::Instant;
use crate::transport::TransportAddr;

/// What became of a CJP2P message offered to the downloads.
pub(in crate::node) enum Fed {
    /// No active download wants it: it is the application's (an `Event::Cjp2p`).
    NotOurs(Cjp2pMessage),
    /// It answered a download but did not return our cookie: dropped, counted.
    Unverified,
    /// Download `id` took it; `hinted` are the other sources it named, which may be our own
    /// nodes.
    Taken {
        /// The download it fed.
        id: ContentId,
        /// Sources a `MaybeTheyHaveSome` named (our own addresses left out).
        hinted: Vec<TransportAddr>,
    },
}

impl Downloads {
    /// Hands a CJP2P message from `from` to the download it answers.
    ///
    /// Only verified datagrams (they returned our cookie, so their source is not forged) feed a
    /// download: a forged `Content` could otherwise make a source look corrupt or slow. The
    /// content is verified as a whole anyway. Consumed messages are not surfaced as events: a
    /// large download is thousands of them, and the application sees progress instead.
    /// `is_own` says which addresses are this node's; `stats` counts what is dropped.
    pub(in crate::node) fn feed_cjp2p(
        &mut self,
        now: Instant,
        stats: &mut FetchStats,
        from: TransportAddr,
        verified: bool,
        message: Cjp2pMessage,
        is_own: &dyn Fn(core::net::SocketAddr) -> bool,
    ) -> Fed {
        let (Cjp2pMessage::Content { id: id_text, .. }
        | Cjp2pMessage::MaybeTheyHaveSome { id: id_text, .. }) = &message
        else {
            return Fed::NotOurs(message);
        };
        let Ok(id) = ContentId::from_str(id_text) else {
            return Fed::NotOurs(message);
        };
        if !self.is_active(&id) {
            return Fed::NotOurs(message);
        }
        if !verified {
            stats.download_unverified += 1;
            return Fed::Unverified;
        }
        let mut hinted = Vec::new();
        match message {
            Cjp2pMessage::Content {
                offset, data, eof, ..
            } => {
                // Without storage the bytes cannot be kept: the download's timer asks again
                // once there is some.
                self.handle_block(now, &id, from, offset, &data, eof);
            }
            Cjp2pMessage::MaybeTheyHaveSome { peers, .. } => {
                // Only candidates: the public node sends this beside Content, and instead of it
                // when it ignores a request at random, so `from` stays a source. It names
                // whoever it served, us among them: our own addresses are left out.
                hinted = peers
                    .into_iter()
                    .filter(|peer| !is_own(*peer))
                    .map(TransportAddr::udp)
                    .collect();
                self.handle_no_content(&id, from, &hinted);
            }
            _ => {}
        }
        Fed::Taken { id, hinted }
    }

    /// Content bytes that came in a session from `from`: handed to the download of `id` if
    /// `from` is `known` by the session's key and the download asked it. True if it took them
    /// (counted); the download is then to be driven.
    #[allow(clippy::too_many_arguments)]
    pub(in crate::node) fn feed_session_data(
        &mut self,
        ctx: &mut Context,
        from: TransportAddr,
        known: bool,
        id: ContentId,
        offset: u64,
        bytes: &[u8],
        eof: u64,
    ) -> bool {
        if !(known && self.handle_block(ctx.now, &id, from, offset, bytes, eof)) {
            ctx.stats.fetch.session_content_dropped += 1;
            return false;
        }
        ctx.stats.fetch.session_content_bytes += bytes.len() as u64;
        true
    }
}
