//! The audit log as the admin console pages through it, newest first.

use chrono::{DateTime, Utc};

use crate::{AdminTx, StoreError, UserId};

/// Largest page of entries.
pub const MAX_PAGE_SIZE: i64 = 200;

/// One entry: who did what to whom, when, from where.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditEntry {
    /// Entry id (also the paging cursor).
    pub id: i64,
    /// When.
    pub created_at: DateTime<Utc>,
    /// Who: the admin's e-mail, or `cli`.
    pub actor: String,
    /// The admin account, when a logged-in admin acted.
    pub actor_user_id: Option<UserId>,
    /// The client address, when the action came over HTTP.
    pub ip: Option<String>,
    /// What, e.g. `user.disable`, `user.view`.
    pub action: String,
    /// Whom.
    pub target_user_id: Option<UserId>,
    /// The target's current e-mail address, if the user still exists.
    pub target_email: Option<String>,
    /// Anything else the action recorded (JSON).
    pub details: serde_json::Value,
}

/// A page of entries older than `before` (all when `None`), optionally only about one user;
/// returns the cursor of the next page.
pub async fn list_audit_entries(
    tx: &mut AdminTx,
    about: Option<UserId>,
    before: Option<i64>,
    limit: i64,
) -> Result<(Vec<AuditEntry>, Option<i64>), StoreError> {
    let limit = limit.clamp(1, MAX_PAGE_SIZE);
    let rows: Vec<AuditEntry> = sqlx::query_as(
        "select a.id, a.created_at, a.actor, a.actor_user_id, host(a.ip) as ip, a.action,
                a.target_user_id, u.email as target_email, a.details
         from audit_log a left join users u on u.id = a.target_user_id
         where a.id < $1 and ($2::uuid is null or a.target_user_id = $2)
         order by a.id desc limit $3",
    )
    .bind(before.unwrap_or(i64::MAX))
    .bind(about)
    .bind(limit + 1)
    .fetch_all(tx.conn())
    .await?;
    Ok(crate::paging::split_page(rows, limit, |entry| entry.id))
}
