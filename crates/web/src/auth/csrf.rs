//! CSRF protection for the session-authenticated site: a synchronizer token kept in the
//! session, sent back by every form as the hidden field `csrf_token` (or by scripts as the
//! `X-CSRF-Token` header), and checked by [`require_csrf_token`] on every request that is
//! not GET/HEAD/OPTIONS.
//!
//! The middleware wraps the browser routes only. The JSON API (`/api/`) and webhooks
//! (`/webhook/`) are merged outside that router: they use bearer tokens or URL secrets and
//! no cookies, so there is no ambient credential to forge requests with.

use axum::body::{Body, to_bytes};
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng as _;
use serde::Deserialize;
use subtle::ConstantTimeEq as _;
use tower_sessions::Session;

use super::session_of;
use crate::page_error::PageError;

/// Name of the hidden form field.
pub const CSRF_FIELD: &str = "csrf_token";
/// Header scripts may send the token in instead.
pub const CSRF_HEADER: &str = "x-csrf-token";
const SESSION_KEY: &str = "csrf_token";
/// Our forms are small; a larger body is refused before it is buffered.
const MAX_FORM_BYTES: usize = 64 * 1024;

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
        match session.get::<String>(SESSION_KEY).await? {
            Some(token) => Ok(Self(token)),
            None => rotate(&session).await,
        }
    }
}

/// Gives the session a new token (at log-in, so a token seen before log-in is useless after).
pub async fn rotate(session: &Session) -> Result<CsrfToken, PageError> {
    let token = URL_SAFE_NO_PAD.encode(rand::rng().random::<[u8; 32]>());
    session.insert(SESSION_KEY, &token).await?;
    Ok(CsrfToken(token))
}

/// Middleware: refuses (403) a state-changing request whose token is missing or differs from
/// the session's. Put it inside the session layer.
pub async fn require_csrf_token(request: Request, next: Next) -> Response {
    if is_safe(request.method()) {
        return next.run(request).await;
    }
    match check(request).await {
        Ok(request) => next.run(request).await,
        Err(error) => error.into_response(),
    }
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Returns the request (with its body restored after reading the form field) when the token
/// matches.
async fn check(request: Request) -> Result<Request, PageError> {
    let (parts, body) = request.into_parts();
    let session = session_of(&parts)?;
    let expected = session.get::<String>(SESSION_KEY).await?;
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
