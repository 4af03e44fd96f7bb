//! Rotating `JT_SECRET_KEY` (SPEC §4: "offer a documented rotation command rather than
//! silent breakage"). What the key derives, and so what a rotation changes:
//!
//! - **webhook URLs**: every recorder's token is an HMAC under the key, and only its hash is
//!   stored. The hashes are recomputed under the new key in one transaction, so from its
//!   commit the new URLs work and the old ones answer 404: users must paste the new URL
//!   (shown on their recorder pages) into their TradingView alerts.
//! - **database role passwords** (`jt_app`, and `jt_owner` on the embedded cluster) when we
//!   manage them: set to the new derivation in the same step.
//! - **encrypted broker credentials** (once they exist): must be re-encrypted here, in the
//!   same transaction, before the old key is dropped.

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection};

use crate::provision::{APP_ROLE, bootstrap_cluster, owner_for_rotation};
use crate::webhook_token::{webhook_token, webhook_token_hash};
use crate::{Database, DbConfig, RecorderId, SecretKey, StoreError};

/// What a rotation changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotationReport {
    /// Recorders whose webhook URL changed.
    pub webhook_urls: u64,
    /// Whether this command set the database role passwords (otherwise the operator does,
    /// for roles configured by hand through `JT_APP_DATABASE_URL`).
    pub role_passwords: bool,
}

/// Moves everything derived from `config.secret_key` (the current key) to `new_key`. `db`
/// must have been opened with [`crate::Access::Migrate`] (the owner's rights are needed).
pub async fn rotate_secret_key(
    db: &Database,
    config: &DbConfig,
    new_key: &SecretKey,
) -> Result<RotationReport, StoreError> {
    let owner: PgConnectOptions = owner_for_rotation(db, config).await?;
    let mut conn = owner.connect().await?;
    let mut tx = conn.begin().await?;
    // Row-level security is forced for the owner too, and no policy lets anyone rewrite
    // other tenants' recorders; lifting the force inside this transaction (the owner's
    // right, and undone at commit by the statement below) is narrower than a standing
    // policy. The table stays locked until commit, so no webhook sees a half-rotated state.
    sqlx::query("alter table recorders no force row level security")
        .execute(&mut *tx)
        .await?;
    let recorders: Vec<(RecorderId, i32)> =
        sqlx::query_as("select id, webhook_token_version from recorders")
            .fetch_all(&mut *tx)
            .await?;
    let (ids, hashes): (Vec<uuid::Uuid>, Vec<Vec<u8>>) = recorders
        .iter()
        .map(|(id, version)| {
            let hash = webhook_token_hash(&webhook_token(new_key, *id, *version));
            (id.0, hash)
        })
        .unzip();
    let webhook_urls = sqlx::query(
        "update recorders r set webhook_token_hash = new.hash
         from unnest($1::uuid[], $2::bytea[]) as new(id, hash) where r.id = new.id",
    )
    .bind(&ids)
    .bind(&hashes)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    sqlx::query("alter table recorders force row level security")
        .execute(&mut *tx)
        .await?;
    let role_passwords = config.app_database_url.is_none() && db.cluster().is_none();
    if role_passwords {
        // DATABASE_URL's role created jt_app (it has CREATEROLE). The name is our constant
        // and the password hex, so formatting is safe.
        let password = new_key.role_password(APP_ROLE);
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "alter role {APP_ROLE} password '{password}'"
        )))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    conn.close().await?;
    if let Some(cluster) = db.cluster() {
        // Embedded: the superuser sets both roles' passwords from the new key.
        bootstrap_cluster(&cluster.superuser_options("postgres"), new_key).await?;
        return Ok(RotationReport {
            webhook_urls,
            role_passwords: true,
        });
    }
    Ok(RotationReport {
        webhook_urls,
        role_passwords,
    })
}
