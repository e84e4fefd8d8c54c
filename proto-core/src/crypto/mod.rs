//! The cryptography of `s` and `r` frames, built only from published constructions through
//! maintained crates (no home-made schemes):
//!
//! - [`signature`]: ed25519 signatures of `s` frames that also cover the recipient, the sender's
//!   address, a timestamp and a nonce, closing EJTP's re-wrap and replay holes;
//! - [`proof`]: the `s` frame's sender proof, a signature or (inside a session) a bare nonce;
//! - [`sealed`]: HPKE (RFC 9180) base mode for single frames to a peer's published key;
//! - [`handshake`] and [`session`]: a Noise IK handshake, then one ChaCha20-Poly1305 per frame
//!   with forward secrecy and a sliding replay window;
//! - [`mailbox`]: signed requests to a store-and-forward relay;
//! - [`body`]: the byte layouts of an `r` frame's body that carry all of the above.
//!
//! Every function here that reads network bytes returns an error rather than panicking.

pub mod body;
pub mod cookie;
mod error;
pub mod handshake;
pub mod mailbox;
pub mod proof;
pub mod reset;
pub mod sealed;
pub mod session;
pub mod signature;

pub use error::CryptoError;

#[cfg(test)]
mod tests {
    use super::handshake::{InitiatorHandshake, SessionKeys};
    use super::session::Session;
    use crate::identity::Identity;
    use crate::replay::{NonceMemory, ReplayWindow};

    fn send_and_sync<T: Send + Sync>() {}

    #[test]
    fn crypto_state_can_move_between_threads() {
        // Adapters run the node on multi-threaded executors: every piece of state must allow it.
        send_and_sync::<Identity>();
        send_and_sync::<InitiatorHandshake>();
        send_and_sync::<SessionKeys>();
        send_and_sync::<Session>();
        send_and_sync::<ReplayWindow>();
        send_and_sync::<NonceMemory>();
    }
}
