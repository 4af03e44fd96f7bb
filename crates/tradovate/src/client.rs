//! The Tradovate REST client: one per broker login. It keeps the access token (renewed
//! before `expirationTime`, one fresh login on a 401), resends once with the penalty ticket
//! when the wait is short, and turns every other answer into a typed [`TradovateError`].

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::Mutex;

use crate::error::{LOCK_OUT, LockOut, TradovateError};
use crate::model::{
    AccessTokenRequest, AccessTokenResponse, Account, Contract, Fill, Order, PlaceOrder,
    PlaceOrderResult, Position,
};

/// Tradovate's demo REST base URL.
pub const DEMO_URL: &str = "https://demo.tradovateapi.com/v1";
/// Tradovate's live REST base URL.
pub const LIVE_URL: &str = "https://live.tradovateapi.com/v1";

/// The login a client acts for.
#[derive(Clone)]
pub struct Credentials {
    /// Username.
    pub username: String,
    /// Password.
    pub password: String,
    /// API key app id.
    pub app_id: String,
    /// API key id.
    pub cid: String,
    /// API secret.
    pub sec: String,
    /// Stable device id (optional).
    pub device_id: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print secrets, not even in debug output.
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// Timeouts and limits of a client.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Whole-request timeout (connect, send, answer).
    pub request_timeout: Duration,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Renew the token when less than this is left of it.
    pub renew_before: Duration,
    /// A penalty wait up to this long is waited out inside the call (then resent with the
    /// ticket); longer ones are returned as [`TradovateError::Penalty`].
    pub max_inline_penalty_wait: Duration,
    /// Our `appVersion`.
    pub app_version: String,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(3),
            // The renew-token docs renew when fewer than 15 minutes remain.
            renew_before: Duration::from_secs(15 * 60),
            max_inline_penalty_wait: Duration::from_secs(2),
            app_version: "1.0".to_owned(),
        }
    }
}

/// The access token and when it expires.
#[derive(Clone)]
struct Token {
    value: String,
    expires_at: DateTime<Utc>,
}

/// What a caller may see of the token (never the token itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenStatus {
    /// When the cached token expires.
    pub expires_at: DateTime<Utc>,
}

/// A Tradovate client for one login.
pub struct TradovateClient {
    http: reqwest::Client,
    base_url: String,
    credentials: Credentials,
    config: ClientConfig,
    token: Mutex<Option<Token>>,
}

impl std::fmt::Debug for TradovateClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TradovateClient")
            .field("base_url", &self.base_url)
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

/// One request, kept so it can be sent again (after a new login or with a penalty ticket).
struct Call<'a> {
    method: Method,
    path: &'a str,
    query: &'a [(&'a str, &'a str)],
    body: Option<Value>,
}

impl TradovateClient {
    /// A client for `base_url` (e.g. [`DEMO_URL`], or the fake's `http://…/v1`).
    pub fn new(
        base_url: &str,
        credentials: Credentials,
        config: ClientConfig,
    ) -> Result<Self, TradovateError> {
        let http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(config.connect_timeout)
            .build()
            .map_err(|e| TradovateError::Config(e.to_string()))?;
        let base_url = base_url.trim_end_matches('/').to_owned();
        if !(base_url.starts_with("https://") || base_url.starts_with("http://")) {
            return Err(TradovateError::Config(format!(
                "the base URL \"{base_url}\" must start with https:// (or http:// for the fake)"
            )));
        }
        Ok(Self {
            http,
            base_url,
            credentials,
            config,
            token: Mutex::new(None),
        })
    }

    /// The username this client logs in as.
    pub fn username(&self) -> &str {
        &self.credentials.username
    }

    /// When the cached token expires (none before the first call).
    pub async fn token_status(&self) -> Option<TokenStatus> {
        self.token.lock().await.as_ref().map(|t| TokenStatus {
            expires_at: t.expires_at,
        })
    }

    /// Logs in now if no valid token is cached (a connection test).
    pub async fn connect(&self) -> Result<TokenStatus, TradovateError> {
        self.bearer().await?;
        self.token_status()
            .await
            .ok_or_else(|| TradovateError::Protocol("no token after logging in".to_owned()))
    }

    /// `GET /account/list`.
    pub async fn list_accounts(&self) -> Result<Vec<Account>, TradovateError> {
        self.authed(Call::get("/account/list", &[])).await
    }

    /// `GET /position/list`.
    pub async fn list_positions(&self) -> Result<Vec<Position>, TradovateError> {
        self.authed(Call::get("/position/list", &[])).await
    }

    /// `GET /contract/find?name=`.
    pub async fn find_contract(&self, name: &str) -> Result<Contract, TradovateError> {
        let found: Option<Contract> = self
            .authed(Call::get("/contract/find", &[("name", name)]))
            .await?;
        found.ok_or_else(|| TradovateError::NotFound(format!("contract {name}")))
    }

