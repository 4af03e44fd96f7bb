//! The fake's endpoints: Tradovate's under `/v1`, inspection and fault control under `/_fake`.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use chrono::Utc;
use serde_json::{Value, json};

use crate::fake::ConnectionReset;
use crate::fake::faults::{FaultKind, FaultRequest};
use crate::fake::state::{FakeState, Session, is_contract_symbol, rejection};
use crate::model::{AccessTokenRequest, AccessTokenResponse, Account, Contract, PlaceOrder};

type Shared = State<Arc<FakeState>>;

pub(crate) fn router(state: Arc<FakeState>) -> Router {
    Router::new()
        .route("/v1/auth/accesstokenrequest", post(access_token_request))
        .route("/v1/auth/renewaccesstoken", get(renew_access_token))
        .route("/v1/account/list", get(account_list))
        .route("/v1/position/list", get(position_list))
        .route("/v1/contract/find", get(contract_find))
        .route("/v1/contract/items", get(contract_items))
        .route("/v1/order/placeorder", post(place_order))
        .route("/v1/order/list", get(order_list))
        .route("/v1/fill/list", get(fill_list))
        .route("/_fake/orders", get(fake_orders))
        .route("/_fake/faults", post(fake_faults))
        .route("/_fake/manual-order", post(fake_manual_order))
        .route("/_fake/stats", get(fake_stats))
        .route("/_fake/expire-tokens", post(fake_expire_tokens))
        .with_state(state)
}

/// What an injected fault leaves the handler to do.
enum Gate {
    Proceed,
    ProceedThenHang,
    Reject,
    Answer(Response),
}

/// Applies the next fault for (account, endpoint), if any.
async fn gate(
    state: &FakeState,
    account: &str,
    endpoint: &str,
    reset: Option<&ConnectionReset>,
) -> Gate {
    let fault = state.lock().take_fault(account, endpoint);
    let Some(fault) = fault else {
        return Gate::Proceed;
    };
    match fault.fault {
        FaultKind::Latency => {
            tokio::time::sleep(fault.latency()).await;
            Gate::Proceed
        }
        FaultKind::ServerError => Gate::Answer(StatusCode::INTERNAL_SERVER_ERROR.into_response()),
        FaultKind::PTicket => {
            let ticket = format!("ticket-{}", state.lock().next_id());
            let body = json!({ "p-ticket": ticket, "p-time": fault.penalty_seconds() });
            Gate::Answer(Json(body).into_response())
        }
        FaultKind::PCaptcha => {
            let ticket = format!("ticket-{}", state.lock().next_id());
            let body = json!({ "p-ticket": ticket, "p-time": 3600, "p-captcha": true });
            Gate::Answer(Json(body).into_response())
        }
        FaultKind::Locked => Gate::Answer(StatusCode::LOCKED.into_response()),
        FaultKind::TooManyRequests => Gate::Answer(StatusCode::TOO_MANY_REQUESTS.into_response()),
        FaultKind::Hang => std::future::pending().await,
        FaultKind::Reset => {
            if let Some(reset) = reset {
                reset.0.notify_one();
            }
            std::future::pending().await
        }
        FaultKind::AcceptThenTimeout => Gate::ProceedThenHang,
        FaultKind::Reject => Gate::Reject,
    }
}

/// The account behind the bearer token, or 401.
fn account_of(state: &FakeState, headers: &HeaderMap) -> Result<Account, StatusCode> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(StatusCode::UNAUTHORIZED)?;
    let mut memory = state.lock();
    let username = match memory.tokens.get(token) {
        Some(session) if session.expires_at > Utc::now() => session.username.clone(),
        _ => return Err(StatusCode::UNAUTHORIZED),
    };
    Ok(memory.account_for(&username))
}

