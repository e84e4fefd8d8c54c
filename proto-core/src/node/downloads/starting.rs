//! Starting a download as the node asks: the UDP sources only, content the storage holds
//! completed at once, and our own nodes asked for more than a block per request from the
//! first request on.

use alloc::vec::Vec;

use super::{Downloads, Started};
use crate::content::ContentId;
use crate::error::FetchError;
use crate::event::{Event, FetchEvent};
use crate::node::context::Context;
use crate::transport::TransportAddr;

impl Downloads {
    /// Starts downloading `id` from `sources`. True if the download is to be driven now (it
    /// started, or took the sources into one already running); false if the storage held the
    /// content, which completed at once. `our_max_request` says how much one of our own nodes
    /// answers per request, for sources that are ours.
    ///
    /// # Errors
    /// As [`Downloads::start`].
    pub(in crate::node) fn start_fetch(
        &mut self,
        ctx: &mut Context,
        id: ContentId,
        sources: Vec<TransportAddr>,
        our_max_request: &dyn Fn(TransportAddr) -> Option<u64>,
    ) -> Result<bool, FetchError> {
        let sources: Vec<TransportAddr> = sources
            .into_iter()
            .filter(|source| source.protocol == crate::transport::Protocol::Udp)
            .collect();
        match self.start(ctx.now, id, sources)? {
            Started::Joined => Ok(true),
            Started::Held { len } => {
                ctx.push_event(Event::Fetch(FetchEvent::Progress {
                    id,
                    have: len,
                    total: len,
                }));
                ctx.push_event(Event::Fetch(FetchEvent::Completed { id, len }));
                Ok(false)
            }
            Started::New => {
                let ours: Vec<(TransportAddr, u32)> = self
                    .sources_of(&id)
                    .into_iter()
                    .filter_map(|info| {
                        let theirs = our_max_request(info.addr)?;
                        Some((info.addr, self.blocks_per_request(theirs)?))
                    })
                    .collect();
                for (addr, blocks) in ours {
                    self.set_blocks_in(&id, addr, blocks);
                }
                Ok(true)
            }
        }
    }
}
