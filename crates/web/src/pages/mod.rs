//! Server-rendered pages for logged-in users: the dashboard, recorders, settings and API
//! tokens, and the fragments and downloads they link to. Handlers parse the
//! request, call store functions in one tenant transaction and render a template; other
//! users' ids and malformed ids are the same 404 page.

mod account_settings;
mod account_verification;
mod accounts;
mod charts;
mod dashboard;
pub(crate) mod display;
mod form_values;
mod home;
mod live_fragments;
mod recorder_exports;
mod recorder_forms;
mod recorder_links;
mod recorder_page;
mod recorder_stats;
pub(crate) mod recorder_views;
mod stats_cache;
mod tokens;

use axum::Router;
use axum::routing::{get, post};
use jt_store::RecorderId;

use crate::AppState;
use crate::page_error::PageError;
pub use stats_cache::PageCaches;

/// The pages; merge into the router given to [`crate::auth::with_browser_session`].
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home::get_home))
        .route("/recorders", post(home::post_recorder))
        .route("/recorders/{id}", get(recorder_page::get_recorder_page))
        .route(
            "/recorders/{id}/settings",
            post(recorder_forms::post_settings),
        )
        .route("/recorders/{id}/pause", post(recorder_forms::post_pause))
        .route("/recorders/{id}/resume", post(recorder_forms::post_resume))
        .route(
            "/recorders/{id}/regenerate-url",
            post(recorder_forms::post_regenerate_url),
        )
        .route("/recorders/{id}/delete", post(recorder_forms::post_delete))
        .route(
            "/settings/tokens",
            get(tokens::get_tokens).post(tokens::post_token),
        )
        .route("/settings/tokens/{id}/revoke", post(tokens::post_revoke))
        .route("/settings", get(account_settings::get_settings))
        .route("/settings/password", post(account_settings::post_password))
        .route(
            "/settings/time-zone",
            post(account_settings::post_time_zone),
        )
        .route(
            "/settings/delete-account",
            post(account_settings::post_delete_account),
        )
        .route(
            "/recorders/{id}/signals.csv",
            get(recorder_exports::signals_csv),
        )
        .route(
            "/recorders/{id}/trades.csv",
            get(recorder_exports::trades_csv),
        )
        .route(
            "/recorders/{id}/signals/{seq}/raw",
            get(recorder_exports::raw_signal),
        )
        .route("/events", get(crate::live::get_events))
        .route("/fragments/dashboard", get(live_fragments::dashboard))
        .route(
            "/recorders/{id}/fragments/positions",
            get(live_fragments::positions),
        )
        .route(
            "/recorders/{id}/fragments/signals",
            get(live_fragments::signals),
        )
        .route(
            "/recorders/{id}/fragments/trades",
            get(live_fragments::trades),
        )
        .route(
            "/recorders/{id}/fragments/stats",
            get(live_fragments::stats),
        )
        .route(
            "/accounts",
            get(accounts::get_accounts).post(accounts::post_account),
        )
        .route("/accounts/{id}", get(accounts::get_account_orders))
        .route("/accounts/{id}/test", post(accounts::post_test))
        .route(
            "/accounts/{id}/verification",
            post(account_verification::post_verification),
        )
        .route("/accounts/{id}/delete", post(accounts::post_delete))
        .route("/recorders/{id}/links", post(recorder_links::post_link))
        .route(
            "/recorders/{id}/links/{link}/toggle",
            post(recorder_links::post_toggle),
        )
        .route(
            "/recorders/{id}/links/{link}/delete",
            post(recorder_links::post_unlink),
        )
}

/// A recorder id from the path: a malformed one names no page, like another user's.
fn recorder_id(raw: &str) -> Result<RecorderId, PageError> {
    raw.parse().map_err(|_| PageError::NotFound)
}
