//! `/api/v1/accounts`: broker accounts (paper or Tradovate), their connection test and orders.
//! Credentials go in, never out.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use jt_store::broker_accounts::{
    AccountKind, AccountStatus, BrokerAccount, Environment, NewAccount, create_account,
    delete_account, get_account, list_accounts, parse_account_name,
};
use jt_store::orders::{OrderRow, OrderStatus, list_account_orders};
use jt_store::{BrokerAccountId, BrokerCredentials, RecorderId};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::extract::{ApiJson, ApiQuery, ApiUser};
use super::recorder_state::Paging;
use crate::AppState;

/// `POST /api/v1/accounts` body.
#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum CreateAccount {
    /// The built-in paper account.
    Paper(PaperFields),
    /// A Tradovate login.
    Tradovate(Box<TradovateFields>),
}

/// A paper account's fields.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaperFields {
    /// Display name.
    name: String,
}

/// A Tradovate account's fields.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TradovateFields {
    /// `demo` or `live`.
    environment: EnvironmentJson,
    /// Display name.
    name: String,
    /// Tradovate username.
    username: String,
    /// Password.
    password: String,
    /// API key app id.
    app_id: String,
    /// API key id (number or string).
    cid: serde_json::Value,
    /// API secret.
    sec: String,
    /// Device id.
    #[serde(default)]
    device_id: Option<String>,
    /// The broker account name (optional when the login has one account).
    #[serde(default)]
    broker_account: Option<String>,
}

/// `demo` or `live`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EnvironmentJson {
    /// Demo.
    Demo,
    /// Live.
    Live,
}

/// A broker account as the API shows it.
#[derive(Serialize)]
pub struct AccountJson {
    id: BrokerAccountId,
    kind: AccountKind,
    name: String,
    environment: Option<Environment>,
    broker_account: Option<String>,
    status: AccountStatus,
    status_message: Option<String>,
    token_valid_until: Option<DateTime<Utc>>,
    locked_until: Option<DateTime<Utc>>,
    last_checked_at: Option<DateTime<Utc>>,
    verification: bool,
    verification_interval_secs: i32,
    created_at: DateTime<Utc>,
}

impl From<BrokerAccount> for AccountJson {
    fn from(a: BrokerAccount) -> Self {
        Self {
            id: a.id,
            kind: a.kind,
            name: a.name,
            environment: a.environment,
            broker_account: a.broker_account_name,
            status: a.status,
            status_message: a.status_message,
            token_valid_until: a.token_valid_until,
            locked_until: a.locked_until,
            last_checked_at: a.last_checked_at,
            verification: a.verification_enabled,
            verification_interval_secs: a.verification_interval_secs,
            created_at: a.created_at,
        }
    }
}

fn required(field: &str, value: &str) -> Result<String, ApiError> {
    let value = value.trim();
    if value.is_empty() || value.len() > 500 {
        return Err(ApiError::Invalid(format!(
            "\"{field}\" is required (1 to 500 characters)"
        )));
    }
    Ok(value.to_owned())
}

/// The body as a store request (name, what).
fn parse_new_account(body: CreateAccount) -> Result<(String, NewAccount), ApiError> {
    match body {
        CreateAccount::Paper(PaperFields { name }) => {
            Ok((parse_account_name(&name)?, NewAccount::Paper))
        }
        CreateAccount::Tradovate(fields) => {
            let TradovateFields {
                environment,
                name,
                username,
                password,
                app_id,
                cid,
                sec,
                device_id,
                broker_account,
            } = *fields;
            let cid = match cid {
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::String(s) => s,
                _ => {
                    return Err(ApiError::Invalid(
                        "\"cid\" must be a number or a string".to_owned(),
                    ));
                }
            };
            let credentials = BrokerCredentials {
                username: required("username", &username)?,
                password: required("password", &password)?,
                app_id: required("app_id", &app_id)?,
                cid: required("cid", &cid)?,
                sec: required("sec", &sec)?,
                device_id: device_id.filter(|d| !d.trim().is_empty()),
            };
            let environment = match environment {
                EnvironmentJson::Demo => Environment::Demo,
                EnvironmentJson::Live => Environment::Live,
            };
            Ok((
                parse_account_name(&name)?,
                NewAccount::Tradovate {
                    environment,
                    credentials,
                    broker_account: broker_account.filter(|b| !b.trim().is_empty()),
                },
            ))
        }
    }
}

