//! `ejtp send`: one message, then wait for its acknowledgement.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use adapter_std::{Node, NodeOptions};
use proto_core::{Event, MessageId, Protocol, PublicIdentity};

use crate::ack::acknowledged_id;
use crate::args::SendArgs;
use crate::console;
use crate::endpoint::address_of;
use crate::error::{CliError, node_reason};
use crate::identity_file;

/// Sends the value from a node on an ephemeral port, then waits for `{"ack": "<id>"}` from the
/// recipient's key (unless `--no-wait`).
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
    let sent = node
        .handle()
        .send_via(&callsign, &to, &via, args.value.clone())
        .map_err(|err| CliError::failure(format!("cannot send: {}", node_reason(&err))));
    let outcome = sent.and_then(|id| {
        tracing::info!("sent message {id} to {}", args.to);
        if args.no_wait {
            console::line(format_args!("sent {id}"))
        } else {
            wait_for_ack(&node, args, id, started)
        }
    });
    // Stop the node either way; its own error matters only if everything else worked.
    let stopped = node
        .shutdown()
        .map_err(|err| CliError::failure(format!("could not stop cleanly: {}", node_reason(&err))));
    outcome.and(stopped)
}

/// Waits until the recipient's key acknowledges `id`, or the timeout passes.
fn wait_for_ack(
    node: &Node,
    args: &SendArgs,
    id: MessageId,
    started: Instant,
) -> Result<(), CliError> {
    let deadline = started + Duration::from_secs(args.timeout);
    let id = id.to_string();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(CliError::failure(format!(
                "no acknowledgement within {} s",
                args.timeout
            )));
        }
        match node.events().recv_timeout(left) {
            Some(Event::Message(message))
                if message.from.key == args.key
                    && acknowledged_id(&message.value) == Some(id.as_str()) =>
            {
                return console::line(format_args!(
                    "acknowledged by {} in {} ms",
                    message.from.node_id,
                    started.elapsed().as_millis()
                ));
            }
            Some(other) => tracing::debug!("while waiting: {other:?}"),
            // `None` before the deadline: the node has stopped on its own.
            None if Instant::now() < deadline && node.handle().stats().is_err() => {
                return Err(CliError::failure("the node stopped unexpectedly"));
            }
            None => {}
        }
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
