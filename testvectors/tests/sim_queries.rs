//! Queries over simulated networks: every query ends in exactly one of a reply, a hard timeout
//! or a cancellation, whatever the links do; replies never arrive as plain messages; late
//! replies are marked; adaptive timeouts follow the measured round-trip times.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use ejtp_proto::QueryEvent;
use ejtp_proto::{
    Command, Config, Event, Message, MessageId, PublicIdentity, QueryOptions, TimerReason,
};
use ejtp_testvectors::sim::{LinkConditions, SimNetwork};
use proptest::prelude::*;
use serde_json::json;

const NODES: usize = 5;

fn callsign(node: usize) -> String {
    format!("c{node}")
}

fn network(seed: u64, conditions: LinkConditions) -> (SimNetwork, Vec<PublicIdentity>) {
    let mut net = SimNetwork::new(seed, conditions);
    let ids = (0..NODES)
        .map(|node| {
            let name = callsign(node);
            let index = net.add_node(&name, 0x10 + node as u8, Config::default(), &[&name]);
            net.identity(index, &name)
        })
        .collect();
    (net, ids)
}

fn query(
    net: &mut SimNetwork,
    node: usize,
    to: &PublicIdentity,
    tag: u64,
    options: QueryOptions,
) -> MessageId {
    net.command_with_id(
        node,
        Command::Query {
            from: callsign(node),
            to: to.clone(),
            via: vec![],
            value: json!({"q": tag}),
            options,
        },
    )
    .expect("the query is sent")
    .expect("a query has an id")
}

fn reply(net: &mut SimNetwork, node: usize, to: &Message) {
    let tag = to.value.get("q").or_else(|| to.value.get("p")).cloned();
    net.command(
        node,
        Command::Reply {
            from: callsign(node),
            to: Box::new(to.clone()),
            via: vec![],
            value: json!({"r": tag}),
        },
    )
    .expect("the reply is sent");
}

/// What a test knows about one query it made.
#[derive(Debug, Default)]
struct Tracked {
    tag: u64,
    soft_seen: bool,
    /// The terminal events seen, in order (exactly one when the run ends).
    ends: Vec<Event>,
    /// Whether `cancel_query` said it cancelled the query.
    cancelled: bool,
}

#[derive(Debug, Clone)]
struct Plan {
    from: usize,
    to: usize,
    soft_ms: Option<u64>,
    hard_ms: u64,
    /// How long the recipient waits before answering (none: it never answers).
    answer_after_ms: Option<u64>,
    /// The recipient answers twice.
    twice: bool,
    /// The querier cancels after this long.
    cancel_after_ms: Option<u64>,
    /// A plain message rather than a query (its answer must be dropped).
    plain: bool,
}

fn plan() -> impl Strategy<Value = Plan> {
    (
        0..NODES,
        1..NODES,
        prop::option::of(20u64..400),
        100u64..1_200,
        prop::option::weighted(0.85, 0u64..1_000),
        prop::bool::weighted(0.2),
        prop::option::weighted(0.2, 0u64..800),
        prop::bool::weighted(0.1),
    )
        .prop_map(
            |(from, offset, soft_ms, hard_ms, answer_after_ms, twice, cancel_after_ms, plain)| {
                Plan {
                    from,
                    to: (from + offset) % NODES,
                    soft_ms,
                    hard_ms,
                    answer_after_ms,
                    twice,
                    cancel_after_ms,
                    plain,
                }
            },
        )
}

