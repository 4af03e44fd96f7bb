//! Bearer tokens for the JSON API: random, shown once, stored as a SHA-256 hash (they carry
//! 256 random bits, so a fast hash is enough and allows an indexed lookup).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use rand::Rng as _;
use sha2::{Digest, Sha256};

use crate::typed_text::refuse_control_characters;
use crate::{ApiTokenId, StoreError, TenantTx};

/// Prefix that makes our tokens recognisable (and greppable by secret scanners).
pub const API_TOKEN_PREFIX: &str = "jt_";

/// A token just created: the only time its plain text exists.
#[derive(Debug)]
pub struct NewApiToken {
    /// Its id.
    pub id: ApiTokenId,
    /// The secret to give the user.
    pub token: String,
}

/// SHA-256 of a token's text, as stored.
pub fn hash_api_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Creates a token named `name` for the transaction's user.
pub async fn create_api_token(tx: &mut TenantTx, name: &str) -> Result<NewApiToken, StoreError> {
    let name = name.trim();
    refuse_control_characters("the token name", name)?;
    if name.is_empty() || name.chars().count() > 100 {
        return Err(StoreError::Invalid(
            "the token name must be 1 to 100 characters, e.g. \"trading bot\"".into(),
        ));
    }
    let mut random = [0u8; 32];
    rand::rng().fill(&mut random);
    let token = format!("{API_TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(random));
    let id = ApiTokenId::new();
    let user = tx.user_id();
    sqlx::query("insert into api_tokens (id, user_id, name, token_hash) values ($1, $2, $3, $4)")
        .bind(id)
        .bind(user)
        .bind(name)
        .bind(hash_api_token(&token))
        .execute(tx.conn())
        .await?;
    Ok(NewApiToken { id, token })
}

/// A token as its owner sees it in the list: never its text (only the hash is stored).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApiTokenRow {
    /// Id.
    pub id: ApiTokenId,
    /// The name the user gave it.
    pub name: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last accepted by the API (stamped at most once a minute), if ever.
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked; a revoked token is refused by the API.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// The user's tokens, revoked ones included, newest first.
pub async fn list_api_tokens(tx: &mut TenantTx) -> Result<Vec<ApiTokenRow>, StoreError> {
    Ok(sqlx::query_as(
        "select id, name, created_at, last_used_at, revoked_at from api_tokens
         order by created_at desc, id",
    )
    .fetch_all(tx.conn())
    .await?)
}

/// Revokes one of the user's tokens: the API refuses it from this commit on. Revoking a
/// revoked token keeps its first revocation time. `NotFound` for other users' ids too.
pub async fn revoke_api_token(tx: &mut TenantTx, id: ApiTokenId) -> Result<(), StoreError> {
    let found =
        sqlx::query("update api_tokens set revoked_at = coalesce(revoked_at, now()) where id = $1")
            .bind(id)
            .execute(tx.conn())
            .await?
            .rows_affected();
    if found == 0 {
        return Err(StoreError::NotFound("API token"));
    }
    Ok(())
}
