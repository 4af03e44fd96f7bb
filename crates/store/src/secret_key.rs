//! `JT_SECRET_KEY`: the one secret everything else is derived from (database role passwords
//! now; webhook tokens and credential encryption later). It must stay stable, and be the
//! same in every process: it comes from the environment (`JT_SECRET_KEY`) or a file
//! (`JT_SECRET_KEY_FILE`), never a command-line flag (visible in `ps`), and is generated
//! only for the embedded single-machine database.

use std::path::Path;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::embedded::EmbeddedError;

/// The minimum length of `JT_SECRET_KEY`.
pub const MIN_SECRET_KEY_BYTES: usize = 32;

/// The server's secret key. Never logged (`Debug` is redacted).
#[derive(Clone)]
pub struct SecretKey(Vec<u8>);

/// The secret key is missing or unusable.
#[derive(Debug, thiserror::Error)]
pub enum SecretKeyError {
    /// Too short to be a real key.
    #[error(
        "JT_SECRET_KEY is {0} bytes long; it must be at least 32 bytes. Generate one with \
         `openssl rand -hex 32`"
    )]
    TooShort(usize),
    /// A production database without a key: a generated one would differ per machine.
    #[error(
        "JT_SECRET_KEY (or JT_SECRET_KEY_FILE) is required with DATABASE_URL or \
         JT_APP_DATABASE_URL: a key generated on each machine would give every machine other \
         webhook URLs and role passwords. Generate one once with `openssl rand -hex 32` and \
         give the same value to every process (e.g. `fly secrets set JT_SECRET_KEY=...`)"
    )]
    Required,
    /// `JT_SECRET_KEY_FILE` could not be read.
    #[error("could not read JT_SECRET_KEY_FILE {path}: {source}")]
    FileUnreadable {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The generated key file could not be read or written.
    #[error(transparent)]
    File(#[from] EmbeddedError),
}

impl SecretKey {
    /// The key stored in `{data_dir}/secret.key`, generated (under a lock) on first use: for
    /// the embedded single-machine set-up only. Production passes the key in.
    pub fn load_or_generate(data_dir: &Path) -> Result<Self, SecretKeyError> {
        std::fs::create_dir_all(data_dir).map_err(EmbeddedError::io(format!(
            "create the data dir {}",
            data_dir.display()
        )))?;
        let stored = crate::embedded::read_or_create_secret(&data_dir.join("secret.key"), 32)?;
        Self::from_bytes(stored.into_bytes())
    }

    /// Makes `text` the key stored in `{data_dir}/secret.key` (after a rotation of a
    /// generated key).
    pub fn replace_generated(data_dir: &Path, text: &str) -> Result<(), SecretKeyError> {
        crate::embedded::replace_secret(&data_dir.join("secret.key"), text)?;
        Ok(())
    }

    /// A new random key as text (64 hex digits), for rotation.
    pub fn generate_text() -> String {
        hex::encode(rand::random::<[u8; 32]>())
    }

    /// The key in a file (`JT_SECRET_KEY_FILE`, e.g. a mounted secret); surrounding
    /// whitespace (a trailing newline) is not part of it.
    pub fn read_file(path: &Path) -> Result<Self, SecretKeyError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| SecretKeyError::FileUnreadable {
                path: path.display().to_string(),
                source,
            })?;
        Self::from_bytes(text.trim().as_bytes().to_vec())
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
