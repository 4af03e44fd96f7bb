//! Browser session records (the `sessions` table), for the web crate's tower-sessions store.
//!
//! The table is not tenant data: a session is found by its secret id before the user is known,
//! so it has no row-level security. [`SessionTable`] is a handle that can reach this table
//! and nothing else, so handing it out does not open a path to tenant rows.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::StoreError;

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

    /// Inserts a new session. Returns `false` (and changes nothing) when the id is taken, so
    /// the caller can pick another id instead of overwriting someone else's session.
    pub async fn insert_new(
        &self,
        id: &str,
        data: &[u8],
        expiry_date: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let inserted = sqlx::query(
            "insert into sessions (id, data, expiry_date) values ($1, $2, $3)
             on conflict (id) do nothing",
        )
        .bind(id)
        .bind(data)
        .bind(expiry_date)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(inserted == 1)
    }

    /// Writes a session, creating it if it is not there.
    pub async fn save(
        &self,
        id: &str,
        data: &[u8],
        expiry_date: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "insert into sessions (id, data, expiry_date) values ($1, $2, $3)
             on conflict (id) do update
             set data = excluded.data, expiry_date = excluded.expiry_date",
        )
        .bind(id)
        .bind(data)
        .bind(expiry_date)
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
