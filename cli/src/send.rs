//! `ejtp send`: one query, then wait for its reply (or one plain message, with `--no-wait`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use ejtp_proto::{Address, Event, Message, MessageId, Protocol, PublicIdentity, QueryOptions};
use ejtp_proto::{QueryEvent, RoutingEvent, TransportEvent};
use ejtp_std::{Node, NodeOptions};

use crate::ack::ack_for;
use crate::args::SendArgs;
use crate::console;
use crate::endpoint::address_of;
use crate::error::{CliError, node_reason};
use crate::identity_file;

/// Sends the value from a node on an ephemeral port as a query (through the relays of
/// `--via`, if any, as an onion), then waits for its reply (whose signer the node checks is
/// the recipient's key) until `--timeout`; `--count` times. With `--no-wait`, sends a plain
/// message and waits for nothing. Without `--to`, the recipient is found by its key through
/// the `--peer` nodes first ([`find_recipient`]).
pub(crate) fn send(args: &SendArgs) -> Result<(), CliError> {
    let file = identity_file::load(&args.identity)?;
    let callsign = identity_file::callsign(&file).to_string();
    let via: Vec<PublicIdentity> = args.via.iter().map(|peer| peer.identity("relay")).collect();
    let first_hop = args
        .via
        .first()
        .map(|relay| relay.endpoint)
        .or(args.to)
        .or_else(|| args.peers.first().map(|peer| peer.endpoint))
        .ok_or_else(|| CliError::failure("give --to ADDR, or --peer KEY@ADDR to find it by key"))?;

    // Bind where the first hop can answer: same family, loopback for loopback, otherwise the
    // local address the system routes through. TCP too when the recipient or a hop is on TCP,
    // so that answers to our TCP address have a listener.
    let local = SocketAddr::new(local_ip_towards(first_hop.addr), 0);
    let mut options = NodeOptions::new(file.identity).udp(local).client(&callsign);
    let uses_tcp = args
        .to
        .into_iter()
        .chain(args.via.iter().map(|relay| relay.endpoint))
        .any(|endpoint| endpoint.protocol == Protocol::Tcp);
    if uses_tcp {
        options = options.tcp(local);
    }
    if let Some(first) = args.peers.first() {
        // The node we stay reachable through while we wait: answers may come through it.
        options = options.default_route(first.identity("default route"));
    }
    let node = Node::bind(options).map_err(|err| {
        CliError::failure(format!(
            "cannot open a socket on {local}: {}",
            node_reason(&err)
        ))
    })?;
    let outcome = send_all(&node, args, &callsign, &via);
    // Stop the node either way; its own error matters only if everything else worked.
    let stopped = node
        .shutdown()
        .map_err(|err| CliError::failure(format!("could not stop cleanly: {}", node_reason(&err))));
    outcome.and(stopped)
}

/// Finds the recipient if need be, then sends `--count` queries (or one plain message).
fn send_all(
    node: &Node,
    args: &SendArgs,
    callsign: &str,
    via: &[PublicIdentity],
) -> Result<(), CliError> {
    let to = match args.to {
        Some(to) => PublicIdentity {
            name: args.callsign.clone(),
            location: address_of(to, Some(&args.callsign)),
            key: args.key,
        },
        None => find_recipient(node, args)?,
    };
    let handle = node.handle();
    for round in 0..args.count {
        if round > 0 {
            std::thread::sleep(Duration::from_millis(args.interval_ms));
        }
        let started = Instant::now();
        if args.no_wait {
            let id = handle
                .send_via(callsign, &to, via, args.value.clone())
                .map_err(|err| CliError::failure(format!("cannot send: {}", node_reason(&err))))?;
            tracing::info!("sent message {id} to {}", to.location);
            console::line(format_args!("sent {id}"))?;
            continue;
        }
        let options = QueryOptions {
            hard_timeout: Duration::from_secs(args.timeout),
            ..QueryOptions::default()
        };
        let id = handle
            .start_query_via(callsign, &to, via, args.value.clone(), options)
            .map_err(|err| CliError::failure(format!("cannot send: {}", node_reason(&err))))?;
        tracing::info!("sent message {id} to {}", to.location);
        wait_for_reply(node, args, id, started)?;
    }
    Ok(())
}

