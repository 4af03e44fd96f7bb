//! What the admin health page reads from the database: the cluster-wide signal rate and
//! user totals. (Process-local figures such as ingest latency live in the web crate.)

use chrono::{DateTime, Utc};

use crate::{AdminTx, StoreError};

/// Signals stored in one minute, all users together.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SignalMinute {
    /// Start of the minute.
    pub minute: DateTime<Utc>,
    /// Signals stored in it (by any server of the cluster).
    pub signals: i64,
}

/// The signal rate of the last `minutes` minutes, newest first, minutes without signals
/// included as zero. Call [`super::fold_signal_deltas`] first in the same transaction.
pub async fn signals_per_minute(
    tx: &mut AdminTx,
    minutes: i32,
) -> Result<Vec<SignalMinute>, StoreError> {
    Ok(sqlx::query_as(
        "select g.minute, coalesce(m.signals, 0) as signals
         from generate_series(date_trunc('minute', now()) - make_interval(mins => $1 - 1),
                              date_trunc('minute', now()), interval '1 minute') as g(minute)
         left join signal_minutes m on m.minute = g.minute
         order by g.minute desc",
    )
    .bind(minutes.max(1))
    .fetch_all(tx.conn())
    .await?)
}

/// Users and signals in total.
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct Totals {
    /// Accounts.
    pub users: i64,
    /// Disabled accounts.
    pub disabled_users: i64,
    /// Administrators.
    pub admins: i64,
    /// Signals ever stored.
    pub signals: i64,
}

/// Users (by status and role) and all signals ever stored: one scan of the admin users
/// list (one row per user; see the migration for why the view).
pub async fn totals(tx: &mut AdminTx) -> Result<Totals, StoreError> {
    Ok(sqlx::query_as(
        "select count(*) as users,
                count(*) filter (where status = 'disabled') as disabled_users,
                count(*) filter (where role = 'admin') as admins,
                coalesce(sum(signals), 0)::bigint as signals
         from admin_user_list",
    )
    .fetch_one(tx.conn())
    .await?)
}
