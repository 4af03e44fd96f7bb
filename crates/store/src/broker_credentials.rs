//! Broker credentials at rest: AES-256-GCM under a key derived from `JT_SECRET_KEY`, a fresh
//! random nonce per sealing, and the account id as associated data (a sealed blob copied onto
//! another account does not open).

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::{BrokerAccountId, SecretKey, StoreError};

const NONCE_BYTES: usize = 12;
/// Changing the purpose string would make every stored credential unreadable.
const KEY_PURPOSE: &[u8] = b"broker credentials v1";

/// A Tradovate login. `Debug` shows the username only.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerCredentials {
    /// Username.
    pub username: String,
    /// Password.
    pub password: String,
    /// API key app id.
    pub app_id: String,
    /// API key id.
    pub cid: String,
    /// API secret.
    pub sec: String,
    /// Device id (optional).
    pub device_id: Option<String>,
}

impl std::fmt::Debug for BrokerCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrokerCredentials")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

fn cipher(key: &SecretKey) -> Aes256Gcm {
    let derived = key.derive(KEY_PURPOSE);
    Aes256Gcm::new(&derived.into())
}

/// Seals `credentials` for `account`: nonce || ciphertext.
pub(crate) fn seal(
    key: &SecretKey,
    account: BrokerAccountId,
    credentials: &BrokerCredentials,
) -> Result<Vec<u8>, StoreError> {
    let plain = serde_json::to_vec(credentials)
        .map_err(|e| StoreError::Corrupt(format!("credentials do not serialize: {e}")))?;
    let mut nonce = [0u8; NONCE_BYTES];
    rand::rng().fill_bytes(&mut nonce);
    let sealed = cipher(key)
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: &plain,
                aad: account.0.as_bytes(),
            },
        )
        .map_err(|_| StoreError::Corrupt("credential encryption failed".to_owned()))?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// Opens what [`seal`] made for the same account and key.
pub(crate) fn open(
    key: &SecretKey,
    account: BrokerAccountId,
    sealed: &[u8],
) -> Result<BrokerCredentials, StoreError> {
    let unreadable = || {
        StoreError::Corrupt(format!(
            "the credentials of broker account {account} do not decrypt (was JT_SECRET_KEY changed?)"
        ))
    };
    if sealed.len() <= NONCE_BYTES {
        return Err(unreadable());
    }
    let (nonce, ciphertext) = sealed.split_at(NONCE_BYTES);
    let plain = cipher(key)
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad: account.0.as_bytes(),
            },
        )
        .map_err(|_| unreadable())?;
    serde_json::from_slice(&plain).map_err(|_| unreadable())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> SecretKey {
        SecretKey::from_bytes(vec![byte; 40]).expect("key")
    }

    fn credentials() -> BrokerCredentials {
        BrokerCredentials {
            username: "trader".to_owned(),
            password: "hunter2-long".to_owned(),
            app_id: "app".to_owned(),
            cid: "8".to_owned(),
            sec: "secret-uuid".to_owned(),
            device_id: None,
        }
    }

    #[test]
    fn sealed_credentials_open_only_for_the_same_key_and_account() {
        let account = BrokerAccountId::new();
        let sealed = seal(&key(1), account, &credentials()).expect("seal");
        assert_eq!(
            open(&key(1), account, &sealed).expect("open"),
            credentials()
        );
        assert!(open(&key(2), account, &sealed).is_err(), "other key");
        assert!(
            open(&key(1), BrokerAccountId::new(), &sealed).is_err(),
            "other account"
        );
        let text = String::from_utf8_lossy(&sealed);
        assert!(!text.contains("hunter2"), "the password is not in clear");
        assert_ne!(
            sealed,
            seal(&key(1), account, &credentials()).expect("seal"),
            "fresh nonce"
        );
    }

    #[test]
    fn debug_output_hides_secrets() {
        let shown = format!("{:?}", credentials());
        assert!(
            shown.contains("trader")
                && !shown.contains("hunter2")
                && !shown.contains("secret-uuid")
        );
    }
}
