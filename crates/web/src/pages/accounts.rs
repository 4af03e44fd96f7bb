//! `/accounts`: broker accounts (add paper or Tradovate, test the connection, status) and
//! `/accounts/{id}`: the account's broker verification and its orders with their states and
//! the broker's messages.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use jt_store::broker_accounts::{
    AccountKind, AccountStatus, BrokerAccount, Environment, NewAccount, create_account,
    delete_account, get_account, list_accounts, parse_account_name,
};
use jt_store::orders::list_account_orders;
use jt_store::state::user_time_zone;
use jt_store::{BrokerAccountId, BrokerCredentials, StoreError};
use serde::Deserialize;

use super::account_verification::{VerificationPanel, panel};
use super::display::{self, sentence};
use crate::AppState;
use crate::auth::{AuthUser, CsrfToken};
use crate::page_error::PageError;

#[derive(Template, WebTemplate)]
#[template(path = "accounts.html")]
pub(super) struct AccountsPage {
    user: AuthUser,
    csrf_token: CsrfToken,
    accounts: Vec<AccountView>,
    error: Option<String>,
}

/// An account row: status in words.
pub(super) struct AccountView {
    pub(super) id: BrokerAccountId,
    pub(super) name: String,
    kind: String,
    broker_account: String,
    status: &'static str,
    detail: String,
}

impl AccountView {
    pub(super) fn new(account: BrokerAccount, zone: chrono_tz::Tz) -> Self {
        let kind = match (account.kind, account.environment) {
            (AccountKind::Paper, _) => "Paper".to_owned(),
            (AccountKind::Tradovate, Some(Environment::Live)) => "Tradovate live".to_owned(),
            (AccountKind::Tradovate, _) => "Tradovate demo".to_owned(),
        };
        let (status, detail) = match account.status {
            AccountStatus::Connected => (
                "connected",
                account.token_valid_until.map_or_else(String::new, |at| {
                    format!("token valid until {}", display::time(at, zone))
                }),
            ),
            AccountStatus::LockedOut => (
                "locked-out",
                account.locked_until.map_or_else(String::new, |at| {
                    format!("locked out until {}", display::time(at, zone))
                }),
            ),
            AccountStatus::Error => ("error", account.status_message.unwrap_or_default()),
            AccountStatus::Unchecked => ("unchecked", "not tested yet".to_owned()),
        };
        Self {
            id: account.id,
            name: account.name,
            kind,
            broker_account: account.broker_account_name.unwrap_or_default(),
            status,
            detail,
        }
    }
}

async fn accounts_page(
    state: &AppState,
    user: AuthUser,
    csrf_token: CsrfToken,
    error: Option<String>,
) -> Result<AccountsPage, PageError> {
    let mut tx = state.store.tenant(user.user_id).await?;
    let zone = user_time_zone(&mut tx).await?;
    let accounts = list_accounts(&mut tx)
        .await?
        .into_iter()
        .map(|a| AccountView::new(a, zone))
        .collect();
    tx.commit().await?;
    Ok(AccountsPage {
        user,
        csrf_token,
        accounts,
        error,
    })
}

pub(super) async fn get_accounts(
    State(state): State<AppState>,
    user: AuthUser,
    csrf_token: CsrfToken,
) -> Result<AccountsPage, PageError> {
    accounts_page(&state, user, csrf_token, None).await
}

/// The add-account form (paper or Tradovate; empty fields are absent).
#[derive(Deserialize)]
pub(super) struct AccountForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    environment: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    app_id: String,
    #[serde(default)]
    cid: String,
    #[serde(default)]
    sec: String,
    #[serde(default)]
    device_id: String,
    #[serde(default)]
    broker_account: String,
}

fn optional(value: &str) -> Option<String> {
    let value = value.trim();
    (!value.is_empty()).then(|| value.to_owned())
}

fn parse_form(form: &AccountForm) -> Result<(String, NewAccount), StoreError> {
    let name = parse_account_name(&form.name)?;
    if form.kind == "paper" {
        return Ok((name, NewAccount::Paper));
    }
    let environment = match form.environment.as_str() {
        "live" => Environment::Live,
        _ => Environment::Demo,
    };
    let missing = [
        ("username", &form.username),
        ("password", &form.password),
        ("app id", &form.app_id),
        ("cid", &form.cid),
        ("secret", &form.sec),
    ]
    .into_iter()
    .find(|(_, value)| value.trim().is_empty());
    if let Some((field, _)) = missing {
        return Err(StoreError::Invalid(format!(
            "the Tradovate {field} is required (from your Tradovate API key)"
        )));
    }
    let credentials = BrokerCredentials {
        username: form.username.trim().to_owned(),
        password: form.password.clone(),
        app_id: form.app_id.trim().to_owned(),
        cid: form.cid.trim().to_owned(),
        sec: form.sec.trim().to_owned(),
        device_id: optional(&form.device_id),
    };
    Ok((
        name,
        NewAccount::Tradovate {
            environment,
            credentials,
            broker_account: optional(&form.broker_account),
        },
    ))
}

