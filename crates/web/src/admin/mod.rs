//! The admin console (`/admin`, SPEC §10): users, one user's data (read-only), disabling and
//! enabling accounts, system health and the audit log. Only admins see it; to everyone else,
//! logged in or not, every `/admin` URL is the ordinary 404 page.
//!
//! Every read goes through an [`jt_store::AdminTx`] made by [`AdminUser::begin`], which
//! names the admin and their address in the audit log; every action and every view of a
//! user's data is written there in the same transaction.

mod audit_page;
mod execution_views;
mod extract;
mod health_page;
mod user_page;
mod users_page;

use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use jt_store::{Store, UserId};
use tokio::task::JoinHandle;

pub use extract::AdminUser;

use crate::AppState;
use crate::page_error::PageError;

/// How often `serve` folds signal deltas into the per-user totals when no admin page does.
const FOLD_PERIOD: Duration = Duration::from_secs(30);

/// The console's routes; merge into the router given to
/// [`crate::auth::with_browser_session`] (sessions and CSRF checks).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin", get(users_page::get_users))
        .route("/admin/users/{id}", get(user_page::get_user))
        .route("/admin/users/{id}/disable", post(user_page::post_disable))
        .route("/admin/users/{id}/enable", post(user_page::post_enable))
        .route("/admin/health", get(health_page::get_health))
        .route("/admin/audit", get(audit_page::get_audit))
}

/// Folds the per-statement signal deltas into the per-user totals every 30 s, so the
/// delta table stays small however long nobody opens the console.
pub fn spawn_signal_stats_folding(store: &Store) -> JoinHandle<()> {
    let store = store.clone();
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(FOLD_PERIOD);
        loop {
            interval.tick().await;
            if let Err(error) = jt_store::admin::fold_signal_deltas_now(&store).await {
                tracing::warn!(%error, "could not fold signal totals; retrying later");
            }
        }
    })
}

/// A user id from the path: malformed ids are "not found".
fn user_id(raw: &str) -> Result<UserId, PageError> {
    raw.parse().map_err(|_| PageError::NotFound)
}
