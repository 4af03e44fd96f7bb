//! Headers every response carries (SPEC §5): a content security policy that allows our own
//! files only (no inline script, no framing), no MIME sniffing, no Referer (webhook URLs in
//! page addresses are secrets), and HSTS when the public URL is https.

use axum::Router;
use axum::body::Body;
use axum::http::header::{
    CONTENT_SECURITY_POLICY, REFERRER_POLICY, STRICT_TRANSPORT_SECURITY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::http::{HeaderValue, Response};
use tower_http::set_header::SetResponseHeaderLayer;

/// Scripts, styles, images and connections (live refresh) from this origin only; inline
/// `<script>`, `style=` and `on…=` handlers are refused by the browser.
pub const CONTENT_SECURITY_POLICY_VALUE: &str =
    "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
/// One year, subdomains included: the service is https-only once deployed so.
const HSTS_VALUE: &str = "max-age=31536000; includeSubDomains";

/// Adds the headers to every response of `router` (a handler may set its own instead).
pub(crate) fn add(router: Router, https: bool) -> Router {
    let hsts = move |_: &Response<Body>| https.then(|| HeaderValue::from_static(HSTS_VALUE));
    router
        .layer(SetResponseHeaderLayer::if_not_present(
            CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY_VALUE),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            STRICT_TRANSPORT_SECURITY,
            hsts,
        ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use tower::ServiceExt as _;

    async fn headers_of(https: bool) -> axum::http::HeaderMap {
        let router = add(Router::new().route("/", get(|| async { "page" })), https);
        let request = axum::http::Request::get("/")
            .body(Body::empty())
            .expect("request");
        router
            .oneshot(request)
            .await
            .expect("infallible")
            .headers()
            .clone()
    }

    #[tokio::test]
    async fn hsts_only_when_the_public_url_is_https() {
        let https = headers_of(true).await;
        assert_eq!(https[STRICT_TRANSPORT_SECURITY], HSTS_VALUE);
        assert_eq!(
            https[CONTENT_SECURITY_POLICY],
            CONTENT_SECURITY_POLICY_VALUE
        );
        let http = headers_of(false).await;
        assert!(!http.contains_key(STRICT_TRANSPORT_SECURITY));
        assert_eq!(http[X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(http[REFERRER_POLICY], "no-referrer");
    }
}
