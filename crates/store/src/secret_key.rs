//! `JT_SECRET_KEY`: the one secret everything else is derived from (database role passwords
//! now; webhook tokens and credential encryption later). It must stay stable.

use std::path::Path;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::embedded::EmbeddedError;

/// The minimum length of `JT_SECRET_KEY`.
pub const MIN_SECRET_KEY_BYTES: usize = 32;

/// The server's secret key. Never logged (`Debug` is redacted).
#[derive(Clone)]
pub struct SecretKey(Vec<u8>);

/// The key given in `JT_SECRET_KEY` is unusable.
#[derive(Debug, thiserror::Error)]
pub enum SecretKeyError {
    /// Too short to be a real key.
    #[error(
        "JT_SECRET_KEY is {0} bytes long; it must be at least 32 bytes. Generate one with \
         `openssl rand -hex 32`"
    )]
    TooShort(usize),
    /// The generated key file could not be read or written.
    #[error(transparent)]
    File(#[from] EmbeddedError),
}

impl SecretKey {
    /// From `JT_SECRET_KEY` when given; otherwise the key stored in `{data_dir}/secret.key`,
    /// generated on first use (development and single-box installs).
    pub fn load(from_env: Option<&str>, data_dir: &Path) -> Result<Self, SecretKeyError> {
        if let Some(key) = from_env {
            return Self::from_bytes(key.as_bytes().to_vec());
        }
        std::fs::create_dir_all(data_dir).map_err(EmbeddedError::io(format!(
            "create the data dir {}",
            data_dir.display()
        )))?;
        let stored = crate::embedded::read_or_create_secret(&data_dir.join("secret.key"), 32)?;
        Self::from_bytes(stored.into_bytes())
    }

    /// Checks the length.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, SecretKeyError> {
        if bytes.len() < MIN_SECRET_KEY_BYTES {
            return Err(SecretKeyError::TooShort(bytes.len()));
        }
        Ok(Self(bytes))
    }

    /// HMAC-SHA256 of `purpose` under the key: a stable value per purpose.
    pub fn derive(&self, purpose: &[u8]) -> [u8; 32] {
        // HMAC accepts keys of any length; new_from_slice cannot fail for it.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(purpose);
        mac.finalize().into_bytes().into()
    }

    /// The password of a database role we manage.
    pub fn role_password(&self, role: &str) -> String {
        hex::encode(self.derive(format!("postgres role password:{role}").as_bytes()))
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(..)")
    }
}
