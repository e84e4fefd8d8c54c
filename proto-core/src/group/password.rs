//! The admitting peer's password check: a salted Argon2id hash, never the password itself.

use argon2::{Algorithm, Argon2, Params, Version};

use super::config::GroupConfig;

/// Length of the stored hash.
const HASH_LEN: usize = 32;

/// A salted, slow hash of the group password: all the admitting peer keeps.
#[derive(Clone)]
pub(crate) struct PasswordHash {
    salt: [u8; 16],
    hash: [u8; HASH_LEN],
    memory_kib: u32,
    iterations: u32,
}

/// The Argon2 parameters were refused (a memory cost below 8 KiB, zero iterations).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BadParams;

fn hash_with(
    password: &str,
    salt: &[u8; 16],
    memory_kib: u32,
    iterations: u32,
) -> Result<[u8; HASH_LEN], BadParams> {
    let params = Params::new(memory_kib, iterations, 1, Some(HASH_LEN)).map_err(|_| BadParams)?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let mut out = [0u8; HASH_LEN];
    argon
        .hash_password_into(password.as_bytes(), salt, &mut out)
        .map_err(|_| BadParams)?;
    Ok(out)
}

impl PasswordHash {
    /// Hashes `password` with `salt` (random, from the caller's generator).
    pub(crate) fn new(
        password: &str,
        salt: [u8; 16],
        config: &GroupConfig,
    ) -> Result<Self, BadParams> {
        let (memory_kib, iterations) = (config.argon2_memory_kib, config.argon2_iterations);
        let hash = hash_with(password, &salt, memory_kib, iterations)?;
        Ok(Self {
            salt,
            hash,
            memory_kib,
            iterations,
        })
    }

    /// Whether `attempt` is the password, compared in constant time.
    pub(crate) fn matches(&self, attempt: &str) -> bool {
        let Ok(candidate) = hash_with(attempt, &self.salt, self.memory_kib, self.iterations) else {
            return false;
        };
        let difference = candidate
            .iter()
            .zip(self.hash.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        difference == 0
    }
}

impl core::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("PasswordHash(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_right_password_matches_and_others_do_not() {
        let config = GroupConfig::for_tests();
        let hash = PasswordHash::new("hunter2", [7; 16], &config).unwrap();
        assert!(hash.matches("hunter2"));
        assert!(!hash.matches("hunter3"));
        assert!(!hash.matches(""));
    }

    #[test]
    fn the_salt_changes_the_hash() {
        let config = GroupConfig::for_tests();
        let a = PasswordHash::new("pw", [1; 16], &config).unwrap();
        let b = PasswordHash::new("pw", [2; 16], &config).unwrap();
        assert_ne!(a.hash, b.hash);
    }

    #[test]
    fn impossible_parameters_are_refused() {
        let config = GroupConfig {
            argon2_memory_kib: 0,
            ..GroupConfig::for_tests()
        };
        assert_eq!(
            PasswordHash::new("pw", [1; 16], &config).unwrap_err(),
            BadParams
        );
    }
}
