//! The JSON API `/api/v1` (SPEC §10): bearer tokens, no cookies, `{"error": …}` on failure.

mod account_verification;
mod accounts;
mod error;
mod extract;
mod links;
mod recorder_exports;
mod recorder_state;
mod recorders;

use axum::Router;
use axum::routing::{get, post};

use crate::AppState;

/// Unknown routes under `/api/`: a JSON 404 like every other API error.
pub fn unknown_route() -> axum::response::Response {
    axum::response::IntoResponse::into_response(error::ApiError::NotFound("route"))
}

/// Every `/api/v1` route.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/recorders",
            post(recorders::create).get(recorders::list),
        )
        .route(
            "/api/v1/recorders/{id}",
            get(recorders::get)
                .patch(recorders::patch)
                .delete(recorders::delete),
        )
        .route(
            "/api/v1/recorders/{id}/regenerate-url",
            post(recorders::regenerate_url),
        )
        .route(
            "/api/v1/recorders/{id}/positions",
            get(recorder_state::positions),
        )
        .route(
            "/api/v1/recorders/{id}/signals",
            get(recorder_state::signals),
        )
        .route("/api/v1/recorders/{id}/trades", get(recorder_state::trades))
        .route("/api/v1/recorders/{id}/stats", get(recorder_state::stats))
        .route(
            "/api/v1/recorders/{id}/signals.csv",
            get(recorder_exports::signals_csv),
        )
        .route(
            "/api/v1/recorders/{id}/trades.csv",
            get(recorder_exports::trades_csv),
        )
        .route(
            "/api/v1/recorders/{id}/links",
            post(links::create).get(links::list),
        )
        .route(
            "/api/v1/recorders/{id}/links/{link_id}",
            axum::routing::patch(links::patch).delete(links::delete),
        )
        .route(
            "/api/v1/accounts",
            post(accounts::create).get(accounts::list),
        )
        .route(
            "/api/v1/accounts/{id}",
            get(accounts::get)
                .patch(account_verification::patch)
                .delete(accounts::delete),
        )
        .route("/api/v1/accounts/{id}/test", post(accounts::test))
        .route(
            "/api/v1/accounts/{id}/verification",
            get(account_verification::get),
        )
        .route("/api/v1/accounts/{id}/orders", get(accounts::orders))
}
