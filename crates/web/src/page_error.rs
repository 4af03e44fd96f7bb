//! The error type of browser pages and its one mapping to responses: a small HTML page with
//! a message that says what to do. Internal causes are logged, never shown.

use std::error::Error as _;
use std::time::Duration;

use askama::Template;
use askama_web::WebTemplate;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use jt_store::StoreError;
use tower_sessions::session;
use tower_sessions::session_store;

use crate::auth::session_store::UNAVAILABLE;

/// Why a page could not be served.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// The page needs a logged-in, active user: redirect to the log-in page.
    #[error("log-in required")]
    LoginRequired,
    /// A state-changing request without the session's CSRF token.
    #[error("CSRF token missing or wrong")]
    CsrfRejected,
    /// Too many attempts from this client or for this account.
    #[error("rate limited")]
    TooManyAttempts {
        /// When the next attempt will be allowed.
        retry_after: Duration,
    },
    /// No such page, or a record of another user: the same answer for both (404, never 403).
    #[error("not found")]
    NotFound,
    /// Input that breaks a rule, for forms that do not re-render themselves; the message
    /// says what to fix.
    #[error("invalid input: {0}")]
    Invalid(String),
    /// A form too large to be one of ours.
    #[error("request body too large")]
    BodyTooLarge,
    /// The database cannot be reached right now.
    #[error("the database is unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A bug or broken environment; logged with its cause, shown generically.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl PageError {
    /// An internal error from anything that is an error.
    pub fn internal(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Internal(error.into())
    }
}

impl From<StoreError> for PageError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound(_) => Self::NotFound,
            StoreError::Invalid(message) | StoreError::Conflict(message) => Self::Invalid(message),
            error if error.is_unavailable() => Self::Unavailable(Box::new(error)),
            error => Self::internal(error),
        }
    }
}

impl From<session::Error> for PageError {
    fn from(error: session::Error) -> Self {
        match &error {
            session::Error::Store(session_store::Error::Backend(text)) if text == UNAVAILABLE => {
                Self::Unavailable(Box::new(error))
            }
            _ => Self::internal(error),
        }
    }
}

/// The error page.
#[derive(Template, WebTemplate)]
#[template(path = "error.html")]
struct ErrorPage {
    title: &'static str,
    message: String,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, title, message) = match &self {
            Self::LoginRequired => return Redirect::to("/login").into_response(),
            Self::CsrfRejected => (
                StatusCode::FORBIDDEN,
                "Form expired",
                "The form expired or was not sent by this site; reload the page and try again."
                    .to_owned(),
            ),
            Self::TooManyAttempts { retry_after } => (
                StatusCode::TOO_MANY_REQUESTS,
                "Too many attempts",
                format!(
                    "Too many attempts; wait {} and try again.",
                    describe_wait(*retry_after)
                ),
            ),
            Self::NotFound => (
                StatusCode::NOT_FOUND,
                "Not found",
                "There is nothing here: the link may be mistyped, or what it showed was deleted."
                    .to_owned(),
            ),
            Self::Invalid(message) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "Please check your input",
                message.clone(),
            ),
            Self::BodyTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "Form too large",
                "The form sent was too large; go back and send less.".to_owned(),
            ),
            Self::Unavailable(_) => {
                tracing::warn!(error = %cause_chain(&self), "page failed: database unavailable");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Temporarily unavailable",
                    "The service cannot reach its database right now; try again in a minute."
                        .to_owned(),
                )
            }
            Self::Internal(_) => {
                tracing::error!(error = %cause_chain(&self), "page failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "Something went wrong on our side; try again, and tell us if it keeps \
                     happening."
                        .to_owned(),
                )
            }
        };
        let mut response = (status, ErrorPage { title, message }).into_response();
        if let Self::TooManyAttempts { retry_after } = self {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(whole_seconds(retry_after)),
            );
        }
        response
    }
}

/// The error and its sources, `: `-separated, for logs.
fn cause_chain(error: &PageError) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Seconds, rounded up so a client that waits exactly this long is allowed again.
fn whole_seconds(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

fn describe_wait(wait: Duration) -> String {
    match whole_seconds(wait) {
        0 | 1 => "a second".to_owned(),
        secs @ 2..=90 => format!("{secs} seconds"),
        secs => format!("{} minutes", secs.div_ceil(60)),
    }
}