    /// `GET /contract/items?ids=`: the contracts of these ids (positions name contracts by id).
    pub async fn contracts(&self, ids: &[i64]) -> Result<Vec<Contract>, TradovateError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        self.authed(Call::get("/contract/items", &[("ids", &ids)]))
            .await
    }

    /// `GET /order/list`.
    pub async fn list_orders(&self) -> Result<Vec<Order>, TradovateError> {
        self.authed(Call::get("/order/list", &[])).await
    }

    /// `GET /fill/list`.
    pub async fn list_fills(&self) -> Result<Vec<Fill>, TradovateError> {
        self.authed(Call::get("/fill/list", &[])).await
    }

    /// `POST /order/placeorder`: the broker's order id, or [`TradovateError::Rejected`]
    /// with its `failureReason`. Never retried here after sending, except for a penalty
    /// ticket (the broker answered without acting) and one new login after a 401.
    pub async fn place_order(&self, order: &PlaceOrder) -> Result<i64, TradovateError> {
        let body =
            serde_json::to_value(order).map_err(|e| TradovateError::Protocol(e.to_string()))?;
        let result: PlaceOrderResult = self.authed(Call::post("/order/placeorder", body)).await?;
        match (result.order_id, result.failure_reason.as_deref()) {
            (Some(id), None | Some("Success")) => Ok(id),
            (_, reason) => Err(TradovateError::Rejected {
                reason: reason.unwrap_or("UnknownReason").to_owned(),
                text: result.failure_text,
            }),
        }
    }

    /// A call with the bearer token; after a 401, one new login and one resend.
    async fn authed<T: DeserializeOwned>(&self, call: Call<'_>) -> Result<T, TradovateError> {
        let token = self.bearer().await?;
        match self.send(&call, Some(&token)).await {
            Err(Answer::Unauthorized) => {
                let token = self.relogin(&token).await?;
                match self.send(&call, Some(&token)).await {
                    Err(Answer::Unauthorized) => Err(TradovateError::Unauthorized),
                    other => other.map_err(Answer::into_error),
                }
            }
            other => other.map_err(Answer::into_error),
        }
    }

    /// A valid token: the cached one, renewed when it is close to expiring, or a new login.
    async fn bearer(&self) -> Result<String, TradovateError> {
        let mut cached = self.token.lock().await;
        let now = Utc::now();
        if let Some(token) = cached.as_ref() {
            let left = (token.expires_at - now).to_std().unwrap_or_default();
            if left > self.config.renew_before {
                return Ok(token.value.clone());
            }
            if !left.is_zero() {
                // Renewing keeps the session; a new login would start another one.
                match self.renew(&token.value).await {
                    Ok(renewed) => return Ok(store(&mut cached, renewed)),
                    Err(error) if error.class() == crate::ErrorClass::LockedOut => {
                        return Err(error);
                    }
                    Err(error) => tracing::info!(%error, "token renewal failed; logging in again"),
                }
            }
        }
        let token = self.login().await?;
        Ok(store(&mut cached, token))
    }

    /// Drops `stale` (refused with 401) and logs in again, unless another call already did.
    async fn relogin(&self, stale: &str) -> Result<String, TradovateError> {
        let mut cached = self.token.lock().await;
        if let Some(token) = cached.as_ref().filter(|t| t.value != stale) {
            return Ok(token.value.clone());
        }
        *cached = None;
        let token = self.login().await?;
        Ok(store(&mut cached, token))
    }

    async fn login(&self) -> Result<Token, TradovateError> {
        let c = &self.credentials;
        let request = AccessTokenRequest {
            name: c.username.clone(),
            password: c.password.clone(),
            app_id: c.app_id.clone(),
            app_version: self.config.app_version.clone(),
            cid: c.cid.clone(),
            sec: c.sec.clone(),
            device_id: c.device_id.clone(),
        };
        let body =
            serde_json::to_value(request).map_err(|e| TradovateError::Protocol(e.to_string()))?;
        let answer: AccessTokenResponse = self
            .send(&Call::post("/auth/accesstokenrequest", body), None)
            .await
            .map_err(Answer::into_error)?;
        token_from(answer)
    }

    async fn renew(&self, current: &str) -> Result<Token, TradovateError> {
        let answer: AccessTokenResponse = self
            .send(&Call::get("/auth/renewaccesstoken", &[]), Some(current))
            .await
            .map_err(|answer| match answer {
                Answer::Unauthorized => TradovateError::Unauthorized,
                other => other.into_error(),
            })?;
        token_from(answer)
    }

    /// Sends once; a short penalty is waited out and the call resent with its ticket.
    async fn send<T: DeserializeOwned>(
        &self,
        call: &Call<'_>,
        bearer: Option<&str>,
    ) -> Result<T, Answer> {
        match self.send_once(call, bearer, None).await {
            Err(Answer::Error(TradovateError::Penalty { ticket, wait }))
                if wait <= self.config.max_inline_penalty_wait =>
            {
                tracing::info!(
                    ?wait,
                    path = call.path,
                    "Tradovate penalty ticket; resending"
                );
                tokio::time::sleep(wait).await;
                self.send_once(call, bearer, Some(&ticket)).await
            }
            other => other,
        }
    }

    async fn send_once<T: DeserializeOwned>(
        &self,
        call: &Call<'_>,
        bearer: Option<&str>,
        ticket: Option<&str>,
    ) -> Result<T, Answer> {
        let url = format!("{}{}", self.base_url, call.path);
        let mut request = self.http.request(call.method.clone(), url);
        if !call.query.is_empty() {
            request = request.query(call.query);
        }
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        if let Some(body) = &call.body {
            let mut body = body.clone();
            if let (Some(ticket), Value::Object(fields)) = (ticket, &mut body) {
                fields.insert("p-ticket".to_owned(), Value::String(ticket.to_owned()));
            }
            request = request.json(&body);
        }
        let timeout = self.config.request_timeout;
        let response = request
            .send()
            .await
            .map_err(|e| TradovateError::from_reqwest(e, timeout))?;
        let status = response.status();
        match status {
            StatusCode::UNAUTHORIZED => return Err(Answer::Unauthorized),
            StatusCode::LOCKED => return Err(locked_out(LockOut::Locked)),
            StatusCode::TOO_MANY_REQUESTS => return Err(locked_out(LockOut::TooManyRequests)),
            StatusCode::NOT_FOUND => {
                return Err(TradovateError::NotFound(call.path.to_owned()).into());
            }
            s if s.is_server_error() => return Err(TradovateError::Server(s.as_u16()).into()),
            s if !s.is_success() => {
                return Err(
                    TradovateError::Protocol(format!("HTTP {s} from {}", call.path)).into(),
                );
            }
            _ => {}
        }
        let value: Value = response
            .json()
            .await
            .map_err(|e| TradovateError::from_reqwest(e, timeout))?;
        if let Some(penalty) = penalty_in(&value) {
            return Err(penalty.into());
        }
        serde_json::from_value(value).map_err(|e| {
            TradovateError::Protocol(format!("unreadable answer from {}: {e}", call.path)).into()
        })
    }
}

