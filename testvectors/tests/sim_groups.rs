//! Groups of ten over simulated networks with churn, loss, duplication and reordering: rosters
//! converge to the admitting peer's latest, banned peers stay out, a dead member is detected
//! within the stated bound, and no message reaches a non-member or is delivered twice.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use ejtp_proto::Command;
use ejtp_proto::group::{GroupConfig, GroupEvent, Refusal};
use ejtp_testvectors::group_sim::{GROUP_CALLSIGN, GROUP_PASSWORD, GROUP_STEP, GroupSim};
use ejtp_testvectors::sim::LinkConditions;
use proptest::prelude::*;
use serde_json::json;

/// Node 0 admits; nodes 1..=9 are members; node 10 guesses passwords; node 11 never joins.
const MEMBERS: usize = 10;
const GUESSER: usize = 10;
const OUTSIDER: usize = 11;

#[derive(Clone, Copy, Debug)]
enum Churn {
    /// The member crashes and stays down.
    Die,
    /// The member leaves and stays out.
    Leave,
    /// The member crashes and comes back 10 s later as a fresh process.
    Restart,
}

#[derive(Clone, Debug)]
struct Plan {
    seed: u64,
    loss: f64,
    duplicate: f64,
    spread_ms: u64,
    /// (member, second of the lossy phase, what happens).
    churn: Vec<(usize, u64, Churn)>,
    /// (member, second of the lossy phase) at which it broadcasts.
    broadcasts: Vec<(usize, u64)>,
}

fn churn() -> impl Strategy<Value = Churn> {
    prop_oneof![Just(Churn::Die), Just(Churn::Leave), Just(Churn::Restart)]
}

fn plan() -> impl Strategy<Value = Plan> {
    (
        any::<u64>(),
        0.0..0.15f64,
        0.0..0.1f64,
        0u64..150,
        proptest::collection::vec((1usize..MEMBERS, 2u64..30, churn()), 0..4),
        proptest::collection::vec((1usize..MEMBERS, 0u64..40), 1..6),
    )
        .prop_map(
            |(seed, loss, duplicate, spread_ms, churn, broadcasts)| Plan {
                seed,
                loss,
                duplicate,
                spread_ms,
                churn,
                broadcasts,
            },
        )
}

/// Everything the run observed, checked at the end.
#[derive(Default)]
struct Observed {
    /// Members that crashed for good or left: (member, when).
    gone: BTreeMap<usize, Duration>,
    /// (receiver, sender name, id) of every delivery.
    deliveries: Vec<(usize, String, [u8; 16])>,
}

