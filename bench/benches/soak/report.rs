//! The soak's readings: a sample of the process and the nodes every few seconds, the line
//! printed for it, and each node's drops summed from its counters.

use std::time::Instant;

use ejtp_bench::process::ProcessSample;
use ejtp_proto::Stats;
use serde_json::Value;

use super::{Counters, SoakNode, get};

/// The sum of a node's `dropped_*` counters, and of those that mean a queue was full.
fn drops(stats: &Stats) -> (u64, u64) {
    let value = serde_json::to_value(stats).unwrap_or(Value::Null);
    let total = value.as_object().map_or(0, |fields| {
        fields
            .iter()
            .filter(|(name, _)| name.starts_with("dropped_"))
            .filter_map(|(_, count)| count.as_u64())
            .sum()
    });
    (
        total,
        stats.transport.dropped_transmit_queue_full + stats.transport.dropped_event_queue_full,
    )
}

/// One line's figures.
#[derive(Clone)]
pub(super) struct Sample {
    /// Seconds since the start.
    pub(super) at: f64,
    /// The process's memory, descriptors and threads (where `/proc` has them).
    pub(super) process: Option<ProcessSample>,
    /// Queries answered, failed, timed out.
    pub(super) queries: [u64; 3],
    /// Fetches completed, failed.
    pub(super) fetches: [u64; 2],
    /// Hostile datagrams sent.
    pub(super) hostile: u64,
    /// Per node: dropped in all, queue drops (the core's queues and events the adapter lost).
    pub(super) nodes: Vec<(u64, u64)>,
}

pub(super) fn sample(began: Instant, counters: &Counters, nodes: &[SoakNode]) -> Sample {
    let nodes = nodes
        .iter()
        .zip(&counters.nodes)
        .map(|(node, mine)| {
            let (total, queues) = node
                .handle
                .stats()
                .map(|stats| drops(&stats))
                .unwrap_or((0, 0));
            (total, queues + get(&mine.events_lost))
        })
        .collect();
    Sample {
        at: began.elapsed().as_secs_f64(),
        process: ProcessSample::now(),
        queries: [
            get(&counters.queries_ok),
            get(&counters.queries_failed),
            get(&counters.queries_timed_out),
        ],
        fetches: [get(&counters.fetches_ok), get(&counters.fetches_failed)],
        hostile: get(&counters.hostile_sent),
        nodes,
    }
}

pub(super) fn print_sample(now: &Sample, before: Option<&Sample>) {
    let since = |pick: fn(&Sample) -> u64| now_minus(pick(now), before.map(pick));
    let process = now.process.map_or("rss ? fd ? thr ?".to_string(), |p| {
        format!(
            "rss {:>7} KiB fd {:>3} thr {:>2}",
            p.rss_kib, p.fds, p.threads
        )
    });
    let nodes: Vec<String> = now
        .nodes
        .iter()
        .map(|(total, queues)| format!("{total}/{queues}"))
        .collect();
    println!(
        "{:>7.0} s  {process}  queries ok {} (+{}) failed {} (+{}) timed out {} (+{})  fetches ok {} (+{}) failed {}  hostile {} (+{})  drops/queue {}",
        now.at,
        now.queries[0],
        since(|s| s.queries[0]),
        now.queries[1],
        since(|s| s.queries[1]),
        now.queries[2],
        since(|s| s.queries[2]),
        now.fetches[0],
        since(|s| s.fetches[0]),
        now.fetches[1],
        now.hostile,
        since(|s| s.hostile),
        nodes.join(" "),
    );
}

fn now_minus(now: u64, before: Option<u64>) -> u64 {
    now.saturating_sub(before.unwrap_or(0))
}

/// The nonzero `dropped_*` counters of a node and a few others worth seeing, as text.
pub(super) fn stats_line(stats: &Stats) -> String {
    let value = serde_json::to_value(stats).unwrap_or(Value::Null);
    let shown = [
        "datagrams_received",
        "delivered",
        "fragments_sent",
        "fragmented_received",
        "session_rekeys",
        "paths_validated",
        "cjp2p_unverified",
        "cjp2p_withheld",
        "cjp2p_bad_signatures",
        "download_unverified",
        "downloads_completed",
        "downloads_failed",
    ];
    let mut parts = Vec::new();
    if let Some(fields) = value.as_object() {
        for (name, count) in fields {
            let count = count.as_u64().unwrap_or(0);
            if count > 0 && (name.starts_with("dropped_") || shown.contains(&name.as_str())) {
                parts.push(format!("{name} {count}"));
            }
        }
    }
    parts.join(", ")
}
