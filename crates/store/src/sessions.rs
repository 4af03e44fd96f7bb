//! Browser session records (the `sessions` table), for the web crate's tower-sessions store.
//!
//! The table is not tenant data: a session is found by its secret id before the user is known,
//! so it has no row-level security. [`SessionTable`] is a handle that can reach this table
//! and nothing else, so handing it out does not open a path to tenant rows.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::{StoreError, UserId};

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
        .bind(id)
        .bind(data)
        .bind(expiry_date)
        .bind(user)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(inserted == 1)
    }

    /// Writes a session of `user` (none before log-in), creating it if it is not there.
    pub async fn save(
        &self,
        id: &str,
        data: &[u8],
        expiry_date: DateTime<Utc>,
        user: Option<UserId>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "insert into sessions (id, data, expiry_date, user_id) values ($1, $2, $3, $4)
             on conflict (id) do update
             set data = excluded.data, expiry_date = excluded.expiry_date,
                 user_id = excluded.user_id",
        )
        .bind(id)
        .bind(data)
        .bind(expiry_date)
        .bind(user)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The data of an unexpired session, or `None` (unknown and expired look the same).
    pub async fn load(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(
            sqlx::query_scalar("select data from sessions where id = $1 and expiry_date > now()")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Deletes a session (log-out, id rotation). Deleting an unknown id is not an error.
    pub async fn delete(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query("delete from sessions where id = $1")
            .bind(id)
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

    /// Deletes every expired session; returns how many.
    pub async fn delete_expired(&self) -> Result<u64, StoreError> {
        Ok(
            sqlx::query("delete from sessions where expiry_date <= now()")
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }
}
