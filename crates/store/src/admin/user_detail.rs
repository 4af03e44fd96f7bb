//! One user as the admin console shows them (read-only): account, signal totals by status,
//! recorders, recent rejected signals. Each query is an index probe or walk bounded by the
//! user's recorders or a small limit.

use chrono::{DateTime, Utc};

use crate::recorders::RecorderStatus;
use crate::users::{Role, UserStatus};
use crate::{AdminTx, RecorderId, StoreError, UserId};

/// How many rejected signals the detail page lists.
pub const RECENT_REJECTED: i64 = 20;

/// The account.
#[derive(Debug, Clone)]
pub struct UserAccount {
    /// The user.
    pub id: UserId,
    /// E-mail address.
    pub email: String,
    /// Admin or trader.
    pub role: Role,
    /// Active or disabled.
    pub status: UserStatus,
    /// Signed up.
    pub created_at: DateTime<Utc>,
    /// Last change of the account row (e.g. when it was disabled).
    pub updated_at: DateTime<Utc>,
}

/// Signals stored for a user, by status. Call [`super::fold_signal_deltas`] first in the
/// same transaction for exact counts.
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct SignalTotals {
    /// All statuses.
    pub signals: i64,
    /// Applied.
    pub accepted: i64,
    /// Refused with a reason.
    pub rejected: i64,
    /// Repeats.
    pub duplicate: i64,
    /// Arrived while the recorder was paused.
    pub ignored: i64,
    /// Arrival of the newest signal (the last webhook).
    pub last_signal_at: Option<DateTime<Utc>>,
}

/// A recorder of the user, deleted ones included.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AdminRecorderRow {
    /// Id.
    pub id: RecorderId,
    /// Name.
    pub name: String,
    /// Active, paused or deleted.
    pub status: RecorderStatus,
    /// Signals stored (its sequence number).
    pub last_seq: i64,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Arrival of its newest signal.
    pub last_signal_at: Option<DateTime<Utc>>,
}

/// A rejected signal and why.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RejectedSignal {
    /// Signal id.
    pub id: i64,
    /// Its recorder.
    pub recorder_id: RecorderId,
    /// Arrival.
    pub received_at: DateTime<Utc>,
    /// The action, when the alert could be read that far.
    pub action: Option<String>,
    /// The ticker, likewise.
    pub ticker: Option<String>,
    /// The reason given to the sender.
    pub error: Option<String>,
}

/// The account, or `NotFound`.
pub async fn load_account(tx: &mut AdminTx, user: UserId) -> Result<UserAccount, StoreError> {
    let row: (UserId, String, String, String, DateTime<Utc>, DateTime<Utc>) = sqlx::query_as(
        "select id, email, role, status, created_at, updated_at from users where id = $1",
    )
    .bind(user)
    .fetch_optional(tx.conn())
    .await?
    .ok_or(StoreError::NotFound("user"))?;
    let (id, email, role, status, created_at, updated_at) = row;
    Ok(UserAccount {
        id,
        email,
        role: Role::from_column(&role)?,
        status: UserStatus::from_column(&status)?,
        created_at,
        updated_at,
    })
}

/// The user's signal totals (zero when none).
pub async fn signal_totals(tx: &mut AdminTx, user: UserId) -> Result<SignalTotals, StoreError> {
    Ok(sqlx::query_as(
        "select signals, accepted, rejected, duplicate, ignored, last_signal_at
         from user_signal_stats where user_id = $1",
    )
    .bind(user)
    .fetch_optional(tx.conn())
    .await?
    .unwrap_or_default())
}

/// Every recorder of the user, oldest first, with the arrival of its newest signal.
pub async fn list_recorders(
    tx: &mut AdminTx,
    user: UserId,
) -> Result<Vec<AdminRecorderRow>, StoreError> {
    // One probe per recorder on (recorder_id, seq) for its newest signal.
    Ok(sqlx::query_as(
        "select r.id, r.name, r.status, r.last_seq, r.created_at,
                (select s.received_at from recorded_signals s
                 where s.recorder_id = r.id order by s.seq desc limit 1) as last_signal_at
         from recorders r where r.user_id = $1
         order by r.created_at, r.id",
    )
    .bind(user)
    .fetch_all(tx.conn())
    .await?)
}

/// The user's newest rejected signals (at most [`RECENT_REJECTED`]), newest first.
pub async fn recent_rejected_signals(
    tx: &mut AdminTx,
    user: UserId,
) -> Result<Vec<RejectedSignal>, StoreError> {
    // Walks the partial index recorded_signals_user_rejected.
    Ok(sqlx::query_as(
        "select id, recorder_id, received_at, action, ticker, error from recorded_signals
         where user_id = $1 and status = 'rejected'
         order by id desc limit $2",
    )
    .bind(user)
    .bind(RECENT_REJECTED)
    .fetch_all(tx.conn())
    .await?)
}