fn new_token(state: &FakeState, username: &str) -> AccessTokenResponse {
    let lifetime = chrono::Duration::from_std(state.config.token_lifetime)
        .unwrap_or_else(|_| chrono::Duration::minutes(80));
    let expires_at = Utc::now() + lifetime;
    let mut memory = state.lock();
    let account = memory.account_for(username);
    let token = format!("fake-token-{}-{}", account.id, memory.next_id());
    memory.tokens.insert(
        token.clone(),
        Session {
            username: username.to_owned(),
            expires_at,
        },
    );
    AccessTokenResponse {
        access_token: Some(token),
        expiration_time: Some(expires_at),
        user_id: Some(account.user_id),
        name: Some(username.to_owned()),
        error_text: None,
    }
}

async fn access_token_request(
    State(state): Shared,
    reset: Option<Extension<ConnectionReset>>,
    Json(request): Json<AccessTokenRequest>,
) -> Response {
    let reset = reset.map(|Extension(r)| r);
    match gate(
        &state,
        &request.name,
        "auth/accesstokenrequest",
        reset.as_ref(),
    )
    .await
    {
        Gate::Answer(response) => return response,
        Gate::Proceed | Gate::Reject | Gate::ProceedThenHang => {}
    }
    if request.name.is_empty() || request.password.is_empty() {
        return Json(AccessTokenResponse {
            error_text: Some("Incorrect username or password".to_owned()),
            ..AccessTokenResponse::default()
        })
        .into_response();
    }
    let answer = new_token(&state, &request.name);
    state.lock().stats.logins += 1;
    Json(answer).into_response()
}

async fn renew_access_token(State(state): Shared, headers: HeaderMap) -> Response {
    let account = match account_of(&state, &headers) {
        Ok(account) => account,
        Err(status) => return status.into_response(),
    };
    let answer = new_token(&state, &account.name);
    state.lock().stats.renewals += 1;
    Json(answer).into_response()
}

/// Runs the account's fault gate, then `answer`.
async fn authed(
    state: &FakeState,
    headers: &HeaderMap,
    endpoint: &str,
    reset: Option<Extension<ConnectionReset>>,
    answer: impl FnOnce(&FakeState, &Account) -> Response,
) -> Response {
    let account = match account_of(state, headers) {
        Ok(account) => account,
        Err(status) => return status.into_response(),
    };
    let reset = reset.map(|Extension(r)| r);
    match gate(state, &account.name, endpoint, reset.as_ref()).await {
        Gate::Answer(response) => response,
        Gate::Proceed | Gate::Reject => answer(state, &account),
        Gate::ProceedThenHang => {
            let _ = answer(state, &account);
            std::future::pending().await
        }
    }
}

async fn account_list(
    State(state): Shared,
    headers: HeaderMap,
    reset: Option<Extension<ConnectionReset>>,
) -> Response {
    authed(&state, &headers, "account/list", reset, |_, account| {
        Json(vec![account.clone()]).into_response()
    })
    .await
}

async fn position_list(
    State(state): Shared,
    headers: HeaderMap,
    reset: Option<Extension<ConnectionReset>>,
) -> Response {
    authed(
        &state,
        &headers,
        "position/list",
        reset,
        |state, account| Json(state.lock().positions_of(account.id)).into_response(),
    )
    .await
}

#[derive(serde::Deserialize)]
struct NameQuery {
    name: String,
}

async fn contract_find(
    State(state): Shared,
    headers: HeaderMap,
    reset: Option<Extension<ConnectionReset>>,
    Query(query): Query<NameQuery>,
) -> Response {
    authed(&state, &headers, "contract/find", reset, |state, _| {
        if !is_contract_symbol(&query.name) {
            return StatusCode::NOT_FOUND.into_response();
        }
        let id = state.lock().contract_id(&query.name);
        Json(Contract {
            id,
            name: query.name.clone(),
        })
        .into_response()
    })
    .await
}

#[derive(serde::Deserialize)]
struct IdsQuery {
    ids: String,
}

/// `ids` is a comma-separated list; unknown ids are left out, as Tradovate does.
async fn contract_items(
    State(state): Shared,
    headers: HeaderMap,
    reset: Option<Extension<ConnectionReset>>,
    Query(query): Query<IdsQuery>,
) -> Response {
    authed(&state, &headers, "contract/items", reset, |state, _| {
        let Ok(ids) = query
            .ids
            .split(',')
            .map(|id| id.trim().parse::<i64>())
            .collect::<Result<Vec<_>, _>>()
        else {
            return StatusCode::BAD_REQUEST.into_response();
        };
        Json(state.lock().contracts_of(&ids)).into_response()
    })
    .await
}

