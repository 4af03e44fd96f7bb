//! Passwords: checked for length, hashed with argon2id (default parameters), verified in
//! constant time by the argon2 crate.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

use crate::StoreError;

/// Fewest characters a password may have (SPEC §5).
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Most characters a password may have (argon2 cost grows with length).
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// A password that meets the length rules. `Debug` is redacted.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    /// Checks the length; the error says what the rule is.
    pub fn parse(raw: &str) -> Result<Self, StoreError> {
        let chars = raw.chars().count();
        if chars < MIN_PASSWORD_CHARS {
            return Err(StoreError::Invalid(format!(
                "the password is {chars} characters long; use at least {MIN_PASSWORD_CHARS}"
            )));
        }
        if chars > MAX_PASSWORD_CHARS {
            return Err(StoreError::Invalid(format!(
                "the password is {chars} characters long; use at most {MAX_PASSWORD_CHARS}"
            )));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The argon2id PHC string of this password, with a random salt. CPU-heavy (tens of ms):
    /// async callers run it on a blocking thread.
    pub fn hash(&self) -> Result<String, StoreError> {
        Argon2::default()
            .hash_password(self.0.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|e| StoreError::PasswordHash(e.to_string()))
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(..)")
    }
}

/// True when `candidate` matches the stored PHC string. A malformed hash never matches.
pub fn verify_password(candidate: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(candidate.as_bytes(), &hash)
            .is_ok()
    })
}
