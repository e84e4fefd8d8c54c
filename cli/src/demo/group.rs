//! The demo's group steps: four more nodes on loopback, each running a group machine
//! ([`ejtp_proto::group::Group`]) over its node's ordinary messages, as `ejtp chat` does.

use std::time::{Duration, Instant};

use ejtp_proto::group::{Group, GroupConfig, GroupEvent, GroupOutput, Refusal};
use ejtp_proto::{Event, Identity, PublicIdentity, UnixMillis};
use ejtp_std::{Node, NodeOptions};
use serde_json::{Value, json};

use super::Cast;
use crate::error::node_reason;

const CALLSIGN: &str = "chat";
const PASSWORD: &str = "open sesame";
/// The group's own nodes, named apart from the demo's other nodes: erin admits, frank and
/// grace join, trudy guesses the password.
pub(super) const NAMES: [&str; 4] = ["erin", "frank", "grace", "trudy"];
const ERIN: usize = 0;
const FRANK: usize = 1;
const GRACE: usize = 2;
const TRUDY: usize = 3;

/// Short heartbeats so that a timeout fits in the demo; two failed attempts ban.
fn config() -> GroupConfig {
    GroupConfig {
        heartbeat_interval: Duration::from_millis(200),
        heartbeat_timeout: Duration::from_millis(700),
        max_failed_attempts: 2,
        ..GroupConfig::default()
    }
}

struct Peer {
    /// The node's key pair: the admitting peer signs rosters with it.
    identity: Identity,
    node: Node,
    group: Option<Group>,
    /// A frozen peer's group is no longer driven: it has gone silent.
    frozen: bool,
    events: Vec<GroupEvent>,
}

/// The group's nodes and one clock for their group machines.
pub(super) struct GroupCast {
    peers: Vec<Peer>,
    start: Instant,
}

impl GroupCast {
    fn start() -> Result<Self, String> {
        let mut peers = Vec::new();
        for name in NAMES {
            let seed = ejtp_adapter_core::os_seed().map_err(|err| err.to_string())?;
            let identity = Identity::generate(&mut ejtp_proto::CoreRng::from_seed(seed));
            let options = NodeOptions::new(identity.clone())
                .udp(([127, 0, 0, 1], 0).into())
                .client(CALLSIGN);
            let node = Node::bind(options)
                .map_err(|err| format!("cannot start {name}'s node: {}", node_reason(&err)))?;
            peers.push(Peer {
                identity,
                node,
                group: None,
                frozen: false,
                events: Vec::new(),
            });
        }
        Ok(Self {
            peers,
            start: Instant::now(),
        })
    }

    fn now(&self) -> ejtp_proto::Instant {
        let micros = u64::try_from(self.start.elapsed().as_micros()).unwrap_or(u64::MAX);
        ejtp_proto::Instant::from_micros(micros)
    }

