//! The demo's swarm download: two seeders share a file from their folders, and a third node
//! fetches it from both at once over CJP2P, verifies it and keeps it in its own folder.

use std::fs;
use std::path::Path;

use ejtp_proto::content::ContentId;
use ejtp_proto::{CoreRng, Identity};
use ejtp_std::{FetchOutcome, Node, NodeOptions};

use super::Cast;
use super::scratch::Scratch;
use crate::error::node_reason;

/// The file's length: 256 blocks of 4096 bytes.
const LEN: usize = 1 << 20;

/// The swarm's nodes: two seeders, then the fetcher.
pub(super) const NAMES: [&str; 3] = ["peggy", "victor", "walter"];

fn node_in(name: &str, dir: &Path) -> Result<Node, String> {
    let seed =
        ejtp_adapter_core::os_seed().map_err(|err| format!("cannot draw randomness: {err}"))?;
    let identity = Identity::generate(&mut CoreRng::from_seed(seed));
    let options = NodeOptions::new(identity)
        .udp(([127, 0, 0, 1], 0).into())
        .share_dir(dir);
    Node::bind(options).map_err(|err| format!("cannot start {name}'s node: {}", node_reason(&err)))
}

/// The step: returns what it checked.
pub(super) fn swarm_download(_: &mut Cast) -> Result<String, String> {
    let scratch = Scratch::new("swarm")?;
    let bytes: Vec<u8> = (0..LEN)
        .map(|i| (i % 251) as u8 ^ (i >> 12) as u8)
        .collect();
    let id = ContentId::of(&bytes);
    let mut seeders = Vec::new();
    let [first, second, fetcher_name] = NAMES;
    for name in [first, second] {
        let dir = scratch.path().join(name);
        fs::create_dir_all(&dir)
            .map_err(|err| format!("cannot create {}: {err}", dir.display()))?;
        fs::write(dir.join("song.ogg"), &bytes).map_err(|err| format!("cannot write: {err}"))?;
        seeders.push(node_in(name, &dir)?);
    }
    let fetcher_dir = scratch.path().join(fetcher_name);
    let fetcher = node_in(fetcher_name, &fetcher_dir)?;
    let sources: Vec<_> = seeders
        .iter()
        .flat_map(|s| s.udp_addrs().to_vec())
        .collect();
    let outcome = fetcher
        .handle()
        .fetch(id, &sources)
        .map_err(|err| format!("the fetch did not start: {}", node_reason(&err)))?;
    let FetchOutcome::Completed {
        path: Some(path), ..
    } = outcome
    else {
        return Err(format!("the download did not complete: {outcome:?}"));
    };
    let copy = fs::read(&path).map_err(|err| format!("cannot read the download: {err}"))?;
    if copy != bytes {
        return Err("the downloaded file differs from the shared one".to_string());
    }
    let mut served = Vec::new();
    for seeder in &seeders {
        let stats = seeder.handle().stats().map_err(|err| node_reason(&err))?;
        served.push(stats.cjp2p.cjp2p_content_served);
    }
    for node in seeders.into_iter().chain([fetcher]) {
        node.shutdown().map_err(|err| node_reason(&err))?;
    }
    if served.contains(&0) {
        return Err(format!("a seeder served nothing: {served:?} answers"));
    }
    Ok(format!(
        "{} KiB fetched from both seeders at once ({first} answered {} requests, {second} \
         {}), verified against its id {}…, and only then moved into {fetcher_name}'s folder.",
        LEN / 1024,
        served[0],
        served[1],
        &id.to_string()[..16]
    ))
}
