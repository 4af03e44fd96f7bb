//! The stylesheet and the one small script, compiled into the binary so the server needs no files beside it and
//! pages load nothing from other sites.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::AppState;

const APP_CSS: &str = include_str!("../../../static/app.css");
/// Copy buttons; pages work without it.
const COPY_JS: &str = include_str!("../../../static/copy.js");
/// Live refresh of dashboard and recorder page; pages work without it.
const LIVE_JS: &str = include_str!("../../../static/live.js");

/// `GET /static/app.css` and `GET /static/copy.js`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/static/app.css", get(app_css))
        .route("/static/copy.js", get(copy_js))
        .route("/static/live.js", get(live_js))
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

async fn copy_js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        COPY_JS,
    )
}

async fn live_js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        LIVE_JS,
    )
}