/// `POST /accounts`: adds the account, tests a Tradovate login at once, back to the list.
pub(super) async fn post_account(
    State(state): State<AppState>,
    user: AuthUser,
    csrf_token: CsrfToken,
    Form(form): Form<AccountForm>,
) -> Result<Response, PageError> {
    let created = match parse_form(&form) {
        Ok((name, new)) => {
            let mut tx = state.store.tenant(user.user_id).await?;
            let created = create_account(&mut tx, &state.config.secret_key, &name, &new).await;
            if created.is_ok() {
                tx.commit().await?;
            }
            created
        }
        Err(error) => Err(error),
    };
    match created {
        Ok(account) => {
            if account.kind == AccountKind::Tradovate {
                jt_jobs::test_connection(
                    &state.store,
                    &state.config.secret_key,
                    &state.execution,
                    user.user_id,
                    account.id,
                )
                .await?;
            }
            Ok(Redirect::to("/accounts").into_response())
        }
        Err(StoreError::Invalid(message) | StoreError::Conflict(message)) => {
            let page = accounts_page(&state, user, csrf_token, Some(sentence(&message))).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(error) => Err(error.into()),
    }
}

pub(super) fn account_id(raw: &str) -> Result<BrokerAccountId, PageError> {
    raw.parse().map_err(|_| PageError::NotFound)
}

/// `POST /accounts/{id}/test`: log in now; the list shows the outcome.
pub(super) async fn post_test(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Redirect, PageError> {
    let id = account_id(&id)?;
    jt_jobs::test_connection(
        &state.store,
        &state.config.secret_key,
        &state.execution,
        user.user_id,
        id,
    )
    .await?;
    Ok(Redirect::to("/accounts"))
}

/// `POST /accounts/{id}/delete`.
pub(super) async fn post_delete(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Redirect, PageError> {
    let id = account_id(&id)?;
    let mut tx = state.store.tenant(user.user_id).await?;
    delete_account(&mut tx, id).await?;
    tx.commit().await?;
    Ok(Redirect::to("/accounts"))
}

#[derive(Template, WebTemplate)]
#[template(path = "account_orders.html")]
pub(super) struct AccountOrdersPage {
    user: AuthUser,
    csrf_token: CsrfToken,
    account: AccountView,
    verification: VerificationPanel,
    error: Option<String>,
    orders: Vec<OrderView>,
    older: Option<i64>,
    paged: bool,
}

struct OrderView {
    id: i64,
    created: String,
    signal_id: i64,
    action: String,
    quantity: i64,
    contract: String,
    status: String,
    broker_order_id: String,
    fill_price: String,
    message: String,
    finished: String,
}

#[derive(Deserialize)]
pub(super) struct OrdersQuery {
    before: Option<String>,
}

/// `GET /accounts/{id}`: the account and its orders, newest first, 50 a page.
pub(super) async fn get_account_orders(
    State(state): State<AppState>,
    user: AuthUser,
    csrf_token: CsrfToken,
    Path(id): Path<String>,
    Query(query): Query<OrdersQuery>,
) -> Result<AccountOrdersPage, PageError> {
    let id = account_id(&id)?;
    let before = query
        .before
        .filter(|raw| !raw.is_empty())
        .map(|raw| raw.parse::<i64>().map_err(|_| PageError::NotFound))
        .transpose()?;
    account_page(&state, user, csrf_token, id, before, None).await
}

/// The account page: its orders (a page of them, older than `before`) and its verification.
pub(super) async fn account_page(
    state: &AppState,
    user: AuthUser,
    csrf_token: CsrfToken,
    id: BrokerAccountId,
    before: Option<i64>,
    error: Option<String>,
) -> Result<AccountOrdersPage, PageError> {
    let mut tx = state.store.tenant(user.user_id).await?;
    let zone = user_time_zone(&mut tx).await?;
    let stored = get_account(&mut tx, id).await?;
    let verification = panel(&mut tx, &stored, zone).await?;
    let account = AccountView::new(stored, zone);
    let (rows, older) = list_account_orders(&mut tx, id, 50, before).await?;
    tx.commit().await?;
    let orders = rows
        .into_iter()
        .map(|o| OrderView {
            id: o.id,
            created: display::time(o.created_at, zone),
            signal_id: o.signal_id,
            action: o.action,
            quantity: o.quantity,
            contract: o.contract,
            status: super::recorder_links::status_word(o.status),
            broker_order_id: o.broker_order_id.map(|b| b.to_string()).unwrap_or_default(),
            fill_price: o
                .fill_price
                .map(|p| display::price(p, None))
                .unwrap_or_default(),
            message: o.error.unwrap_or_default(),
            finished: o
                .finished_at
                .map(|at| display::time(at, zone))
                .unwrap_or_default(),
        })
        .collect();
    Ok(AccountOrdersPage {
        user,
        csrf_token,
        account,
        verification,
        error,
        orders,
        older,
        paged: before.is_some(),
    })
}
