//! What only the smol adapter does with `bind_detached`: a driver future dropped unpolled
//! stops the node and still saves its recording. (Everything shared is the suite in
//! `adapter-tests`.)

mod common;

use common::{ipv4, options};
use ejtp_adapter_core::Recording;
use ejtp_smol::{Error, Node};

#[test]
fn a_dropped_driver_still_saves_its_recording() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dropped.json");
    smol::block_on(async {
        let options = options(1).udp(ipv4()).client("alice").record_to(&path);
        let (node, driver) = Node::bind_detached(options).await.unwrap();
        drop(driver);
        assert!(matches!(node.handle().stats().await, Err(Error::Closed)));
    });
    Recording::load(&path).unwrap().replay().unwrap();
}
