//! What a group machine asks its driver to do, and what it tells the application.

use serde_json::Value;

use super::bans::Ban;
use super::roster::{Member, Roster};
use super::wire::Refusal;
use crate::address::Address;
use crate::identity::{NodeId, PublicIdentity};

/// Something the application should know about the group.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GroupEvent {
    /// This member was admitted; the roster is the one the admission returned.
    Joined {
        /// The roster, verified.
        roster: Roster,
    },
    /// The admitting peer refused this member's join.
    JoinRefused {
        /// Why.
        reason: Refusal,
    },
    /// No answer to a join within `join_timeout`.
    JoinFailed,
    /// A newer roster took effect (pushed by the admitting peer, or made by it).
    RosterChanged {
        /// The new roster.
        roster: Roster,
    },
    /// A member appeared in the roster.
    MemberJoined {
        /// The member.
        member: Member,
    },
    /// A member left the roster (it left, or timed out: only the admitting peer tells them
    /// apart, with [`GroupEvent::MemberTimedOut`]).
    MemberLeft {
        /// The member.
        member: Member,
    },
    /// Admitting peer: a member was silent past `heartbeat_timeout` and was removed.
    MemberTimedOut {
        /// The member.
        member: Member,
    },
    /// A chat message from a member, authenticated and delivered once.
    Message {
        /// The sender, as the roster names it.
        from: Member,
        /// The message id (random, chosen by the sender).
        id: [u8; 16],
        /// Sent to this member only (`true`) or to every member.
        direct: bool,
        /// The payload.
        body: Value,
    },
    /// Member: the admitting peer was silent past `heartbeat_timeout`; this member is out of
    /// the group until it joins again.
    HostSilent,
    /// Member: the admitting peer closed the group.
    HostLeft,
    /// Member: the admitting peer says this member is no longer in the group.
    Removed,
    /// Admitting peer: a join was refused.
    JoinRejected {
        /// The joiner.
        peer: NodeId,
        /// The address it signed.
        address: Address,
        /// Why.
        reason: Refusal,
    },
    /// Admitting peer: a peer id and an address were banned; store
    /// [`Group::bans`](super::Group::bans) to keep them across a restart.
    Banned {
        /// The bans added.
        bans: [Ban; 2],
    },
}

/// What the group machine produces: drain with [`Group::poll_output`](super::Group::poll_output).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GroupOutput {
    /// Send `value` from the group's client to `to` with [`Node::send`](crate::Node::send).
    Send {
        /// The recipient.
        to: PublicIdentity,
        /// The group message.
        value: Value,
    },
    /// Tell the application.
    Event(GroupEvent),
}
