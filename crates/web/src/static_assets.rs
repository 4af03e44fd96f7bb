//! The stylesheet, compiled into the binary so the server needs no files beside it and
//! pages load nothing from other sites.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::AppState;

const APP_CSS: &str = include_str!("../../../static/app.css");

/// `GET /static/app.css`.
pub fn router() -> Router<AppState> {
    Router::new().route("/static/app.css", get(app_css))
}

async fn app_css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            // Short: the file changes with each release and has no version in its name.
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        APP_CSS,
    )
}
