//! What peers exchange to find each other: signed address records and the lookup bodies that
//! carry them. The node's routing table and lookup state live with the node; this module holds
//! the wire formats, so they can be tested (and fuzzed) on their own.

pub mod record;
pub mod wire;

pub use record::{AddressRecord, RecordError};
pub use wire::LookupBody;
