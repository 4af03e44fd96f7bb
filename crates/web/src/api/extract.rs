//! Extractors of the JSON API: the bearer-token user, JSON bodies and ids with API errors.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use jt_store::{RecorderId, UserId};
use serde::de::DeserializeOwned;

use super::error::ApiError;
use crate::AppState;

/// The user a valid `Authorization: Bearer` token belongs to.
#[derive(Debug, Clone, Copy)]
pub struct ApiUser(pub UserId);

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .ok_or(ApiError::Unauthorized)?;
        state
            .store
            .api_token_user(token)
            .await?
            .map(ApiUser)
            .ok_or(ApiError::Unauthorized)
    }
}

/// A JSON body whose rejection is an [`ApiError`] with serde's precise message.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        axum::Json::<T>::from_request(request, state)
            .await
            .map(|axum::Json(value)| Self(value))
            .map_err(|rejection| ApiError::Invalid(rejection.body_text()))
    }
}

/// Query parameters whose rejection is an [`ApiError`] naming the bad parameter.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Self(value))
            .map_err(|rejection| ApiError::Invalid(rejection.body_text()))
    }
}

/// Parses a recorder id from the path; malformed ids are "not found" like foreign ones.
pub fn recorder_id(raw: &str) -> Result<RecorderId, ApiError> {
    raw.parse().map_err(|_| ApiError::NotFound("recorder"))
}
