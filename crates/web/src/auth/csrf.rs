//! CSRF protection for the session-authenticated site: a synchronizer token sent back by
//! every form as the hidden field `csrf_token` (or by scripts as the `X-CSRF-Token` header),
//! and checked by [`require_csrf_token`] on every request that is not GET/HEAD/OPTIONS.
//!
//! Logged in, the token lives in the session. Before log-in (the log-in and sign-up forms)
//! there is no session row at all, so viewing those pages cannot fill the database: the
//! browser gets a random `jt_csrf` cookie and the form carries an HMAC of it under the
//! secret key (a signed double-submit token). Another site can neither read the cookie nor
//! compute the HMAC, so it cannot forge the form, including a log-in into its own account.
//!
//! The middleware wraps the browser routes only. The JSON API (`/api/`) and webhooks
//! (`/webhook/`) are merged outside that router: they use bearer tokens or URL secrets and
//! no cookies, so there is no ambient credential to forge requests with.

use axum::body::{Body, to_bytes};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jt_store::UserId;
use rand::Rng as _;
use serde::Deserialize;
use subtle::ConstantTimeEq as _;
use tower_sessions::Session;
use tower_sessions::cookie::{Cookie, SameSite};

use super::{USER_ID_KEY, session_of};
use crate::AppState;
use crate::page_error::PageError;

/// Name of the hidden form field.
pub const CSRF_FIELD: &str = "csrf_token";
/// Header scripts may send the token in instead.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The cookie holding the random value anonymous form tokens are derived from.
pub const ANONYMOUS_CSRF_COOKIE: &str = "jt_csrf";
const SESSION_KEY: &str = "csrf_token";
/// Our forms are small; a larger body is refused before it is buffered.
const MAX_FORM_BYTES: usize = 64 * 1024;
/// Length of a token or cookie value: 32 random bytes in unpadded base64url.
const TOKEN_LEN: usize = 43;

/// The token for anonymous forms of this request's browser (set by [`require_csrf_token`]).
#[derive(Clone)]
struct AnonymousToken(String);

/// The session's CSRF token, for rendering into forms (`{{ csrf_token.as_str() }}`). Taking
/// this extractor creates the token (and so the session) when there is none yet.
#[derive(Clone)]
pub struct CsrfToken(String);

impl CsrfToken {
    /// The token text for the hidden field.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for CsrfToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CsrfToken(..)")
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CsrfToken {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, PageError> {
        let session = session_of(parts)?;
        if let Some(token) = session.get::<String>(SESSION_KEY).await? {
            return Ok(Self(token));
        }
        if session.get::<UserId>(USER_ID_KEY).await?.is_some() {
            return rotate(&session).await;
        }
        // Anonymous: nothing is written to the session (so no row is created).
        anonymous_token(parts).map(Self)
    }
}

/// Gives the session a new token (at log-in, so a token seen before log-in is useless after).
pub async fn rotate(session: &Session) -> Result<CsrfToken, PageError> {
    let token = random_token();
    session.insert(SESSION_KEY, &token).await?;
    Ok(CsrfToken(token))
}

fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(rand::rng().random::<[u8; 32]>())
}

fn anonymous_token(parts: &Parts) -> Result<String, PageError> {
    parts
        .extensions
        .get::<AnonymousToken>()
        .map(|token| token.0.clone())
        .ok_or_else(|| PageError::internal("the CSRF middleware is missing on this route"))
}

/// Middleware: gives the browser its `jt_csrf` cookie when it has none, and refuses (403) a
/// state-changing request whose token is missing or wrong. Put it inside the session layer.
pub async fn require_csrf_token(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let (nonce, new_cookie) = match cookie_nonce(request.headers()) {
        Some(nonce) => (nonce, None),
        None => {
            let nonce = random_token();
            let cookie = anonymous_cookie(&nonce, state.config.secure_cookies());
            (nonce, cookie)
        }
    };
    let anonymous = AnonymousToken(sign_nonce(&state, &nonce));
    request.extensions_mut().insert(anonymous);
    let mut response = if is_safe(request.method()) {
        next.run(request).await
    } else {
        match check(request).await {
            Ok(request) => next.run(request).await,
            Err(error) => error.into_response(),
        }
    };
    if let Some(cookie) = new_cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// The browser's `jt_csrf` value, when it has a well-formed one.
fn cookie_nonce(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|cookie| cookie.name() == ANONYMOUS_CSRF_COOKIE)
        .map(|cookie| cookie.value().to_owned())
        .filter(|value| {
            value.len() == TOKEN_LEN
                && value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

fn anonymous_cookie(nonce: &str, secure: bool) -> Option<HeaderValue> {
    let cookie = Cookie::build((ANONYMOUS_CSRF_COOKIE, nonce.to_owned()))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .build();
    HeaderValue::from_str(&cookie.to_string()).ok()
}

/// The anonymous form token for a cookie value: HMAC under the secret key.
fn sign_nonce(state: &AppState, nonce: &str) -> String {
    URL_SAFE_NO_PAD.encode(
        state
            .config
            .secret_key
            .derive(format!("anonymous form csrf:{nonce}").as_bytes()),
    )
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Returns the request (with its body restored after reading the form field) when the token
/// matches.
async fn check(request: Request) -> Result<Request, PageError> {
    let (parts, body) = request.into_parts();
    let session = session_of(&parts)?;
    let expected = match session.get::<String>(SESSION_KEY).await? {
        Some(token) => Some(token),
        None if session.get::<UserId>(USER_ID_KEY).await?.is_none() => {
            Some(anonymous_token(&parts)?)
        }
        None => None,
    };
    let (submitted, body) = match header_token(&parts.headers) {
        Some(token) => (Some(token), body),
        None if is_form(&parts.headers) => {
            let bytes = to_bytes(body, MAX_FORM_BYTES)
                .await
                .map_err(|_| PageError::BodyTooLarge)?;
            let field = serde_urlencoded::from_bytes::<CsrfField>(&bytes)
                .ok()
                .and_then(|form| form.csrf_token);
            (field, Body::from(bytes))
        }
        None => (None, body),
    };
    match (expected, submitted) {
        (Some(expected), Some(submitted)) if tokens_match(&expected, &submitted) => {
            Ok(Request::from_parts(parts, body))
        }
        _ => Err(PageError::CsrfRejected),
    }
}

#[derive(Deserialize)]
struct CsrfField {
    csrf_token: Option<String>,
}

fn header_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get(CSRF_HEADER)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"))
}

/// Constant-time comparison, so response timing does not reveal how much of a guess was
/// right. (Lengths are public: every token has the same length.)
fn tokens_match(expected: &str, submitted: &str) -> bool {
    expected.as_bytes().ct_eq(submitted.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_match_only_when_equal() {
        assert!(tokens_match("abc", "abc"));
        assert!(!tokens_match("abc", "abd"));
        assert!(!tokens_match("abc", "ab"));
        assert!(!tokens_match("abc", ""));
    }

    #[test]
    fn the_field_is_found_among_other_form_fields() {
        let form: CsrfField =
            serde_urlencoded::from_bytes(b"email=a%40b.c&csrf_token=t0k&password=x").unwrap();
        assert_eq!(form.csrf_token.as_deref(), Some("t0k"));
        let form: CsrfField = serde_urlencoded::from_bytes(b"email=a").unwrap();
        assert_eq!(form.csrf_token, None);
    }
}
