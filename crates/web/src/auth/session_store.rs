//! tower-sessions on our PostgreSQL pool. The published sqlx store needs sqlx 0.8; this is
//! the same idea (one table, MessagePack records, expiry cleanup) on the store crate's
//! [`SessionTable`], so we keep one sqlx.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use jt_store::sessions::SessionTable;
use jt_store::{Store, StoreError, UserId};
use time::OffsetDateTime;
use tokio::task::JoinHandle;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};

use super::USER_ID_KEY;

/// The backend error text for "the database is unreachable". tower-sessions keeps only a
/// string of a store's error, so this marker is how [`crate::page_error::PageError`] can
/// still answer 503 (try again later) instead of 500.
pub(crate) const UNAVAILABLE: &str = "the session database is unavailable";

/// How often `serve` deletes expired sessions.
const CLEANUP_PERIOD: Duration = Duration::from_secs(15 * 60);

/// Session records in the `sessions` table.
#[derive(Debug, Clone)]
pub struct PgSessionStore {
    table: SessionTable,
}

impl PgSessionStore {
    /// A session store over the store's session table.
    pub fn new(store: &Store) -> Self {
        Self {
            table: store.sessions(),
        }
    }
}

#[async_trait]
impl SessionStore for PgSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // A fresh random id collides with an existing one only by astronomical chance, but
        // taking a new id beats overwriting someone else's session.
        loop {
            let data = encode(record)?;
            let expiry = expiry_of(record)?;
            if self
                .table
                .insert_new(&record.id.to_string(), &data, expiry, user_of(record))
                .await
                .map_err(backend)?
            {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.table
            .save(
                &record.id.to_string(),
                &encode(record)?,
                expiry_of(record)?,
                user_of(record),
            )
            .await
            .map_err(backend)
    }

    async fn load(&self, session_id: &Id) -> session_store::Result<Option<Record>> {
        let Some(data) = self
            .table
            .load(&session_id.to_string())
            .await
            .map_err(backend)?
        else {
            return Ok(None);
        };
        let mut record: Record = rmp_serde::from_slice(&data)
            .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        // The stored record carries no id (see `encode`): it is the one asked for.
        record.id = *session_id;
        Ok(Some(record))
    }

    async fn delete(&self, session_id: &Id) -> session_store::Result<()> {
        self.table
            .delete(&session_id.to_string())
            .await
            .map_err(backend)
    }
}

#[async_trait]
impl ExpiredDeletion for PgSessionStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        let deleted = self.table.delete_expired().await.map_err(backend)?;
        tracing::debug!(deleted, "deleted expired sessions");
        Ok(())
    }
}

/// Deletes expired sessions every 15 minutes until the returned task is aborted.
///
/// Unlike `ExpiredDeletion::continuously_delete_expired`, a failed round (database briefly
/// down) is logged and the next round still runs.
pub fn spawn_expired_session_cleanup(store: &Store) -> JoinHandle<()> {
    let sessions = PgSessionStore::new(store);
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(CLEANUP_PERIOD);
        loop {
            interval.tick().await;
            if let Err(error) = sessions.delete_expired().await {
                tracing::warn!(%error, "could not delete expired sessions; retrying later");
            }
        }
    })
}

/// The record without its id: the table keeps only a hash of the id, and the data column
/// must not undo that.
fn encode(record: &Record) -> session_store::Result<Vec<u8>> {
    let without_id = Record {
        id: Id(0),
        ..record.clone()
    };
    rmp_serde::to_vec(&without_id).map_err(|e| session_store::Error::Encode(e.to_string()))
}

/// Whose session this is, so their sessions can be ended together (password change,
/// account deletion); `None` before log-in.
fn user_of(record: &Record) -> Option<UserId> {
    record
        .data
        .get(USER_ID_KEY)
        .and_then(|value| serde_json::from_value(value.clone()).ok())
}

fn expiry_of(record: &Record) -> session_store::Result<DateTime<Utc>> {
    to_chrono(record.expiry_date)
        .ok_or_else(|| session_store::Error::Encode("session expiry date out of range".to_owned()))
}

fn to_chrono(at: OffsetDateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(at.unix_timestamp(), at.nanosecond())
}

fn backend(error: StoreError) -> session_store::Error {
    if error.is_unavailable() {
        tracing::warn!(%error, "session store unavailable");
        session_store::Error::Backend(UNAVAILABLE.to_owned())
    } else {
        session_store::Error::Backend(error.to_string())
    }
}