impl<'a> Call<'a> {
    fn get(path: &'a str, query: &'a [(&'a str, &'a str)]) -> Self {
        Self {
            method: Method::GET,
            path,
            query,
            body: None,
        }
    }

    fn post(path: &'a str, body: Value) -> Self {
        Self {
            method: Method::POST,
            path,
            query: &[],
            body: Some(body),
        }
    }
}

/// A send's outcome before the 401 policy is applied.
enum Answer {
    Unauthorized,
    Error(TradovateError),
}

impl Answer {
    fn into_error(self) -> TradovateError {
        match self {
            Self::Unauthorized => TradovateError::Unauthorized,
            Self::Error(error) => error,
        }
    }
}

impl From<TradovateError> for Answer {
    fn from(error: TradovateError) -> Self {
        Self::Error(error)
    }
}

fn locked_out(kind: LockOut) -> Answer {
    Answer::Error(TradovateError::LockedOut {
        kind,
        retry_after: LOCK_OUT,
    })
}

/// A penalty answer (`p-ticket`, `p-time`, maybe `p-captcha`), which comes as HTTP 200.
fn penalty_in(value: &Value) -> Option<TradovateError> {
    let ticket = value.get("p-ticket")?.as_str()?.to_owned();
    if value.get("p-captcha").and_then(Value::as_bool) == Some(true) {
        return Some(TradovateError::LockedOut {
            kind: LockOut::Captcha,
            retry_after: LOCK_OUT,
        });
    }
    let seconds = value.get("p-time").and_then(Value::as_f64).unwrap_or(1.0);
    Some(TradovateError::Penalty {
        ticket,
        wait: Duration::from_secs_f64(seconds.clamp(0.0, LOCK_OUT.as_secs_f64())),
    })
}

fn token_from(answer: AccessTokenResponse) -> Result<Token, TradovateError> {
    if let Some(text) = answer.error_text.filter(|t| !t.is_empty()) {
        return Err(TradovateError::Login(text));
    }
    match (answer.access_token, answer.expiration_time) {
        (Some(value), Some(expires_at)) => Ok(Token { value, expires_at }),
        _ => Err(TradovateError::Protocol(
            "the token answer has no accessToken or expirationTime".to_owned(),
        )),
    }
}

fn store(cached: &mut Option<Token>, token: Token) -> String {
    let value = token.value.clone();
    *cached = Some(token);
    value
}
