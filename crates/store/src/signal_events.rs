//! Live refresh: the `jt_signals` notifications ingest sends after each batch commits, once
//! per (user, recorder) of the batch. They carry ids only; whoever receives one re-reads what
//! changed through a tenant transaction.
//!
//! They are sent after the commit, in a transaction of their own: a NOTIFY inside the ingest
//! transaction would hold PostgreSQL's notification lock through that commit's WAL flush and
//! so serialize every batch of every process.

use serde::{Deserialize, Serialize};
use sqlx::postgres::PgListener;

use crate::{RecorderId, Store, StoreError, UserId};

/// The notification channel (see the dashboards migration).
const CHANNEL: &str = "jt_signals";

/// New signals were stored for this user's recorder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SignalEvent {
    /// The tenant.
    pub user_id: UserId,
    /// The recorder that received them.
    pub recorder_id: RecorderId,
}

/// One database connection listening on `jt_signals` (one per web process is enough).
#[derive(Debug)]
pub struct SignalListener {
    listener: PgListener,
}

impl Store {
    /// Tells every listening process that these recorders have new committed signals. Lost
    /// on a crash (no WAL flush is waited for): live pages catch up at their next event or
    /// reload.
    pub async fn announce_signals(&self, events: &[SignalEvent]) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let payloads = events
            .iter()
            .map(serde_json::to_string)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| StoreError::Corrupt(format!("signal event: {e}")))?;
        // One round trip, in an implicit transaction whose commit waits for no WAL flush
        // (set_config with is_local lasts until that commit).
        sqlx::query(
            "select count(pg_notify($1, p.payload))
               from set_config('synchronous_commit', 'off', true),
                    unnest($2::text[]) as p(payload)",
        )
        .bind(CHANNEL)
        .bind(payloads)
        .execute(self.unscoped_pool())
        .await?;
        Ok(())
    }

    /// Starts listening for stored signals on a connection of its own.
    pub async fn listen_for_signals(&self) -> Result<SignalListener, StoreError> {
        let mut listener = PgListener::connect_with(self.unscoped_pool()).await?;
        listener.listen(CHANNEL).await?;
        Ok(SignalListener { listener })
    }
}

impl SignalListener {
    /// Waits for the next notification. An error means the connection is unusable (also
    /// when it was merely lost): drop this listener and make a new one (after a pause).
    /// Notifications until the new `LISTEN` are lost, so whatever is shown may be stale.
    pub async fn next(&mut self) -> Result<SignalEvent, StoreError> {
        loop {
            // `None`: the connection closed. sqlx would re-make it on the next call, but
            // the caller must know that notifications were missed, so it is an error.
            let Some(notification) = self.listener.try_recv().await? else {
                return Err(StoreError::Unavailable(sqlx::Error::Io(
                    std::io::Error::new(
                        std::io::ErrorKind::ConnectionAborted,
                        "the LISTEN connection was lost",
                    ),
                )));
            };
            match serde_json::from_str(notification.payload()) {
                Ok(event) => return Ok(event),
                // Not ours to act on; nothing a user could do about it either.
                Err(error) => tracing::warn!(%error, "ignoring a malformed jt_signals payload"),
            }
        }
    }
}
