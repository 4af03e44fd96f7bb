//! `GET /admin/audit?before=`: the audit log, newest first, keyset pages.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use jt_store::admin::audit_log::{AuditEntry, list_audit_entries};
use serde::Deserialize;

use super::AdminUser;
use crate::AppState;
use crate::auth::{AuthUser, CsrfToken};
use crate::page_error::PageError;
use crate::pages::display;

/// Entries per page.
const PAGE_SIZE: i64 = 50;

/// The query string: `?before=` (an entry id from the previous page).
#[derive(Debug, Deserialize)]
pub(super) struct AuditQuery {
    before: Option<i64>,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin_audit.html")]
pub(super) struct AuditPage {
    user: AuthUser,
    csrf_token: CsrfToken,
    entries: Vec<AuditView>,
    next: Option<i64>,
    paged: bool,
}

/// One entry ready to print (also on a user's page).
pub(super) struct AuditView {
    pub(super) when: String,
    pub(super) actor: String,
    pub(super) ip: String,
    pub(super) action: String,
    pub(super) target_id: Option<String>,
    pub(super) target: String,
    pub(super) details: String,
}

impl AuditView {
    pub(super) fn new(entry: AuditEntry) -> Self {
        Self {
            when: display::time(entry.created_at, chrono_tz::UTC),
            actor: entry.actor,
            ip: entry.ip.unwrap_or_else(|| "—".to_owned()),
            action: entry.action,
            target_id: entry.target_user_id.map(|id| id.to_string()),
            target: entry
                .target_email
                .or_else(|| entry.target_user_id.map(|id| id.to_string()))
                .unwrap_or_default(),
            details: entry.details.to_string(),
        }
    }
}

/// Reading the log is not itself audited: it shows no tenant data beyond what it records.
pub(super) async fn get_audit(
    State(state): State<AppState>,
    admin: AdminUser,
    csrf_token: CsrfToken,
    Query(query): Query<AuditQuery>,
) -> Result<AuditPage, PageError> {
    let mut tx = admin.begin(&state.store).await?;
    let (entries, next) = list_audit_entries(&mut tx, None, query.before, PAGE_SIZE).await?;
    tx.commit().await?;
    Ok(AuditPage {
        user: admin.user,
        csrf_token,
        entries: entries.into_iter().map(AuditView::new).collect(),
        next,
        paged: query.before.is_some(),
    })
}
