//! Broker verification of an account (SPEC §9): switch it on or off, and read what the
//! latest check found.

use axum::Json;
use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use jt_store::broker_accounts::get_account;
use jt_store::verification::{
    ContractCheck, Discrepancy, VerificationSettings, VerificationStatus, VerificationView,
    set_verification, verification_view,
};
use serde::{Deserialize, Serialize};

use super::accounts::{AccountJson, account_id};
use super::error::ApiError;
use super::extract::{ApiJson, ApiUser};
use crate::app::AppState;

/// `PATCH /api/v1/accounts/{id}` body: fields left out keep their value.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchAccount {
    verification: Option<bool>,
    verification_interval_secs: Option<i64>,
}

/// `PATCH /api/v1/accounts/{id}`: the verification switch and interval.
pub async fn patch(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<PatchAccount>,
) -> Result<Json<AccountJson>, ApiError> {
    let id = account_id(&id)?;
    let mut tx = state.store.tenant(user).await?;
    let account = get_account(&mut tx, id).await?;
    let settings = VerificationSettings::new(
        body.verification.unwrap_or(account.verification_enabled),
        body.verification_interval_secs
            .unwrap_or(i64::from(account.verification_interval_secs)),
    )?;
    let account = set_verification(&mut tx, &account, settings).await?;
    tx.commit().await?;
    Ok(Json(account.into()))
}

/// `GET /api/v1/accounts/{id}/verification`.
#[derive(Debug, Serialize)]
pub struct VerificationJson {
    status: VerificationStatus,
    checked_at: Option<DateTime<Utc>>,
    unavailable_since: Option<DateTime<Utc>>,
    message: Option<String>,
    contracts: Vec<ContractJson>,
    discrepancies: Vec<DiscrepancyJson>,
}

#[derive(Debug, Serialize)]
struct ContractJson {
    contract: String,
    expected: i64,
    actual: i64,
}

#[derive(Debug, Serialize)]
struct DiscrepancyJson {
    contract: String,
    expected: i64,
    actual: i64,
    first_seen: DateTime<Utc>,
    last_seen: DateTime<Utc>,
    closed_at: Option<DateTime<Utc>>,
}

impl From<VerificationView> for VerificationJson {
    fn from(view: VerificationView) -> Self {
        Self {
            status: view.status,
            checked_at: view.checked_at,
            unavailable_since: view.unavailable_since,
            message: view.message,
            contracts: view.contracts.into_iter().map(ContractJson::from).collect(),
            discrepancies: view
                .discrepancies
                .into_iter()
                .map(DiscrepancyJson::from)
                .collect(),
        }
    }
}

impl From<ContractCheck> for ContractJson {
    fn from(c: ContractCheck) -> Self {
        Self {
            contract: c.contract,
            expected: c.expected,
            actual: c.actual,
        }
    }
}

impl From<Discrepancy> for DiscrepancyJson {
    fn from(d: Discrepancy) -> Self {
        Self {
            contract: d.contract,
            expected: d.expected,
            actual: d.actual,
            first_seen: d.first_seen,
            last_seen: d.last_seen,
            closed_at: d.closed_at,
        }
    }
}

/// `GET /api/v1/accounts/{id}/verification`: the latest check (status `off` while
/// verification is off, `pending` before the first check).
pub async fn get(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
) -> Result<Json<VerificationJson>, ApiError> {
    let id = account_id(&id)?;
    let mut tx = state.store.tenant(user).await?;
    let account = get_account(&mut tx, id).await?;
    let view = verification_view(&mut tx, &account).await?;
    tx.commit().await?;
    Ok(Json(view.into()))
}
