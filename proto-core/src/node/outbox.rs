//! The outbox every part of the node writes to: transmits waiting to be polled and events
//! waiting for the application, each queue bounded, with the counters of what they refused.
//!
//! It is the one piece of shared output the node hands its sub-machines (with the time, the
//! settings and the identity): they queue what they produce here instead of calling the node.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use crate::config::Config;
use crate::event::Event;
use crate::io::Transmit;
use crate::node::Stats;
use crate::stream::encode_stream_frame;
use crate::transport::{Protocol, TransportAddr};

/// What the outbox counted; merged into the node's [`Stats`].
#[derive(Clone, Copy, Debug, Default)]
struct Counters {
    transmits: u64,
    dropped_too_large: u64,
    dropped_transmit_queue_full: u64,
    dropped_event_queue_full: u64,
}

/// Transmits and events on their way out.
///
/// Bounded by [`Config::max_queued_transmits`] and [`Config::max_queued_events`]; events
/// about queries are let past a full event queue (see [`query_event`](Self::query_event)).
pub(super) struct Outbox {
    /// A send was refused for a full queue: the node says [`TransportEvent::Writable`] once there is
    /// room.
    pub(super) send_blocked: bool,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    max_frame_len: usize,
    max_transmits: usize,
    max_events: usize,
    counters: Counters,
}

impl Outbox {
    pub(super) fn new(config: &Config) -> Self {
        Self {
            send_blocked: false,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            max_frame_len: config.max_frame_len,
            max_transmits: config.max_queued_transmits,
            max_events: config.max_queued_events,
            counters: Counters::default(),
        }
    }

    /// Queues bytes for `to`, framed for its transport, the datagram marked
    /// [`dont_fragment`](Transmit::dont_fragment) if asked (UDP only: a stream has no
    /// datagrams). False if the frame is too large or the queue is full (each counted).
    pub(super) fn transmit(
        &mut self,
        to: TransportAddr,
        frame: Vec<u8>,
        dont_fragment: bool,
    ) -> bool {
        if frame.len() > self.max_frame_len {
            self.counters.dropped_too_large += 1;
            return false;
        }
        if self.is_full() {
            self.counters.dropped_transmit_queue_full += 1;
            return false;
        }
        let payload = match to.protocol {
            Protocol::Udp => frame,
            Protocol::Tcp => encode_stream_frame(&frame),
        };
        self.counters.transmits += 1;
        self.transmits.push_back(Transmit {
            to,
            payload,
            dont_fragment: dont_fragment && to.protocol == Protocol::Udp,
        });
        true
    }

    /// Whether the transmit queue is full.
    pub(super) fn is_full(&self) -> bool {
        self.transmits.len() >= self.max_transmits
    }

    /// Whether the transmit queue has drained to half its bound (when a blocked sender hears
    /// it may write again).
    pub(super) fn is_half_empty(&self) -> bool {
        self.transmits.len() <= self.max_transmits / 2
    }

    /// The next transmit.
    pub(super) fn pop_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// Queues an event for the application; counted and dropped if the queue is full.
    pub(super) fn event(&mut self, event: Event) {
        if self.events.len() >= self.max_events {
            self.counters.dropped_event_queue_full += 1;
            return;
        }
        self.events.push_back(event);
    }

    /// Queues an event about a query even when the queue is full, so that every query is
    /// seen to end. Each query makes at most two (a soft timeout and its end), so this
    /// exceeds `max_queued_events` by at most twice `max_open_queries`.
    pub(super) fn query_event(&mut self, event: Event) {
        self.events.push_back(event);
    }

    /// The next event.
    pub(super) fn pop_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Adds the outbox's counters to the node's.
    pub(super) fn add_stats(&self, stats: &mut Stats) {
        let counters = &self.counters;
        stats.transport.transmits += counters.transmits;
        stats.transport.dropped_too_large += counters.dropped_too_large;
        stats.transport.dropped_transmit_queue_full += counters.dropped_transmit_queue_full;
        stats.transport.dropped_event_queue_full += counters.dropped_event_queue_full;
    }
}
