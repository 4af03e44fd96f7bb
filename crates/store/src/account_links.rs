//! Recorder→broker-account links: each accepted signal of the recorder becomes one order on
//! the account, `multiplier` times the signal's quantity, unless the link is disabled.

use chrono::{DateTime, Utc};

use crate::error::violated_constraint;
use crate::{AccountLinkId, BrokerAccountId, RecorderId, StoreError, TenantTx};

/// Largest multiplier.
pub const MAX_MULTIPLIER: i32 = 1000;
/// Longest max order delay, in seconds.
pub const MAX_DELAY_SECS: i32 = 3600;
/// The default max order delay (SPEC §8).
pub const DEFAULT_MAX_DELAY_SECS: i32 = 30;

/// A link as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AccountLink {
    /// Id.
    pub id: AccountLinkId,
    /// The recorder whose signals are executed.
    pub recorder_id: RecorderId,
    /// The account orders go to.
    pub account_id: BrokerAccountId,
    /// The account's name (for display).
    pub account_name: String,
    /// Contracts per signal contract (≥ 1).
    pub multiplier: i32,
    /// Whether orders are made.
    pub enabled: bool,
    /// An order not sent within this many seconds of its signal expires.
    pub max_delay_secs: i32,
    /// Created.
    pub created_at: DateTime<Utc>,
}

/// Link settings (all set on create; the given ones on update).
#[derive(Debug, Clone, Default)]
pub struct LinkSettings {
    /// Multiplier.
    pub multiplier: Option<i32>,
    /// Enabled.
    pub enabled: Option<bool>,
    /// Max delay in seconds.
    pub max_delay_secs: Option<i32>,
}

/// Checks a multiplier (1 to 1000).
pub fn parse_multiplier(value: i64) -> Result<i32, StoreError> {
    i32::try_from(value)
        .ok()
        .filter(|m| (1..=MAX_MULTIPLIER).contains(m))
        .ok_or_else(|| {
            StoreError::Invalid(format!(
                "multiplier must be a whole number from 1 to {MAX_MULTIPLIER}"
            ))
        })
}

/// Checks a max order delay (1 to 3600 seconds).
pub fn parse_max_delay(value: i64) -> Result<i32, StoreError> {
    i32::try_from(value)
        .ok()
        .filter(|s| (1..=MAX_DELAY_SECS).contains(s))
        .ok_or_else(|| {
            StoreError::Invalid(format!(
                "max_delay_secs must be from 1 to {MAX_DELAY_SECS} seconds"
            ))
        })
}

const SELECT: &str = "select l.id, l.recorder_id, l.account_id, a.name as account_name,
        l.multiplier, l.enabled, l.max_delay_secs, l.created_at
    from recorder_account_links l join broker_accounts a on a.id = l.account_id";

/// Links `recorder` to `account`.
pub async fn create_link(
    tx: &mut TenantTx,
    recorder: RecorderId,
    account: BrokerAccountId,
    settings: &LinkSettings,
) -> Result<AccountLink, StoreError> {
    // Both must be the tenant's (RLS hides other tenants' rows: "not found" either way).
    crate::recorders::get_recorder(tx, recorder).await?;
    crate::broker_accounts::get_account(tx, account).await?;
    let id = AccountLinkId::new();
    let user = tx.user_id();
    sqlx::query(
        "insert into recorder_account_links
             (id, user_id, recorder_id, account_id, multiplier, enabled, max_delay_secs)
         values ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id)
    .bind(user)
    .bind(recorder)
    .bind(account)
    .bind(settings.multiplier.unwrap_or(1))
    .bind(settings.enabled.unwrap_or(true))
    .bind(settings.max_delay_secs.unwrap_or(DEFAULT_MAX_DELAY_SECS))
    .execute(tx.conn())
    .await
    .map_err(|e| match violated_constraint(&e) {
        Some("recorder_account_links_recorder_account_key") => StoreError::Conflict(
            "this recorder is already linked to that account; change the existing link".to_owned(),
        ),
        _ => e.into(),
    })?;
    get_link(tx, recorder, id).await
}

/// The links of a recorder, oldest first.
pub async fn list_links(
    tx: &mut TenantTx,
    recorder: RecorderId,
) -> Result<Vec<AccountLink>, StoreError> {
    crate::recorders::get_recorder(tx, recorder).await?;
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} where l.recorder_id = $1 order by l.created_at, l.id"
    )))
    .bind(recorder)
    .fetch_all(tx.conn())
    .await?)
}

/// One link of a recorder.
pub async fn get_link(
    tx: &mut TenantTx,
    recorder: RecorderId,
    id: AccountLinkId,
) -> Result<AccountLink, StoreError> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} where l.recorder_id = $1 and l.id = $2"
    )))
    .bind(recorder)
    .bind(id)
    .fetch_optional(tx.conn())
    .await?
    .ok_or(StoreError::NotFound("link"))
}

/// Changes the given settings.
pub async fn update_link(
    tx: &mut TenantTx,
    recorder: RecorderId,
    id: AccountLinkId,
    settings: &LinkSettings,
) -> Result<AccountLink, StoreError> {
    let updated = sqlx::query(
        "update recorder_account_links set
             multiplier = coalesce($3, multiplier),
             enabled = coalesce($4, enabled),
             max_delay_secs = coalesce($5, max_delay_secs)
         where recorder_id = $1 and id = $2",
    )
    .bind(recorder)
    .bind(id)
    .bind(settings.multiplier)
    .bind(settings.enabled)
    .bind(settings.max_delay_secs)
    .execute(tx.conn())
    .await?;
    if updated.rows_affected() == 0 {
        return Err(StoreError::NotFound("link"));
    }
    get_link(tx, recorder, id).await
}

/// Removes a link (orders already made stay).
pub async fn delete_link(
    tx: &mut TenantTx,
    recorder: RecorderId,
    id: AccountLinkId,
) -> Result<(), StoreError> {
    let deleted =
        sqlx::query("delete from recorder_account_links where recorder_id = $1 and id = $2")
            .bind(recorder)
            .bind(id)
            .execute(tx.conn())
            .await?;
    if deleted.rows_affected() == 0 {
        return Err(StoreError::NotFound("link"));
    }
    Ok(())
}
