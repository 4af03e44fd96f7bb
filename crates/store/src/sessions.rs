//! Browser session records (the `sessions` table), for the web crate's tower-sessions store.
//!
//! The table is not tenant data: a session is found by its secret id before the user is known,
//! so it has no row-level security. [`SessionTable`] is a handle that can reach this table
//! and nothing else, so handing it out does not open a path to tenant rows.
//!
//! Ids are stored only as their SHA-256 (hex): a copy of the table holds nothing that works
//! as a cookie. Callers pass the id; hashing happens here, in one place.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use crate::{StoreError, UserId};

/// A session is over this long after it was created (at log-in: the id is new then),
/// however active it stays: a stolen cookie does not work forever.
pub const ABSOLUTE_LIFETIME_DAYS: i32 = 30;

/// What the `id` column holds for a session id.
fn id_hash(id: &str) -> String {
    hex::encode(Sha256::digest(id.as_bytes()))
}

/// The `sessions` table. Get one from [`Store::sessions`](crate::Store::sessions); cloning is
/// cheap (a pool).
#[derive(Debug, Clone)]
pub struct SessionTable {
    pool: PgPool,
}

impl SessionTable {
    pub(crate) fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Inserts a new session of `user` (none before log-in). Returns `false` (and changes
    /// nothing) when the id is taken, so the caller can pick another id instead of
    /// overwriting someone else's session.
    pub async fn insert_new(
        &self,
        id: &str,
        data: &[u8],
        expiry_date: DateTime<Utc>,
        user: Option<UserId>,
    ) -> Result<bool, StoreError> {
        let inserted = sqlx::query(
            "insert into sessions (id, data, expiry_date, user_id) values ($1, $2, $3, $4)
             on conflict (id) do nothing",
        )
        .bind(id_hash(id))
        .bind(data)
        .bind(expiry_date)
        .bind(user)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(inserted == 1)
    }

    /// Updates an existing session. A session deleted meanwhile (log-out, expiry) stays
    /// deleted: a concurrent request that loaded it before the log-out must not bring it
    /// back by saving. New sessions go through [`insert_new`](Self::insert_new).
    pub async fn save(
        &self,
        id: &str,
        data: &[u8],
        expiry_date: DateTime<Utc>,
        user: Option<UserId>,
    ) -> Result<(), StoreError> {
        sqlx::query("update sessions set data = $2, expiry_date = $3, user_id = $4 where id = $1")
            .bind(id_hash(id))
            .bind(data)
            .bind(expiry_date)
            .bind(user)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The data of a live session, or `None` (unknown, idle too long and past the absolute
    /// lifetime all look the same).
    pub async fn load(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(sqlx::query_scalar(
            "select data from sessions where id = $1 and expiry_date > now()
             and created_at > now() - make_interval(days => $2)",
        )
        .bind(id_hash(id))
        .bind(ABSOLUTE_LIFETIME_DAYS)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Deletes a session (log-out, id rotation). Deleting an unknown id is not an error.
    pub async fn delete(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query("delete from sessions where id = $1")
            .bind(id_hash(id))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Ends every session of `user` (after a password change: whoever was logged in must log
    /// in again). Returns how many ended.
    pub async fn delete_user_sessions(&self, user: UserId) -> Result<u64, StoreError> {
        Ok(sqlx::query("delete from sessions where user_id = $1")
            .bind(user)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    /// Deletes every expired session (idle or past the absolute lifetime); returns how many.
    pub async fn delete_expired(&self) -> Result<u64, StoreError> {
        Ok(sqlx::query(
            "delete from sessions where expiry_date <= now()
             or created_at <= now() - make_interval(days => $1)",
        )
        .bind(ABSOLUTE_LIFETIME_DAYS)
        .execute(&self.pool)
        .await?
        .rows_affected())
    }

    /// How many session rows exist (expired ones not yet cleaned up included): for
    /// operations and the test that anonymous page views store none.
    pub async fn count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("select count(*) from sessions")
            .fetch_one(&self.pool)
            .await?)
    }
}
