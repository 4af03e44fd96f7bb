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
    // One statement per shape with a literal limit, so the cached generic plan still walks
    // the primary key (or audit_log_target) backwards instead of sorting the whole log,
    // which grows with every admin page view.
    let about_filter = if about.is_some() {
        "and a.target_user_id = $2"
    } else {
        ""
    };
    let sql = format!(
        "select a.id, a.created_at, a.actor, a.actor_user_id, host(a.ip) as ip, a.action,
                a.target_user_id, u.email as target_email, a.details
         from audit_log a left join users u on u.id = a.target_user_id
         where a.id < $1 {about_filter}
         order by a.id desc limit {}",
        limit + 1
    );
    let mut statement =
        sqlx::query_as::<_, AuditEntry>(sqlx::AssertSqlSafe(sql)).bind(before.unwrap_or(i64::MAX));
    if let Some(user) = about {
        statement = statement.bind(user);
    }
    let rows = statement.fetch_all(tx.conn()).await?;
    Ok(crate::paging::split_page(rows, limit, |entry| entry.id))
}
