//! The tracing span of each request: method and route template only. The raw URI is never
//! logged because webhook URLs contain secret tokens.

use axum::extract::MatchedPath;
use axum::http::Request;
use tracing::Span;

pub fn make_span<B>(request: &Request<B>) -> Span {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str)
        .unwrap_or("unmatched");
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|id| id.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!("request", method = %request.method(), route, request_id)
}
