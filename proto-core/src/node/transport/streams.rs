//! TCP streams: the framing state of each, bounded by `Config::max_streams`.

use alloc::vec::Vec;

use super::Transport;
use crate::event::{Event, TransportEvent};
use crate::node::context::Context;
use crate::stream::StreamDecoder;
use crate::transport::TransportAddr;

impl Transport {
    /// Bytes that arrived on the stream with `from`: the complete frames they finish, and
    /// whether the stream broke its framing (it is then forgotten; the caller reports it).
    /// `None`, with [`TransportEvent::StreamFailed`] queued, when a new stream would pass
    /// `max_streams`.
    pub(in crate::node) fn read_stream(
        &mut self,
        ctx: &mut Context,
        from: TransportAddr,
        data: &[u8],
    ) -> Option<(Vec<Vec<u8>>, bool)> {
        if !self.streams.contains_key(&from) && self.streams.len() >= ctx.config.max_streams {
            ctx.stats.transport.dropped_stream_limit += 1;
            ctx.push_event(Event::Transport(TransportEvent::StreamFailed { from }));
            return None;
        }
        self.paths.on_received(from, data.len(), ctx.now);
        let max_frame_len = ctx.config.max_frame_len;
        let decoder = self
            .streams
            .entry(from)
            .or_insert_with(|| StreamDecoder::new(max_frame_len));
        let mut frames = Vec::new();
        let failed = decoder.feed(data, |frame| frames.push(frame)).is_err();
        let idle = decoder.buffered_len() == 0;
        if failed || idle {
            // A decoder holding nothing costs a map entry for nothing; one that failed is done.
            self.streams.remove(&from);
        }
        Some((frames, failed))
    }
}