fn run(plan: &Plan) -> Result<(), TestCaseError> {
    let config = GroupConfig::for_tests();
    let lossy = LinkConditions {
        loss: plan.loss,
        duplicate: plan.duplicate,
        min_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(5 + plan.spread_ms),
    };
    let mut sim = GroupSim::new(plan.seed, lossy, OUTSIDER + 1, config.clone());
    sim.create(0);
    for member in 1..MEMBERS {
        sim.join(member, 0, GROUP_PASSWORD);
        sim.run_for(Duration::from_millis(100));
    }
    // The guesser tries wrong passwords until it is told it is banned (each try waits for its
    // answer: a try lost on the way counts nothing), then tries the right one.
    let refused_as_banned = |sim: &GroupSim| {
        sim.events.iter().any(|(node, _, event)| {
            *node == GUESSER
                && *event
                    == GroupEvent::JoinRefused {
                        reason: Refusal::Banned,
                    }
        })
    };
    let mut guesses = 0;
    while !refused_as_banned(&sim) {
        guesses += 1;
        prop_assert!(guesses <= 10, "the guesser was never banned");
        sim.join(GUESSER, 0, "wrong guess");
        sim.run_for(Duration::from_secs(3));
    }
    sim.join(GUESSER, 0, GROUP_PASSWORD);

    let mut observed = Observed::default();
    let mut restarts: Vec<(usize, Duration)> = Vec::new();
    let mut rejoin_at: BTreeMap<usize, Duration> = BTreeMap::new();
    let start = sim.net.now() - ejtp_proto::Instant::ZERO;
    let lossy_phase = Duration::from_secs(40);
    let mut seen_events = 0;
    let mut step = 0u64;
    // The lossy phase, then a healed one long enough for timeouts, rejoins and pushes.
    while sim.net.now() - ejtp_proto::Instant::ZERO < start + lossy_phase + Duration::from_secs(30)
    {
        let elapsed = sim.net.now() - ejtp_proto::Instant::ZERO - start;
        if elapsed >= lossy_phase {
            sim.net.set_conditions(LinkConditions {
                loss: 0.0,
                duplicate: plan.duplicate,
                ..lossy
            });
        }
        let second = elapsed.as_secs();
        if elapsed.subsec_millis() < u32::try_from(GROUP_STEP.as_millis()).unwrap() {
            for &(member, at, what) in &plan.churn {
                if at != second || observed.gone.contains_key(&member) || sim.frozen[member] {
                    continue;
                }
                match what {
                    Churn::Die => {
                        sim.frozen[member] = true;
                        observed.gone.insert(member, elapsed);
                    }
                    Churn::Leave => {
                        sim.with_group(member, |group, now| group.leave(now));
                        sim.frozen[member] = true;
                        observed.gone.insert(member, elapsed);
                    }
                    Churn::Restart => {
                        sim.frozen[member] = true;
                        restarts.push((member, elapsed + Duration::from_secs(10)));
                    }
                }
            }
            for &(member, at) in &plan.broadcasts {
                if at == second && !sim.frozen[member] {
                    let body = json!({"from": member, "at": at});
                    let _ = sim.with_group(member, |group, now| group.broadcast(now, body));
                }
            }
            // The outsider sends chat straight to every member, as if it belonged.
            if second.is_multiple_of(10) {
                for member in 0..MEMBERS {
                    let to = sim.identity(member).clone();
                    let spam = json!({"group": "chat", "id": "00".repeat(16), "to": "all", "body": "spam"});
                    sim.net
                        .command(
                            OUTSIDER,
                            Command::Send {
                                from: GROUP_CALLSIGN.into(),
                                to,
                                via: Vec::new(),
                                value: spam,
                            },
                        )
                        .unwrap();
                }
            }
        }
        restarts.retain(|&(member, at)| {
            if elapsed >= at {
                sim.join(member, 0, GROUP_PASSWORD);
                false
            } else {
                true
            }
        });
        // Honest members out of the group try again a second later, as `ejtp chat` does.
        for (node, _, event) in &sim.events[seen_events..] {
            match event {
                GroupEvent::Removed | GroupEvent::HostSilent | GroupEvent::JoinFailed
                    if *node < MEMBERS =>
                {
                    rejoin_at.insert(*node, elapsed + Duration::from_secs(1));
                }
                GroupEvent::JoinRefused { reason } if *node < MEMBERS => {
                    return Err(TestCaseError::fail(format!(
                        "member {node} refused: {reason}"
                    )));
                }
                GroupEvent::Message { from, id, .. } => {
                    observed.deliveries.push((*node, from.name.clone(), *id));
                }
                _ => {}
            }
        }
        seen_events = sim.events.len();
        let due: Vec<usize> = rejoin_at
            .iter()
            .filter(|(node, at)| elapsed >= **at && !sim.frozen[**node])
            .map(|(node, _)| *node)
            .collect();
        for node in due {
            rejoin_at.remove(&node);
            let _ = sim.with_group(node, |group, now| group.rejoin(now));
        }
        // A crashed member is out of the admitting peer's roster within the stated bound:
        // heartbeat_timeout after it was last heard (at the latest, when it died), plus one
        // driver step.
        let host_roster = sim.groups[0]
            .as_ref()
            .and_then(|g| g.roster().cloned())
            .unwrap();
        for (&member, &died) in &observed.gone {
            if elapsed >= died + config.heartbeat_timeout + GROUP_STEP * 2 {
                prop_assert!(
                    !host_roster.contains(&sim.identity(member).key),
                    "member {member} gone at {died:?} still in the roster at {elapsed:?}"
                );
            }
        }
        sim.run_for(GROUP_STEP);
        step += 1;
    }
    prop_assert!(step > 0);

    // Rosters converged to the admitting peer's latest, which holds exactly the live members.
    let host_roster = sim.groups[0]
        .as_ref()
        .and_then(|g| g.roster().cloned())
        .unwrap();
    let expected: BTreeSet<_> = (0..MEMBERS)
        .filter(|member| !observed.gone.contains_key(member))
        .map(|member| sim.identity(member).key)
        .collect();
    let actual: BTreeSet<_> = host_roster.members.iter().map(|m| m.key).collect();
    prop_assert_eq!(&actual, &expected);
    for member in 1..MEMBERS {
        if observed.gone.contains_key(&member) {
            continue;
        }
        let roster = sim.groups[member]
            .as_ref()
            .and_then(|g| g.roster().cloned());
        prop_assert_eq!(roster.as_ref(), Some(&host_roster), "member {}", member);
    }
    // The banned guesser stayed out, and was refused as banned when it had the password.
    prop_assert!(!sim.groups[GUESSER].as_ref().unwrap().in_group());
    let guesser_refusals: Vec<Refusal> = sim
        .events
        .iter()
        .filter_map(|(node, _, event)| match event {
            GroupEvent::JoinRefused { reason } if *node == GUESSER => Some(*reason),
            _ => None,
        })
        .collect();
    prop_assert_eq!(guesser_refusals.last(), Some(&Refusal::Banned));
    // No message reached a non-member or came from one, and none was delivered twice.
    let mut unique = BTreeSet::new();
    for (receiver, sender, id) in &observed.deliveries {
        prop_assert!(*receiver < MEMBERS, "delivered to non-member {}", receiver);
        prop_assert!(sender != "m10" && sender != "m11");
        prop_assert!(
            unique.insert((*receiver, sender.clone(), *id)),
            "delivered twice"
        );
    }
    prop_assert!(sim.other_messages.is_empty());
    if std::env::var_os("GROUP_SIM_DEBUG").is_some() {
        let timed_out = sim
            .events
            .iter()
            .filter(|(_, _, e)| matches!(e, GroupEvent::MemberTimedOut { .. }))
            .count();
        eprintln!(
            "plan {plan:?}: deliveries {}, timed out {timed_out}, roster v{}, host stats {:?}, events {}",
            observed.deliveries.len(),
            host_roster.version,
            sim.groups[0].as_ref().unwrap().stats(),
            sim.events.len()
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    #[test]
    fn groups_of_ten_converge_and_keep_outsiders_out(plan in plan()) {
        run(&plan)?;
    }
}

#[test]
fn a_quiet_group_delivers_every_broadcast_to_every_other_member() {
    let plan = Plan {
        seed: 3,
        loss: 0.0,
        duplicate: 0.05,
        spread_ms: 50,
        churn: Vec::new(),
        broadcasts: vec![(1, 3), (5, 4), (9, 5)],
    };
    run(&plan).unwrap();
    // Run again, counting: with no loss every broadcast reaches the nine others exactly once.
    let config = GroupConfig::for_tests();
    let mut sim = GroupSim::new(3, LinkConditions::PERFECT, MEMBERS, config);
    sim.create(0);
    for member in 1..MEMBERS {
        sim.join(member, 0, GROUP_PASSWORD);
    }
    sim.run_for(Duration::from_secs(2));
    sim.with_group(4, |group, now| group.broadcast(now, json!("hello")))
        .unwrap()
        .unwrap();
    sim.run_for(Duration::from_secs(1));
    let mut receivers: Vec<usize> = sim
        .events
        .iter()
        .filter_map(|(node, _, event)| matches!(event, GroupEvent::Message { .. }).then_some(*node))
        .collect();
    receivers.sort_unstable();
    assert_eq!(receivers, vec![0, 1, 2, 3, 5, 6, 7, 8, 9]);
}
