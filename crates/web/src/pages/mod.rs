//! Server-rendered pages for logged-in users.

mod home;

use axum::Router;
use axum::routing::get;

use crate::AppState;

/// The pages; merge into the router given to [`crate::auth::with_browser_session`].
pub fn router() -> Router<AppState> {
    Router::new().route("/", get(home::get_home))
}