/// Creates the account and (Tradovate) tests its login at once, so the status says whether
/// orders can go through.
pub async fn create_and_connect(
    state: &AppState,
    user: jt_store::UserId,
    name: &str,
    new: &NewAccount,
) -> Result<BrokerAccount, ApiError> {
    let mut tx = state.store.tenant(user).await?;
    let account = create_account(&mut tx, &state.config.secret_key, name, new).await?;
    tx.commit().await?;
    if account.kind == AccountKind::Paper {
        return Ok(account);
    }
    Ok(jt_jobs::test_connection(
        &state.store,
        &state.config.secret_key,
        &state.execution,
        user,
        account.id,
    )
    .await?)
}

pub async fn create(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(body): ApiJson<CreateAccount>,
) -> Result<(StatusCode, Json<AccountJson>), ApiError> {
    let (name, new) = parse_new_account(body)?;
    let account = create_and_connect(&state, user, &name, &new).await?;
    Ok((StatusCode::CREATED, Json(account.into())))
}

pub async fn list(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> Result<Json<Vec<AccountJson>>, ApiError> {
    let mut tx = state.store.tenant(user).await?;
    let accounts = list_accounts(&mut tx).await?;
    tx.commit().await?;
    Ok(Json(accounts.into_iter().map(Into::into).collect()))
}

/// Parses an account id from the path; malformed ids are "not found" like foreign ones.
pub fn account_id(raw: &str) -> Result<BrokerAccountId, ApiError> {
    raw.parse().map_err(|_| ApiError::NotFound("account"))
}

pub async fn get(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
) -> Result<Json<AccountJson>, ApiError> {
    let id = account_id(&id)?;
    let mut tx = state.store.tenant(user).await?;
    let account = get_account(&mut tx, id).await?;
    tx.commit().await?;
    Ok(Json(account.into()))
}

pub async fn delete(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = account_id(&id)?;
    let mut tx = state.store.tenant(user).await?;
    delete_account(&mut tx, id).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/accounts/{id}/test`: log in now and record the outcome.
pub async fn test(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
) -> Result<Json<AccountJson>, ApiError> {
    let id = account_id(&id)?;
    let account = jt_jobs::test_connection(
        &state.store,
        &state.config.secret_key,
        &state.execution,
        user,
        id,
    )
    .await?;
    Ok(Json(account.into()))
}

/// An order as the API shows it.
#[derive(Serialize)]
pub struct OrderJson {
    id: i64,
    account_id: BrokerAccountId,
    signal_id: i64,
    recorder_id: RecorderId,
    contract: String,
    action: String,
    quantity: i64,
    status: OrderStatus,
    broker_order_id: Option<i64>,
    fill_price: Option<Decimal>,
    error: Option<String>,
    attempts: i32,
    created_at: DateTime<Utc>,
    sent_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
}

impl From<OrderRow> for OrderJson {
    fn from(o: OrderRow) -> Self {
        Self {
            id: o.id,
            account_id: o.account_id,
            signal_id: o.signal_id,
            recorder_id: o.recorder_id,
            contract: o.contract,
            action: o.action,
            quantity: o.quantity,
            status: o.status,
            broker_order_id: o.broker_order_id,
            fill_price: o.fill_price,
            error: o.error,
            attempts: o.attempts,
            created_at: o.created_at,
            sent_at: o.sent_at,
            finished_at: o.finished_at,
        }
    }
}

/// `GET /api/v1/accounts/{id}/orders` answer.
#[derive(Serialize)]
pub struct OrdersPage {
    orders: Vec<OrderJson>,
    next: Option<i64>,
}

pub async fn orders(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
    ApiQuery(paging): ApiQuery<Paging>,
) -> Result<Json<OrdersPage>, ApiError> {
    let id = account_id(&id)?;
    let limit = paging.limit()?;
    let mut tx = state.store.tenant(user).await?;
    let (rows, next) = list_account_orders(&mut tx, id, limit, paging.before()).await?;
    tx.commit().await?;
    Ok(Json(OrdersPage {
        orders: rows.into_iter().map(Into::into).collect(),
        next,
    }))
}
