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
    tracing::info_span!("request", method = %request.method(), route)
}