async fn place_order(
    State(state): Shared,
    headers: HeaderMap,
    reset: Option<Extension<ConnectionReset>>,
    Json(order): Json<PlaceOrder>,
) -> Response {
    state.lock().stats.place_order_requests += 1;
    let account = match account_of(&state, &headers) {
        Ok(account) => account,
        Err(status) => return status.into_response(),
    };
    let reset = reset.map(|Extension(r)| r);
    let hang_after = match gate(&state, &account.name, "order/placeorder", reset.as_ref()).await {
        Gate::Answer(response) => return response,
        Gate::Reject => {
            let refused = rejection("MaxPosLimitReached", "fake rejection: position limit");
            return Json(refused).into_response();
        }
        Gate::Proceed => false,
        Gate::ProceedThenHang => true,
    };
    let result = state
        .lock()
        .place(&account, &order, state.config.fill_price);
    if hang_after {
        std::future::pending::<()>().await;
    }
    Json(result).into_response()
}

async fn order_list(
    State(state): Shared,
    headers: HeaderMap,
    reset: Option<Extension<ConnectionReset>>,
) -> Response {
    authed(&state, &headers, "order/list", reset, |state, account| {
        let memory = state.lock();
        let orders: Vec<_> = memory
            .orders
            .iter()
            .filter(|(_, o)| o.account_id == account.id)
            .map(|(_, o)| o.clone())
            .collect();
        Json(orders).into_response()
    })
    .await
}

async fn fill_list(
    State(state): Shared,
    headers: HeaderMap,
    reset: Option<Extension<ConnectionReset>>,
) -> Response {
    authed(&state, &headers, "fill/list", reset, |state, account| {
        let memory = state.lock();
        let mine: Vec<i64> = memory
            .orders
            .iter()
            .filter(|(_, o)| o.account_id == account.id)
            .map(|(_, o)| o.id)
            .collect();
        let fills: Vec<_> = memory
            .fills
            .iter()
            .filter(|f| mine.contains(&f.order_id))
            .cloned()
            .collect();
        Json(fills).into_response()
    })
    .await
}

async fn fake_orders(State(state): Shared) -> Response {
    let memory = state.lock();
    let orders: Vec<_> = memory.orders.iter().map(|(o, _)| o.clone()).collect();
    Json(orders).into_response()
}

async fn fake_faults(State(state): Shared, Json(fault): Json<FaultRequest>) -> Response {
    state.lock().faults.push(fault);
    Json(json!({ "status": "ok" })).into_response()
}

/// `POST /_fake/manual-order` body: a trade made by hand in the broker's own window.
#[derive(serde::Deserialize)]
struct ManualOrder {
    /// The login (account name) that made it.
    account: String,
    symbol: String,
    action: crate::model::OrderAction,
    qty: i64,
}

/// A market order placed by hand (no client order id, not automated), filled at once: what
/// broker verification must notice.
async fn fake_manual_order(State(state): Shared, Json(manual): Json<ManualOrder>) -> Response {
    let mut memory = state.lock();
    let Some(account) = memory.accounts.get(&manual.account).cloned() else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": "no such account: it exists after its first login" })),
        )
            .into_response();
    };
    let order = PlaceOrder {
        account_spec: account.name.clone(),
        account_id: account.id,
        cl_ord_id: None,
        action: manual.action,
        symbol: manual.symbol,
        order_qty: manual.qty,
        order_type: "Market".to_owned(),
        is_automated: false,
    };
    Json(memory.place(&account, &order, state.config.fill_price)).into_response()
}

async fn fake_stats(State(state): Shared) -> Json<Value> {
    Json(json!(state.lock().stats))
}

async fn fake_expire_tokens(State(state): Shared) -> StatusCode {
    state.lock().tokens.clear();
    StatusCode::NO_CONTENT
}
