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

/// Longest client-supplied `X-Request-Id` kept (a UUID is 36 characters).
const MAX_REQUEST_ID_LEN: usize = 64;

/// Middleware: drops a client-supplied `X-Request-Id` that is too long, empty, repeated or
/// has characters other than letters, digits and `-_.:`, before it is logged or echoed, so
/// a client cannot forge log lines or bloat them; the request then gets a fresh id.
pub async fn drop_unsafe_request_id(mut request: axum::extract::Request) -> axum::extract::Request {
    let headers = request.headers_mut();
    let mut ids = headers.get_all("x-request-id").iter();
    let acceptable = match (ids.next(), ids.next()) {
        (None, _) => true,
        (Some(id), None) => is_acceptable_request_id(id.as_bytes()),
        (Some(_), Some(_)) => false,
    };
    if !acceptable {
        headers.remove("x-request-id");
    }
    request
}

fn is_acceptable_request_id(id: &[u8]) -> bool {
    (1..=MAX_REQUEST_ID_LEN).contains(&id.len())
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_limited_in_length_and_characters() {
        assert!(is_acceptable_request_id(
            b"3f1c0e2a-9b7d-4c11-8e55-0a1b2c3d4e5f"
        ));
        assert!(is_acceptable_request_id(b"fly:abc.DEF_1"));
        assert!(!is_acceptable_request_id(b""));
        assert!(!is_acceptable_request_id(&[b'a'; 65]));
        assert!(!is_acceptable_request_id(b"id\" injected=\"1"));
        assert!(!is_acceptable_request_id(b"line\nbreak"));
        assert!(!is_acceptable_request_id("caf\u{e9}".as_bytes()));
    }
}
