//! `ejtp send`: one query, then wait for its reply (or one plain message, with `--no-wait`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use ejtp_proto::{Event, Message, MessageId, Protocol, PublicIdentity, QueryOptions};
use ejtp_std::{Node, NodeOptions};

use crate::ack::ack_for;
use crate::args::SendArgs;
use crate::console;
use crate::endpoint::address_of;
use crate::error::{CliError, node_reason};
use crate::identity_file;

/// Sends the value from a node on an ephemeral port as a query (through the relays of
/// `--via`, if any, as an onion), then waits for its reply (whose signer the node checks is
/// the recipient's key) until `--timeout`. With `--no-wait`, sends a plain message and waits
/// for nothing.
pub(crate) fn send(args: &SendArgs) -> Result<(), CliError> {
    let file = identity_file::load(&args.identity)?;
    let callsign = identity_file::callsign(&file).to_string();
    let to = PublicIdentity {
        name: args.callsign.clone(),
        location: address_of(args.to, Some(&args.callsign)),
        key: args.key,
    };
    let via: Vec<PublicIdentity> = args.via.iter().map(|peer| peer.identity("relay")).collect();
    let first_hop = args.via.first().map_or(args.to, |relay| relay.endpoint);

    // Bind where the first hop can answer: same family, loopback for loopback, otherwise the
    // local address the system routes through. TCP too when the recipient or a hop is on TCP,
    // so that answers to our TCP address have a listener.
    let local = SocketAddr::new(local_ip_towards(first_hop.addr), 0);
    let mut options = NodeOptions::new(file.identity).udp(local).client(&callsign);
    let uses_tcp = std::iter::once(args.to)
        .chain(args.via.iter().map(|relay| relay.endpoint))
        .any(|endpoint| endpoint.protocol == Protocol::Tcp);
    if uses_tcp {
        options = options.tcp(local);
    }
    let node = Node::bind(options).map_err(|err| {
        CliError::failure(format!(
            "cannot open a socket on {local}: {}",
            node_reason(&err)
        ))
    })?;

    let started = Instant::now();
    let plain = args.no_wait;
    let handle = node.handle();
    let sent = if plain {
        handle.send_via(&callsign, &to, &via, args.value.clone())
    } else {
        let options = QueryOptions {
            hard_timeout: Duration::from_secs(args.timeout),
            ..QueryOptions::default()
        };
        handle.start_query_via(&callsign, &to, &via, args.value.clone(), options)
    };
    let sent = sent.map_err(|err| CliError::failure(format!("cannot send: {}", node_reason(&err))));
    let outcome = sent.and_then(|id| {
        tracing::info!("sent message {id} to {}", args.to);
        if plain {
            console::line(format_args!("sent {id}"))
        } else {
            wait_for_reply(&node, args, id, started)
        }
    });
    // Stop the node either way; its own error matters only if everything else worked.
    let stopped = node
        .shutdown()
        .map_err(|err| CliError::failure(format!("could not stop cleanly: {}", node_reason(&err))));
    outcome.and(stopped)
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
            args.timeout, args.to
        ))
    };
    let deadline = started + Duration::from_secs(args.timeout) + QUERY_GRACE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(timed_out());
        }
        match node.events().recv_timeout(left) {
            Some(Event::Reply {
                query,
                message,
                late,
            }) if query == id => {
                tracing::debug!("reply {} (late: {late})", message.id);
                return report_reply(&message, id, started);
            }
            Some(Event::QueryTimedOut { query } | Event::QueryCancelled { query })
                if query == id =>
            {
                return Err(timed_out());
            }
            // The node gave up on the first hop at once (a refused connection, say): so do we.
            Some(
                Event::QueryUnreachable { query }
                | Event::Unreachable {
                    message: Some(query),
                    ..
                },
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
    let hop = args.via.first().map_or(args.to, |relay| relay.endpoint);
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

/// Prints `acknowledged by <node id> in <ms> ms`, and the reply's value on a second line unless
/// it is the plain acknowledgement of `id`.
fn report_reply(message: &Message, id: MessageId, started: Instant) -> Result<(), CliError> {
    console::line(format_args!(
        "acknowledged by {} in {} ms",
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