const STEP: Duration = Duration::from_millis(5);

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn every_query_ends_exactly_once_over_bad_links(
        seed in any::<u64>(),
        loss in 0.0f64..0.3,
        duplicate in 0.0f64..0.4,
        jitter_ms in 0u64..120,
        plans in prop::collection::vec(plan(), 1..24),
    ) {
        let conditions = LinkConditions {
            loss,
            duplicate,
            min_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(5 + jitter_ms),
        };
        let (mut net, ids) = network(seed, conditions);
        let mut tracked: BTreeMap<(usize, MessageId), Tracked> = BTreeMap::new();
        let mut plans_by_tag = BTreeMap::new();
        // (due time in steps, node, message to answer)
        let mut answers: Vec<(u64, usize, Message)> = Vec::new();
        let mut cancels: Vec<(u64, usize, MessageId)> = Vec::new();
        let total_steps = 1_200u64; // 6 s: every hard timeout has passed.
        for step in 0..total_steps {
            // Launch one planned query every 10 steps.
            if step % 10 == 0 {
                if let Some(plan) = plans.get((step / 10) as usize) {
                    let tag = step / 10;
                    plans_by_tag.insert(tag, plan.clone());
                    if plan.plain {
                        net.command(plan.from, Command::Send {
                            from: callsign(plan.from),
                            to: ids[plan.to].clone(),
                            via: Vec::new(),
                            value: json!({"p": tag}),
                        }).unwrap();
                    } else {
                        let options = QueryOptions {
                            hard_timeout: Duration::from_millis(plan.hard_ms),
                            soft_timeout: plan.soft_ms.map(Duration::from_millis),
                            adaptive: false,
                        };
                        let id = query(&mut net, plan.from, &ids[plan.to], tag, options);
                        tracked.insert((plan.from, id), Tracked { tag, ..Tracked::default() });
                        if let Some(after) = plan.cancel_after_ms {
                            cancels.push((step + after / 5, plan.from, id));
                        }
                    }
                }
            }
            for (due, node, message) in std::mem::take(&mut answers) {
                if due <= step {
                    reply(&mut net, node, &message);
                } else {
                    answers.push((due, node, message));
                }
            }
            for (due, node, id) in std::mem::take(&mut cancels) {
                if due <= step {
                    let ended_before = !tracked[&(node, id)].ends.is_empty();
                    net.command(node, Command::CancelQuery { id }).unwrap();
                    let mut cancelled = false;
                    for event in net.take_events() {
                        // Any event of the cancel goes through the same checks.
                        cancelled |= answers_or_record(
                            &mut tracked, &mut answers, &plans_by_tag, step, event,
                        );
                    }
                    if cancelled {
                        tracked.get_mut(&(node, id)).unwrap().cancelled = true;
                    } else {
                        prop_assert!(ended_before, "a cancel of an open query must cancel it");
                    }
                } else {
                    cancels.push((due, node, id));
                }
            }
            net.run_for(STEP);
            for event in net.take_events() {
                answers_or_record(&mut tracked, &mut answers, &plans_by_tag, step, event);
            }
        }
        for ((node, id), query) in &tracked {
            prop_assert_eq!(query.ends.len(), 1, "query {} of node {}: {:?}", id, node, query);
            let plan = &plans_by_tag[&query.tag];
            match &query.ends[0] {
                Event::Query(QueryEvent::Reply { message, late, .. }) => {
                    prop_assert_eq!(&message.value, &json!({"r": query.tag}), "the right answer");
                    prop_assert_eq!(*late, query.soft_seen, "late exactly after the soft timeout");
                    prop_assert_eq!(message.from.key, ids[plan.to].key);
                    prop_assert!(!query.cancelled);
                }
                Event::Query(QueryEvent::Cancelled { .. }) => prop_assert!(query.cancelled),
                Event::Query(QueryEvent::TimedOut { .. }) => prop_assert!(!query.cancelled),
                other => prop_assert!(false, "not a terminal event: {:?}", other),
            }
        }
        if loss == 0.0 {
            // Without loss, a query answered well before both timeouts and never cancelled gets
            // its reply.
            for query in tracked.values() {
                let plan = &plans_by_tag[&query.tag];
                let quick = plan.answer_after_ms.is_some_and(|after| {
                    after + 2 * (5 + jitter_ms) + 40 < plan.hard_ms
                });
                if quick && plan.cancel_after_ms.is_none() {
                    prop_assert!(matches!(query.ends[0], Event::Query(QueryEvent::Reply { .. })), "{:?}", query);
                }
            }
        }
        let unmatched: u64 = (0..NODES).map(|node| net.node(node).stats().queries.dropped_unmatched_reply).sum();
        let answered_plain = plans.iter().any(|plan| plan.plain && plan.answer_after_ms.is_some());
        if loss == 0.0 && answered_plain {
            prop_assert!(unmatched > 0, "answers to plain messages are dropped and counted");
        }
    }
}

/// Applies one event to the test's bookkeeping; returns whether it was a cancellation.
fn answers_or_record(
    tracked: &mut BTreeMap<(usize, MessageId), Tracked>,
    answers: &mut Vec<(u64, usize, Message)>,
    plans: &BTreeMap<u64, Plan>,
    step: u64,
    (node, event): (usize, Event),
) -> bool {
    match &event {
        Event::Message(message) => {
            assert!(
                message.value.get("r").is_none(),
                "a reply arrived as a plain message"
            );
            let tag = message.value.get("q").or_else(|| message.value.get("p"));
            let plan = &plans[&tag.and_then(serde_json::Value::as_u64).unwrap()];
            assert_eq!(node, plan.to);
            if let Some(after) = plan.answer_after_ms {
                answers.push((step + after / 5, node, message.clone()));
                if plan.twice {
                    answers.push((step + after / 5 + 3, node, message.clone()));
                }
            }
            false
        }
        Event::Query(QueryEvent::SoftTimeout { query }) => {
            let entry = tracked
                .get_mut(&(node, *query))
                .expect("a soft timeout of a known query");
            assert!(!entry.soft_seen && entry.ends.is_empty(), "{entry:?}");
            entry.soft_seen = true;
            false
        }
        Event::Query(QueryEvent::Reply { query, .. })
        | Event::Query(QueryEvent::TimedOut { query })
        | Event::Query(QueryEvent::Cancelled { query }) => {
            let entry = tracked
                .get_mut(&(node, *query))
                .expect("no reply without a query");
            entry.ends.push(event.clone());
            matches!(event, Event::Query(QueryEvent::Cancelled { .. }))
        }
        _ => false,
    }
}

