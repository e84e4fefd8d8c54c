//! `ejtp keygen`: a new identity file.

use ejtp_proto::{Address, CoreRng, Identity, IdentityFile};

use crate::args::KeygenArgs;
use crate::console;
use crate::error::CliError;
use crate::identity_file;
use crate::value::{is_member_name, name_rule};

/// Generates a key pair from the operating system's randomness, writes the identity file
/// owner-only, and prints the public identity, the key and the node id.
pub(crate) fn keygen(args: &KeygenArgs) -> Result<(), CliError> {
    let seed = ejtp_adapter_core::os_seed()
        .map_err(|err| CliError::failure(format!("cannot draw randomness: {err}")))?;
    let identity = Identity::generate(&mut CoreRng::from_seed(seed));
    // The name defaults to the callsign, which may be no usable name (clap checked --name).
    let name = args.name.clone().unwrap_or_else(|| args.callsign.clone());
    if !is_member_name(&name) {
        return Err(CliError::usage(format!(
            "the callsign {name:?} cannot be the identity's name ({}): give --name",
            name_rule()
        )));
    }
    let file = IdentityFile {
        name,
        location: Address::local(&args.callsign),
        identity,
    };
    identity_file::create(&args.out, &file, args.force)?;
    tracing::info!("wrote identity file {}", args.out.display());
    console::line(file.public().to_strict_json())?;
    console::line(format_args!("key: {}", file.identity.public_key()))?;
    console::line(format_args!("node id: {}", file.identity.node_id()))
}
