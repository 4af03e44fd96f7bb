//! Webhook URL tokens (SPEC §5): `base64url(HMAC(secret key, recorder id, version))`, 256 bits.
//! Derived, so the owner can be shown the URL again; only its SHA-256 is stored, and bumping
//! the version ("regenerate URL") kills the old one at once.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::{RecorderId, SecretKey};

/// The token of a recorder's webhook URL at `version`.
pub fn webhook_token(secret: &SecretKey, recorder: RecorderId, version: i32) -> String {
    let mac = secret.derive(format!("webhook token:{recorder}:{version}").as_bytes());
    URL_SAFE_NO_PAD.encode(mac)
}

/// What is stored and looked up: SHA-256 of the token text.
pub fn webhook_token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// The full URL to paste into TradingView.
pub fn webhook_url(
    base_url: &str,
    secret: &SecretKey,
    recorder: RecorderId,
    version: i32,
) -> String {
    format!(
        "{}/webhook/{}",
        base_url.trim_end_matches('/'),
        webhook_token(secret, recorder, version)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_stable_per_version_and_change_with_it() {
        let key = SecretKey::from_bytes(vec![1; 32]).unwrap();
        let id = RecorderId::new();
        let v1 = webhook_token(&key, id, 1);
        assert_eq!(v1, webhook_token(&key, id, 1));
        assert_ne!(v1, webhook_token(&key, id, 2));
        assert_ne!(v1, webhook_token(&key, RecorderId::new(), 1));
        assert_eq!(v1.len(), 43, "256 bits in unpadded base64url");
        assert!(
            v1.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
    }
}