/// Alice times three answers from bob, then her adaptive queries wait mean + 2 standard
/// deviations of those round trips, where a fixed timeout would give up.
#[test]
fn adaptive_timeouts_follow_measured_round_trips() {
    let (mut net, ids) = network(9, LinkConditions::PERFECT);
    let (alice, bob) = (0, 1);
    let patient = QueryOptions {
        hard_timeout: Duration::from_secs(2),
        soft_timeout: None,
        adaptive: true,
    };
    // Bob answers after 300, 400 and 500 ms; a 10 ms link each way except the query's first
    // hop, which the answer delay starts after: round trips of 310, 410 and 510 ms.
    for (tag, wait) in [(0, 300), (1, 400), (2, 500)] {
        let id = query(&mut net, alice, &ids[bob], tag, patient);
        net.run_for(Duration::from_millis(wait));
        let asked = support::messages(&net.take_events()).remove(0).1;
        reply(&mut net, bob, &asked);
        net.run_for(Duration::from_millis(100));
        let events = net.take_events();
        assert!(
            matches!(&events[..], [(0, Event::Query(QueryEvent::Reply { query, .. }))] if *query == id),
            "{events:?}"
        );
    }
    // Mean 410 ms, population standard deviation 81.649 ms: at least 573.298 ms.
    let fast = QueryOptions {
        hard_timeout: Duration::from_millis(100),
        soft_timeout: None,
        adaptive: true,
    };
    let start = net.now();
    let adaptive = query(&mut net, alice, &ids[bob], 3, fast);
    let timeout = net.node(alice).poll_timeout().unwrap();
    assert_eq!(timeout.reason, TimerReason::QueryHardTimeout);
    assert_eq!(timeout.at, start + Duration::from_micros(573_298));
    let fixed = query(
        &mut net,
        alice,
        &ids[bob],
        4,
        QueryOptions {
            adaptive: false,
            ..fast
        },
    );
    // A peer with no history (carol) gets the configured floor even when adaptive.
    let carol_query = query(&mut net, alice, &ids[2], 5, fast);
    // The soft timeout adapts too (the hard one stays at its 2 s floor here).
    let soft = QueryOptions {
        hard_timeout: Duration::from_secs(2),
        soft_timeout: Some(Duration::from_millis(50)),
        adaptive: true,
    };
    let late = query(&mut net, alice, &ids[bob], 6, soft);
    net.run_for(Duration::from_millis(400));
    let mut slow = Vec::new();
    let mut seen = net.take_events();
    for (_, asked) in support::messages(&seen) {
        if asked.value == json!({"q": 6}) {
            slow.push(asked);
        } else if asked.to == callsign(bob) {
            reply(&mut net, bob, &asked);
        }
    }
    net.run_for(Duration::from_millis(300));
    for asked in &slow {
        reply(&mut net, bob, asked);
    }
    net.run_for(Duration::from_secs(2));
    seen.extend(net.take_events());
    let events: Vec<Event> = seen
        .into_iter()
        .filter(|(node, _)| *node == alice)
        .map(|(_, event)| event)
        .collect();
    assert!(
        events.contains(&Event::Query(QueryEvent::TimedOut { query: fixed })),
        "{events:?}"
    );
    assert!(events.contains(&Event::Query(QueryEvent::TimedOut { query: carol_query })));
    assert!(events.iter().any(
        |event| matches!(event, Event::Query(QueryEvent::Reply { query, late: false, .. }) if *query == adaptive)
    ));
    let soft_at = events
        .iter()
        .position(|event| *event == Event::Query(QueryEvent::SoftTimeout { query: late }));
    let reply_at = events.iter().position(
        |event| matches!(event, Event::Query(QueryEvent::Reply { query, late: true, .. }) if *query == late),
    );
    assert!(soft_at.is_some() && soft_at < reply_at, "{events:?}");
    assert_eq!(
        net.node(alice).stats().queries.dropped_unmatched_reply,
        1,
        "the fixed query's answer"
    );
}
