//! Server-rendered pages for logged-in users: recorders and API tokens. Handlers parse the
//! request, call store functions in one tenant transaction and render a template; other
//! users' ids and malformed ids are the same 404 page.

mod accounts;
mod display;
mod form_values;
mod home;
mod recorder_forms;
mod recorder_links;
mod recorder_page;
mod recorder_views;
mod tokens;

use axum::Router;
use axum::routing::{get, post};
use jt_store::RecorderId;

use crate::AppState;
use crate::page_error::PageError;

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
        .route(
            "/accounts",
            get(accounts::get_accounts).post(accounts::post_account),
        )
        .route("/accounts/{id}", get(accounts::get_account_orders))
        .route("/accounts/{id}/test", post(accounts::post_test))
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
