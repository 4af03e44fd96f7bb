//! Recorders: one per strategy, each with its secret webhook URL and settings.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::violated_constraint;
use crate::typed_text::refuse_control_characters;
use crate::webhook_token::{webhook_token, webhook_token_hash};
use crate::{RecorderId, SecretKey, StoreError, TenantTx};

/// Largest default quantity (matches the parser's quantity limit).
pub const MAX_DEFAULT_QUANTITY: i32 = 10_000;
/// Longest duplicate window, in seconds.
pub const MAX_DUPLICATE_WINDOW_SECS: i32 = 3600;

/// Whether a recorder takes signals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum RecorderStatus {
    /// Signals are applied.
    Active,
    /// Signals are stored as `ignored`.
    Paused,
    /// Soft-deleted: invisible, webhook dead.
    Deleted,
}

/// A recorder as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Recorder {
    /// Id.
    pub id: RecorderId,
    /// Name shown to the user (unique per user, case-insensitively).
    pub name: String,
    /// Status.
    pub status: RecorderStatus,
    /// Contracts per signal when the alert gives none.
    pub default_quantity: i32,
    /// Seconds in which an identical body without `id` counts as a duplicate (0 = off).
    pub duplicate_window_secs: i32,
    /// Dollars per contract per side.
    pub commission_per_contract: Decimal,
    /// Pinned contract for new entries (e.g. `NQZ5`), instead of the roll calendar.
    pub contract_override: Option<String>,
    /// Version of the webhook token (bumped by "regenerate URL").
    pub webhook_token_version: i32,
    /// Sequence number of the last stored signal.
    pub last_seq: i64,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, name, status, default_quantity, duplicate_window_secs, \
    commission_per_contract, contract_override, webhook_token_version, last_seq, created_at, updated_at";

/// A checked recorder name: trimmed, 1 to 100 characters, no control characters.
pub fn parse_name(raw: &str) -> Result<String, StoreError> {
    let name = raw.trim();
    refuse_control_characters("the name", name)?;
    if name.is_empty() || name.chars().count() > 100 {
        return Err(StoreError::Invalid(
            "name must be 1 to 100 characters, e.g. \"NQ breakout\"".into(),
        ));
    }
    Ok(name.to_owned())
}

/// A checked default quantity.
pub fn parse_default_quantity(quantity: i64) -> Result<i32, StoreError> {
    i32::try_from(quantity)
        .ok()
        .filter(|q| (1..=MAX_DEFAULT_QUANTITY).contains(q))
        .ok_or_else(|| {
            StoreError::Invalid(format!(
                "default_quantity {quantity} is out of range: use a whole number of contracts from 1 to {MAX_DEFAULT_QUANTITY}"
            ))
        })
}

/// What may change on a recorder; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct RecorderChanges {
    /// New name.
    pub name: Option<String>,
    /// New default quantity.
    pub default_quantity: Option<i64>,
    /// Pause (`Paused`) or resume (`Active`).
    pub status: Option<RecorderStatus>,
    /// New duplicate window in seconds.
    pub duplicate_window_secs: Option<i64>,
    /// New commission per contract per side.
    pub commission_per_contract: Option<Decimal>,
}

fn name_conflict(error: sqlx::Error, name: &str) -> StoreError {
    match violated_constraint(&error) {
        Some("recorders_user_name_key") => StoreError::Conflict(format!(
            "you already have a recorder named \"{name}\": pick another name"
        )),
        _ => error.into(),
    }
}

/// Creates an active recorder for the transaction's user.
pub async fn create_recorder(
    tx: &mut TenantTx,
    secret: &SecretKey,
    name: &str,
    default_quantity: i64,
) -> Result<Recorder, StoreError> {
    let name = parse_name(name)?;
    let default_quantity = parse_default_quantity(default_quantity)?;
    let id = RecorderId::new();
    let hash = webhook_token_hash(&webhook_token(secret, id, 1));
    let user = tx.user_id();
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "insert into recorders (id, user_id, name, default_quantity, webhook_token_version, webhook_token_hash)
         values ($1, $2, $3, $4, 1, $5) returning {COLUMNS}"
    )))
    .bind(id)
    .bind(user)
    .bind(&name)
    .bind(default_quantity)
    .bind(hash)
    .fetch_one(tx.conn())
    .await
    .map_err(|e| name_conflict(e, &name))
}