/// How long the first `--peer` gets to answer our handshake and say where it sees us, before
/// the lookup goes ahead anyway: knowing it lets the recipient answer through that peer.
const FIRST_PEER_WAIT: Duration = Duration::from_secs(3);

/// Finds `--key` through the `--peer` nodes: waits (briefly) for the first of them to say
/// where it sees this node, then looks the recipient up. The identity returned names no
/// address: the routing table, filled by the lookup, chooses the path (directly, or through
/// the relay the recipient's record lists).
fn find_recipient(node: &Node, args: &SendArgs) -> Result<PublicIdentity, CliError> {
    let handle = node.handle();
    let closed = |err: ejtp_std::Error| {
        CliError::failure(format!("the node stopped: {}", node_reason(&err)))
    };
    for peer in &args.peers {
        handle
            .add_route(&peer.key, &address_of(peer.endpoint, None), None)
            .map_err(closed)?;
    }
    let first = args.peers.first().map(|peer| peer.key.node_id());
    let deadline = Instant::now() + FIRST_PEER_WAIT.min(Duration::from_secs(args.timeout));
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match node.events().recv_timeout(left) {
            Some(Event::Transport(TransportEvent::AddressObserved { address, by, .. }))
                if Some(by) == first =>
            {
                tracing::info!("learned address: {by} sees this node at {address}");
                break;
            }
            Some(other) => tracing::debug!("while starting: {other:?}"),
            None => {}
        }
    }
    let peer = args.key.node_id();
    if !handle.lookup(&peer).map_err(closed)? {
        return Err(CliError::failure(
            "cannot look the recipient up: no --peer to ask",
        ));
    }
    let deadline = Instant::now() + Duration::from_secs(args.timeout);
    let not_found = || {
        CliError::failure(format!(
            "could not find {peer} through the --peer nodes: none of them holds its address \
             record (is it running, with --peer at one of them?)"
        ))
    };
    loop {
        let left = deadline
            .checked_duration_since(Instant::now())
            .ok_or_else(not_found)?;
        match node.events().recv_timeout(left) {
            Some(Event::Routing(RoutingEvent::PeerFound { peer: found, .. })) if found == peer => {
                tracing::info!("found {peer} through the --peer nodes");
                break;
            }
            Some(Event::Routing(RoutingEvent::LookupFailed { peer: failed })) if failed == peer => {
                return Err(not_found());
            }
            Some(other) => tracing::debug!("while looking up: {other:?}"),
            None => {}
        }
    }
    Ok(PublicIdentity {
        name: args.callsign.clone(),
        location: Address::local(&args.callsign),
        key: args.key,
    })
}

/// How much longer than the query's hard timeout to wait for the event that ends it: the node
/// ends every query by its deadline, so this is only a safety net.
const QUERY_GRACE: Duration = Duration::from_secs(5);

/// Waits until query `id` ends: its reply (from the recipient's key, bound to the query by its
/// hash), or its hard timeout.
fn wait_for_reply(
    node: &Node,
    args: &SendArgs,
    id: MessageId,
    started: Instant,
) -> Result<(), CliError> {
    let timed_out = || {
        CliError::failure(format!(
            "no acknowledgement within {} s from {} (no node running there, or a wrong \
             --callsign or --key looks like this: a node drops what it cannot open or deliver \
             without answering)",
            args.timeout,
            recipient(args)
        ))
    };
    let deadline = started + Duration::from_secs(args.timeout) + QUERY_GRACE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(timed_out());
        }
        match node.events().recv_timeout(left) {
            Some(Event::Query(QueryEvent::Reply {
                query,
                message,
                late,
            })) if query == id => {
                tracing::debug!("reply {} (late: {late})", message.id);
                return report_reply(&message, id, started);
            }
            Some(
                Event::Query(QueryEvent::TimedOut { query })
                | Event::Query(QueryEvent::Cancelled { query }),
            ) if query == id => {
                return Err(timed_out());
            }
            // The node gave up on the first hop at once (a refused connection, say): so do we.
            Some(
                Event::Query(QueryEvent::Unreachable { query })
                | Event::Routing(RoutingEvent::Unreachable {
                    message: Some(query),
                    ..
                }),
            ) if query == id => return Err(unreachable(args)),
            Some(other) => tracing::debug!("while waiting: {other:?}"),
            // `None` before the deadline: the node has stopped on its own.
            None if Instant::now() < deadline && node.handle().stats().is_err() => {
                return Err(CliError::failure("the node stopped unexpectedly"));
            }
            None => {}
        }
    }
}

