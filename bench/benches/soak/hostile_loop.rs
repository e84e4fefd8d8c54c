//! The soak's hostile thread: a seeded mix of hostile datagrams from loopback sockets of its
//! own, one of them replaced every [`ROTATE_EVERY`], and every [`CAPTURE_EVERY`] a real first
//! message captured, sent once and then replayed (`ejtp_bench::replay_capture`).

use std::net::{SocketAddr, UdpSocket};
use std::thread;
use std::time::{Duration, Instant};

use ejtp_bench::hostile::{HostileMix, Kind, Target};
use ejtp_bench::replay_capture;
use ejtp_bench::splitmix::SplitMix64;
use ejtp_proto::PublicIdentity;
use ejtp_proto::content::ContentId;
use serde_json::json;

use super::{CAPTURE_EVERY, Counters, HOSTILE_SOCKETS, ROTATE_EVERY, Run, add, wall};

fn loopback_socket() -> UdpSocket {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("a loopback socket");
    socket.set_nonblocking(true).expect("a non-blocking socket");
    socket
}

/// Reads (and counts) whatever the nodes sent back to `socket`.
fn drain(socket: &UdpSocket, buffer: &mut [u8], counters: &Counters) {
    while let Ok((len, _)) = socket.recv_from(buffer) {
        add(&counters.answers_to_hostile, 1);
        add(&counters.answer_bytes_to_hostile, len as u64);
    }
}

/// The hostile thread: the mix at `rate` datagrams a second in all, only ever to the nodes on
/// 127.0.0.1, from its own loopback sockets. Returns the mix (for its counts by kind).
pub(super) fn hostile_loop(
    settings_seed: u64,
    rate: u64,
    targets: Vec<Target>,
    identities: Vec<PublicIdentity>,
    content: Vec<ContentId>,
    run: Run,
) -> HostileMix {
    let counters = &run.counters;
    let mut mix = HostileMix::new(settings_seed ^ 0x4057_11e0, content);
    // The choices that depend on timing (which socket to replace, throwaway identities) come
    // from a stream of their own, so the datagrams themselves are the same on every run.
    let mut side = SplitMix64::new(settings_seed ^ 0x51de);
    let mut choose = SplitMix64::new(settings_seed ^ 0xc405e);
    let mut pool: Vec<UdpSocket> = (0..HOSTILE_SOCKETS).map(|_| loopback_socket()).collect();
    let replay_socket = loopback_socket();
    let own = |pool: &[UdpSocket]| -> Vec<SocketAddr> {
        pool.iter()
            .filter_map(|socket| socket.local_addr().ok())
            .collect()
    };
    mix.set_own_addrs(own(&pool));
    let replay_from = replay_socket.local_addr().expect("a bound socket");
    let mut replays: Vec<Vec<Vec<u8>>> = vec![Vec::new(); targets.len()];
    let mut captures = 0usize;
    let start = Instant::now();
    let mut next_capture = start;
    let mut next_rotation = start + ROTATE_EVERY;
    let mut scheduled = 0u64;
    let mut datagram = Vec::new();
    let mut buffer = vec![0u8; 65_536];
    while !run.stopped() {
        let now = Instant::now();
        if now >= next_capture {
            next_capture += CAPTURE_EVERY;
            let target = captures % targets.len();
            let value = json!({"soak": "replayed", "capture": captures});
            match replay_capture::capture(
                &side.array32(),
                side.array32(),
                replay_from,
                &identities[target],
                value,
            ) {
                Ok(datagrams) => {
                    for datagram in &datagrams {
                        let _ = replay_socket.send_to(datagram, targets[target].addr);
                    }
                    add(&counters.nodes[target].captures_sent, 1);
                    replays[target] = datagrams;
                }
                Err(why) => run.fail(format!("capturing a message failed: {why}")),
            }
            captures += 1;
        }
        if now >= next_rotation {
            next_rotation += ROTATE_EVERY;
            let index = side.below(pool.len() as u64) as usize;
            pool[index] = loopback_socket();
            mix.set_own_addrs(own(&pool));
        }
        let due = (start.elapsed().as_secs_f64() * rate as f64) as u64;
        // More than half a second behind (the machine is busy): skip rather than burst.
        if due.saturating_sub(scheduled) > rate / 2 {
            let skip = due - scheduled - rate / 10;
            add(&counters.hostile_skipped, skip);
            scheduled += skip;
        }
        let wall = wall();
        while scheduled < due {
            scheduled += 1;
            let target = choose.below(targets.len() as u64) as usize;
            let kind = mix.next_datagram(&targets[target], wall, &replays[target], &mut datagram);
            let socket = if kind == Kind::Replay && choose.chance(500) {
                &replay_socket
            } else {
                &pool[choose.below(pool.len() as u64) as usize]
            };
            match socket.send_to(&datagram, targets[target].addr) {
                Ok(_) => {
                    add(&counters.hostile_sent, 1);
                    add(&counters.hostile_bytes, datagram.len() as u64);
                }
                Err(_) => add(&counters.hostile_send_errors, 1),
            }
        }
        for socket in pool.iter().chain([&replay_socket]) {
            drain(socket, &mut buffer, counters);
        }
        thread::sleep(Duration::from_millis(2));
    }
    mix
}