/// The user's recorders (not deleted), oldest first.
pub async fn list_recorders(tx: &mut TenantTx) -> Result<Vec<Recorder>, StoreError> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from recorders where status <> 'deleted' order by created_at, id"
    )))
    .fetch_all(tx.conn())
    .await?)
}

/// One recorder of the user (not deleted); `NotFound` for other users' ids too.
pub async fn get_recorder(tx: &mut TenantTx, id: RecorderId) -> Result<Recorder, StoreError> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from recorders where id = $1 and status <> 'deleted'"
    )))
    .bind(id)
    .fetch_optional(tx.conn())
    .await?
    .ok_or(StoreError::NotFound("recorder"))
}

/// Applies `changes` (validated) and returns the updated recorder.
pub async fn update_recorder(
    tx: &mut TenantTx,
    id: RecorderId,
    changes: &RecorderChanges,
) -> Result<Recorder, StoreError> {
    let name = changes.name.as_deref().map(parse_name).transpose()?;
    let default_quantity = changes
        .default_quantity
        .map(parse_default_quantity)
        .transpose()?;
    let window = changes
        .duplicate_window_secs
        .map(|secs| {
            i32::try_from(secs)
                .ok()
                .filter(|s| (0..=MAX_DUPLICATE_WINDOW_SECS).contains(s))
                .ok_or_else(|| {
                    StoreError::Invalid(format!(
                        "duplicate_window_secs {secs} is out of range: use 0 (off) to {MAX_DUPLICATE_WINDOW_SECS} seconds"
                    ))
                })
        })
        .transpose()?;
    if let Some(commission) = changes.commission_per_contract
        && (commission.is_sign_negative()
            || commission > Decimal::from(1000)
            || commission.scale() > 9)
    {
        return Err(StoreError::Invalid(format!(
            "commission_per_contract {commission} is out of range: use dollars per contract per side from 0 to 1000, e.g. \"0.62\""
        )));
    }
    let status = match changes.status {
        Some(RecorderStatus::Deleted) => {
            return Err(StoreError::Invalid(
                "status must be \"active\" or \"paused\"; delete a recorder with DELETE".into(),
            ));
        }
        other => other,
    };
    let display_name = name.clone().unwrap_or_default();
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "update recorders set
            name = coalesce($2, name),
            default_quantity = coalesce($3, default_quantity),
            status = coalesce($4, status),
            duplicate_window_secs = coalesce($5, duplicate_window_secs),
            commission_per_contract = coalesce($6, commission_per_contract)
         where id = $1 and status <> 'deleted'
         returning {COLUMNS}"
    )))
    .bind(id)
    .bind(name)
    .bind(default_quantity)
    .bind(status)
    .bind(window)
    .bind(changes.commission_per_contract)
    .fetch_optional(tx.conn())
    .await
    .map_err(|e| name_conflict(e, &display_name))?
    .ok_or(StoreError::NotFound("recorder"))
}

/// Soft delete: the recorder disappears, its webhook dies, its history stays.
pub async fn delete_recorder(tx: &mut TenantTx, id: RecorderId) -> Result<(), StoreError> {
    let deleted = sqlx::query(
        "update recorders set status = 'deleted', deleted_at = now() where id = $1 and status <> 'deleted'",
    )
    .bind(id)
    .execute(tx.conn())
    .await?
    .rows_affected();
    if deleted == 0 {
        return Err(StoreError::NotFound("recorder"));
    }
    Ok(())
}

/// New webhook URL; the old one stops working when this commits.
pub async fn regenerate_webhook(
    tx: &mut TenantTx,
    secret: &SecretKey,
    id: RecorderId,
) -> Result<Recorder, StoreError> {
    let current = get_recorder(tx, id).await?;
    let version = current.webhook_token_version + 1;
    let hash = webhook_token_hash(&webhook_token(secret, id, version));
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "update recorders set webhook_token_version = $2, webhook_token_hash = $3
         where id = $1 returning {COLUMNS}"
    )))
    .bind(id)
    .bind(version)
    .bind(hash)
    .fetch_one(tx.conn())
    .await
    .map_err(Into::into)
}
