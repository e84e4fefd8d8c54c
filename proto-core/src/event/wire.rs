//! The serialised form of [`Event`]: one flat enum tagged `"event"`, as traces and scenario
//! files have always held it. The grouping of `Event` is the API's; the wire form stays flat so
//! that recorded scenarios replay unedited.

use alloc::string::String;

use serde::{Deserialize, Serialize};

use super::{Event, FetchEvent, Message, MessageId, QueryEvent, RoutingEvent, TransportEvent};
use crate::cjp2p::Cjp2pMessage;
use crate::content::ContentId;
use crate::identity::NodeId;
use crate::transport::TransportAddr;

/// Every event under its own tag, each variant named as in the file format.
#[derive(Clone, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[allow(clippy::large_enum_variant)]
pub(super) enum EventWire {
    Message(Message),
    SessionEstablished {
        peer: NodeId,
    },
    SessionClosed {
        peer: NodeId,
    },
    HandshakeFailed {
        peer: NodeId,
    },
    Writable,
    PeerWritable {
        peer: TransportAddr,
    },
    StreamFailed {
        from: TransportAddr,
    },
    Reply {
        query: MessageId,
        message: Message,
        late: bool,
    },
    QuerySoftTimeout {
        query: MessageId,
    },
    QueryTimedOut {
        query: MessageId,
    },
    QueryCancelled {
        query: MessageId,
    },
    QueryUnreachable {
        query: MessageId,
    },
    Unreachable {
        peer: NodeId,
        message: Option<MessageId>,
    },
    UnknownClient {
        from: NodeId,
        callsign: Option<String>,
        message: MessageId,
    },
    PeerFound {
        peer: NodeId,
        record_seq: u64,
    },
    LookupFailed {
        peer: NodeId,
    },
    Cjp2p {
        from: TransportAddr,
        verified: bool,
        message: Cjp2pMessage,
    },
    DownloadProgress {
        id: ContentId,
        have: u64,
        total: u64,
    },
    DownloadCompleted {
        id: ContentId,
        len: u64,
    },
    DownloadFailed {
        id: ContentId,
        why: String,
    },
    AddressObserved {
        address: core::net::SocketAddr,
        by: NodeId,
        agreeing: usize,
        changed_from: Option<core::net::SocketAddr>,
    },
    DirectPath {
        peer: NodeId,
        address: TransportAddr,
    },
    PunchFailed {
        peer: NodeId,
    },
}

impl From<Event> for EventWire {
    fn from(event: Event) -> Self {
        match event {
            Event::Message(message) => Self::Message(message),
            Event::Transport(TransportEvent::SessionEstablished { peer }) => {
                Self::SessionEstablished { peer }
            }
            Event::Transport(TransportEvent::SessionClosed { peer }) => {
                Self::SessionClosed { peer }
            }
            Event::Transport(TransportEvent::HandshakeFailed { peer }) => {
                Self::HandshakeFailed { peer }
            }
            Event::Transport(TransportEvent::Writable) => Self::Writable,
            Event::Transport(TransportEvent::PeerWritable { peer }) => Self::PeerWritable { peer },
            Event::Transport(TransportEvent::StreamFailed { from }) => Self::StreamFailed { from },
            Event::Query(QueryEvent::Reply {
                query,
                message,
                late,
            }) => Self::Reply {
                query,
                message,
                late,
            },
            Event::Query(QueryEvent::SoftTimeout { query }) => Self::QuerySoftTimeout { query },
            Event::Query(QueryEvent::TimedOut { query }) => Self::QueryTimedOut { query },
            Event::Query(QueryEvent::Cancelled { query }) => Self::QueryCancelled { query },
            Event::Query(QueryEvent::Unreachable { query }) => Self::QueryUnreachable { query },
            Event::Routing(RoutingEvent::Unreachable { peer, message }) => {
                Self::Unreachable { peer, message }
            }
            Event::Transport(TransportEvent::UnknownClient {
                from,
                callsign,
                message,
            }) => Self::UnknownClient {
                from,
                callsign,
                message,
            },
            Event::Routing(RoutingEvent::PeerFound { peer, record_seq }) => {
                Self::PeerFound { peer, record_seq }
            }
            Event::Routing(RoutingEvent::LookupFailed { peer }) => Self::LookupFailed { peer },
            Event::Cjp2p {
                from,
                verified,
                message,
            } => Self::Cjp2p {
                from,
                verified,
                message,
            },
            Event::Fetch(FetchEvent::Progress { id, have, total }) => {
                Self::DownloadProgress { id, have, total }
            }
            Event::Fetch(FetchEvent::Completed { id, len }) => Self::DownloadCompleted { id, len },
            Event::Fetch(FetchEvent::Failed { id, why }) => Self::DownloadFailed { id, why },
            Event::Transport(TransportEvent::AddressObserved {
                address,
                by,
                agreeing,
                changed_from,
            }) => Self::AddressObserved {
                address,
                by,
                agreeing,
                changed_from,
            },
            Event::Transport(TransportEvent::DirectPath { peer, address }) => {
                Self::DirectPath { peer, address }
            }
            Event::Transport(TransportEvent::PunchFailed { peer }) => Self::PunchFailed { peer },
        }
    }
}

