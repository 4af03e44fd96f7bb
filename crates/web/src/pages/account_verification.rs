//! Broker verification on pages (SPEC §9): "Signals" and "Broker" side by side per contract,
//! differences marked, discrepancies with their history, the last verified time; and the
//! switch (`POST /accounts/{id}/verification`).

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono_tz::Tz;
use jt_store::broker_accounts::{AccountKind, BrokerAccount, get_account, list_accounts};
use jt_store::verification::{
    DEFAULT_INTERVAL_SECS, VerificationSettings, VerificationStatus, VerificationView,
    set_verification, verification_view,
};
use jt_store::{BrokerAccountId, StoreError};
use serde::Deserialize;

use super::accounts::{account_id, account_page};
use super::display::{self, sentence};
use super::form_values::whole_number;
use crate::AppState;
use crate::auth::{AuthUser, CsrfToken};
use crate::page_error::PageError;

/// An account's verification as the pages show it.
pub(super) struct VerificationPanel {
    pub(super) account_id: String,
    pub(super) account_name: String,
    /// Paper accounts have no broker to verify against.
    pub(super) available: bool,
    pub(super) enabled: bool,
    pub(super) interval_secs: i32,
    /// CSS class suffix and words.
    pub(super) status: &'static str,
    pub(super) status_words: &'static str,
    pub(super) detail: String,
    pub(super) contracts: Vec<ContractRow>,
    pub(super) discrepancies: Vec<DiscrepancyRow>,
}

pub(super) struct ContractRow {
    pub(super) contract: String,
    pub(super) signals: i64,
    pub(super) broker: i64,
    pub(super) differs: bool,
}

pub(super) struct DiscrepancyRow {
    pub(super) contract: String,
    pub(super) expected: i64,
    pub(super) actual: i64,
    pub(super) first_seen: String,
    pub(super) last_seen: String,
    /// Empty while open.
    pub(super) closed: String,
}

impl VerificationPanel {
    pub(super) fn new(account: &BrokerAccount, view: VerificationView, zone: Tz) -> Self {
        let (status, status_words) = match view.status {
            VerificationStatus::Off => ("off", "off"),
            VerificationStatus::Pending => ("pending", "first check pending"),
            VerificationStatus::Matched => ("matched", "matches"),
            VerificationStatus::Settling => ("settling", "differs once (orders may be in flight)"),
            VerificationStatus::Mismatched => ("mismatched", "discrepancy"),
            VerificationStatus::Unavailable => ("unavailable", "broker unavailable"),
        };
        let mut detail = Vec::new();
        if let Some(since) = view.unavailable_since {
            detail.push(format!("unavailable since {}", display::time(since, zone)));
        }
        if let Some(message) = view.message {
            detail.push(message);
        }
        if let Some(at) = view.checked_at {
            detail.push(format!("last verified {}", display::time(at, zone)));
        }
        Self {
            account_id: account.id.to_string(),
            account_name: account.name.clone(),
            available: account.kind == AccountKind::Tradovate,
            enabled: account.verification_enabled,
            interval_secs: account.verification_interval_secs,
            status,
            status_words,
            detail: detail.join("; "),
            contracts: view
                .contracts
                .into_iter()
                .map(|c| ContractRow {
                    differs: c.differs(),
                    contract: c.contract,
                    signals: c.expected,
                    broker: c.actual,
                })
                .collect(),
            discrepancies: view
                .discrepancies
                .into_iter()
                .map(|d| DiscrepancyRow {
                    contract: d.contract,
                    expected: d.expected,
                    actual: d.actual,
                    first_seen: display::time(d.first_seen, zone),
                    last_seen: display::time(d.last_seen, zone),
                    closed: d
                        .closed_at
                        .map(|at| display::time(at, zone))
                        .unwrap_or_default(),
                })
                .collect(),
        }
    }

    /// Open discrepancies only (the dashboard's summary).
    pub(super) fn open_discrepancies(&self) -> usize {
        self.discrepancies
            .iter()
            .filter(|d| d.closed.is_empty())
            .count()
    }
}

/// The panel of one account.
pub(super) async fn panel(
    tx: &mut jt_store::TenantTx,
    account: &BrokerAccount,
    zone: Tz,
) -> Result<VerificationPanel, StoreError> {
    let view = verification_view(tx, account).await?;
    Ok(VerificationPanel::new(account, view, zone))
}

/// The panels of every account with verification on (the dashboard's "Broker" section).
pub(super) async fn verified_panels(
    tx: &mut jt_store::TenantTx,
    zone: Tz,
) -> Result<Vec<VerificationPanel>, StoreError> {
    let mut panels = Vec::new();
    for account in list_accounts(tx).await? {
        if account.verification_enabled {
            panels.push(panel(tx, &account, zone).await?);
        }
    }
    Ok(panels)
}

#[derive(Deserialize)]
pub(super) struct VerificationForm {
    /// A checkbox: present when ticked.
    enabled: Option<String>,
    interval_secs: Option<String>,
}

/// `POST /accounts/{id}/verification`: the switch and interval; the page again with what to
/// fix (422) when they are refused.
pub(super) async fn post_verification(
    State(state): State<AppState>,
    user: AuthUser,
    csrf_token: CsrfToken,
    Path(id): Path<String>,
    Form(form): Form<VerificationForm>,
) -> Result<Response, PageError> {
    let id = account_id(&id)?;
    match save_verification(&state, &user, id, &form).await {
        Ok(()) => Ok(Redirect::to(&format!("/accounts/{id}#verification")).into_response()),
        Err(StoreError::Invalid(message)) => {
            let page =
                account_page(&state, user, csrf_token, id, None, Some(sentence(&message))).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(error) => Err(error.into()),
    }
}

async fn save_verification(
    state: &AppState,
    user: &AuthUser,
    id: BrokerAccountId,
    form: &VerificationForm,
) -> Result<(), StoreError> {
    // The field is optional: empty means the default, like the API's.
    let interval = match form.interval_secs.as_deref().map(str::trim) {
        None | Some("") => i64::from(DEFAULT_INTERVAL_SECS),
        Some(raw) => whole_number("the verification interval", raw, "60")?,
    };
    let settings = VerificationSettings::new(form.enabled.is_some(), interval)?;
    let mut tx = state.store.tenant(user.user_id).await?;
    let account = get_account(&mut tx, id).await?;
    set_verification(&mut tx, &account, settings).await?;
    tx.commit().await
}
