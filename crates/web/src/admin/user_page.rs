//! `GET /admin/users/{id}`: one user's account and data, read-only (the view is audited);
//! `POST …/disable` and `…/enable` (audited).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use jt_store::admin::audit_log::list_audit_entries;
use jt_store::admin::fold_signal_deltas;
use jt_store::admin::user_detail::{
    AdminRecorderRow, RejectedSignal, SignalTotals, UserAccount, list_recorders, load_account,
    recent_rejected_signals, signal_totals,
};
use jt_store::admin::user_execution::load_user_execution;
use jt_store::users::{Role, UserStatus, set_user_status};
use serde_json::json;

use super::execution_views::UserExecutionView;
use super::{AdminUser, user_id};
use crate::AppState;
use crate::auth::{AuthUser, CsrfToken};
use crate::page_error::PageError;
use crate::pages::display;
use crate::pages::recorder_views::status_text;

/// Audit entries about the user shown on their page.
const RECENT_AUDIT: i64 = 10;

#[derive(Template, WebTemplate)]
#[template(path = "admin_user.html")]
pub(super) struct UserPage {
    user: AuthUser,
    csrf_token: CsrfToken,
    account: AccountView,
    totals: SignalTotals,
    last_webhook: String,
    recorders: Vec<RecorderView>,
    rejected: Vec<RejectedView>,
    execution: UserExecutionView,
    audit: Vec<super::audit_page::AuditView>,
    /// The admin is looking at their own account (no disable button).
    is_self: bool,
}

struct AccountView {
    id: String,
    email: String,
    admin: bool,
    status: &'static str,
    disabled: bool,
    created: String,
    updated: String,
}

impl AccountView {
    fn new(account: &UserAccount) -> Self {
        Self {
            id: account.id.to_string(),
            email: account.email.clone(),
            admin: account.role == Role::Admin,
            status: account.status.as_str(),
            disabled: account.status == UserStatus::Disabled,
            created: display::time(account.created_at, chrono_tz::UTC),
            updated: display::time(account.updated_at, chrono_tz::UTC),
        }
    }
}

struct RecorderView {
    id: String,
    name: String,
    status: &'static str,
    signals: i64,
    created: String,
    last_signal: String,
}

impl RecorderView {
    fn new(row: AdminRecorderRow) -> Self {
        Self {
            id: row.id.to_string(),
            name: row.name,
            status: status_text(row.status),
            signals: row.last_seq,
            created: display::time(row.created_at, chrono_tz::UTC),
            last_signal: when(row.last_signal_at),
        }
    }
}

struct RejectedView {
    id: i64,
    recorder_id: String,
    received: String,
    alert: String,
    error: String,
}

impl RejectedView {
    fn new(row: RejectedSignal) -> Self {
        let alert = [row.action.as_deref(), row.ticker.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        Self {
            id: row.id,
            recorder_id: row.recorder_id.to_string(),
            received: display::time(row.received_at, chrono_tz::UTC),
            alert: if alert.is_empty() {
                "unreadable".to_owned()
            } else {
                alert
            },
            error: row.error.unwrap_or_default(),
        }
    }
}

fn when(at: Option<chrono::DateTime<chrono::Utc>>) -> String {
    at.map_or_else(
        || "never".to_owned(),
        |at| display::time(at, chrono_tz::UTC),
    )
}

/// Shows the user and writes `user.view` to the audit log in the same transaction: a view
/// that could not be audited is not shown.
pub(super) async fn get_user(
    State(state): State<AppState>,
    admin: AdminUser,
    csrf_token: CsrfToken,
    Path(raw_id): Path<String>,
) -> Result<UserPage, PageError> {
    let id = user_id(&raw_id)?;
    let mut tx = admin.begin(&state.store).await?;
    let account = load_account(&mut tx, id).await?;
    fold_signal_deltas(&mut tx).await?;
    let totals = signal_totals(&mut tx, id).await?;
    let recorders = list_recorders(&mut tx, id).await?;
    let rejected = recent_rejected_signals(&mut tx, id).await?;
    let execution = load_user_execution(&mut tx, id).await?;
    tx.audit("user.view", Some(id), json!({ "email": account.email }))
        .await?;
    let (audit, _) = list_audit_entries(&mut tx, Some(id), None, RECENT_AUDIT).await?;
    tx.commit().await?;
    Ok(UserPage {
        is_self: id == admin.user_id(),
        user: admin.user,
        csrf_token,
        account: AccountView::new(&account),
        last_webhook: when(totals.last_signal_at),
        totals,
        recorders: recorders.into_iter().map(RecorderView::new).collect(),
        rejected: rejected.into_iter().map(RejectedView::new).collect(),
        execution: UserExecutionView::new(execution),
        audit: audit
            .into_iter()
            .map(super::audit_page::AuditView::new)
            .collect::<Vec<_>>(),
    })
}

/// Disables the user (their sessions end at their next request, API tokens and webhooks are
/// refused), then shows their page again.
pub(super) async fn post_disable(
    state: State<AppState>,
    admin: AdminUser,
    Path(raw_id): Path<String>,
) -> Result<Response, PageError> {
    change_status(state, admin, &raw_id, UserStatus::Disabled).await
}

/// Enables the user again.
pub(super) async fn post_enable(
    state: State<AppState>,
    admin: AdminUser,
    Path(raw_id): Path<String>,
) -> Result<Response, PageError> {
    change_status(state, admin, &raw_id, UserStatus::Active).await
}

async fn change_status(
    State(state): State<AppState>,
    admin: AdminUser,
    raw_id: &str,
    status: UserStatus,
) -> Result<Response, PageError> {
    let id = user_id(raw_id)?;
    if id == admin.user_id() && status == UserStatus::Disabled {
        return Err(PageError::Invalid(
            "You cannot disable your own account: ask another administrator, or use \
             `justtrades user disable` from the shell."
                .to_owned(),
        ));
    }
    let mut tx = admin.begin(&state.store).await?;
    set_user_status(&mut tx, id, status).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/admin/users/{id}")).into_response())
}