impl From<EventWire> for Event {
    fn from(wire: EventWire) -> Self {
        match wire {
            EventWire::Message(message) => Self::Message(message),
            EventWire::SessionEstablished { peer } => {
                Self::Transport(TransportEvent::SessionEstablished { peer })
            }
            EventWire::SessionClosed { peer } => {
                Self::Transport(TransportEvent::SessionClosed { peer })
            }
            EventWire::HandshakeFailed { peer } => {
                Self::Transport(TransportEvent::HandshakeFailed { peer })
            }
            EventWire::Writable => Self::Transport(TransportEvent::Writable),
            EventWire::PeerWritable { peer } => {
                Self::Transport(TransportEvent::PeerWritable { peer })
            }
            EventWire::StreamFailed { from } => {
                Self::Transport(TransportEvent::StreamFailed { from })
            }
            EventWire::Reply {
                query,
                message,
                late,
            } => Self::Query(QueryEvent::Reply {
                query,
                message,
                late,
            }),
            EventWire::QuerySoftTimeout { query } => Self::Query(QueryEvent::SoftTimeout { query }),
            EventWire::QueryTimedOut { query } => Self::Query(QueryEvent::TimedOut { query }),
            EventWire::QueryCancelled { query } => Self::Query(QueryEvent::Cancelled { query }),
            EventWire::QueryUnreachable { query } => Self::Query(QueryEvent::Unreachable { query }),
            EventWire::Unreachable { peer, message } => {
                Self::Routing(RoutingEvent::Unreachable { peer, message })
            }
            EventWire::UnknownClient {
                from,
                callsign,
                message,
            } => Self::Transport(TransportEvent::UnknownClient {
                from,
                callsign,
                message,
            }),
            EventWire::PeerFound { peer, record_seq } => {
                Self::Routing(RoutingEvent::PeerFound { peer, record_seq })
            }
            EventWire::LookupFailed { peer } => Self::Routing(RoutingEvent::LookupFailed { peer }),
            EventWire::Cjp2p {
                from,
                verified,
                message,
            } => Self::Cjp2p {
                from,
                verified,
                message,
            },
            EventWire::DownloadProgress { id, have, total } => {
                Self::Fetch(FetchEvent::Progress { id, have, total })
            }
            EventWire::DownloadCompleted { id, len } => {
                Self::Fetch(FetchEvent::Completed { id, len })
            }
            EventWire::DownloadFailed { id, why } => Self::Fetch(FetchEvent::Failed { id, why }),
            EventWire::AddressObserved {
                address,
                by,
                agreeing,
                changed_from,
            } => Self::Transport(TransportEvent::AddressObserved {
                address,
                by,
                agreeing,
                changed_from,
            }),
            EventWire::DirectPath { peer, address } => {
                Self::Transport(TransportEvent::DirectPath { peer, address })
            }
            EventWire::PunchFailed { peer } => {
                Self::Transport(TransportEvent::PunchFailed { peer })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use alloc::string::ToString;
    use alloc::vec;

    use super::*;

    /// The grouping is the API's only: each group's events keep the flat tag they were recorded
    /// with, and read back as the same grouped event.
    #[test]
    fn grouped_events_keep_their_flat_tags() {
        let query = MessageId([7; 16]);
        let peer = NodeId::from_bytes([9; 32]);
        let id = ContentId([3; 32]);
        let cases = vec![
            (Event::Transport(TransportEvent::Writable), "writable"),
            (
                Event::Transport(TransportEvent::HandshakeFailed { peer }),
                "handshake_failed",
            ),
            (
                Event::Query(QueryEvent::SoftTimeout { query }),
                "query_soft_timeout",
            ),
            (
                Event::Query(QueryEvent::Unreachable { query }),
                "query_unreachable",
            ),
            (
                Event::Routing(RoutingEvent::Unreachable {
                    peer,
                    message: None,
                }),
                "unreachable",
            ),
            (
                Event::Fetch(FetchEvent::Progress {
                    id,
                    have: 1,
                    total: 2,
                }),
                "download_progress",
            ),
            (
                Event::Fetch(FetchEvent::Failed {
                    id,
                    why: "no sources".to_string(),
                }),
                "download_failed",
            ),
        ];
        for (event, tag) in cases {
            let json = serde_json::to_value(&event).unwrap();
            assert_eq!(json["event"], tag, "{json}");
            let back: Event = serde_json::from_value(json).unwrap();
            assert_eq!(back, event);
        }
    }

    #[test]
    fn an_unknown_tag_is_an_error_that_names_it() {
        let err = serde_json::from_str::<Event>(r#"{"event":"no_such_event"}"#).unwrap_err();
        assert!(err.to_string().contains("no_such_event"), "{err}");
    }
}