    fn wall() -> UnixMillis {
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        UnixMillis(u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
    }

    fn identity(&self, index: usize) -> PublicIdentity {
        let mut identity = self.peers[index].node.public_identity(CALLSIGN);
        identity.name = NAMES[index].to_string();
        identity
    }

    fn create(&mut self) -> Result<(), String> {
        let seed = ejtp_adapter_core::os_seed().map_err(|err| err.to_string())?;
        let group = Group::create(
            config(),
            self.peers[ERIN].identity.clone(),
            self.identity(ERIN),
            PASSWORD,
            seed,
            self.now(),
            Self::wall(),
        )
        .map_err(|err| err.to_string())?;
        self.peers[ERIN].group = Some(group);
        Ok(())
    }

    fn join(&mut self, index: usize, password: &str) -> Result<(), String> {
        let seed = ejtp_adapter_core::os_seed().map_err(|err| err.to_string())?;
        let group = Group::join(
            config(),
            self.peers[index].node.public_key(),
            NAMES[index],
            self.identity(ERIN),
            password,
            seed,
            self.now(),
            Self::wall(),
        )
        .map_err(|err| err.to_string())?;
        self.peers[index].group = Some(group);
        self.peers[index].events.clear();
        Ok(())
    }

    /// Drives every group machine until `done` holds or `limit` passes; true if it held.
    fn drive_until(&mut self, limit: Duration, mut done: impl FnMut(&Self) -> bool) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            self.step();
            if done(self) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn step(&mut self) {
        let now = self.now();
        for peer in &mut self.peers {
            while let Some(event) = peer.node.events().try_recv() {
                if let (Event::Message(message), Some(group), false) =
                    (event, peer.group.as_mut(), peer.frozen)
                {
                    group.handle_message(now, &message);
                }
            }
            let Some(group) = peer.group.as_mut() else {
                continue;
            };
            if peer.frozen {
                continue;
            }
            if group.poll_timeout().is_some_and(|at| at <= now) {
                group.handle_timeout(now);
            }
            while let Some(output) = group.poll_output() {
                match output {
                    GroupOutput::Send { to, value } => {
                        // A lost group message is repaired by heartbeats and retries.
                        let _ = peer.node.send(CALLSIGN, &to, value);
                    }
                    GroupOutput::Event(event) => peer.events.push(event),
                    _ => {}
                }
            }
        }
    }

    fn has(&self, index: usize, check: impl Fn(&GroupEvent) -> bool) -> bool {
        self.peers[index].events.iter().any(check)
    }

    fn roster_size(&self, index: usize) -> usize {
        self.peers[index]
            .group
            .as_ref()
            .and_then(Group::roster)
            .map_or(0, |roster| roster.members.len())
    }

    pub(super) fn stop(self) -> Result<(), String> {
        for peer in self.peers {
            peer.node.shutdown().map_err(|err| {
                format!("a group node did not stop cleanly: {}", node_reason(&err))
            })?;
        }
        Ok(())
    }
}

fn group_cast(cast: &mut Cast) -> Result<&mut GroupCast, String> {
    cast.group
        .as_mut()
        .ok_or_else(|| "the group was not formed".to_string())
}

pub(super) fn group_forms(cast: &mut Cast) -> Result<String, String> {
    let mut group = GroupCast::start()?;
    group.create()?;
    group.join(FRANK, PASSWORD)?;
    group.join(GRACE, PASSWORD)?;
    let formed = group.drive_until(Duration::from_secs(5), |g| {
        (0..3).all(|index| g.roster_size(index) == 3)
    });
    cast.group = Some(group);
    if !formed {
        return Err("the three members did not all get the roster of three".into());
    }
    Ok("erin, frank and grace each hold the same signed roster of three members".into())
}

pub(super) fn wrong_password_and_ban(cast: &mut Cast) -> Result<String, String> {
    let group = group_cast(cast)?;
    let refused = |reason: Refusal| {
        move |g: &GroupCast| g.has(TRUDY, |e| *e == GroupEvent::JoinRefused { reason })
    };
    group.join(TRUDY, "let me in")?;
    if !group.drive_until(Duration::from_secs(5), refused(Refusal::Password)) {
        return Err("trudy's first guess was not refused as a wrong password".into());
    }
    group.join(TRUDY, "please")?;
    if !group.drive_until(Duration::from_secs(5), refused(Refusal::Banned)) {
        return Err("trudy's second guess did not get her banned".into());
    }
    group.join(TRUDY, PASSWORD)?;
    if !group.drive_until(Duration::from_secs(5), refused(Refusal::Banned)) {
        return Err("banned trudy was not refused with the right password".into());
    }
    let bans = group.peers[ERIN]
        .group
        .as_ref()
        .map_or(0, |g| g.bans().len());
    Ok(format!(
        "refused: wrong password, then banned ({bans} bans: her peer id and her address); \
         the right password is refused too"
    ))
}

fn delivered(group: &GroupCast, index: usize, body: &Value, direct: bool) -> usize {
    group.peers[index]
        .events
        .iter()
        .filter(|e| matches!(e, GroupEvent::Message { body: b, direct: d, .. } if b == body && *d == direct))
        .count()
}

pub(super) fn broadcast_and_direct(cast: &mut Cast) -> Result<String, String> {
    let group = group_cast(cast)?;
    let hello = json!("hello, group");
    let secret = json!("just for you, erin");
    let now = group.now();
    group.peers[FRANK]
        .group
        .as_mut()
        .ok_or("frank has no group")?
        .broadcast(now, hello.clone())
        .map_err(|err| err.to_string())?;
    group.peers[GRACE]
        .group
        .as_mut()
        .ok_or("grace has no group")?
        .direct(now, "erin", secret.clone())
        .map_err(|err| err.to_string())?;
    let arrived = group.drive_until(Duration::from_secs(5), |g| {
        delivered(g, ERIN, &hello, false) == 1
            && delivered(g, GRACE, &hello, false) == 1
            && delivered(g, ERIN, &secret, true) == 1
    });
    if !arrived {
        return Err("the broadcast or the direct message did not arrive".into());
    }
    group.drive_until(Duration::from_millis(300), |_| false);
    if delivered(group, FRANK, &secret, true) != 0 || delivered(group, TRUDY, &hello, false) != 0 {
        return Err("a message reached someone it was not for".into());
    }
    Ok(
        "erin and grace got frank's broadcast once each; only erin got grace's direct message; \
        trudy got nothing"
            .into(),
    )
}

pub(super) fn member_times_out(cast: &mut Cast) -> Result<String, String> {
    let group = group_cast(cast)?;
    group.peers[GRACE].frozen = true;
    let silent_at = Instant::now();
    let removed = group.drive_until(Duration::from_secs(5), |g| {
        g.has(
            ERIN,
            |e| matches!(e, GroupEvent::MemberTimedOut { member } if member.name == "grace"),
        ) && g.has(
            FRANK,
            |e| matches!(e, GroupEvent::MemberLeft { member } if member.name == "grace"),
        )
    });
    if !removed {
        return Err("grace's silence was not noticed".into());
    }
    let took = silent_at.elapsed().as_millis();
    Ok(format!(
        "erin removed grace {took} ms after she went silent (timeout {} ms) and frank got the \
         new roster of {}",
        config().heartbeat_timeout.as_millis(),
        group.roster_size(FRANK)
    ))
}
