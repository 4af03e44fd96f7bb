//! The JSON API's errors: `{"error": "…"}` with the right status. Internal causes are logged,
//! never sent.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jt_store::StoreError;
use serde_json::json;

/// Everything an API handler can answer with besides success.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No valid bearer token.
    #[error("missing or invalid API token: send `Authorization: Bearer <token>`")]
    Unauthorized,
    /// Unknown id, or another user's (never distinguished).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// Input that breaks a rule; the text says how to fix it.
    #[error("{0}")]
    Invalid(String),
    /// A uniqueness rule.
    #[error("{0}")]
    Conflict(String),
    /// The database is unreachable: retry later.
    #[error("the service is temporarily unavailable, retry in a few seconds")]
    Unavailable,
    /// A bug or broken state; details only in the log.
    #[error("internal error")]
    Internal(#[source] StoreError),
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound(what) => Self::NotFound(what),
            StoreError::Invalid(message) => Self::Invalid(message),
            StoreError::Conflict(message) => Self::Conflict(message),
            StoreError::EmailTaken => Self::Conflict(error.to_string()),
            error if error.is_unavailable() => Self::Unavailable,
            other => Self::Internal(other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self {
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(cause) => {
                tracing::error!(error = %cause, source = ?std::error::Error::source(cause), "API request failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        (status, Json(json!({ "error": self.to_string() }))).into_response()
    }
}