/// The failure for a query the node could not send: `cannot reach <first hop>: <why>`. The
/// node says only that every address failed; the reason is the operating system's, asked
/// again with one connection attempt to the same TCP address (UDP sends fail only locally,
/// without a remote reason).
fn unreachable(args: &SendArgs) -> CliError {
    let Some(hop) = args.via.first().map(|relay| relay.endpoint).or(args.to) else {
        return CliError::failure(format!(
            "cannot reach {}: no path to it through the --peer nodes",
            recipient(args)
        ));
    };
    let what = if args.via.is_empty() {
        "the recipient"
    } else {
        "the first relay"
    };
    let why = match hop.protocol {
        Protocol::Tcp => match TcpStream::connect_timeout(&hop.addr, PROBE_TIMEOUT) {
            Err(err) => match err.kind() {
                std::io::ErrorKind::ConnectionRefused => format!(
                    "connection refused (nothing listens for TCP there: is {what} running, \
                     with --tcp at that address?)"
                ),
                std::io::ErrorKind::TimedOut => "the connection attempt timed out".to_string(),
                _ => crate::error::io_reason(&err),
            },
            Ok(_) => "the connection failed, then worked when tried again: try again".to_string(),
        },
        Protocol::Udp => "the datagrams could not be sent (no route to that address?)".to_string(),
    };
    CliError::failure(format!("cannot reach {hop}: {why}"))
}

/// How long the connection attempt that finds out why a TCP hop is unreachable may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// The recipient as the messages name it: its address, or its node id when found by key.
fn recipient(args: &SendArgs) -> String {
    args.to
        .map_or_else(|| args.key.node_id().to_string(), |to| to.to_string())
}

/// Prints `acknowledged by <node id> in <ms> ms (direct)` (or `(relayed via <node id>)`: how
/// the reply came), and the reply's value on a second line unless it is the plain
/// acknowledgement of `id`.
fn report_reply(message: &Message, id: MessageId, started: Instant) -> Result<(), CliError> {
    let path = match message.relayed_by {
        Some(relay) => format!("relayed via {relay}"),
        None => "direct".to_string(),
    };
    console::line(format_args!(
        "acknowledged by {} in {} ms ({path})",
        message.from.node_id,
        started.elapsed().as_millis()
    ))?;
    if message.value == ack_for(id) {
        Ok(())
    } else {
        console::line(&message.value)
    }
}

/// The local IP to bind so that `dest` can answer: loopback for a loopback (or wildcard)
/// destination; otherwise the address the system routes `dest` through (found by connecting a
/// UDP socket, which sends nothing), falling back to the wildcard of the same family.
fn local_ip_towards(dest: SocketAddr) -> IpAddr {
    let (loopback, unspecified): (IpAddr, IpAddr) = if dest.is_ipv4() {
        (Ipv4Addr::LOCALHOST.into(), Ipv4Addr::UNSPECIFIED.into())
    } else {
        (Ipv6Addr::LOCALHOST.into(), Ipv6Addr::UNSPECIFIED.into())
    };
    if dest.ip().is_loopback() || dest.ip().is_unspecified() {
        return loopback;
    }
    UdpSocket::bind(SocketAddr::new(unspecified, 0))
        .and_then(|socket| socket.connect(dest).and_then(|()| socket.local_addr()))
        .map_or(unspecified, |addr| addr.ip())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_destinations_are_answered_on_loopback_of_their_family() {
        assert_eq!(
            local_ip_towards("127.0.0.1:9".parse().unwrap()),
            IpAddr::from(Ipv4Addr::LOCALHOST)
        );
        assert_eq!(
            local_ip_towards("0.0.0.0:9".parse().unwrap()),
            IpAddr::from(Ipv4Addr::LOCALHOST)
        );
        assert_eq!(
            local_ip_towards("[::1]:9".parse().unwrap()),
            IpAddr::from(Ipv6Addr::LOCALHOST)
        );
    }
}
